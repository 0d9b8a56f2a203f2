/// A multi-line text input with a cursor (indices are grapheme clusters), and its undo
/// (Ctrl-_, as readline: typing in a row is undone at once).
public struct InputEditor: Sendable, Equatable {
    public private(set) var chars: [Character] = []
    public private(set) var cursor = 0
    private var undoStack: [(chars: [Character], cursor: Int)] = []
    private var typing = false

    public init(_ text: String = "") {
        chars = Array(text)
        cursor = chars.count
    }

    public static func == (a: InputEditor, b: InputEditor) -> Bool { a.chars == b.chars && a.cursor == b.cursor }

    public var text: String {
        get { String(chars) }
        set { remember(); chars = Array(newValue); cursor = chars.count }
    }
    public var isEmpty: Bool { chars.isEmpty }
    public var lineCount: Int { chars.reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }

    private mutating func remember(typing: Bool = false) {
        if !(typing && self.typing) {
            undoStack.append((chars, cursor))
            if undoStack.count > 200 { undoStack.removeFirst() }
        }
        self.typing = typing
    }

    /// Back to the text before the last change.
    public mutating func undo() {
        typing = false
        guard let last = undoStack.popLast() else { return }
        chars = last.chars
        cursor = min(last.cursor, chars.count)
    }

    public mutating func insert(_ c: Character) {
        remember(typing: true)
        chars.insert(c, at: cursor)
        cursor += 1
    }
    public mutating func insert(_ s: String) {
        remember()
        chars.insert(contentsOf: Array(s), at: cursor)
        cursor += s.count
    }
    /// Replaces `range` by `text`; the cursor goes after it.
    public mutating func replace(_ range: Range<Int>, with text: String) {
        remember()
        let r = max(0, range.lowerBound)..<min(chars.count, range.upperBound)
        chars.replaceSubrange(r, with: Array(text))
        cursor = r.lowerBound + text.count
    }
    public mutating func backspace() {
        guard cursor > 0 else { return }
        remember()
        chars.remove(at: cursor - 1)
        cursor -= 1
    }
    public mutating func deleteForward() {
        guard cursor < chars.count else { return }
        remember()
        chars.remove(at: cursor)
    }
    public mutating func left() { typing = false; cursor = max(0, cursor - 1) }
    public mutating func right() { typing = false; cursor = min(chars.count, cursor + 1) }
    public mutating func clear() { remember(); chars = []; cursor = 0 }
    public mutating func moveCursor(to index: Int) { typing = false; cursor = max(0, min(chars.count, index)) }

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
    public mutating func home() { typing = false; cursor = lineStart }
    public mutating func end() { typing = false; cursor = lineEnd }
    /// Deletes from the start of the line to the cursor.
    public mutating func killToStart() { replace(lineStart..<cursor, with: "") }
    /// Deletes from the cursor to the end of the line.
    public mutating func killToEnd() { let c = cursor; replace(cursor..<lineEnd, with: ""); cursor = c }
    /// Deletes the word before the cursor (back to white space).
    public mutating func deleteWord() {
        var i = cursor
        while i > 0 && chars[i - 1] == " " { i -= 1 }
        while i > 0 && chars[i - 1] != " " && chars[i - 1] != "\n" { i -= 1 }
        replace(i..<cursor, with: "")
    }

    public var isOnFirstLine: Bool { !chars[0..<cursor].contains("\n") }
    public var isOnLastLine: Bool { !chars[cursor...].contains("\n") }

    /// Moves the cursor one line up (same column, clamped); false on the first line.
    @discardableResult
    public mutating func lineUp() -> Bool {
        guard !isOnFirstLine else { return false }
        typing = false
        let column = cursor - lineStart
        cursor = lineStart - 1
        let start = lineStart
        cursor = min(start + column, cursor)
        return true
    }
    @discardableResult
    public mutating func lineDown() -> Bool {
        guard !isOnLastLine else { return false }
        typing = false
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
