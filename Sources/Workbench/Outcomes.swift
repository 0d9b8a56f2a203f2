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

    /// A value on one line, spaced as node and Python print it: `[1, {"a": 2}]`.
    static func oneLine(_ v: BondValue) -> String {
        switch v {
        case .array(let items): return "[" + items.map(oneLine).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.map { BondValue.string($0.key).description + ": " + oneLine($0.value) }.joined(separator: ", ") + "}"
        default: return v.description
        }
    }

    /// 1 999 000: digits in groups of three, as the guide writes numbers.
    static func grouped(_ n: Int) -> String {
        var s = String(n)
        var i = s.count - 3
        while i > 0 { s.insert(" ", at: s.index(s.startIndex, offsetBy: i)); i -= 3 }
        return s
    }

    /// What a pane needs of the screen and the configuration to show its results.
    func resultDisplay(_ i: Int) -> PaneModel.ResultDisplay {
        let b = config.bindings
        return PaneModel.ResultDisplay(
            transcript: geometry(of: i).transcript, previewLines: config.previewLines,
            openValueKey: String(b.long(.openValue).split(separator: ",").first ?? "Alt-v"),
            restartKey: String(b.long(.restart).split(separator: ",").first ?? "F5"),
            refKey: String(b.long(.ref).split(separator: ",").first ?? "F7"),
            callKey: String(b.long(.call).split(separator: ",").first ?? "F4"))
    }

    /// A request's outcome, shown in its pane; a new wire is added (and said in both panes) and
    /// an interpreter's end is logged, as those reach past the pane.
    mutating func showOutcome(_ i: Int, request: Request, outcome: Outcome) {
        switch outcome {
        case .terminated(let message, _):
            logEnd(i, .interpreterEnded(message))
        case .proxied(let wire):
            add(wire)
            if let s = index(of: wire.source), s != i {
                panes[s].append(.info, "proxy: \(wire.function) is callable in \(panes[i].name) as \(wire.name)",
                                transcriptWidth: geometry(of: s).transcript.width)
            }
        default:
            break
        }
        var sourceName: String?
        if case .proxied(let wire) = outcome { sourceName = index(of: wire.source).map { panes[$0].name } }
        let display = resultDisplay(i)
        let atStart = startupEntriesAtStart(i)
        panes[i].show(outcome, of: request, display: display, atStart: atStart, sourceName: sourceName)
    }

    /// A wire made (or made again, to another function): a wire of the same name is replaced
    /// and its count of calls starts again.
    mutating func add(_ wire: Wire) {
        guard !wires.contains(wire) else { return }
        if let k = wires.firstIndex(where: { $0.key == wire.key }) {
            wires[k] = wire
            wireCalls[wire.key] = nil
        } else {
            wires.append(wire)
        }
    }
}
