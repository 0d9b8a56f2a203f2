import Bond
import Foundation

/// A pane's life: new, close, remove, undo, restart (the live ones after a yes).
extension AppState {
    /// Closes a pane's bond (after a yes when it is live), or removes a pane whose bond is over
    /// (after a yes; `undo` brings it back, with its wires, until quit).
    mutating func closeOrRemove(_ i: Int, key: Key? = nil, confirmed: Bool = false) -> [Effect] {
        let p = panes[i]
        switch p.status {
        case .closing:
            return []
        case .starting, .idle, .busy:
            if confirmed { return closeBond(i) }
            let busy = p.status.isBusyOrPending(p.pending) ? " (busy)" : ""
            ask(.close(pane: p.id), "close \(p.name)\(busy)? its interpreter and state end", key: key)
            return []
        case .dead, .failed, .closed:
            if confirmed { return removePane(i) }
            let wired = wires.filter { $0.source == p.id || $0.target == p.id }.count
            ask(.remove(pane: p.id), "remove the pane \(p.name)" + (wired > 0 ? " and its \(wired) wire\(wired == 1 ? "" : "s")" : "")
                + "? (undo brings it back)", key: key)
            return []
        }
    }

    mutating func closeBond(_ i: Int) -> [Effect] {
        guard panes[i].status != .closing else { return [] }
        panes[i].beginClosing(transcriptWidth: geometry(of: i).transcript.width)
        return [.close(pane: panes[i].id, generation: panes[i].generation)]
    }

    mutating func removePane(_ i: Int) -> [Effect] {
        let id = panes[i].id
        let touching = wires.filter { $0.source == id || $0.target == id }
        removed.keep(RemovedPane(pane: panes[i], position: i, wires: touching))
        panes.remove(at: i)
        wires.removeAll { $0.source == id || $0.target == id }
        if panes.isEmpty {
            focus = .log
        } else {
            focus = .pane(panes[min(i, panes.count - 1)].id)
        }
        for j in panes.indices { clampScroll(j) }
        flash = "removed \(removed.last!.pane.name); the undo command brings it back"
        return []
    }

    /// `undo`: the pane removed last comes back (started again), with its refs and wires.
    mutating func undoRemove() -> [Effect] {
        guard var r = removed.takeLast() else {
            flash = "undo: no pane was removed"
            return []
        }
        if panes.contains(where: { $0.name == r.pane.name }) {
            removed.keep(r)
            flash = "undo: a pane named \(r.pane.name) is open"
            return []
        }
        r.pane.beginNewGeneration()
        panes.insert(r.pane, at: min(r.position, panes.count))
        let present = Set(panes.map(\.id))
        for w in r.wires where present.contains(w.source) && present.contains(w.target) && !wires.contains(where: { $0.key == w.key }) {
            wires.append(w)
        }
        // A wire whose other end is still removed comes back with that pane.
        removed.handOver(r.wires)
        let i = index(of: r.pane.id)!
        focus = .pane(r.pane.id)
        for j in panes.indices { clampScroll(j) }
        append(i, .info, "back (undo): restarting \(r.pane.name)…")
        // Wires into it are exported again when it has started; wires out of it never left their
        // targets (they look the source up at each call).
        return [.start(pane: r.pane.id, generation: r.pane.generation, name: r.pane.name, language: r.pane.language, command: r.pane.command)]
    }

    /// Restarts a pane's bond: after a yes when it is live.
    mutating func restart(_ i: Int, key: Key? = nil, confirmed: Bool = false) -> [Effect] {
        let p = panes[i]
        if !confirmed && (p.status.isLive || p.status == .starting) {
            let busy = p.status.isBusyOrPending(p.pending) ? " (busy)" : ""
            ask(.restart(pane: p.id), "restart \(p.name)\(busy)? its interpreter's state is lost", key: key)
            return []
        }
        return restartNow(i)
    }

    mutating func restartNow(_ i: Int) -> [Effect] {
        let p = panes[i]
        var effects: [Effect] = []
        if p.status.isLive || p.status == .starting || p.status == .closing {
            effects.append(.close(pane: p.id, generation: p.generation))
        }
        logEnd(i, .restarted)
        dropHandleRefs(i, because: "restarted")
        panes[i].beginNewGeneration()
        append(i, .info, "restarting \(p.name)…")
        effects.append(.start(pane: p.id, generation: panes[i].generation, name: p.name, language: p.language, command: p.command))
        return effects
    }

    /// `new SPEC` or the new-pane prompt: checked before anything is created.
    mutating func newPane(_ text: String) -> [Effect] {
        let spec: PaneSpec
        do { spec = try PaneSpec.parse(text) } catch {
            flash = error.message
            return []
        }
        let language = Languages.canonical(spec.language, known: knownLanguages)
        guard knownLanguages.isEmpty || knownLanguages.contains(language) else {
            flash = "unknown language \"\(spec.language)\" (known: \(knownLanguages.joined(separator: ", ")); also py, js, node, pl)"
            return []
        }
        if let name = spec.name {
            if pane(named: name) != nil {
                flash = "a pane named \(name) is open: give another name (\(Languages.paneNames(for: [(nil, language)], taken: panes.map(\.name))[0]):\(spec.language))"
                return []
            }
            let named = Languages.canonical(name, known: knownLanguages)
            if named != name, knownLanguages.contains(named) || Languages.aliases[name.lowercased()] != nil, named != language {
                flash = "\"\(text)\" is ambiguous: \(name) names a language, not a \(language) pane; write \(spec.language) alone, or another NAME:"
                return []
            }
        }
        let effects = addPanes([spec])
        if let last = panes.last { focus = .pane(last.id) }
        for j in panes.indices { clampScroll(j) }
        return effects
    }
}
