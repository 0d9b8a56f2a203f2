import Bond
import Foundation

extension AppState {
    /// Applies one message; returns what the app layer must do.
    public mutating func update(_ message: Message) -> [Effect] {
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
            append(i, .info, "\(panes[i].language) started (pid \(pid), \(host.map { "over ssh to \($0)" } ?? "local"))")
            var effects: [Effect] = []
            // The start-up block first, then the wires into this pane (exported again into a new
            // bond), then what was asked while it started.
            if let startup = panes[i].startup, !startup.allSatisfy(\.isWhitespace) {
                append(i, .info, "start-up block")
                panes[i].pending += 1
                effects.append(.request(pane: id, generation: gen, .startup(startup)))
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
            if case .complete = request {
                guard completion?.pane == id, completion?.waiting == true else { return [] }
                if case .completions(let names) = outcome {
                    finishCompletion(names: names)
                } else {
                    finishCompletion(names: [])
                }
                return []
            }
            var step: Step?
            switch request {
            case .eval, .block, .call: step = finishStep(i, outcome)
            default: break
            }
            showOutcome(i, request: request, outcome: outcome)
            if step != nil, replays[id] != nil { return replayResult(i, outcome: outcome, step: step) }
            return []
        case .note(let id, let kind, let text):
            guard let i = index(of: id) else { return [] }
            append(i, kind, text)
            return []
        case .died(let id, let gen, let text):
            guard let i = live(id, gen) else { return [] }
            dropOpenRequests(id)
            if case .closing = panes[i].status { return [] }
            if case .closed = panes[i].status { return [] }
            if !panes[i].deathReported {
                panes[i].deathReported = true
                append(i, .error, text)
                append(i, .info, "F5 restarts \(panes[i].name)")
            }
            return []
        case .closed(let id, let gen):
            guard let i = live(id, gen) else { return [] }
            dropOpenRequests(id)
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
        case .logSaved(let path, let error):
            flash = error.map { "save failed: \($0)" } ?? "saved to \(path)"
            return []
        case .allClosed:
            done = true
            return [.exit]
        }
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

    /// Formats a finished request into the transcript.
    mutating func showOutcome(_ i: Int, request: Request, outcome: Outcome) {
        panes[i].transcript.closeOpenLine()
        switch outcome {
        case .value(let v):
            append(i, .value, v.prettyDescription)
        case .done:
            if case .block(let code) = request {
                append(i, .info, "ok")
                panes[i].blocks.append(code)
            }
            if case .startup = request { append(i, .info, "start-up block ran") }
        case .failure(let text):
            if text.contains("interpreter terminated") { panes[i].deathReported = true }
            append(i, .error, text)
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
        var key = pressed
        if showHelp {
            showHelp = false
            return []
        }
        if prompt != nil { return promptKey(key) }
        flash = nil
        if logDetail != nil { return detailKey(key) }
        if wiringView != nil { return wiringKey(key) }
        key = config.bindings.translate(key)
        if let effects = completionKey(key) { return effects }
        // Global keys.
        switch key {
        case .ctrl("q"):
            return quit()
        case .function(1):
            showHelp = true
            return []
        case .function(2):
            wiringView = 0
            return []
        case .tab:
            cycleFocus(1)
            return []
        case .backTab:
            cycleFocus(-1)
            return []
        case .ctrl("x"):
            prompt = Prompt(kind: .command, label: "command", input: InputEditor(), pane: focusedPaneID)
            return []
        case .ctrl("n"):
            prompt = Prompt(kind: .newPane, label: "new pane [NAME:]LANGUAGE[=COMMAND]", input: InputEditor(), pane: nil)
            return []
        default:
            break
        }
        guard let i = focusedIndex else { return logKey(key) }
        return paneKey(i, key)
    }

    var focusedPaneID: Int? { focusedIndex.map { panes[$0].id } }

    mutating func cycleFocus(_ step: Int) {
        // Order: panes, then the log.
        let count = panes.count + 1
        let current: Int = focusedIndex ?? panes.count
        let next = ((current + step) % count + count) % count
        focus = next == panes.count ? .log : .pane(panes[next].id)
    }

    mutating func quit() -> [Effect] {
        if quitting { return [.exit] }
        quitting = true
        flash = "closing every bond… (Ctrl-Q again leaves at once)"
        return [.quit]
    }

    mutating func scrollPane(_ i: Int, _ key: Key) {
        let g = geometry(of: i)
        let page = max(1, g.transcript.height - 1)
        switch key {
        case .pageUp: panes[i].scroll += page
        case .pageDown: panes[i].scroll = max(0, panes[i].scroll - page)
        case .home: panes[i].scroll = Int.max / 2
        case .end: panes[i].scroll = 0
        default: break
        }
        clampScroll(i)
    }

    mutating func paneKey(_ i: Int, _ key: Key) -> [Effect] {
        let id = panes[i].id
        switch key {
        case .enter:
            return submit(i, kind: .eval)
        case .altEnter:
            panes[i].input.insert("\n")
        case .ctrl("b"):
            return submit(i, kind: .block)
        case .ctrl("k"):
            return submit(i, kind: .call)
        case .ctrl("r"):
            let code = panes[i].input.text.trimmingSpaces
            guard !code.isEmpty else {
                flash = "Ctrl-R: type the ref's code in the input first"
                return []
            }
            prompt = Prompt(kind: .refName(code: code), label: "ref name for \(code)", input: InputEditor(nextRefName(i)), pane: id)
        case .ctrl("t"):
            var initial = panes[i].input.text.trimmingSpaces
            if initial.hasPrefix("@") { initial.removeFirst() }
            if initial.isEmpty { initial = panes[i].refs.keys.last ?? "" }
            prompt = Prompt(kind: .inspect, label: "inspect ref (or expression)", input: InputEditor(initial), pane: id)
        case .ctrl("p"):
            let initial = panes[i].input.text.trimmingSpaces
            prompt = Prompt(kind: .proxyFunction, label: "proxy function of \(panes[i].name)", input: InputEditor(initial), pane: id)
        case .ctrl("c"):
            if panes[i].status.isBusyOrPending(panes[i].pending) {
                append(i, .info, "interrupt")
                return [.interrupt(pane: id, generation: panes[i].generation)]
            }
            panes[i].input.clear()
            panes[i].history.resetBrowsing()
        case .ctrl(" "):
            return startCompletion(i)
        case .ctrl("w"):
            return closeOrRemove(i)
        case .function(5):
            return restart(i)
        case .up:
            if !panes[i].input.lineUp(), let entry = panes[i].history.previous(current: panes[i].input.text) {
                panes[i].input.text = entry
            }
        case .down:
            if !panes[i].input.lineDown(), let entry = panes[i].history.next() {
                panes[i].input.text = entry
            }
        case .pageUp, .pageDown, .home, .end:
            scrollPane(i, key)
        case .left: panes[i].input.left()
        case .right: panes[i].input.right()
        case .ctrl("a"): panes[i].input.home()
        case .ctrl("e"): panes[i].input.end()
        case .ctrl("u"): panes[i].input.killToStart()
        case .ctrl("d"), .delete: panes[i].input.deleteForward()
        case .alt("\u{7F}"), .alt("\u{8}"): panes[i].input.deleteWord()
        case .backspace: panes[i].input.backspace()
        case .char(let c): panes[i].input.insert(c)
        default: break
        }
        return []
    }

    func nextRefName(_ i: Int) -> String {
        var n = panes[i].refs.count + 1
        while panes[i].refs["r\(n)"] != nil { n += 1 }
        return "r\(n)"
    }

    enum SubmitKind { case eval, block, call }

    mutating func submit(_ i: Int, kind: SubmitKind) -> [Effect] {
        let text = panes[i].input.text
        guard !text.allSatisfy(\.isWhitespace) else { return [] }
        panes[i].history.add(text)
        panes[i].input.clear()
        panes[i].scroll = 0
        var effects: [Effect] = [.saveHistory(name: panes[i].name, entries: panes[i].history.entries)]
        effects += perform(i, kind: kind, text: text)
        return effects
    }

    /// Runs `text` in pane `i` as an expression, a block or a call.
    mutating func perform(_ i: Int, kind: SubmitKind, text: String) -> [Effect] {
        let request: Request
        switch kind {
        case .eval:
            append(i, .input, text)
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

    mutating func closeOrRemove(_ i: Int) -> [Effect] {
        let id = panes[i].id
        switch panes[i].status {
        case .starting, .idle, .busy, .closing:
            if case .closing = panes[i].status { return [] }
            panes[i].status = .closing
            append(i, .info, "closing \(panes[i].name)…")
            return [.close(pane: id, generation: panes[i].generation)]
        case .dead, .failed, .closed:
            panes.remove(at: i)
            wires.removeAll { $0.source == id || $0.target == id }
            if panes.isEmpty {
                focus = .log
            } else {
                focus = .pane(panes[min(i, panes.count - 1)].id)
            }
            for j in panes.indices { clampScroll(j) }
            return []
        }
    }

    mutating func restart(_ i: Int) -> [Effect] {
        let p = panes[i]
        var effects: [Effect] = []
        if p.status.isLive || p.status == .starting || p.status == .closing {
            effects.append(.close(pane: p.id, generation: p.generation))
        }
        panes[i].generation += 1
        dropOpenRequests(p.id)
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

    mutating func promptKey(_ key: Key) -> [Effect] {
        guard var p = prompt else { return [] }
        switch key {
        case .escape, .ctrl("c"), .ctrl("g"):
            prompt = nil
            if case .logSearch(let origin) = p.kind { logSelected = origin; pinLogTop() }
            return []
        case .enter:
            prompt = nil
            return submitPrompt(p, p.input.text.trimmingSpaces)
        case .ctrl("q"):
            prompt = nil
            return quit()
        case .left: p.input.left()
        case .right: p.input.right()
        case .ctrl("a"), .home: p.input.home()
        case .ctrl("e"), .end: p.input.end()
        case .ctrl("u"): p.input.killToStart()
        case .ctrl("d"), .delete: p.input.deleteForward()
        case .backspace: p.input.backspace()
        case .tab:
            // Complete pane names in pane questions.
            if case .proxyTarget = p.kind { p.input.text = nextPaneName(after: p.input.text, excluding: p.pane) }
        case .char(let c): p.input.insert(c)
        default: break
        }
        prompt = p
        if case .logSearch(let origin) = p.kind {
            // Incremental: the selection moves to the nearest match as the text is typed.
            let text = p.input.text
            if text.isEmpty {
                logSelected = origin
            } else if let s = searchLog(text, from: origin, older: true, inclusive: true) {
                logSelected = s
            }
            pinLogTop()
        }
        return []
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
        case .command:
            return runCommand(text)
        case .newPane:
            guard !text.isEmpty else { return [] }
            do {
                let spec = try PaneSpec.parse(text)
                let effects = addPanes([spec])
                if let last = panes.last { focus = .pane(last.id) }
                for j in panes.indices { clampScroll(j) }
                return effects
            } catch {
                flash = error.message
                return []
            }
        case .refName(let code):
            guard let i = paneIndex else { return [] }
            return makeRef(i, name: text, code: code)
        case .inspect:
            guard let i = paneIndex, !text.isEmpty else { return [] }
            return inspect(i, text)
        case .proxyFunction:
            guard !text.isEmpty, paneIndex != nil else { return [] }
            let suggestion = nextPaneName(after: "", excluding: p.pane)
            prompt = Prompt(kind: .proxyTarget(function: text), label: "proxy \(text) to pane (Tab cycles)",
                            input: InputEditor(suggestion), pane: p.pane)
            return []
        case .proxyTarget(let function):
            guard let target = pane(named: text) else {
                flash = "no pane named \"\(text)\""
                return []
            }
            let suggestion = String(function.split(separator: ".").last ?? Substring(function))
            prompt = Prompt(kind: .proxyName(function: function, target: target.id),
                            label: "name of \(function) in \(target.name)", input: InputEditor(suggestion), pane: p.pane)
            return []
        case .proxyName(let function, let target):
            guard let s = paneIndex else { return [] }
            if panes[s].input.text.trimmingSpaces == function { panes[s].input.clear() }
            return proxy(s, function: function, target: target, name: text.isEmpty ? function : text)
        case .logSave(let shown):
            return saveLog(text, shown: shown)
        case .logFilter:
            setLogFilter(text)
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
        guard Self.isFunctionName(name) else {
            flash = "\"\(name)\" is not a valid function name"
            return []
        }
        append(t, .info, "proxy \(panes[s].name).\(function) as \(name)…")
        return send(t, .proxy(source: panes[s].id, function: function, name: name))
    }

    static func isFunctionName(_ name: String) -> Bool {
        guard let f = name.unicodeScalars.first, f == "_" || (f.isASCII && f.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
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

    // MARK: Commands

    /// Runs a typed command (the Ctrl-X prompt).
    public mutating func runCommand(_ line: String) -> [Effect] {
        let text = line.trimmingSpaces
        guard !text.isEmpty else { return [] }
        let verb = String(text.prefix { !$0.isWhitespace })
        let rest = String(text.dropFirst(verb.count)).trimmingSpaces
        let target = focusedIndex
        func needPane() -> Int? {
            if target == nil { flash = "\(verb): focus a pane first" }
            return target
        }
        func paneArgument() -> Int? {
            if rest.isEmpty { return needPane() }
            guard let p = pane(named: rest), let i = index(of: p.id) else {
                flash = "\(verb): no pane named \"\(rest)\""
                return nil
            }
            return i
        }
        switch verb {
        case "eval", "block", "call":
            guard let i = needPane() else { return [] }
            guard !rest.isEmpty else { flash = "\(verb): nothing to run"; return [] }
            panes[i].history.add(rest)
            let kind: SubmitKind = verb == "eval" ? .eval : verb == "block" ? .block : .call
            return [.saveHistory(name: panes[i].name, entries: panes[i].history.entries)] + perform(i, kind: kind, text: rest)
        case "ref":
            guard let i = needPane() else { return [] }
            let name = String(rest.prefix { !$0.isWhitespace })
            var code = String(rest.dropFirst(name.count)).trimmingSpaces
            if code.hasPrefix("=") { code = String(code.dropFirst()).trimmingSpaces }
            guard !name.isEmpty, !code.isEmpty else { flash = "usage: ref NAME CODE"; return [] }
            return makeRef(i, name: name, code: code)
        case "inspect":
            guard let i = needPane() else { return [] }
            guard !rest.isEmpty else { flash = "usage: inspect REF"; return [] }
            return inspect(i, rest)
        case "proxy":
            // proxy SRC.FUNC to PANE [as NAME]
            let words = rest.split(separator: " ").map(String.init)
            guard words.count == 3 || words.count == 5, words[1] == "to", words.count == 3 || words[3] == "as",
                let dot = words[0].firstIndex(of: ".")
            else {
                flash = "usage: proxy SRC.FUNC to PANE [as NAME]"
                return []
            }
            let sourceName = String(words[0][..<dot])
            let function = String(words[0][words[0].index(after: dot)...])
            guard let source = pane(named: sourceName), let s = index(of: source.id) else {
                flash = "proxy: no pane named \"\(sourceName)\""
                return []
            }
            guard let t = pane(named: words[2]) else {
                flash = "proxy: no pane named \"\(words[2])\""
                return []
            }
            let name = words.count == 5 ? words[4] : String(function.split(separator: ".").last ?? Substring(function))
            return proxy(s, function: function, target: t.id, name: name)
        case "new":
            guard !rest.isEmpty else { flash = "usage: new [NAME:]LANGUAGE[=COMMAND]"; return [] }
            return submitPrompt(Prompt(kind: .newPane, label: "", input: InputEditor(), pane: nil), rest)
        case "close":
            guard let i = paneArgument() else { return [] }
            return closeOrRemove(i)
        case "restart":
            guard let i = paneArgument() else { return [] }
            return restart(i)
        case "interrupt":
            guard let i = paneArgument() else { return [] }
            append(i, .info, "interrupt")
            return [.interrupt(pane: panes[i].id, generation: panes[i].generation)]
        case "focus":
            if rest == "log" { focus = .log; return [] }
            guard let p = pane(named: rest) else { flash = "focus: no pane named \"\(rest)\""; return [] }
            focus = .pane(p.id)
            return []
        case "log":
            let words = rest.split(separator: " ", maxSplits: 1).map(String.init)
            let argument = words.count > 1 ? words[1].trimmingSpaces : ""
            switch words.first ?? "" {
            case "save":
                if argument.hasPrefix("--shown ") { return saveLog(String(argument.dropFirst(8)).trimmingSpaces, shown: true) }
                return saveLog(argument)
            case "filter":
                setLogFilter(argument)
                return []
            case "search":
                logSearch = argument
                if let s = searchLog(argument, from: logSelected, older: true, inclusive: true) {
                    logSelected = s
                    pinLogTop()
                } else if !argument.isEmpty {
                    flash = "not found: \(argument)"
                }
                return []
            case "pause":
                if logPausedAt == nil { logPausedAt = nextSeq }
                return []
            case "follow":
                logPausedAt = nil
                logSelected = nil
                logTop = nil
                return []
            case "show":
                guard let n = Int(argument.drop { $0 == "#" }), entry(n) != nil else { flash = "log show: no frame #\(argument)"; return [] }
                logDetail = LogDetail(seq: n)
                logSelected = n
                return []
            default:
                flash = "usage: log save [--shown] FILE | filter EXPR | search TEXT | pause | follow | show N"
                return []
            }
        case "help":
            showHelp = true
            return []
        case "session":
            let words = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.first == "save", words.count == 2 else { flash = "usage: session save FILE"; return [] }
            return [.saveLog(path: words[1].trimmingSpaces, lines: [session.text])]
        case "transcript":
            guard rest.hasPrefix("save ") else { flash = "usage: transcript save [PANE] FILE"; return [] }
            return saveTranscript(String(rest.dropFirst(5)).trimmingSpaces)
        case "replay":
            return replayCommand(rest)
        case "wires", "wiring":
            wiringView = 0
            return []
        case "unwire":
            return unwireCommand(rest)
        case "quit", "exit":
            return quit()
        default:
            flash = "unknown command \"\(verb)\" (F1 lists them)"
            return []
        }
    }
}

extension PaneStatus {
    func isBusyOrPending(_ pending: Int) -> Bool {
        if case .busy = self { return true }
        return pending > 0
    }
}
