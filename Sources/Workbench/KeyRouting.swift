import Bond
import Foundation

/// Where a key goes: what is in front (one switch on `front`), else a workbench action, then the
/// focused pane or the log.
extension AppState {
    mutating func handleKey(_ pressed: Key) -> [Effect] {
        if pressed == .resize { return [] }
        if case .mouse(let event) = pressed { return mouse(event) }
        let key = pressed
        let action = config.bindings.action(for: key)
        switch front {
        case .help?: return helpKey(key, action)
        case .confirmation(let c)?: return confirmKey(c, key)
        case .prompt?: return promptKey(key, action)
        case .historySearch?: return searchKey(key, action)
        case .viewer?: return viewerKey(key, action)
        case .wiring?:
            flash = nil
            return wiringKey(key, action)
        case .groupView?:
            flash = nil
            return groupViewKey(key, action)
        case .completion?, nil:
            flash = nil
            return keyBehindFront(key, action)
        }
    }

    /// A key with no overlay in front (or the completion menu, which lets keys through): the
    /// log's detail view, readline's Ctrl-X prefix, the menu, a workbench action, then the
    /// focused pane or the log.
    private mutating func keyBehindFront(_ key: Key, _ action: Action?) -> [Effect] {
        // The log's detail view is the log pane's own (LogModel); it never opens under a view.
        if log.detail != nil { return perform(log.update(key, viewport: logViewport)) }
        if ctrlXPending, let i = focusedIndex {
            // readline's Ctrl-X prefix: Ctrl-X Ctrl-E edits the input in $EDITOR.
            ctrlXPending = false
            switch key {
            case .ctrl("e"): return [.editExternally(pane: panes[i].id, text: panes[i].input.text)]
            case .ctrl("u"): panes[i].input.undo(); return []
            default: return []
            }
        }
        ctrlXPending = false
        if let effects = completionKey(key, action) { return effects }
        if let action, let effects = globalAction(action, key: key) { return effects }
        guard let i = focusedIndex else { return perform(log.update(key, viewport: logViewport)) }
        return paneKey(i, key, action)
    }

    /// Actions that do not depend on the focused pane; nil for the others.
    mutating func globalAction(_ action: Action, key: Key) -> [Effect]? {
        switch action {
        case .quit:
            return quit(key: key)
        case .help:
            help = HelpOverlay(lines: helpLines())
        case .wiring:
            wiringView = WiringView()
        case .groupView:
            openGroupView()
        case .nextPane:
            cycleFocus(1)
        case .previousPane:
            cycleFocus(-1)
        case .command:
            openPrompt(Prompt(kind: .command, label: "command (Tab completes)", input: InputEditor(), pane: focusedPaneID))
        case .new:
            openPrompt(Prompt(kind: .newPane, label: "new pane [NAME:]LANGUAGE[=COMMAND] (Tab: languages)", input: InputEditor(),
                              pane: nil, choices: knownLanguages))
        case .zoomLog:
            arrangement.toggleLogZoom()
            for j in panes.indices { clampScroll(j) }
        case .growLog, .shrinkLog:
            arrangement.resizeLog(by: action == .growLog ? 2 : -2, paneCount: panes.count)
            for j in panes.indices { clampScroll(j) }
        default:
            return nil
        }
        return []
    }

    var focusedPaneID: Int? { focusedIndex.map { panes[$0].id } }

    mutating func cycleFocus(_ step: Int) {
        // Order: panes, then the log.
        let count = panes.count + 1
        let current: Int = focusedIndex ?? panes.count
        let next = ((current + step) % count + count) % count
        arrangement.move(focus: next == panes.count ? .log : .pane(panes[next].id))
    }

    /// Quit: at once when no bond is busy, else after a yes.
    mutating func quit(key: Key? = nil) -> [Effect] {
        if ending != .running { return [.exit] }
        let busy = panes.filter { $0.status.isBusyOrPending($0.pending) }.map(\.name)
        if !busy.isEmpty && confirm == nil {
            ask(.quit, "quit while \(busy.joined(separator: ", ")) \(busy.count == 1 ? "is" : "are") busy?", key: key)
            return []
        }
        return quitNow()
    }

    mutating func quitNow() -> [Effect] {
        ending = .closingBonds
        flash = "closing every bond… (\(config.bindings.long(.quit).split(separator: ",").first ?? "Ctrl-Q") again leaves at once)"
        return [.quit]
    }

    mutating func ask(_ action: ConfirmAction, _ question: String, key: Key?) {
        let again = key.map { " (\(KeyBindings.name($0, short: false)) again: yes)" } ?? ""
        let c = Confirmation(action: action, question: question + " y/N" + again, key: key)
        // One that comes while the user types in front (a file found to exist) waits its turn.
        if front?.holdsTyping == true { waitingQuestions.append(.confirmation(c)) } else { confirm = c }
    }

    /// y (or the same key again) does it; anything else says no.
    mutating func confirmKey(_ c: Confirmation, _ key: Key) -> [Effect] {
        confirm = nil
        guard c.update(key) else {
            flash = "cancelled"
            return []
        }
        switch c.action {
        case .quit: return quitNow()
        case .close(let id): return index(of: id).map { closeBond($0) } ?? []
        case .restart(let id): return index(of: id).map { restartNow($0) } ?? []
        case .remove(let id): return index(of: id).map { removePane($0) } ?? []
        case .overwrite(let path, let lines): return [.replaceFile(path: path, lines: lines)]
        }
    }

    mutating func helpKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var overlay = help else { return [] }
        let outcome = overlay.update(key, action: action, screenHeight: height)
        help = outcome == .stay ? overlay : nil
        return after(outcome)
    }

    mutating func viewerKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var v = viewer else { return [] }
        let outcome = v.update(key, action: action, area: overlayArea)
        viewer = outcome == .stay ? v : nil
        return after(outcome)
    }

    /// The panes a pane waits on, outermost first: while its interpreter waits on a `CALL` it
    /// made (a wire), the wire's source pane runs that call, and so on. From the log's open
    /// requests (exact per bond) and the wires.
    func waitChain(_ i: Int) -> [Int] {
        var chain = [i]
        var current = i
        while chain.count < 16 {
            let id = panes[current].id
            guard let e = log.innermostOpenRequest(id), !e.sent, e.verb == "CALL",
                let call = try? JSONText.parse(String(e.payload)), let name = call[0]?.stringValue,
                let wire = wires.first(where: { $0.target == id && $0.name == name }), let s = index(of: wire.source),
                !chain.contains(s)
            else { break }
            chain.append(s)
            current = s
        }
        return chain
    }

    /// Ctrl-C: interrupts the innermost interpreter of the chain the pane waits on (it raises its
    /// own error, which unwinds the chain back to this pane, each level showing its error); a
    /// second Ctrl-C while that chain is still busy interrupts every interpreter in it.
    mutating func interruptChain(_ i: Int) -> [Effect] {
        let chain = waitChain(i)
        let again = lastInterrupt == chain.map { panes[$0].id }
        lastInterrupt = chain.map { panes[$0].id }
        let targets = again ? chain.reversed() : [chain.last!]
        var effects: [Effect] = []
        for t in targets {
            if t == i {
                append(t, .info, "interrupt")
            } else {
                append(i, .info, "interrupt: \(panes[t].name) runs the call this pane waits on; interrupting it")
                append(t, .info, "interrupt (from \(panes[i].name), which waits on this call)")
            }
            effects.append(.interrupt(pane: panes[t].id, generation: panes[t].generation))
        }
        if again && chain.count > 1 { append(i, .info, "interrupt again: every interpreter of the chain") }
        return effects
    }

    mutating func paneKey(_ i: Int, _ key: Key, _ action: Action?) -> [Effect] {
        let id = panes[i].id
        switch action {
        case .eval:
            return submit(i, kind: .run)
        case .expression:
            return submit(i, kind: .eval)
        case .newline:
            panes[i].input.insert("\n")
            return []
        case .block:
            return submit(i, kind: .block)
        case .call:
            return submit(i, kind: .call)
        case .ref:
            let code = panes[i].input.text.trimmingSpaces
            if code.isEmpty, let last = panes[i].lastHandle {
                // The input empty: the last result that is a live object gets the name.
                openPrompt(Prompt(kind: .refName(code: ""), label: "ref name for the \(last.ref.typeName) handle",
                                  input: InputEditor(nextRefName(i)), pane: id))
                return []
            }
            guard !code.isEmpty else {
                flash = "\(config.bindings.long(.ref)): type the ref's code in the input first"
                return []
            }
            openPrompt(Prompt(kind: .refName(code: code), label: "ref name for \(code)", input: InputEditor(nextRefName(i)), pane: id))
            return []
        case .inspect:
            var initial = panes[i].input.text.trimmingSpaces
            if initial.hasPrefix("@") { initial.removeFirst() }
            if initial.isEmpty { initial = panes[i].refNames.last ?? "" }
            openPrompt(Prompt(kind: .inspect, label: "inspect ref (or expression; Tab: refs)", input: InputEditor(initial), pane: id,
                              choices: usableRefNames(i)))
            return []
        case .proxy:
            let initial = panes[i].input.text.trimmingSpaces
            openPrompt(Prompt(kind: .proxyFunction, label: "proxy function of \(panes[i].name)", input: InputEditor(initial), pane: id))
            return []
        case .interrupt:
            if let effects = interruptGroup(from: i) { return effects }
            if panes[i].status.isBusyOrPending(panes[i].pending) { return interruptChain(i) }
            panes[i].input.clear()
            panes[i].history.resetBrowsing()
            return []
        case .complete:
            return startCompletion(i)
        case .close:
            return closeOrRemove(i, key: key)
        case .restart:
            return restart(i, key: key)
        case .openValue:
            openViewer(i)
            return []
        case .broadcast:
            toggleBroadcast(i)
            return []
        default:
            break
        }
        var ring = killRing
        let outcome = panes[i].update(key, ring: &ring, transcriptArea: geometry(of: i).transcript)
        killRing = ring
        switch outcome {
        case .done: break
        case .historySearch(let reverse):
            historySearch = HistorySearch(pane: id, reverse: reverse, original: panes[i].input)
        case .ctrlXPrefix:
            ctrlXPending = true
        }
        return []
    }

    // MARK: Incremental history search (Ctrl-R, Ctrl-S)

    mutating func searchKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var search = historySearch, let i = index(of: search.pane) else { historySearch = nil; return [] }
        switch search.update(key, entries: panes[i].history.entries, lastQuery: promptHistory["search"]?.entries.last) {
        case .searching(let input):
            historySearch = search
            if let input { panes[i].input = input }
            return []
        case .cancelled(let original):
            panes[i].input = original
            historySearch = nil
            return []
        case .accepted(let input, let query):
            // The match is taken, then the key acts as usual (Enter runs it), as in readline.
            historySearch = nil
            if !query.isEmpty { promptHistory["search", default: History(limit: 100)].add(query) }
            if let input { panes[i].input = input }
            return handleKey(key)
        }
    }

    func nextRefName(_ i: Int) -> String {
        var n = panes[i].refNames.count + 1
        while panes[i].refs["r\(n)"] != nil || panes[i].handleRefs["r\(n)"] != nil { n += 1 }
        return "r\(n)"
    }
}
