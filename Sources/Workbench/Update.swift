import Bond
import Foundation

extension AppState {
    /// Applies one message; returns what the app layer must do.
    public mutating func update(_ message: Message) -> [Effect] {
        let effects = apply(message)
        rememberSaves(effects)
        askWaitingQuestion()  // a question that waited for the front to be free
        return effects
    }

    /// A file not written because it exists is asked about, with what was to be written.
    mutating func rememberSaves(_ effects: [Effect]) {
        for case .saveLog(let path, let lines) in effects { pendingSave[path] = .saveLog(path: path, lines: lines) }
    }

    private mutating func apply(_ message: Message) -> [Effect] {
        switch message {
        case .key(let key):
            return handleKey(key)
        case .resize(let w, let h):
            width = max(1, w)
            height = max(1, h)
            for i in panes.indices { clampScroll(i) }
            return []
        case .started(let id, let gen, let pid, let host):
            guard let i = live(id, gen) else { return [] }
            let width = geometry(of: i).transcript.width
            panes[i].started(pid: pid, host: host, transcriptWidth: width)
            // The start-up block first, then the wires into this pane (exported again into a new
            // bond), then what was asked while it started.
            let entries = startupEntriesAtStart(i).filter { !$0.code.allSatisfy(\.isWhitespace) }
            var requests = panes[i].sendStartupEntries(entries, transcriptWidth: width)
            let proxies = wires.filter { $0.target == id }
            panes[i].pending += proxies.count
            requests += proxies.map { .proxy(source: $0.source, function: $0.function, name: $0.name) }
            requests += panes[i].releaseHeld()
            return requests.map { .request(pane: id, generation: gen, $0) }
        case .startFailed(let id, let gen, let text):
            guard let i = live(id, gen) else { return [] }
            panes[i].failedToStart(text, transcriptWidth: geometry(of: i).transcript.width)
            return []
        case .state(let id, let gen, let state):
            guard let i = live(id, gen) else { return [] }
            panes[i].apply(state)
            return []
        case .output(let id, let gen, let channel, let text):
            guard let i = live(id, gen) else { return [] }
            panes[i].stream(channel, text, transcriptWidth: geometry(of: i).transcript.width)
            groupOutput(i, text)
            return []
        case .traffic(let id, let gen, let record):
            guard let i = index(of: id), panes[i].generation == gen else { return [] }
            log.append(LogEntry(seq: log.nextSeq, date: record.time, pane: id, paneName: panes[i].name,
                               language: panes[i].language, record: record))
            return []
        case .result(let id, let gen, let request, let outcome):
            guard let i = index(of: id), panes[i].generation == gen else { return [] }
            panes[i].requestAnswered()
            if lastInterrupt.first == id { lastInterrupt = [] }
            groupResult(i, request: request, outcome: outcome)
            if request.isCompletion {
                guard completion?.pane == id, completion?.waiting == true else { return [] }
                if case .completions(let names) = outcome {
                    if completion?.object == nil { panes[i].knownNames = names.filter(Bond.isFunctionName) }
                    finishCompletion(names: names)
                } else {
                    finishCompletion(names: [])
                }
                return []
            }
            if case .checkFunction(let function, _, let target, let name) = request {
                return functionChecked(i, function: function, target: target, name: name, outcome: outcome)
            }
            var step: Step?
            switch request {
            case .eval, .run, .block, .call, .object(.call): step = panes[i].finishStep(outcome)
            default: break
            }
            showOutcome(i, request: request, outcome: outcome)
            if step != nil, replays[id] != nil { return replayResult(i, outcome: outcome, step: step) }
            return []
        case .note(let id, let kind, let text):
            guard let i = index(of: id) else { return [] }
            append(i, kind, text)
            return []
        case .died(let id, let gen, let text, let stderr):
            guard let i = live(id, gen) else { return [] }
            logEnd(i, .interpreterEnded(text))
            dropHandleRefs(i, because: "the interpreter ended")
            if case .closing = panes[i].status { return [] }
            if case .closed = panes[i].status { return [] }
            panes[i].reportTermination(text, stderr: stderr, restartKey: resultDisplay(i).restartKey,
                                       transcriptWidth: geometry(of: i).transcript.width)
            return []
        case .closed(let id, let gen):
            guard let i = live(id, gen) else { return [] }
            logEnd(i, .closed)
            dropHandleRefs(i, because: "the bond is closed")
            panes[i].bondClosed(transcriptWidth: geometry(of: i).transcript.width)
            return []
        case .historyLoaded(let id, let entries):
            guard let i = index(of: id) else { return [] }
            panes[i].historyLoaded(entries)
            return []
        case .wireCalled(let target, let name):
            let key = WireKey(target: target, name: name)
            if wires.contains(where: { $0.key == key }) { wireCalls[key, default: 0] += 1 }
            return []
        case .fileRead(let path, let purpose, let text, let error):
            guard let text else {
                flash = "cannot read \(path): \(error ?? "?")"
                return []
            }
            switch purpose {
            case .replay(let report):
                return startReplay(source: path, text: text, report: report)
            }
        case .logSaved(let given, let path, let error):
            defer { pendingSave[given] = nil }
            switch error {
            case nil: flash = "saved to \(path)"
            case .exists?:
                if case .saveLog(_, let lines)? = pendingSave[given] {
                    ask(.overwrite(path: given, lines: lines), "\(path) exists: write over it?", key: nil)
                } else {
                    flash = "not saved: \(path) exists"
                }
            case .system(let reason)?: flash = "cannot write \(path): \(reason)"
            }
            return []
        case .edited(let id, let text, let error, let startup):
            guard let i = index(of: id) else { return [] }
            guard let text else {
                flash = "editor: \(error ?? "failed")"
                return []
            }
            if startup {
                panes[i].keepEditedStartupEntries(text, transcriptWidth: geometry(of: i).transcript.width)
            } else {
                panes[i].takeEditedInput(text)
            }
            return []
        case .allClosed:
            ending = .over
            return [.exit]
        case .sshQuestion(let pane, let question, let text, let secret):
            waitingQuestions.append(.ssh(pane: pane, question: question, prompt: text, secret: secret))
            askWaitingQuestion()
            return []
        }
    }

    /// Asks the first waiting question (ssh's prompt, or a y/N), unless the user types in front;
    /// it covers a view in front (help, a viewer...), as nothing is lost by closing one.
    mutating func askWaitingQuestion() {
        guard front?.holdsTyping != true, !waitingQuestions.isEmpty else { return }
        switch waitingQuestions.removeFirst() {
        case .confirmation(let c):
            confirm = c
        case .ssh(let pane, let question, let text, let secret):
            let name = index(of: pane).map { panes[$0].name } ?? "a pane"
            let label = "\(name): ssh asks: \(text.trimmingSpaces)" + (secret ? " (hidden; Esc cancels)" : " (Esc cancels)")
            openPrompt(Prompt(kind: .sshAnswer(question: question, secret: secret), label: label, input: InputEditor(), pane: pane))
        }
    }

    // MARK: Helpers

    private func live(_ id: Int, _ gen: Int) -> Int? {
        guard let i = index(of: id), panes[i].generation == gen else { return nil }
        return i
    }

    mutating func append(_ i: Int, _ kind: LineKind, _ text: String) {
        panes[i].append(kind, text, transcriptWidth: geometry(of: i).transcript.width)
    }

    mutating func clampScroll(_ i: Int) {
        panes[i].clampScroll(geometry(of: i).transcript)
    }
}

extension Request {
    /// Names for the completion menu.
    var isCompletion: Bool {
        switch self {
        case .complete, .object(.members): true
        default: false
        }
    }
}

extension PaneStatus {
    func isBusyOrPending(_ pending: Int) -> Bool {
        if case .busy = self { return true }
        return pending > 0
    }
}
