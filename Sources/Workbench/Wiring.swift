import Foundation

/// The wiring view: the proxies between panes, with their call counts, and unwire.
extension AppState {
    public var wireRows: [WiringView.Row] {
        wires.map { w in
            WiringView.Row(source: index(of: w.source).map { panes[$0].name } ?? "?", function: w.function,
                    target: index(of: w.target).map { panes[$0].name } ?? "?", name: w.name,
                    calls: wireCalls[w.key] ?? 0)
        }
    }

    /// Removes a wire: the name in the target's bond is replaced by a function that throws
    /// "unwired", and restarts no longer export it.
    mutating func unwire(_ k: Int) -> [Effect] {
        guard k >= 0 && k < wires.count else { return [] }
        let w = wires.remove(at: k)
        wireCalls[w.key] = nil
        let sourceName = index(of: w.source).map { panes[$0].name } ?? "?"
        guard let t = index(of: w.target) else { return [] }
        append(t, .info, "unwire \(w.name) (was \(sourceName).\(w.function))")
        if let s = index(of: w.source), s != t {
            append(s, .info, "unwired: \(w.function) is no longer callable in \(panes[t].name)")
        }
        if case .wiring(var view)? = front {
            view.clamp(rowCount: wires.count)
            front = .wiring(view)
        }
        guard panes[t].status.isLive || panes[t].status == .starting else { return [] }
        panes[t].pending += 1
        return [.request(pane: w.target, generation: panes[t].generation, .unwire(name: w.name))]
    }

    /// `unwire PANE.NAME` (the name in the target pane) or `unwire N` (the row of the view).
    mutating func unwireCommand(_ text: String) -> [Effect] {
        if let n = Int(text), n >= 1 && n <= wires.count { return unwire(n - 1) }
        guard let dot = text.firstIndex(of: ".") else {
            flash = "usage: unwire PANE.NAME (the name in the pane it was proxied into)"
            return []
        }
        let paneName = String(text[..<dot])
        let name = String(text[text.index(after: dot)...])
        guard let k = wires.firstIndex(where: { w in index(of: w.target).map { panes[$0].name } == paneName && w.name == name })
        else {
            flash = "unwire: no wire \(text)"
            return []
        }
        return unwire(k)
    }

    mutating func wiringKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var view = wiringView else { return [] }
        let outcome = view.update(key, action: action, rowCount: wires.count)
        wiringView = view
        switch outcome {
        case .overlay(.stay): return []
        case .overlay(let o):
            wiringView = nil
            return after(o)
        case .unwire(let k): return unwire(k)
        }
    }
}
