import Bond
import Foundation

/// A pane's own bookkeeping of its bond and requests: starting, answers, start-up entries, and
/// how what its requests gave shows in its transcript. `AppState` routes messages here and makes
/// the effects that cross panes or reach the engine.
extension PaneModel {
    /// What a pane needs of the screen and the configuration to show its results.
    struct ResultDisplay {
        /// Where the transcript is drawn (its width wraps, its height sizes a preview).
        var transcript: Rect
        /// Lines of a big value shown before "… more" (nil: a third of the transcript).
        var previewLines: Int?
        /// The keys named in the hints (`Alt-v shows it whole`, `F5 restarts`).
        var openValueKey: String
        var restartKey: String
        var refKey = "F7"
        var callKey = "F4"
    }

    // MARK: The bond's life

    /// The bond started (`host`: over ssh, else local): idle, and a new bond's end still to report.
    mutating func started(pid: Int32, host: String?, transcriptWidth: Int) {
        self.pid = pid
        location = host ?? "local"
        if case .starting = status { status = .idle }
        deathReported = false
        endLogged = false
        append(.info, "\(language) started (pid \(pid), \(host.map { "over ssh to \($0)" } ?? "local"))", transcriptWidth: transcriptWidth)
    }

    /// The start-up entries of this start are sent (one request each); returns their requests.
    mutating func sendStartupEntries(_ entries: [StartupEntry], transcriptWidth: Int) -> [Request] {
        guard !entries.isEmpty else { return [] }
        append(.info, entries.count == 1 ? "start-up block" : "start-up: \(entries.count) entries", transcriptWidth: transcriptWidth)
        startupRunning = entries.count
        startupFailed = 0
        pending += entries.count
        return entries.map { .startup($0.code) }
    }

    /// The requests held while the bond started, now to be sent; none are held any more.
    mutating func releaseHeld() -> [Request] {
        defer { held = [] }
        return held
    }

    /// The bond could not start: nothing is pending, and the transcript says why and what next.
    mutating func failedToStart(_ message: String, transcriptWidth: Int) {
        status = .failed
        deathReported = true
        pending = 0
        held = []
        append(.error, message, transcriptWidth: transcriptWidth)
        append(.info, "F5 tries again; Ctrl-W removes the pane", transcriptWidth: transcriptWidth)
    }

    /// Its bond is being closed.
    mutating func beginClosing(transcriptWidth: Int) {
        status = .closing
        append(.info, "closing \(name)…", transcriptWidth: transcriptWidth)
    }

    /// A new bond for the pane (restart, undo): messages of the old one are ignored from now on
    /// (`generation`), and nothing of it is pending or held.
    mutating func beginNewGeneration() {
        generation += 1
        status = .starting
        pending = 0
        held = []
        pid = nil
        deathReported = false
        handleRefs = [:]  // (the old bond's objects are gone with it)
        lastHandle = nil
    }

    /// Its bond closed (at the user's word): nothing is pending.
    mutating func bondClosed(transcriptWidth: Int) {
        status = .closed
        pending = 0
        append(.info, "closed; F5 restarts, Ctrl-W removes the pane", transcriptWidth: transcriptWidth)
    }

    /// The saved history of the pane's name came: it goes before what was typed since.
    mutating func historyLoaded(_ entries: [String]) {
        history = History(entries: entries + history.entries)
    }

    /// The start-up entries as edited in `$EDITOR` (they run at the next start).
    mutating func keepEditedStartupEntries(_ text: String, transcriptWidth: Int) {
        startupEntries = StartupEntries.parse(edited: text, language: language)
        append(.info, "start-up: \(startupEntries.count) entries kept (they run at the next start)", transcriptWidth: transcriptWidth)
    }

    /// The input as edited in `$EDITOR`, without its final newlines.
    mutating func takeEditedInput(_ text: String) {
        var t = text
        while t.hasSuffix("\n") { t.removeLast() }
        input.text = t
    }

    /// One request answered: the pane is idle once none is pending, whatever state message is
    /// still on its way (the engine's comes from another thread).
    mutating func requestAnswered() {
        pending = max(0, pending - 1)
        if pending == 0, case .busy = status { status = .idle }
    }

    // MARK: Requests

    /// The input, submitted: kept in the history, cleared, the transcript followed again; nil
    /// when there is nothing but spaces.
    mutating func takeInput() -> String? {
        let text = input.text
        guard !text.allSatisfy(\.isWhitespace) else { return nil }
        history.add(text)
        input.clear()
        scroll = 0
        return text
    }

    /// A request for the bond: returned to be sent now when the bond is live, held while it
    /// starts (sent after its start-up), refused in the transcript when the bond is over.
    mutating func take(_ request: Request, transcriptWidth: Int) -> Request? {
        switch status {
        case .starting:
            pending += 1
            held.append(request)
            return nil
        case .idle, .busy:
            pending += 1
            return request
        default:
            append(.error, "\(name) is \(status.label); F5 restarts it", transcriptWidth: transcriptWidth)
            return nil
        }
    }

    /// A request of the transcript, recorded for `transcript save` and replay (the last 10 000).
    mutating func recordStep(_ request: Request) {
        steps.append(Step(request: request))
        if steps.count > 10_000 { steps.removeFirst(steps.count - 10_000) }
    }

    /// Ends the oldest unfinished step with `outcome`; returns it.
    mutating func finishStep(_ outcome: Workbench.Outcome) -> Step? {
        guard let k = steps.firstIndex(where: { $0.result == nil }) else { return nil }
        switch outcome {
        case .value(let v): steps[k].result = .value(v.withoutHandles)
        case .ran(.value(let v)?): steps[k].result = .value(v.withoutHandles)
        case .handle(let ref): steps[k].result = .value(.string("\(ref.typeName) handle: \(ref.description)"))
        case .ran(.description(let d)?): steps[k].result = .value(.string("\(d.typeName): \(d.text)"))
        case .ran(nil), .done: steps[k].result = .ok
        case .failure(let e): steps[k].result = .error(e)
        default: steps[k].result = .error("unexpected outcome")
        }
        return steps[k]
    }

    // MARK: Showing results

    /// Formats a finished request into the transcript (`atStart`: the start-up entries of this
    /// start, to number a failed one; `sourceName`: the pane a new wire calls, if it is there).
    mutating func show(_ outcome: Workbench.Outcome, of request: Request, display: ResultDisplay, atStart: [StartupEntry],
                       sourceName: String?) {
        let width = display.transcript.width
        transcript.closeOpenLine()
        switch outcome {
        case .value(let v):
            showValue(v.withoutHandles, display)
            if case .eval(let code) = request { recordDefinitions(code) }
        case .ran(let result):
            switch result {
            case .value(let v)?: showValue(v.withoutHandles, display)
            case .description(let d)?: showPreview(.description, d.text, type: d.typeName, display)
            case nil: perlHint(request, transcriptWidth: width)
            }
            if case .run(let code) = request { recordDefinitions(code) }
        case .done:
            if case .block(let code) = request {
                append(.info, "ok", transcriptWidth: width)
                recordDefinitions(code)
            }
            if case .startup = request { startupEntryEnded(request, failure: nil, atStart: atStart, transcriptWidth: width) }
        case .failure(let text):
            if case .startup = request { startupEntryEnded(request, failure: text, atStart: atStart, transcriptWidth: width); break }
            append(.error, text, transcriptWidth: width)
        case .terminated(let message, let stderr):
            reportTermination(message, stderr: stderr, restartKey: display.restartKey, transcriptWidth: width)
        case .inspected(let name, let type, let description, let value, let error):
            var text = "inspect \(name)"
            if let type { text += ": \(type)" }
            append(.info, text, transcriptWidth: width)
            if let value {
                append(.value, value.prettyDescription, transcriptWidth: width)
            } else if let description {
                append(.stdout, description, transcriptWidth: width)
            }
            if value == nil && description == nil, let error { append(.error, error, transcriptWidth: width) }
        case .completions:
            break
        case .handle(let ref):
            var owner = id
            if case .object(.call(_, _, _, let holder)) = request { owner = holder }
            lastHandle = UnnamedHandle(ref: ref, owner: owner)
            showPreview(.description, ref.description, type: ref.typeName, mark: "handle", display)
            if !handleHintGiven {
                handleHintGiven = true
                append(.info, "a live object: \(display.refKey) (the input empty) names it; then @name in calls, @name.method ARG ... (\(display.callKey))",
                       transcriptWidth: width)
            }
        case .unwired(let name):
            append(.info, "unwired: \(name) now throws \"unwired\"", transcriptWidth: width)
        case .proxied(let wire):
            if let source = sourceName {
                append(.info, "proxy: \(source).\(wire.function) is callable here as \(wire.name)", transcriptWidth: width)
            }
        }
    }

    /// A value: on one line when it fits the pane (as node and IPython print short arrays and
    /// objects), else pretty-printed; a big one previewed.
    mutating func showValue(_ v: BondValue, _ display: ResultDisplay) {
        if case .null = v { append(.value, "null", transcriptWidth: display.transcript.width); return }
        let compact = AppState.oneLine(v)
        let width = max(10, display.transcript.width - 2)
        let text = !compact.contains("\n") && TextWidth.of(compact) <= width ? compact : v.prettyDescription
        showPreview(.value, text, type: nil, display)
    }

    /// At most `previewLines` lines (default: a third of the pane), then a line that says how
    /// much more there is and which key shows it whole.
    mutating func showPreview(_ kind: LineKind, _ text: String, type: String?, mark: String = "description", _ display: ResultDisplay) {
        let g = display.transcript
        let width = max(10, g.width - 2)
        let limit = display.previewLines ?? max(3, g.height / 3)
        let marked = type.map { text + "   ‹\($0) · \(mark)›" } ?? text
        lastValue = marked
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
        append(kind, shown.joined(separator: "\n"), transcriptWidth: g.width)
        let moreCharacters = max(0, marked.count - used)
        let moreLines = marked.split(separator: "\n", omittingEmptySubsequences: false).count - shown.count
        if moreCharacters > 0 {
            append(.info, "… \(AppState.grouped(moreCharacters)) more characters, \(AppState.grouped(moreLines)) more lines (\(display.openValueKey) shows it whole)",
                   transcriptWidth: g.width)
        }
    }

    /// Perl's `my` variables end with their input: said the first time one reads back undefined.
    mutating func perlHint(_ request: Request, transcriptWidth: Int) {
        guard language.lowercased() == "perl", !perlHintGiven, case .run(let code) = request else { return }
        let t = code.trimmingSpaces.trimmingCharacters(in: [";"])
        guard t.hasPrefix("$"), t.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return }
        let name = String(t.dropFirst())
        guard history.entries.contains(where: { $0.contains("my $\(name)") || $0.contains("my ($\(name)") }) else { return }
        perlHintGiven = true
        append(.info, "hint: a Perl my variable ends with its input; write our $\(name) (or $\(name) without my) to keep it",
               transcriptWidth: transcriptWidth)
    }

    /// Keeps the definitions of an input that ran without error as start-up entries.
    mutating func recordDefinitions(_ code: String) {
        let found = StartupEntries.definitions(in: code, language: language)
        if !found.isEmpty { startupEntries = StartupEntries.merge(startupEntries, found) }
    }

    /// A start-up entry ended: a failure is reported with the entry's text and the others go on.
    mutating func startupEntryEnded(_ request: Request, failure: String?, atStart: [StartupEntry], transcriptWidth width: Int) {
        let total = atStart.count
        if let failure, case .startup(let code) = request {
            startupFailed += 1
            let n = (atStart.firstIndex { $0.code == code } ?? 0) + 1
            let first = code.split(separator: "\n").first.map(String.init) ?? code
            append(.error, "start-up entry \(n) of \(total) failed: \(failure)", transcriptWidth: width)
            append(.info, "  entry \(n): \(first)\(code.contains("\n") ? " …" : "") (session edit changes the entries)", transcriptWidth: width)
        }
        startupRunning = max(0, startupRunning - 1)
        guard startupRunning == 0 else { return }
        if total <= 1 && startupFailed == 0 {
            append(.info, "start-up block ran", transcriptWidth: width)
        } else {
            append(.info, "start-up: \(total) entries ran" + (startupFailed > 0 ? ", \(startupFailed) failed" : ", all without error"),
                   transcriptWidth: width)
        }
    }

    /// The interpreter ended: said once per bond, with the lines of its standard error that the
    /// transcript does not already show (a fatal message printed as it died is not repeated).
    mutating func reportTermination(_ message: String, stderr: String, restartKey: String, transcriptWidth width: Int) {
        guard !deathReported else { return }
        deathReported = true
        let shown = Set(transcript.lines.suffix(200).filter { $0.kind == .stderr || $0.kind == .stdout }
            .map { $0.text.trimmingSpaces })
        let rest = stderr.split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
            .filter { !shown.contains($0.trimmingSpaces) }
        let fresh = rest.joined(separator: "\n").trimmingSpaces
        if fresh.isEmpty && !stderr.trimmingSpaces.isEmpty {
            append(.error, message + " (its last output is above)", transcriptWidth: width)
        } else {
            append(.error, message + (fresh.isEmpty ? "" : ": " + fresh), transcriptWidth: width)
        }
        append(.info, "\(restartKey) restarts \(name)", transcriptWidth: width)
    }
}
