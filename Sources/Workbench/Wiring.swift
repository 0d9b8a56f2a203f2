import Foundation

/// The wiring view: the proxies between panes, with their call counts, and unwire.
extension AppState {
    public struct WireRow: Sendable, Equatable {
        public var source: String
        public var function: String
        public var target: String
        public var name: String
        public var calls: Int
    }

    public var wireRows: [WireRow] {
        wires.map { w in
            WireRow(source: index(of: w.source).map { panes[$0].name } ?? "?", function: w.function,
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
        if let v = wiringView { wiringView = wires.isEmpty ? 0 : min(v, wires.count - 1) }
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
        guard let v = wiringView else { return [] }
        if action == .wiring { wiringView = nil; return [] }
        if action == .quit { wiringView = nil; return quit(key: key) }
        switch key {
        case .escape, .char("q"), .enter, .ctrl("g"), .ctrl("c"):
            wiringView = nil
        case .up: wiringView = max(0, v - 1)
        case .down: wiringView = max(0, min(wires.count - 1, v + 1))
        case .char("d"), .delete, .char("u"):
            return unwire(v)
        default: break
        }
        return []
    }

    func renderWiring(into buffer: inout CellBuffer) {
        guard let v = wiringView else { return }
        let rows = wireRows
        let header = ["#", "source", "function", "→ target", "name there", "calls"]
        var table: [[String]] = [header]
        for (k, r) in rows.enumerated() {
            table.append(["\(k + 1)", r.source, r.function, "→ " + r.target, r.name, "\(r.calls)"])
        }
        var widths = header.map { _ in 0 }
        for row in table { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], TextWidth.of(cell)) } }
        let contentWidth = min(width - 2, max(50, widths.reduce(0, +) + 2 * (widths.count - 1)))
        let lines = table.count + (rows.isEmpty ? 1 : 0) + 2
        let boxHeight = min(height - 1, lines + 2)
        guard contentWidth > 10, boxHeight > 3 else { return }
        let box = Rect(x: max(0, (width - contentWidth - 2) / 2), y: max(0, (height - 1 - boxHeight) / 2),
                       width: contentWidth + 2, height: boxHeight)
        let frame = Style(fg: .cyan, bold: true)
        buffer.drawBox(box, style: frame)
        buffer.put(" wiring · \(rows.count) proxies ", x: box.x + 2, y: box.y, maxWidth: contentWidth - 2, style: frame)
        var y = box.y + 1
        for (r, row) in table.enumerated() where y < box.bottom - 2 {
            var x = box.x + 1
            let selected = r > 0 && r - 1 == v
            let style = r == 0 ? Style(bold: true, underline: true) : Style(reverse: selected)
            if selected { buffer.fill(Rect(x: box.x + 1, y: y, width: contentWidth, height: 1), style: style) }
            for (c, cell) in row.enumerated() {
                let padded = c == row.count - 1
                    ? String(repeating: " ", count: max(0, widths[c] - TextWidth.of(cell))) + cell
                    : cell + String(repeating: " ", count: max(0, widths[c] - TextWidth.of(cell)))
                x += buffer.put(padded + "  ", x: x, y: y, maxWidth: box.right - 1 - x, style: style)
            }
            y += 1
        }
        if rows.isEmpty {
            buffer.put("no proxies: Ctrl-P or the proxy command wires a function into another pane", x: box.x + 1, y: y,
                       maxWidth: contentWidth, style: Style(dim: true), ellipsis: true)
        }
        buffer.put("↑/↓ select  d unwire  Esc close", x: box.x + 1, y: box.bottom - 2, maxWidth: contentWidth,
                   style: Style(dim: true))
    }
}
