/// Editing keys as GNU readline has them in emacs mode, on an `InputEditor`. They are not
/// rebindable actions: they are what every readline user's fingers already know. An action
/// bound to one of these keys in the configuration wins over it.
public enum LineEditing {
    /// What readline counts as a word (for Alt-B/F/D, Alt-Backspace): letters and digits.
    static func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    /// Applies an editing key; false when the key is not an editing key. `ring` is the kill
    /// ring shared by every input (as readline has one).
    @discardableResult
    public static func apply(_ key: Key, to input: inout InputEditor, ring: inout KillRing) -> Bool {
        let wasKill = ring.lastWasKill, wasYank = ring.lastYank
        ring.lastWasKill = false
        ring.lastYank = nil
        switch key {
        case .ctrl("a"), .home: input.home()
        case .ctrl("e"), .end: input.end()
        case .ctrl("b"), .left: input.left()
        case .ctrl("f"), .right: input.right()
        case .alt("b"), .ctrlLeft: input.moveCursor(to: input.wordStart(before: input.cursor))
        case .alt("f"), .ctrlRight: input.moveCursor(to: input.wordEnd(after: input.cursor))
        case .backspace: input.backspace()
        case .ctrl("d"), .delete: input.deleteForward()
        case .ctrl("k"):
            // At the end of a line of a multi-line input, the line break goes (as in Emacs).
            let end = input.lineEndIndex
            kill(&input, input.cursor..<(end == input.cursor && end < input.chars.count ? end + 1 : end), ring: &ring, wasKill: wasKill, forward: true)
        case .ctrl("u"):
            kill(&input, input.lineStartIndex..<input.cursor, ring: &ring, wasKill: wasKill, forward: false)
        case .ctrl("w"):
            // unix-word-rubout: back to the previous white space.
            var i = input.cursor
            while i > 0 && input.chars[i - 1].isWhitespace { i -= 1 }
            while i > 0 && !input.chars[i - 1].isWhitespace { i -= 1 }
            kill(&input, i..<input.cursor, ring: &ring, wasKill: wasKill, forward: false)
        case .alt("\u{7F}"), .alt("\u{8}"):
            kill(&input, input.wordStart(before: input.cursor)..<input.cursor, ring: &ring, wasKill: wasKill, forward: false)
        case .alt("d"):
            kill(&input, input.cursor..<input.wordEnd(after: input.cursor), ring: &ring, wasKill: wasKill, forward: true)
        case .ctrl("y"):
            guard let text = ring.entries.last else { break }
            let start = input.cursor
            input.insert(text)
            ring.lastYank = (start, text.count, ring.entries.count - 1)
        case .alt("y"):
            // yank-pop: only right after a yank, the yanked text becomes the older kill.
            guard let (start, length, index) = wasYank, !ring.entries.isEmpty else { break }
            let older = (index - 1 + ring.entries.count) % ring.entries.count
            input.replace(start..<start + length, with: ring.entries[older])
            ring.lastYank = (start, ring.entries[older].count, older)
        case .ctrl("t"):
            input.transposeCharacters()
        case .alt("u"): input.changeWord { $0.uppercased() }
        case .alt("l"): input.changeWord { $0.lowercased() }
        case .alt("c"): input.changeWord { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
        case .ctrl("_"):
            input.undo()
        case .char(let c):
            input.insert(c)
        default:
            return false
        }
        return true
    }

    private static func kill(_ input: inout InputEditor, _ range: Range<Int>, ring: inout KillRing, wasKill: Bool, forward: Bool) {
        guard !range.isEmpty else { ring.lastWasKill = wasKill; return }
        let text = String(input.chars[range])
        input.replace(range, with: "")
        ring.add(text, appending: wasKill, atEnd: forward)
        ring.lastWasKill = true
    }
}

/// Killed text, newest last (Ctrl-Y yanks it, Alt-Y after it the older ones). Kills in a row
/// make one entry, as in readline.
public struct KillRing: Sendable {
    public private(set) var entries: [String] = []
    var lastWasKill = false
    /// The last yank: where it went, its length, and which entry it was.
    var lastYank: (start: Int, length: Int, index: Int)?
    public init() {}

    mutating func add(_ text: String, appending: Bool, atEnd: Bool) {
        if appending, let last = entries.last {
            entries[entries.count - 1] = atEnd ? last + text : text + last
        } else {
            entries.append(text)
            if entries.count > 60 { entries.removeFirst() }
        }
    }
}

extension InputEditor {
    var lineStartIndex: Int {
        var i = cursor
        while i > 0 && chars[i - 1] != "\n" { i -= 1 }
        return i
    }
    var lineEndIndex: Int {
        var i = cursor
        while i < chars.count && chars[i] != "\n" { i += 1 }
        return i
    }

    /// The start of the word before `index` (readline's backward-word).
    func wordStart(before index: Int) -> Int {
        var i = index
        while i > 0 && !LineEditing.isWord(chars[i - 1]) { i -= 1 }
        while i > 0 && LineEditing.isWord(chars[i - 1]) { i -= 1 }
        return i
    }
    /// The end of the word after `index` (readline's forward-word).
    func wordEnd(after index: Int) -> Int {
        var i = index
        while i < chars.count && !LineEditing.isWord(chars[i]) { i += 1 }
        while i < chars.count && LineEditing.isWord(chars[i]) { i += 1 }
        return i
    }

    mutating func transposeCharacters() {
        guard chars.count >= 2, cursor > 0 else { return }
        var c = cursor
        if c == chars.count || chars[c] == "\n" { c -= 1 }
        guard c > 0, chars[c] != "\n", chars[c - 1] != "\n" else { return }
        var copy = chars
        copy.swapAt(c - 1, c)
        replace(0..<chars.count, with: String(copy))
        moveCursor(to: c + 1)
    }

    /// Changes the word after the cursor (Alt-U, Alt-L, Alt-C) and moves past it.
    mutating func changeWord(_ change: (String) -> String) {
        var start = cursor
        while start < chars.count && !LineEditing.isWord(chars[start]) { start += 1 }
        let end = wordEnd(after: start)
        guard start < end else { return }
        let changed = change(String(chars[start..<end]))
        replace(start..<end, with: changed)
        moveCursor(to: start + changed.count)
    }
}
