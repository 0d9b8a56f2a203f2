/// Readline's incremental history search (Ctrl-R older, Ctrl-S newer) in a pane's input.
public struct HistorySearch: Sendable, Equatable {
    public var pane: Int
    public var query = ""
    /// The history entry matched (an index of the entries), nil when nothing matches.
    public var match: Int?
    public var reverse = true
    /// The input before the search (Esc or Ctrl-G brings it back).
    public var original: InputEditor
    public var failed = false

    /// What a key did to the search.
    public enum Outcome: Sendable, Equatable {
        /// Still searching; the input shows this (nil: leave it as it is).
        case searching(InputEditor?)
        /// Esc or Ctrl-G: the original input comes back.
        case cancelled(InputEditor)
        /// Another key takes the match (the input given, nil: none) and then acts as usual.
        case accepted(InputEditor?, query: String)
    }

    /// The first entry at or after `start` (before, when `reverse`) that holds the query.
    private func find(in entries: [String], from start: Int?, reverse: Bool) -> Int? {
        guard !query.isEmpty, !entries.isEmpty else { return nil }
        var k = start ?? (reverse ? entries.count - 1 : 0)
        while k >= 0 && k < entries.count {
            if entries[k].contains(query) { return k }
            k += reverse ? -1 : 1
        }
        return nil
    }

    /// The matched entry as an input, the cursor on the match.
    private func matchedInput(_ entries: [String]) -> InputEditor? {
        guard let m = match else { return nil }
        var input = InputEditor(entries[m])
        if let r = entries[m].range(of: query) {
            input.moveCursor(to: entries[m].distance(from: entries[m].startIndex, to: r.lowerBound))
        }
        return input
    }

    /// A key in the search over `entries` (oldest first); `lastQuery` is the search repeated
    /// when Ctrl-R or Ctrl-S is pressed on an empty query.
    public mutating func update(_ key: Key, entries: [String], lastQuery: String?) -> Outcome {
        switch key {
        case .ctrl("r"), .ctrl("s"):
            reverse = key == .ctrl("r")
            if query.isEmpty, let lastQuery { query = lastQuery }
            let from = match.map { reverse ? $0 - 1 : $0 + 1 }
            if let m = find(in: entries, from: from, reverse: reverse) { match = m; failed = false } else { failed = true }
        case .backspace:
            if !query.isEmpty { query.removeLast() }
            match = find(in: entries, from: nil, reverse: true)
            failed = match == nil && !query.isEmpty
        case .char(let c):
            query.append(c)
            if let m = find(in: entries, from: match, reverse: reverse) ?? find(in: entries, from: nil, reverse: reverse) {
                match = m
                failed = false
            } else {
                failed = true
            }
        case .escape, .ctrl("g"):
            return .cancelled(original)
        default:
            return .accepted(matchedInput(entries), query: query)
        }
        return .searching(matchedInput(entries) ?? (query.isEmpty ? original : nil))
    }

    /// Draws the search on the status line `area`, with the input it shows.
    public func render(into buffer: inout CellBuffer, area: Rect, input: InputEditor?) {
        let label = (failed ? "(failing " : "(") + (reverse ? "reverse-i-search)`" : "i-search)`") + query + "': "
        let used = buffer.put(label, x: area.x, y: area.y, maxWidth: area.width, style: Style(bold: true, reverse: true))
        if let input {
            buffer.put(input.text.replacingOccurrences(of: "\n", with: "⏎"), x: area.x + used, y: area.y,
                       maxWidth: area.width - used, style: Style(reverse: true), ellipsis: true)
        }
    }
}
