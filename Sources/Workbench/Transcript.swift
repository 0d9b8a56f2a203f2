import Foundation

/// What a transcript line is.
public enum LineKind: Sendable, Hashable {
    case input, stdout, stderr, value, error, info, nested
    /// The interpreter's description of a value JSON cannot carry (not data).
    case description

    /// The two columns before the first row of an entry.
    public var gutter: String {
        switch self {
        case .input: "› "
        case .stdout: "  "
        case .stderr: "! "
        case .value: "= "
        case .error: "✗ "
        case .info: "· "
        case .nested: "↳ "
        case .description: "≈ "
        }
    }
}

/// One logical line of a transcript (already sanitized; wrapped when drawn).
public struct TranscriptLine: Sendable, Hashable {
    public var kind: LineKind
    public var text: String
    /// The first line of an entry shows the gutter mark; the lines after it are indented.
    public var first: Bool
}

/// A pane's transcript: a ring buffer of lines, with streamed output appended to an open line.
public struct Transcript: Sendable {
    public static let maximumLineBytes = 2048
    public private(set) var lines: RingBuffer<TranscriptLine>
    /// The kind of the last line when it is output still waiting for its newline.
    private var open: LineKind?

    public init(capacity: Int = 10_000) { lines = RingBuffer(capacity: capacity) }

    /// Adds an entry (text with newlines gives several lines; the first has the gutter mark).
    public mutating func add(_ kind: LineKind, _ text: String) {
        open = nil
        var first = true
        for line in Sanitizer.lines(text) {
            appendChunked(TranscriptLine(kind: kind, text: line, first: first))
            first = false
        }
    }

    /// Appends streamed output: continues the open line of the same channel.
    public mutating func stream(_ kind: LineKind, _ text: String) {
        guard !text.isEmpty else { return }
        let parts = Sanitizer.splitLines(text)
        for (i, part) in parts.enumerated() {
            let isLast = i == parts.count - 1
            var p = part
            if !isLast && p.unicodeScalars.last == "\r" { p = String(p.unicodeScalars.dropLast()) }
            if isLast && p.isEmpty {
                // text ended with a newline: nothing open any more
                if i > 0 { open = nil }
                break
            }
            let clean = Sanitizer.line(p)
            if open == kind, var last = lines.last {
                last.text += clean
                lines.replaceLast(last)
                if last.text.utf8.count > Self.maximumLineBytes { splitLast() }
            } else {
                appendChunked(TranscriptLine(kind: kind, text: clean, first: true))
            }
            open = isLast ? kind : nil
        }
        if text.utf8.last == 0x0A { open = nil }
    }

    /// Ends any open output line (the next output starts a new line).
    public mutating func closeOpenLine() { open = nil }

    private mutating func appendChunked(_ line: TranscriptLine) {
        lines.append(line)
        if line.text.utf8.count > Self.maximumLineBytes { splitLast() }
    }

    /// Splits an over-long last line into lines of at most `maximumLineBytes` (at cluster boundaries).
    private mutating func splitLast() {
        guard var last = lines.last else { return }
        var rest = Substring(last.text)
        var first = true
        while rest.utf8.count > Self.maximumLineBytes {
            var used = 0
            var cut = rest.startIndex
            for index in rest.indices {
                let n = rest[index].utf8.count
                if used + n > Self.maximumLineBytes { break }
                used += n
                cut = rest.index(after: index)
            }
            if cut == rest.startIndex { cut = rest.index(after: rest.startIndex) }
            let head = rest[..<cut]
            if first {
                last.text = String(head)
                lines.replaceLast(last)
                first = false
            } else {
                lines.append(TranscriptLine(kind: last.kind, text: String(head), first: false))
            }
            rest = rest[cut...]
        }
        lines.append(TranscriptLine(kind: last.kind, text: String(rest), first: false))
    }

    /// The rows of the transcript at `width` (gutter included), the last `count + skip` rows,
    /// dropping the last `skip`. Returns the rows, oldest first.
    public func rows(width: Int, count: Int, skip: Int) -> [(line: TranscriptLine, glyphs: [Glyph], firstRow: Bool)] {
        guard width > 2, count > 0 else { return [] }
        var collected: [(TranscriptLine, [Glyph], Bool)] = []
        let needed = count + skip
        var i = lines.count - 1
        while i >= 0 && collected.count < needed {
            let line = lines[i]
            let wrapped = Wrap.rows(line.text, width: width - 2)
            for (j, row) in wrapped.enumerated().reversed() {
                collected.append((line, row, j == 0))
                if collected.count >= needed { break }
            }
            i -= 1
        }
        let visible = collected.dropFirst(min(skip, collected.count)).prefix(count)
        return visible.reversed().map { (line: $0.0, glyphs: $0.1, firstRow: $0.2) }
    }

    /// Total rows at `width`, counting at most `limit`.
    public func rowCount(width: Int, limit: Int = .max) -> Int {
        guard width > 2 else { return 0 }
        var total = 0
        var i = lines.count - 1
        while i >= 0 && total < limit {
            total += Wrap.rowCount(lines[i].text, width: width - 2)
            i -= 1
        }
        return total
    }
}
