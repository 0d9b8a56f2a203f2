import Bond
import Foundation
import OrderedCollections

/// One line of the log pane: a raw protocol line of one bond, paired with its request or reply.
public struct LogEntry: Sendable, Hashable {
    public static let maximumTextBytes = 400
    /// Longer lines keep their first 16 KiB (`bytes` still says how long the line was).
    public static let maximumRawBytes = 16_384
    /// The frame's number: 1 for the first frame of the session, counting every frame.
    public var seq: Int
    public var date: Date
    public var time: String
    public var pane: Int
    public var paneName: String
    public var language: String
    public var sent: Bool
    public var depth: Int
    /// The verb and payload, sanitized and cut (what the log pane shows).
    public var text: String
    /// The line as it passed, without its end of line (cut at `maximumRawBytes`).
    public var raw: String
    /// The size of the line in bytes, without its end of line.
    public var bytes: Int
    /// The frame's verb (`EVAL`, `CALL`, `RETURN`, ...), empty for a line that is not a frame
    /// (the driver's bootstrap lines).
    public var verb: String
    /// The request this reply answers, or the reply that answered this request (a `seq`).
    public var pair: Int?
    /// Seconds from the request to its reply (on both lines of a pair).
    public var duration: Double?
    /// How deep the frame is in the conversation across bonds (`nest` in `log save`): how many
    /// requests, of any bond, enclose it, each request counted from the line that makes it to
    /// its reply, a `CALL` of an interpreter as well as a request of the host. A request sent
    /// to one bond while another bond's interpreter waits on a `CALL` (a proxy forwarding it)
    /// is nested in that call. A reply has the nest of its request.
    public var indent = 0
    /// The engine's `BondTraffic.nest` of the line: where the bond's conversation level began in
    /// its thread's.
    public var levelNest = 0
    /// Not a line of the protocol: the workbench's record that the bond ended (exit, kill, EOF,
    /// close), which closes the requests left open.
    public var event = false

    public init(seq: Int, date: Date, pane: Int, paneName: String, language: String, record: TrafficRecord) {
        self.seq = seq
        self.date = date
        self.time = AppState.clock(date)
        self.pane = pane
        self.paneName = paneName
        self.language = language
        self.sent = record.sent
        self.depth = record.depth
        self.levelNest = record.nest
        self.text = AppState.cut(record.line)
        self.raw = record.line.utf8.count > Self.maximumRawBytes
            ? String(decoding: Array(record.line.utf8.prefix(Self.maximumRawBytes)), as: UTF8.self) : record.line
        self.bytes = record.bytes
        self.verb = Traffic.verb(of: record.line)
    }

    public var plain: String { "\(time) \(paneName) \(sent ? ">" : "<")\(depth) \(text)" }
    public var truncated: Bool { raw.utf8.count < bytes }
    /// The payload after the verb (the whole line when it is not a frame).
    public var payload: Substring {
        guard !verb.isEmpty else { return Substring(raw) }
        return raw.dropFirst(verb.count).drop { $0 == " " }
    }
    public var isRequest: Bool { Traffic.isRequest(verb: verb, sent: sent) }
    public var isReply: Bool { Traffic.replyVerbs.contains(verb) }
}

public enum Traffic {
    public static let hostRequests: Set<String> = ["EVAL", "EVAL_BLOCK", "RUN", "CALL", "XCALL", "EXPORT"]
    public static let replyVerbs: Set<String> = ["RETURN", "EXCEPT", "ERROR"]

    /// The first word of a frame line when it is a verb (capitals, digits and `_`).
    public static func verb(of line: String) -> String {
        let word = line.utf8.prefix { $0 != 0x20 }
        guard !word.isEmpty, word.count <= 24,
            word.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) }),
            let f = word.first, f >= 0x41 && f <= 0x5A
        else { return "" }
        return String(decoding: word, as: UTF8.self)
    }

    /// Requests: what the host sends to be answered, and `CALL` from the interpreter.
    public static func isRequest(verb: String, sent: Bool) -> Bool {
        sent ? hostRequests.contains(verb) : verb == "CALL"
    }

    /// Milliseconds for people: `0.42 ms`, `12.3 ms`, `1.25 s`.
    public static func duration(_ seconds: Double) -> String {
        let ms = seconds * 1000
        if ms < 10 { return String(format: "%.2fms", ms) }
        if ms < 1000 { return String(format: "%.1fms", ms) }
        if seconds < 100 { return String(format: "%.2fs", seconds) }
        return String(format: "%.0fs", seconds)
    }

    /// Bytes for people: `123B`, `4.5K`, `12M`.
    public static func size(_ bytes: Int) -> String {
        if bytes < 10_000 { return "\(bytes)B" }
        if bytes < 1_000_000 { return "\(bytes / 1000)K" }
        return "\(bytes / 1_000_000)M"
    }

    /// One frame as a line of JSON (the documented format of `log save`).
    public static func jsonLine(_ e: LogEntry) -> String {
        var fields: [(String, BondValue)] = [
            ("seq", .int(e.seq)),
            ("time", .string(iso8601(e.date))),
            ("pane", .string(e.paneName)),
            ("language", .string(e.language)),
            ("dir", .string(e.sent ? "sent" : "received")),
            ("depth", .int(e.depth)),
            ("nest", .int(e.indent)),
            ("verb", .string(e.verb)),
            ("bytes", .int(e.bytes)),
        ]
        if let p = e.pair { fields.append(("pair", .int(p))) }
        if let d = e.duration { fields.append(("ms", .double((d * 1_000_000).rounded() / 1000))) }
        if e.truncated { fields.append(("truncated", .bool(true))) }
        if e.event { fields.append(("event", .string("end"))) }
        fields.append(("line", .string(e.raw)))
        return BondValue.object(.init(uniqueKeysWithValues: fields)).description
    }

    public static func iso8601(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let ms = min(999, Int(((t - Double(seconds)) * 1000 + 0.0005).rounded(.down)))
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), ms)
    }

    /// The payload as indented JSON; text that is not JSON comes back as it is.
    public static func prettyJSON(_ text: Substring) -> String {
        if let v = try? JSONText.parse(String(text)) { return v.prettyDescription }
        return String(text)
    }

    /// A hex dump of the line's bytes (and its newline): offset, 16 bytes, the printable ASCII.
    public static func hexDump(_ text: String, newline: Bool = true) -> [String] {
        var bytes = Array(text.utf8)
        if newline { bytes.append(0x0A) }
        var lines: [String] = []
        var offset = 0
        while offset < bytes.count {
            let chunk = bytes[offset..<min(offset + 16, bytes.count)]
            var hex = chunk.map { String(format: "%02x", $0) }.joined(separator: " ")
            hex += String(repeating: " ", count: max(0, 47 - hex.count))
            let ascii = String(chunk.map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "." })
            lines.append(String(format: "%06x  ", offset) + hex + "  " + ascii)
            offset += 16
        }
        return lines
    }
}

/// What the log pane shows: frames of some panes, with some verbs, holding some text.
///
/// Written as words: `pane:NAME[,NAME]`, `verb:VERB[,VERB]`, `dir:sent` or `dir:received`
/// (`>` and `<` too), `depth:N`; any other word must occur in the line (case-insensitive).
public struct LogFilter: Sendable, Equatable {
    public var panes: [String] = []
    public var verbs: [String] = []
    public var sent: Bool?
    public var depth: Int?
    public var words: [String] = []
    public var text = ""

    public init() {}

    public init(parsing text: String) {
        self.text = text.trimmingSpaces
        for word in text.split(whereSeparator: \.isWhitespace).map(String.init) {
            let lower = word.lowercased()
            if lower.hasPrefix("pane:") {
                panes += word.dropFirst(5).split(separator: ",").map(String.init)
            } else if lower.hasPrefix("verb:") {
                verbs += word.dropFirst(5).split(separator: ",").map { $0.uppercased() }
            } else if lower == "dir:sent" || lower == ">" {
                sent = true
            } else if lower == "dir:received" || lower == "<" {
                sent = false
            } else if lower.hasPrefix("depth:"), let d = Int(word.dropFirst(6)) {
                depth = d
            } else {
                words.append(lower)
            }
        }
    }

    /// The verbs of the protocol (and our extensions), for checking `verb:`.
    public static let knownVerbs: Set<String> = Traffic.hostRequests.union(Traffic.replyVerbs).union(["OUTPUT", "READY", "RUN", "ERROR"])

    /// What is wrong with a filter (a word that looks like a field but is not one), or nil.
    public func problem(paneNames: [String]) -> String? {
        for word in text.split(whereSeparator: \.isWhitespace).map(String.init) {
            let lower = word.lowercased()
            if lower.hasPrefix("depth:"), Int(word.dropFirst(6)) == nil || Int(word.dropFirst(6))! < 1 {
                return "depth:N wants a number, 1 or more (\"\(word)\")"
            }
            if lower.hasPrefix("dir:") && lower != "dir:sent" && lower != "dir:received" {
                return "dir: is sent or received (\"\(word)\")"
            }
            if let colon = lower.firstIndex(of: ":"), !["pane", "verb", "depth", "dir"].contains(String(lower[..<colon])),
               lower[..<colon].allSatisfy(\.isLetter), lower.index(after: colon) < lower.endIndex,
               !["http", "https", "file"].contains(String(lower[..<colon])) {
                return "unknown field \"\(lower[..<colon]):\" (pane: verb: dir: depth:, or plain words)"
            }
        }
        if let bad = verbs.first(where: { !Self.knownVerbs.contains($0) }) {
            return "verb:\(bad) is not a verb of the protocol (\(Self.knownVerbs.sorted().joined(separator: " ")))"
        }
        if let bad = panes.first(where: { !paneNames.contains($0) }) {
            return "pane:\(bad): no such pane (\(paneNames.joined(separator: " ")))"
        }
        return nil
    }

    public var isEmpty: Bool { panes.isEmpty && verbs.isEmpty && sent == nil && depth == nil && words.isEmpty }

    public func matches(_ e: LogEntry) -> Bool {
        if !panes.isEmpty && !panes.contains(e.paneName) { return false }
        if !verbs.isEmpty && !verbs.contains(e.verb) { return false }
        if let sent, e.sent != sent { return false }
        if let depth, e.depth != depth { return false }
        for w in words where e.raw.range(of: w, options: .caseInsensitive) == nil && !e.paneName.lowercased().contains(w) {
            return false
        }
        return true
    }
}

/// The detail view of one frame.
public struct LogDetail: Sendable, Equatable {
    public var seq: Int
    /// The exact bytes (hex dump) instead of the pretty-printed payload.
    public var raw = false
    public var scroll = 0
    /// The log followed the newest frame before the view opened (and does again when it closes).
    public var following = false
    public init(seq: Int, following: Bool = false) {
        self.seq = seq
        self.following = following
    }
}

/// JSON text into `BondValue` (the engine's reader), with a failure that carries its message.
public enum JSONText {
    public struct Failure: Error, Sendable { public var message: String }

    public static func parse(_ text: String) throws(Failure) -> BondValue {
        do {
            return try BondValue(json: text)
        } catch {
            if case .serialization(_, _, let message) = error { throw Failure(message: message) }
            throw Failure(message: error.description)
        }
    }
}
