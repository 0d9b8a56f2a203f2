import Bond
import Foundation

/// How a pane shows what its requests gave: values, previews, errors, the end of its interpreter.
extension AppState {
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
        let atStart = startupEntriesAtStart(i)
        let total = atStart.count
        if let failure, case .startup(let code) = request {
            panes[i].startupFailed += 1
            let n = (atStart.firstIndex { $0.code == code } ?? 0) + 1
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
}
