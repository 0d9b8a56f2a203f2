import Bond
import Foundation

/// The status-line prompt: opening it, its keys, and what its answer does.
extension AppState {
    mutating func openPrompt(_ p: Prompt) {
        prompt = p
        promptHistory[p.historyKey, default: History(limit: 200)].resetBrowsing()
    }

    mutating func promptKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var p = prompt else { return [] }
        var history = promptHistory[p.historyKey, default: History(limit: 200)]
        var ring = killRing
        let asking = p
        let outcome = p.update(key, action: action, history: &history, ring: &ring) { promptCandidates(asking, base: $0) }
        promptHistory[p.historyKey] = history
        killRing = ring
        switch outcome {
        case .editing:
            prompt = p
        case .nothingToComplete:
            prompt = p
            flash = "nothing to complete"
        case .cancelled:
            prompt = nil
            if case .logSearch(let origin) = p.kind { log.select(seq: origin, bodyHeight: logBody.height) }
            if case .sshAnswer(let question, _) = p.kind {
                askWaitingQuestion()
                return [.answerSSH(question: question, answer: nil)]
            }
            return []
        case .quit(let key):
            prompt = nil
            return quit(key: key)
        case .submitted(let typed):
            prompt = nil
            if case .sshAnswer(let question, _) = p.kind {
                // Never kept in the prompt's history: it may be a password.
                askWaitingQuestion()
                return [.answerSSH(question: question, answer: typed)]
            }
            let text = typed.trimmingSpaces
            promptHistory[p.historyKey, default: History(limit: 200)].add(text)
            return submitPrompt(p, text)
        }
        if case .logSearch(let origin) = p.kind {
            // Incremental: the selection moves to the nearest match as the text is typed.
            let text = p.input.text
            if text.isEmpty || p.selected {
                log.select(seq: origin, bodyHeight: logBody.height)
            } else {
                log.select(seq: log.find(text, from: origin, older: true, inclusive: true) ?? log.selected, bodyHeight: logBody.height)
            }
        }
        return []
    }

    /// What Tab offers in a prompt for the text typed so far: the prompt's choices that start
    /// with it, or, at the command prompt, the completions of its last word.
    func promptCandidates(_ p: Prompt, base: String) -> [String] {
        switch p.kind {
        case .command:
            return commandCompletions(base)
        case .proxyTarget:
            let names = panes.filter { $0.id != p.pane }.map(\.name)
            return names.filter { $0.hasPrefix(base) }
        default:
            let lower = base.lowercased()
            return p.choices.filter { $0.lowercased().hasPrefix(lower) }
        }
    }

    func nextPaneName(after current: String, excluding: Int?) -> String {
        let names = panes.filter { $0.id != excluding }.map(\.name)
        guard !names.isEmpty else { return current }
        if let i = names.firstIndex(of: current) { return names[(i + 1) % names.count] }
        return names[0]
    }

    mutating func submitPrompt(_ p: Prompt, _ text: String) -> [Effect] {
        let paneIndex = p.pane.flatMap { index(of: $0) }
        switch p.kind {
        case .sshAnswer:
            return []  // answered in promptKey, never here
        case .command:
            return runCommand(text)
        case .newPane:
            guard !text.isEmpty else { return [] }
            return newPane(text)
        case .refName(let code):
            guard let i = paneIndex else { return [] }
            return makeRef(i, name: text, code: code)
        case .inspect:
            guard let i = paneIndex, !text.isEmpty else { return [] }
            return inspect(i, text)
        case .proxyFunction:
            guard !text.isEmpty, paneIndex != nil else { return [] }
            let suggestion = nextPaneName(after: "", excluding: p.pane)
            openPrompt(Prompt(kind: .proxyTarget(function: text), label: "proxy \(text) to pane (Tab cycles)",
                              input: InputEditor(suggestion), pane: p.pane))
            return []
        case .proxyTarget(let function):
            guard let target = pane(named: text) else {
                flash = "no pane named \"\(text)\""
                return []
            }
            let suggestion = String(function.split(separator: ".").last ?? Substring(function))
            openPrompt(Prompt(kind: .proxyName(function: function, target: target.id),
                              label: "name of \(function) in \(target.name)", input: InputEditor(suggestion), pane: p.pane))
            return []
        case .proxyName(let function, let target):
            guard let s = paneIndex else { return [] }
            if panes[s].input.text.trimmingSpaces == function { panes[s].input.clear() }
            return proxy(s, function: function, target: target, name: text.isEmpty ? function : text)
        case .logSave(let shown):
            return saveLog(text, shown: shown)
        case .logFilter:
            setLogFilterChecked(text)
            return []
        case .logSearch(let origin):
            log.search = text
            if !text.isEmpty && log.find(text, from: origin, older: true, inclusive: true) == nil { flash = "not found: \(text)" }
            return []
        }
    }
}
