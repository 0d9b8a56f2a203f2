/// A multi-line text input with a cursor (indices are grapheme clusters).
public struct InputEditor: Sendable, Equatable {
    public private(set) var chars: [Character] = []
    public private(set) var cursor = 0

    public init(_ text: String = "") {
        chars = Array(text)
        cursor = chars.count
    }

    public var text: String {
        get { String(chars) }
        set { chars = Array(newValue); cursor = chars.count }
    }
    public var isEmpty: Bool { chars.isEmpty }
    public var lineCount: Int { chars.reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }

    public mutating func insert(_ c: Character) {
        chars.insert(c, at: cursor)
        cursor += 1
    }
    public mutating func insert(_ s: String) { for c in s { insert(c) } }
    public mutating func backspace() {
        guard cursor > 0 else { return }
        chars.remove(at: cursor - 1)
        cursor -= 1
    }
    public mutating func deleteForward() {
        guard cursor < chars.count else { return }
        chars.remove(at: cursor)
    }
    public mutating func left() { cursor = max(0, cursor - 1) }
    public mutating func right() { cursor = min(chars.count, cursor + 1) }
    public mutating func clear() { chars = []; cursor = 0 }
    public mutating func moveCursor(to index: Int) { cursor = max(0, min(chars.count, index)) }

    private var lineStart: Int {
        var i = cursor
        while i > 0 && chars[i - 1] != "\n" { i -= 1 }
        return i
    }
    private var lineEnd: Int {
        var i = cursor
        while i < chars.count && chars[i] != "\n" { i += 1 }
        return i
    }
    public mutating func home() { cursor = lineStart }
    public mutating func end() { cursor = lineEnd }
    /// Deletes from the start of the line to the cursor.
    public mutating func killToStart() {
        let s = lineStart
        chars.removeSubrange(s..<cursor)
        cursor = s
    }
    /// Deletes from the cursor to the end of the line.
    public mutating func killToEnd() { chars.removeSubrange(cursor..<lineEnd) }
    /// Deletes the word before the cursor.
    public mutating func deleteWord() {
        var i = cursor
        while i > 0 && chars[i - 1] == " " { i -= 1 }
        while i > 0 && chars[i - 1] != " " && chars[i - 1] != "\n" { i -= 1 }
        chars.removeSubrange(i..<cursor)
        cursor = i
    }

    public var isOnFirstLine: Bool { !chars[0..<cursor].contains("\n") }
    public var isOnLastLine: Bool { !chars[cursor...].contains("\n") }

    /// Moves the cursor one line up (same column, clamped); false on the first line.
    @discardableResult
    public mutating func lineUp() -> Bool {
        guard !isOnFirstLine else { return false }
        let column = cursor - lineStart
        cursor = lineStart - 1
        let start = lineStart
        cursor = min(start + column, cursor)
        return true
    }
    @discardableResult
    public mutating func lineDown() -> Bool {
        guard !isOnLastLine else { return false }
        let column = cursor - lineStart
        cursor = lineEnd + 1
        let end = lineEnd
        cursor = min(cursor + column, end)
        return true
    }

    /// The lines of the text and the cursor as (line, index within line).
    public var cursorPosition: (line: Int, column: Int) {
        var line = 0, col = 0
        for c in chars[0..<cursor] {
            if c == "\n" { line += 1; col = 0 } else { col += 1 }
        }
        return (line, col)
    }
}

/// The inputs of one pane, newest last; Up/Down walk through them.
public struct History: Sendable, Equatable {
    public private(set) var entries: [String]
    public let limit: Int
    private var index: Int?
    private var draft = ""

    public init(entries: [String] = [], limit: Int = 1000) {
        self.entries = Array(entries.suffix(limit))
        self.limit = limit
    }

    /// Records an input (not twice in a row, not blank).
    public mutating func add(_ entry: String) {
        index = nil
        guard !entry.allSatisfy(\.isWhitespace), entries.last != entry else { return }
        entries.append(entry)
        if entries.count > limit { entries.removeFirst(entries.count - limit) }
    }

    /// Older entry, keeping `current` as the draft when leaving it; nil at the oldest.
    public mutating func previous(current: String) -> String? {
        guard !entries.isEmpty else { return nil }
        if let i = index {
            guard i > 0 else { return nil }
            index = i - 1
        } else {
            draft = current
            index = entries.count - 1
        }
        return entries[index!]
    }

    /// Newer entry, or the draft after the newest; nil when not browsing.
    public mutating func next() -> String? {
        guard let i = index else { return nil }
        if i + 1 < entries.count {
            index = i + 1
            return entries[i + 1]
        }
        index = nil
        return draft
    }

    public mutating func resetBrowsing() { index = nil }

    /// History file format: one JSON string per line.
    public static func encode(_ entries: [String]) -> String {
        entries.map { jsonQuote($0) }.joined(separator: "\n") + (entries.isEmpty ? "" : "\n")
    }

    public static func decode(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            guard case .string(let s)? = try? CallParser.parseJSON(String(line)) else { return nil }
            return s
        }
    }
}

func jsonQuote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u" + Sanitizer.hex(scalar.value, digits: 4)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
