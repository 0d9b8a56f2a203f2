import Bond
import Foundation

extension AppState {
    /// Applies one message; returns what the app layer must do.
    public mutating func update(_ message: Message) -> [Effect] {
        let effects = apply(message)
        rememberSaves(effects)
        askNextSSHQuestion()  // a question that waited for another prompt to close
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
            panes[i].pid = pid
            panes[i].location = host ?? "local"
            if case .starting = panes[i].status { panes[i].status = .idle }
            panes[i].deathReported = false
            panes[i].endLogged = false
            append(i, .info, "\(panes[i].language) started (pid \(pid), \(host.map { "over ssh to \($0)" } ?? "local"))")
            var effects: [Effect] = []
            // The start-up block first, then the wires into this pane (exported again into a new
            // bond), then what was asked while it started.
            let entries = panes[i].startupEntries.filter { $0.runsAtStart && !$0.code.allSatisfy(\.isWhitespace) }
            if !entries.isEmpty {
                append(i, .info, entries.count == 1 ? "start-up block" : "start-up: \(entries.count) entries")
                panes[i].startupRunning = entries.count
                panes[i].startupFailed = 0
                for e in entries {
                    panes[i].pending += 1
                    effects.append(.request(pane: id, generation: gen, .startup(e.code)))
                }
            }
            effects += wires.filter { $0.target == id }.map {
                panes[i].pending += 1
                return .request(pane: id, generation: gen, .proxy(source: $0.source, function: $0.function, name: $0.name))
            }
            effects += panes[i].held.map { .request(pane: id, generation: gen, $0) }
            panes[i].held = []
            return effects
        case .startFailed(let id, let gen, let text):
            guard let i = live(id, gen) else { return [] }
            panes[i].status = .failed
            panes[i].deathReported = true
            panes[i].pending = 0
            panes[i].held = []
            append(i, .error, text)
            append(i, .info, "F5 tries again; Ctrl-W removes the pane")
            return []
        case .state(let id, let gen, let state):
            guard let i = live(id, gen) else { return [] }
            switch state {
            case .starting:
                panes[i].status = .starting
            case .idle:
                if case .starting = panes[i].status { break }
                if panes[i].status.isLive { panes[i].status = .idle }
            case .busy(let depth):
                if panes[i].status.isLive { panes[i].status = .busy(depth: depth) }
            case .terminated(let exit):
                switch panes[i].status {
                case .closing, .closed, .failed: break
                default: panes[i].status = .dead(exit: exit.description)
                }
            }
            return []
        case .output(let id, let gen, let channel, let text):
            guard let i = live(id, gen) else { return [] }
            let before = panes[i].scroll > 0 ? rowCount(i) : 0
            panes[i].transcript.stream(channel == .stderr ? .stderr : .stdout, text)
            recordOutput(i, text)
            if panes[i].scroll > 0 { panes[i].scroll += rowCount(i) - before }
            return []
        case .traffic(let id, let gen, let record):
            guard let i = index(of: id), panes[i].generation == gen else { return [] }
            appendLog(LogEntry(seq: nextSeq, date: record.time, pane: id, paneName: panes[i].name,
                               language: panes[i].language, record: record))
            return []
        case .result(let id, let gen, let request, let outcome):
            guard let i = index(of: id), panes[i].generation == gen else { return [] }
            panes[i].pending = max(0, panes[i].pending - 1)
            // Its interpreter answered: the pane is not busy any more, whatever state message
            // is still on its way (the engine's comes from another thread).
            if panes[i].pending == 0, case .busy = panes[i].status { panes[i].status = .idle }
            if lastInterrupt.first == id { lastInterrupt = [] }
            if case .complete = request {
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
            case .eval, .run, .block, .call: step = finishStep(i, outcome)
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
            if case .closing = panes[i].status { return [] }
            if case .closed = panes[i].status { return [] }
            reportTermination(i, text, stderr: stderr)
            return []
        case .closed(let id, let gen):
            guard let i = live(id, gen) else { return [] }
            logEnd(i, .closed)
            panes[i].status = .closed
            panes[i].pending = 0
            append(i, .info, "closed; F5 restarts, Ctrl-W removes the pane")
            return []
        case .historyLoaded(let id, let entries):
            guard let i = index(of: id) else { return [] }
            panes[i].history = History(entries: entries + panes[i].history.entries)
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
            if startup, let text {
                panes[i].startupEntries = StartupEntries.parse(edited: text, language: panes[i].language)
                append(i, .info, "start-up: \(panes[i].startupEntries.count) entries kept (they run at the next start)")
                return []
            }
            if let text {
                var t = text
                while t.hasSuffix("\n") { t.removeLast() }
                panes[i].input.text = t
            } else {
                flash = "editor: \(error ?? "failed")"
            }
            return []
        case .allClosed:
            done = true
            return [.exit]
        case .sshQuestion(let pane, let question, let text, let secret):
            sshQuestions.append((pane, question, text, secret))
            askNextSSHQuestion()
            return []
        }
    }

    /// Opens the prompt for the first waiting ssh question, unless a prompt is open.
    mutating func askNextSSHQuestion() {
        guard prompt == nil, !sshQuestions.isEmpty else { return }
        let q = sshQuestions.removeFirst()
        let name = index(of: q.pane).map { panes[$0].name } ?? "a pane"
        let label = "\(name): ssh asks: \(q.prompt.trimmingSpaces)" + (q.secret ? " (hidden; Esc cancels)" : " (Esc cancels)")
        openPrompt(Prompt(kind: .sshAnswer(question: q.question, secret: q.secret), label: label, input: InputEditor(), pane: q.pane))
    }

    // MARK: Helpers

    private func live(_ id: Int, _ gen: Int) -> Int? {
        guard let i = index(of: id), panes[i].generation == gen else { return nil }
        return i
    }

    mutating func append(_ i: Int, _ kind: LineKind, _ text: String) {
        let before = panes[i].scroll > 0 ? rowCount(i) : 0
        panes[i].transcript.add(kind, text)
        if panes[i].scroll > 0 { panes[i].scroll += rowCount(i) - before }
    }

    func rowCount(_ i: Int) -> Int {
        panes[i].transcript.rowCount(width: geometry(of: i).transcript.width)
    }

    mutating func clampScroll(_ i: Int) {
        let g = geometry(of: i)
        let total = panes[i].transcript.rowCount(width: g.transcript.width, limit: panes[i].scroll + g.transcript.height + 1)
        panes[i].scroll = max(0, min(panes[i].scroll, total - g.transcript.height))
    }

    static func clock(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        let ms = Int((date.timeIntervalSince1970 - Double(t)) * 1000) % 1000
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)"
    }

    static func cut(_ line: String) -> String {
        var s = Substring(line)
        if s.utf8.count > LogEntry.maximumTextBytes {
            s = s.prefix(LogEntry.maximumTextBytes)
        }
        var clean = Sanitizer.line(s)
        if clean.utf8.count > LogEntry.maximumTextBytes * 2 { clean = String(clean.prefix(LogEntry.maximumTextBytes)) }
        return clean
    }

    /// A value: on one line when it fits the pane (as node and IPython print short arrays and
    /// objects), else pretty-printed; a big one previewed.
    mutating func showValue(_ i: Int, _ v: BondValue) {
        if case .null = v { append(i, .value, "null"); return }
        let compact = Self.oneLine(v)
        let width = max(10, geometry(of: i).transcript.width - 2)
        let text = !compact.contains("\n") && TextWidth.of(compact) <= width ? compact : v.prettyDescription
        showPreview(i, .value, text, type: nil)
    }

    /// A value on one line, spaced as node and Python print it: `[1, {"a": 2}]`.
    static func oneLine(_ v: BondValue) -> String {
        switch v {
        case .array(let items): return "[" + items.map(oneLine).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.map { BondValue.string($0.key).description + ": " + oneLine($0.value) }.joined(separator: ", ") + "}"
        default: return v.description
        }
    }

    /// At most `previewLines` lines (default: a third of the pane), then a line that says how
    /// much more there is and which key shows it whole.
    mutating func showPreview(_ i: Int, _ kind: LineKind, _ text: String, type: String?) {
        let g = geometry(of: i)
        let width = max(10, g.transcript.width - 2)
        let limit = config.previewLines ?? max(3, g.transcript.height / 3)
        let marked = type.map { text + "   ‹\($0) · description›" } ?? text
        panes[i].lastValue = marked
        var shown: [Substring] = []
        var rows = 0
        var used = 0
        for line in marked.split(separator: "\n", omittingEmptySubsequences: false) {
            // Measured whole unless it is far longer than the preview (then it cannot fit anyway).
            let lineRows = line.count > 4 * limit * width ? limit + 1 : max(1, (TextWidth.of(String(line)) + width - 1) / width)
            if rows + lineRows > limit {
                if shown.isEmpty { shown.append(line.prefix(limit * width)); used += min(line.count, limit * width) }
                break
            }
            shown.append(line)
            rows += lineRows
            used += line.count + 1
        }
        let text = shown.joined(separator: "\n")
        append(i, kind, text)
        let moreCharacters = max(0, marked.count - used)
        let moreLines = marked.split(separator: "\n", omittingEmptySubsequences: false).count - shown.count
        if moreCharacters > 0 {
            let key = config.bindings.long(.openValue).split(separator: ",").first ?? "Alt-v"
            append(i, .info, "… \(Self.grouped(moreCharacters)) more characters, \(Self.grouped(moreLines)) more lines (\(key) shows it whole)")
        }
    }

    /// 1 999 000: digits in groups of three, as the guide writes numbers.
    static func grouped(_ n: Int) -> String {
        var s = String(n)
        var i = s.count - 3
        while i > 0 { s.insert(" ", at: s.index(s.startIndex, offsetBy: i)); i -= 3 }
        return s
    }

    /// Perl's `my` variables end with their input: said the first time one reads back undefined.
    mutating func perlHint(_ i: Int, _ request: Request) {
        guard panes[i].language.lowercased() == "perl", !panes[i].perlHintGiven, case .run(let code) = request else { return }
        let t = code.trimmingSpaces.trimmingCharacters(in: [";"])
        guard t.hasPrefix("$"), t.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return }
        let name = String(t.dropFirst())
        guard panes[i].history.entries.contains(where: { $0.contains("my $\(name)") || $0.contains("my ($\(name)") }) else { return }
        panes[i].perlHintGiven = true
        append(i, .info, "hint: a Perl my variable ends with its input; write our $\(name) (or $\(name) without my) to keep it")
    }

    /// Keeps the definitions of an input that ran without error as start-up entries.
    mutating func record(_ i: Int, _ code: String) {
        let found = StartupEntries.definitions(in: code, language: panes[i].language)
        if !found.isEmpty { panes[i].startupEntries = StartupEntries.merge(panes[i].startupEntries, found) }
    }

    /// A start-up entry ended: a failure is reported with the entry's text and the others go on.
    mutating func startupEntryEnded(_ i: Int, request: Request, failure: String?) {
        let total = panes[i].startupEntries.filter(\.runsAtStart).count
        if let failure, case .startup(let code) = request {
            panes[i].startupFailed += 1
            let n = (panes[i].startupEntries.filter(\.runsAtStart).firstIndex { $0.code == code } ?? 0) + 1
            let first = code.split(separator: "\n").first.map(String.init) ?? code
            append(i, .error, "start-up entry \(n) of \(total) failed: \(failure)")
            append(i, .info, "  entry \(n): \(first)\(code.contains("\n") ? " …" : "") (session edit changes the entries)")
        }
        panes[i].startupRunning = max(0, panes[i].startupRunning - 1)
        guard panes[i].startupRunning == 0 else { return }
        if total <= 1 && panes[i].startupFailed == 0 {
            append(i, .info, "start-up block ran")
        } else {
            append(i, .info, "start-up: \(total) entries ran" + (panes[i].startupFailed > 0 ? ", \(panes[i].startupFailed) failed" : ", all without error"))
        }
    }

    /// The interpreter ended: said once per bond, with the lines of its standard error that the
    /// transcript does not already show (a fatal message printed as it died is not repeated).
    mutating func reportTermination(_ i: Int, _ message: String, stderr: String) {
        guard !panes[i].deathReported else { return }
        panes[i].deathReported = true
        let shown = Set(panes[i].transcript.lines.suffix(200).filter { $0.kind == .stderr || $0.kind == .stdout }
            .map { $0.text.trimmingSpaces })
        let rest = stderr.split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
            .filter { !shown.contains($0.trimmingSpaces) }
        let fresh = rest.joined(separator: "\n").trimmingSpaces
        if fresh.isEmpty && !stderr.trimmingSpaces.isEmpty {
            append(i, .error, message + " (its last output is above)")
        } else {
            append(i, .error, message + (fresh.isEmpty ? "" : ": " + fresh))
        }
        append(i, .info, "\(config.bindings.long(.restart).split(separator: ",").first ?? "F5") restarts \(panes[i].name)")
    }

    /// Formats a finished request into the transcript.
    mutating func showOutcome(_ i: Int, request: Request, outcome: Outcome) {
        panes[i].transcript.closeOpenLine()
        switch outcome {
        case .value(let v):
            showValue(i, v)
            if case .eval(let code) = request { record(i, code) }
        case .ran(let result):
            switch result {
            case .value(let v)?: showValue(i, v)
            case .description(let d)?: showPreview(i, .description, d.text, type: d.typeName)
            case nil: perlHint(i, request)
            }
            if case .run(let code) = request { record(i, code) }
        case .done:
            if case .block(let code) = request {
                append(i, .info, "ok")
                record(i, code)
            }
            if case .startup = request { startupEntryEnded(i, request: request, failure: nil) }
        case .failure(let text):
            if case .startup = request { startupEntryEnded(i, request: request, failure: text); break }
            append(i, .error, text)
        case .terminated(let message, let stderr):
            logEnd(i, .interpreterEnded(message))
            reportTermination(i, message, stderr: stderr)
        case .inspected(let name, let type, let description, let value, let error):
            var text = "inspect \(name)"
            if let type { text += ": \(type)" }
            append(i, .info, text)
            if let value {
                append(i, .value, value.prettyDescription)
            } else if let description {
                append(i, .stdout, description)
            }
            if value == nil && description == nil, let error { append(i, .error, error) }
        case .completions:
            break
        case .unwired(let name):
            append(i, .info, "unwired: \(name) now throws \"unwired\"")
        case .proxied(let wire):
            if !wires.contains(wire) {
                if let k = wires.firstIndex(where: { $0.key == wire.key }) {
                    wires[k] = wire
                    wireCalls[wire.key] = nil
                } else {
                    wires.append(wire)
                }
            }
            if let s = index(of: wire.source) {
                let text = "proxy: \(panes[s].name).\(wire.function) is callable here as \(wire.name)"
                append(i, .info, text)
                if s != i { append(s, .info, "proxy: \(wire.function) is callable in \(panes[i].name) as \(wire.name)") }
            }
        }
    }

    // MARK: Keys

    mutating func handleKey(_ pressed: Key) -> [Effect] {
        if pressed == .resize { return [] }
        if case .mouse(let event) = pressed { return mouse(event) }
        let key = pressed
        let action = config.bindings.action(for: key)
        if showHelp { return helpKey(key, action) }
        if let c = confirm { return confirmKey(c, key) }
        if prompt != nil { return promptKey(key, action) }
        if historySearch != nil { return searchKey(key, action) }
        if viewer != nil { return viewerKey(key, action) }
        flash = nil
        if logDetail != nil { return detailKey(key) }
        if wiringView != nil { return wiringKey(key, action) }
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
        guard let i = focusedIndex else { return logKey(key) }
        return paneKey(i, key, action)
    }

    /// Actions that do not depend on the focused pane; nil for the others.
    mutating func globalAction(_ action: Action, key: Key) -> [Effect]? {
        switch action {
        case .quit:
            return quit(key: key)
        case .help:
            showHelp = true
            helpScroll = 0
        case .wiring:
            wiringView = 0
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
            logZoomed.toggle()
            if logZoomed { focus = .log }
            for j in panes.indices { clampScroll(j) }
        case .growLog, .shrinkLog:
            logZoomed = false
            logResize += action == .growLog ? 2 : -2
            let usual = Layout.screen(width: width, height: height, paneCount: panes.count).log.height
            logResize = max(2 - usual, min(max(0, height - 5) - usual, logResize))
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
        focus = next == panes.count ? .log : .pane(panes[next].id)
        if logZoomed && focus != .log { logZoomed = false }
    }

    /// Quit: at once when no bond is busy, else after a yes.
    mutating func quit(key: Key? = nil) -> [Effect] {
        if quitting { return [.exit] }
        let busy = panes.filter { $0.status.isBusyOrPending($0.pending) }.map(\.name)
        if !busy.isEmpty && confirm == nil {
            ask(.quit, "quit while \(busy.joined(separator: ", ")) \(busy.count == 1 ? "is" : "are") busy?", key: key)
            return []
        }
        return quitNow()
    }

    mutating func quitNow() -> [Effect] {
        quitting = true
        flash = "closing every bond… (\(config.bindings.long(.quit).split(separator: ",").first ?? "Ctrl-Q") again leaves at once)"
        return [.quit]
    }

    mutating func ask(_ action: ConfirmAction, _ question: String, key: Key?) {
        let again = key.map { " (\(KeyBindings.name($0, short: false)) again: yes)" } ?? ""
        confirm = Confirmation(action: action, question: question + " y/N" + again, key: key)
    }

    /// y (or the same key again) does it; anything else says no.
    mutating func confirmKey(_ c: Confirmation, _ key: Key) -> [Effect] {
        confirm = nil
        guard key == .char("y") || key == .char("Y") || (c.key != nil && key == c.key) else {
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
        let page = helpRows
        switch key {
        case .up: helpScroll = max(0, helpScroll - 1)
        case .down: helpScroll += 1
        case .pageUp: helpScroll = max(0, helpScroll - page)
        case .pageDown, .char(" "): helpScroll += page
        case .home: helpScroll = 0
        case .end: helpScroll = Int.max / 2
        default:
            showHelp = false
            if action == .quit { return quit(key: key) }
            return []
        }
        helpScroll = min(helpScroll, max(0, helpLines().count - helpRows))
        return []
    }

    /// The panes a pane waits on, outermost first: while its interpreter waits on a `CALL` it
    /// made (a wire), the wire's source pane runs that call, and so on. From the log's open
    /// requests (exact per bond) and the wires.
    func waitChain(_ i: Int) -> [Int] {
        var chain = [i]
        var current = i
        while chain.count < 16 {
            let id = panes[current].id
            guard let top = openRequests[id]?.last, let e = entry(top), !e.sent, e.verb == "CALL",
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

    mutating func scrollPane(_ i: Int, _ key: Key) {
        let g = geometry(of: i)
        let page = max(1, g.transcript.height - 1)
        switch key {
        case .pageUp: panes[i].scroll += page
        case .pageDown: panes[i].scroll = max(0, panes[i].scroll - page)
        case .ctrlUp: panes[i].scroll += 1
        case .ctrlDown: panes[i].scroll = max(0, panes[i].scroll - 1)
        case .ctrlHome: panes[i].scroll = Int.max / 2
        case .ctrlEnd: panes[i].scroll = 0
        default: break
        }
        clampScroll(i)
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
            guard !code.isEmpty else {
                flash = "\(config.bindings.long(.ref)): type the ref's code in the input first"
                return []
            }
            openPrompt(Prompt(kind: .refName(code: code), label: "ref name for \(code)", input: InputEditor(nextRefName(i)), pane: id))
            return []
        case .inspect:
            var initial = panes[i].input.text.trimmingSpaces
            if initial.hasPrefix("@") { initial.removeFirst() }
            if initial.isEmpty { initial = panes[i].refs.keys.last ?? "" }
            openPrompt(Prompt(kind: .inspect, label: "inspect ref (or expression; Tab: refs)", input: InputEditor(initial), pane: id,
                              choices: Array(panes[i].refs.keys)))
            return []
        case .proxy:
            let initial = panes[i].input.text.trimmingSpaces
            openPrompt(Prompt(kind: .proxyFunction, label: "proxy function of \(panes[i].name)", input: InputEditor(initial), pane: id))
            return []
        case .interrupt:
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
        switch key {
        case .up:
            if !panes[i].input.lineUp(), let entry = panes[i].history.previous(current: panes[i].input.text) {
                panes[i].input.text = entry
            }
        case .down:
            if !panes[i].input.lineDown(), let entry = panes[i].history.next() {
                panes[i].input.text = entry
            }
        case .pageUp, .pageDown, .ctrlUp, .ctrlDown, .ctrlHome, .ctrlEnd:
            scrollPane(i, key)
        case .ctrl("r"), .ctrl("s"):
            historySearch = HistorySearch(pane: id, reverse: key == .ctrl("r"), original: panes[i].input)
        case .ctrl("x"):
            ctrlXPending = true
        default:
            LineEditing.apply(key, to: &panes[i].input, ring: &killRing)
        }
        return []
    }

    // MARK: Incremental history search (Ctrl-R, Ctrl-S)

    mutating func searchKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var s = historySearch, let i = index(of: s.pane) else { historySearch = nil; return [] }
        let entries = panes[i].history.entries
        func find(from start: Int?, reverse: Bool) -> Int? {
            guard !s.query.isEmpty, !entries.isEmpty else { return nil }
            var k = start ?? (reverse ? entries.count - 1 : 0)
            while k >= 0 && k < entries.count {
                if entries[k].contains(s.query) { return k }
                k += reverse ? -1 : 1
            }
            return nil
        }
        switch key {
        case .ctrl("r"), .ctrl("s"):
            s.reverse = key == .ctrl("r")
            if s.query.isEmpty, let last = promptHistory["search"]?.entries.last { s.query = last }
            let from = s.match.map { s.reverse ? $0 - 1 : $0 + 1 }
            if let m = find(from: from, reverse: s.reverse) { s.match = m; s.failed = false } else { s.failed = true }
        case .backspace:
            if !s.query.isEmpty { s.query.removeLast() }
            s.match = find(from: nil, reverse: true)
            s.failed = s.match == nil && !s.query.isEmpty
        case .char(let c):
            s.query.append(c)
            if let m = find(from: s.match, reverse: s.reverse) ?? find(from: nil, reverse: s.reverse) { s.match = m; s.failed = false } else { s.failed = true }
        case .escape, .ctrl("g"):
            panes[i].input = s.original
            historySearch = nil
            return []
        default:
            // Any other key takes the match and then acts as usual (Enter runs it), as in readline.
            historySearch = nil
            if !s.query.isEmpty {
                var h = promptHistory["search"] ?? History(limit: 100)
                h.add(s.query)
                promptHistory["search"] = h
            }
            if let m = s.match {
                panes[i].input = InputEditor(entries[m])
                if let r = entries[m].range(of: s.query) {
                    panes[i].input.moveCursor(to: entries[m].distance(from: entries[m].startIndex, to: r.lowerBound))
                }
            }
            return handleKey(key)
        }
        historySearch = s
        if let m = s.match {
            panes[i].input = InputEditor(entries[m])
            if let r = entries[m].range(of: s.query) {
                panes[i].input.moveCursor(to: entries[m].distance(from: entries[m].startIndex, to: r.lowerBound))
            }
        } else if s.query.isEmpty {
            panes[i].input = s.original
        }
        return []
    }

    func nextRefName(_ i: Int) -> String {
        var n = panes[i].refs.count + 1
        while panes[i].refs["r\(n)"] != nil { n += 1 }
        return "r\(n)"
    }

    enum SubmitKind { case run, eval, block, call }

    mutating func submit(_ i: Int, kind: SubmitKind) -> [Effect] {
        let text = panes[i].input.text
        guard !text.allSatisfy(\.isWhitespace) else { return [] }
        panes[i].history.add(text)
        panes[i].input.clear()
        panes[i].scroll = 0
        var effects: [Effect] = [.saveHistory(name: panes[i].name, entries: panes[i].history.entries)]
        effects += perform(i, kind: kind, text: text)
        if let group = panes[i].group, broadcasting.contains(group) {
            for j in panes.indices where j != i && panes[j].group == group {
                panes[j].history.add(text)
                panes[j].scroll = 0
                effects.append(.saveHistory(name: panes[j].name, entries: panes[j].history.entries))
                effects += perform(j, kind: kind, text: text)
            }
        }
        return effects
    }

    /// Turns broadcasting on or off for the focused pane's host group.
    mutating func toggleBroadcast(_ i: Int) {
        guard let group = panes[i].group else {
            flash = "\(panes[i].name) is in no host group (bond-workbench --hosts h1,h2 LANGUAGE)"
            return
        }
        let members = panes.filter { $0.group == group }.map(\.name)
        if broadcasting.remove(group) == nil {
            broadcasting.insert(group)
            flash = "broadcast on: input goes to \(members.joined(separator: ", ")) (\(config.bindings.long(.broadcast)) again: off)"
        } else {
            flash = "broadcast off: input goes to this pane only"
        }
    }

    /// Runs `text` in pane `i` as an expression, a block or a call.
    mutating func perform(_ i: Int, kind: SubmitKind, text: String) -> [Effect] {
        let request: Request
        switch kind {
        case .run:
            append(i, .input, text)
            request = .run(text)
        case .eval:
            append(i, .input, "eval " + text)
            request = .eval(text)
        case .block:
            append(i, .input, "block:\n" + text)
            request = .block(text)
        case .call:
            append(i, .input, "call " + text)
            do {
                let (name, arguments) = try CallParser.parseCall(text)
                var resolved: [CallArgument] = []
                for argument in arguments {
                    switch argument {
                    case .value: resolved.append(argument)
                    case .ref(let name):
                        guard let code = panes[i].refs[name] else {
                            append(i, .error, "call: no ref @\(name) in \(panes[i].name)")
                            return []
                        }
                        resolved.append(.ref(code))
                    }
                }
                request = .call(name: name, arguments: resolved)
            } catch {
                append(i, .error, error.message)
                return []
            }
        }
        if panes[i].status.isLive || panes[i].status == .starting { recordStep(i, request) }
        return send(i, request)
    }

    mutating func send(_ i: Int, _ request: Request) -> [Effect] {
        switch panes[i].status {
        case .starting:
            panes[i].pending += 1
            panes[i].held.append(request)
            return []
        case .idle, .busy:
            panes[i].pending += 1
            return [.request(pane: panes[i].id, generation: panes[i].generation, request)]
        default:
            append(i, .error, "\(panes[i].name) is \(panes[i].status.label); F5 restarts it")
            return []
        }
    }

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
        panes[i].status = .closing
        append(i, .info, "closing \(panes[i].name)…")
        return [.close(pane: panes[i].id, generation: panes[i].generation)]
    }

    mutating func removePane(_ i: Int) -> [Effect] {
        let id = panes[i].id
        let touching = wires.filter { $0.source == id || $0.target == id }
        removed.append(RemovedPane(pane: panes[i], position: i, wires: touching))
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
        guard var r = removed.popLast() else {
            flash = "undo: no pane was removed"
            return []
        }
        if panes.contains(where: { $0.name == r.pane.name }) {
            removed.append(r)
            flash = "undo: a pane named \(r.pane.name) is open"
            return []
        }
        r.pane.generation += 1
        r.pane.status = .starting
        r.pane.pending = 0
        r.pane.held = []
        r.pane.pid = nil
        r.pane.deathReported = false
        panes.insert(r.pane, at: min(r.position, panes.count))
        let present = Set(panes.map(\.id))
        for w in r.wires where present.contains(w.source) && present.contains(w.target) && !wires.contains(where: { $0.key == w.key }) {
            wires.append(w)
        }
        // A wire whose other end is still removed comes back with that pane.
        for k in removed.indices {
            removed[k].wires += r.wires.filter { w in (w.source == removed[k].pane.id || w.target == removed[k].pane.id) && !removed[k].wires.contains(w) }
        }
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
        panes[i].generation += 1
        panes[i].status = .starting
        panes[i].pending = 0
        panes[i].held = []
        panes[i].pid = nil
        panes[i].deathReported = false
        append(i, .info, "restarting \(p.name)…")
        effects.append(.start(pane: p.id, generation: panes[i].generation, name: p.name, language: p.language, command: p.command))
        return effects
    }

    // MARK: Prompt

    mutating func openPrompt(_ p: Prompt) {
        prompt = p
        promptHistory[p.historyKey, default: History(limit: 200)].resetBrowsing()
    }

    mutating func promptKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var p = prompt else { return [] }
        var cycle = p.cycle
        p.cycle = nil
        switch key {
        case .escape, .ctrl("c"), .ctrl("g"):
            prompt = nil
            if case .logSearch(let origin) = p.kind { logSelected = origin; pinLogTop() }
            if case .sshAnswer(let question, _) = p.kind {
                askNextSSHQuestion()
                return [.answerSSH(question: question, answer: nil)]
            }
            return []
        case .enter:
            prompt = nil
            if case .sshAnswer(let question, _) = p.kind {
                // Never kept in the prompt's history: it may be a password.
                askNextSSHQuestion()
                return [.answerSSH(question: question, answer: p.input.text)]
            }
            let text = p.input.text.trimmingSpaces
            promptHistory[p.historyKey, default: History(limit: 200)].add(text)
            return submitPrompt(p, text)
        case .up, .down:
            var h = promptHistory[p.historyKey, default: History(limit: 200)]
            let entry = key == .up ? h.previous(current: p.input.text) : h.next()
            promptHistory[p.historyKey] = h
            if let entry { p.input = InputEditor(entry); p.selected = false }
        case .tab, .ctrl(" "):
            if cycle == nil {
                let base = p.input.text
                let candidates = promptCandidates(p, base: p.selected ? "" : base)
                guard !candidates.isEmpty else {
                    flash = "nothing to complete"
                    break
                }
                // The choice shown now is not offered again first.
                let start = candidates.firstIndex(of: base).map { ($0 + 1) % candidates.count } ?? 0
                cycle = (p.selected ? "" : base, candidates, start)
            } else {
                cycle!.index = (cycle!.index + 1) % cycle!.candidates.count
            }
            p.input = InputEditor(cycle!.candidates[cycle!.index])
            p.selected = false
            p.cycle = cycle
            if cycle!.candidates.count == 1 { p.cycle = nil }
        default:
            if action == .quit && key != .char("q") {
                prompt = nil
                return quit(key: key)
            }
            if p.selected {
                switch key {
                case .char, .ctrl("y"):
                    // Typing replaces the selected default.
                    p.input = InputEditor()
                    p.selected = false
                    LineEditing.apply(key, to: &p.input, ring: &killRing)
                case .backspace, .delete, .ctrl("d"), .ctrl("k"), .ctrl("u"), .ctrl("w"), .alt("\u{7F}"):
                    p.input = InputEditor()
                    p.selected = false
                case .left, .ctrl("b"), .home, .ctrl("a"):
                    p.selected = false
                    LineEditing.apply(key, to: &p.input, ring: &killRing)
                default:
                    p.selected = false
                    LineEditing.apply(key, to: &p.input, ring: &killRing)
                }
            } else {
                LineEditing.apply(key, to: &p.input, ring: &killRing)
            }
        }
        prompt = p
        if case .logSearch(let origin) = p.kind {
            // Incremental: the selection moves to the nearest match as the text is typed.
            let text = p.input.text
            if text.isEmpty || p.selected {
                logSelected = origin
            } else if let s = searchLog(text, from: origin, older: true, inclusive: true) {
                logSelected = s
            }
            pinLogTop()
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
            logSearch = text
            if !text.isEmpty && searchLog(text, from: origin, older: true, inclusive: true) == nil { flash = "not found: \(text)" }
            return []
        }
    }

    mutating func makeRef(_ i: Int, name: String, code: String) -> [Effect] {
        var name = name
        if name.hasPrefix("@") { name.removeFirst() }
        guard PaneSpec.isValidName(name) else {
            flash = "a ref name is letters, digits, _ and -"
            return []
        }
        panes[i].refs[name] = code
        if panes[i].input.text.trimmingSpaces == code { panes[i].input.clear() }
        append(i, .info, "ref @\(name) = \(code)")
        return []
    }

    mutating func inspect(_ i: Int, _ text: String) -> [Effect] {
        var name = text
        if name.hasPrefix("@") { name.removeFirst() }
        let code = panes[i].refs[name] ?? text
        let label = panes[i].refs[name] != nil ? "@\(name)" : text
        append(i, .input, "inspect \(label)")
        return send(i, .inspect(name: label, code: code, describe: Languages.describeExpression(language: panes[i].language, code: code)))
    }

    mutating func proxy(_ s: Int, function: String, target: Int, name: String) -> [Effect] {
        guard let t = index(of: target) else {
            flash = "that pane is gone"
            return []
        }
        guard Bond.isFunctionName(name) else {
            flash = "\"\(name)\" is not a valid function name"
            return []
        }
        guard let check = Languages.functionCheck(language: panes[s].language, name: function) else {
            append(t, .info, "proxy \(panes[s].name).\(function) as \(name)…")
            return send(t, .proxy(source: panes[s].id, function: function, name: name))
        }
        // First ask the source whether it has the function; the wire is made only if it has.
        append(s, .info, "proxy: looking for \(function) in \(panes[s].name)…")
        return send(s, .checkFunction(function: function, check: check, target: target, name: name))
    }

    /// The source answered whether it has the function: proxy it, or say why not (no wire made).
    mutating func functionChecked(_ s: Int, function: String, target: Int, name: String, outcome: Outcome) -> [Effect] {
        var exists = false
        var reason = "it is not a function there"
        switch outcome {
        case .value(let v): exists = v.boolValue ?? ((v.intValue ?? 0) != 0)
        case .failure(let text): reason = text
        default: break
        }
        guard exists else {
            let message = "proxy not made: \(panes[s].name) has no function \(function) (\(reason))"
            append(s, .error, message)
            flash = message
            return []
        }
        guard let t = index(of: target) else {
            flash = "proxy: that pane is gone"
            return []
        }
        append(t, .info, "proxy \(panes[s].name).\(function) as \(name)…")
        return send(t, .proxy(source: panes[s].id, function: function, name: name))
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

    /// Saves the log as JSON lines: every frame kept, or (`shown`) those the filter shows.
    mutating func saveLog(_ path: String, shown: Bool = false) -> [Effect] {
        guard !path.isEmpty else {
            flash = "log save: give a file name"
            return []
        }
        let entries: [LogEntry]
        if shown && !logFilter.isEmpty {
            entries = (0..<logCount).compactMap { entry(logSeq(at: $0)) }
        } else {
            entries = Array(log)
        }
        return [.saveLog(path: path, lines: entries.map(Traffic.jsonLine))]
    }
}

extension PaneStatus {
    func isBusyOrPending(_ pending: Int) -> Bool {
        if case .busy = self { return true }
        return pending > 0
    }
}
