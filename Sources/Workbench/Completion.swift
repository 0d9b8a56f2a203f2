import Bond
import Foundation

/// One choice of the completion menu.
public struct CompletionItem: Sendable, Equatable {
    public var text: String
    /// A history entry replaces the whole input; a name replaces the word before the cursor.
    public var isHistory: Bool
}

/// Completion in a pane's input: the word before the cursor, and what can replace it.
public struct CompletionState: Sendable, Equatable {
    public var pane: Int
    /// Where the part being completed starts in the input (after `object.`), and the part.
    public var start: Int
    public var prefix: String
    /// The object before the last dot (`os` in `os.pa`), asked for its attributes.
    public var object: String?
    public var items: [CompletionItem] = []
    public var selected = 0
    /// The interpreter's answer is awaited.
    public var waiting = true
}

extension Languages {
    /// An expression that gives the names known to the interpreter (globals, functions,
    /// builtins), or the attributes of `object`; nil when the language has none.
    public static func completionExpression(language: String, object: String?) -> String? {
        switch language.lowercased() {
        case "python":
            if let object { return "dir(\(object))" }
            return "list(globals()) + dir(__import__('builtins'))"
        case "javascript":
            let target = object.map { "(\($0))" } ?? "globalThis"
            return "(function (o) { var s = new Set(); for (var p = Object(o); p; p = Object.getPrototypeOf(p)) "
                + "Object.getOwnPropertyNames(p).forEach(function (n) { s.add(n); }); return Array.from(s); })(\(target))"
        case "perl":
            if object != nil { return nil }
            return #"[grep { /^[A-Za-z_]\w*$/ && !/^_?_BOND/ } keys %main::]"#
        case "php":
            if object != nil { return nil }
            return "array_values(array_merge(array_map(function ($n) { return '$' . $n; }, array_keys($GLOBALS)), "
                + "get_defined_functions()['user'], get_defined_functions()['internal']))"
        case "ruby":
            if let object { return "(\(object)).methods.map(&:to_s)" }
            return "(local_variables + private_methods + Object.constants).map(&:to_s)"
        case "r":
            if let object { return "names(\(object))" }
            return #"c(ls(globalenv()), apropos(""))"#
        default:
            return nil
        }
    }
}

extension AppState {
    static func isWordCharacter(_ c: Character) -> Bool {
        c == "_" || c == "$" || (c.isASCII && (c.isLetter || c.isNumber)) || (!c.isASCII && c.isLetter)
    }

    /// The word before the cursor: where the completed part starts, the part, and the object.
    static func completionContext(_ input: InputEditor) -> (start: Int, prefix: String, object: String?) {
        let chars = input.chars
        var i = input.cursor
        while i > 0 && (isWordCharacter(chars[i - 1]) || chars[i - 1] == ".") { i -= 1 }
        let word = String(chars[i..<input.cursor])
        guard let dot = word.lastIndex(of: ".") else { return (i, word, nil) }
        let object = String(word[..<dot])
        let prefix = String(word[word.index(after: dot)...])
        let start = input.cursor - prefix.count
        if object.isEmpty || object.hasSuffix(".") { return (start, prefix, nil) }
        return (start, prefix, object)
    }

    mutating func startCompletion(_ i: Int) -> [Effect] {
        let pane = panes[i]
        let (start, prefix, object) = Self.completionContext(pane.input)
        var state = CompletionState(pane: pane.id, start: start, prefix: prefix, object: object)
        let text = pane.input.text
        if !text.isEmpty {
            var seen = Set<String>()
            for entry in pane.history.entries.reversed() where entry.hasPrefix(text) && entry != text && seen.insert(entry).inserted {
                state.items.append(CompletionItem(text: entry, isHistory: true))
                if state.items.count >= 20 { break }
            }
        }
        if let object, let request = memberCompletion(i, object: object, start: start) {
            completion = state
            panes[i].pending += 1
            return [.request(pane: pane.id, generation: pane.generation, request)]
        }
        let expression = Languages.completionExpression(language: pane.language, object: object)
        // A busy pane answers when its request ends (the worker is serial); typing on drops it.
        if pane.status.isLive, let expression {
            completion = state
            panes[i].pending += 1
            return [.request(pane: pane.id, generation: pane.generation, .complete(expression))]
        }
        state.waiting = false
        completion = state
        if !pane.status.isLive { flash = "\(pane.name) is \(pane.status.label): history only" }
        finishCompletion(names: [])
        return []
    }

    /// `@name.` before the cursor, `name` a handle ref: its object's members, asked of the bond
    /// that holds it (nil: not a handle ref, or this pane cannot ask now).
    func memberCompletion(_ i: Int, object: String, start: Int) -> Request? {
        let at = start - object.count - 2
        guard at >= 0, panes[i].input.chars[at] == "@", panes[i].status.isLive,
              let (ref, owner) = handleRef(object, from: i),
              let lister = Languages.memberLister(language: panes[owner].language)
        else { return nil }
        return .object(.members(handle: ref.handle, lister: lister))
    }

    /// The interpreter's names arrived: keep those that start with the prefix; one choice is
    /// taken at once, several open the menu (after inserting what they have in common).
    mutating func finishCompletion(names: [String]) {
        guard var c = completion, let i = index(of: c.pane) else { completion = nil; return }
        c.waiting = false
        var sigil = ""
        var prefix = c.prefix
        if panes[i].language.lowercased() == "perl", let f = prefix.first, "$@%&".contains(f) {
            sigil = String(f)
            prefix.removeFirst()
        }
        let matches = Array(Set(names.filter { $0.hasPrefix(prefix) && $0 != prefix && !$0.hasPrefix("_BOND") && !$0.hasPrefix("__BOND") && !$0.hasPrefix("$__BOND") && !$0.hasPrefix("$_BOND") }))
            .sorted { ($0.hasPrefix("_") ? 1 : 0, $0.lowercased()) < ($1.hasPrefix("_") ? 1 : 0, $1.lowercased()) }
        let items = matches.prefix(200).map { CompletionItem(text: sigil + $0, isHistory: false) } + c.items
        c.items = items
        if items.isEmpty {
            completion = nil
            flash = "no completion for \"\(c.prefix)\""
            return
        }
        if items.count == 1 {
            completion = nil
            applyCompletion(c, items[0])
            return
        }
        // Insert what every name has in common.
        let words = items.filter { !$0.isHistory }.map(\.text)
        if words.count == items.count, var common = words.first {
            for w in words.dropFirst() { while !w.hasPrefix(common) { common.removeLast() } }
            if common.count > c.prefix.count {
                applyCompletion(c, CompletionItem(text: common, isHistory: false))
                c.prefix = common
            }
        }
        c.selected = 0
        completion = c
    }

    mutating func applyCompletion(_ c: CompletionState, _ item: CompletionItem) {
        guard let i = index(of: c.pane) else { return }
        if item.isHistory {
            panes[i].input = InputEditor(item.text)
            return
        }
        var input = panes[i].input
        let end = c.start + c.prefix.count
        guard end <= input.chars.count, String(input.chars[c.start..<end]) == c.prefix else { return }
        input.moveCursor(to: end)
        for _ in 0..<c.prefix.count { input.backspace() }
        input.insert(item.text)
        panes[i].input = input
    }

    /// Keys while the menu is open; others close it and act as usual (nil: not handled).
    mutating func completionKey(_ key: Key, _ action: Action?) -> [Effect]? {
        guard var c = completion else { return nil }
        let outcome = c.update(key, action: action)
        switch outcome {
        case .stay:
            completion = c
            return []
        case .close:
            completion = nil
            return []
        case .apply(let item):
            completion = nil
            applyCompletion(c, item)
            return []
        case .passThrough:
            completion = nil
            return nil
        }
    }

    func renderCompletion(into buffer: inout CellBuffer) {
        guard let c = completion, let i = index(of: c.pane) else { return }
        c.render(into: &buffer, paneArea: screenLayout.panes[i], inputY: geometry(of: i).input.y)
    }
}

/// The completion menu's own keys and drawing.
extension CompletionState {
    /// What a key did to the menu.
    public enum Outcome: Sendable, Equatable {
        /// Handled; the menu stays open.
        case stay
        case close
        /// Take this choice into the input.
        case apply(CompletionItem)
        /// The menu closes and the key acts as usual.
        case passThrough
    }

    public mutating func update(_ key: Key, action: Action?) -> Outcome {
        // Typing on while the interpreter answers drops the completion.
        if waiting { return .passThrough }
        if action == .complete {
            // The completion key again moves on in the menu (readline's menu-complete).
            selected = (selected + 1) % items.count
            return .stay
        }
        switch key {
        case .up, .backTab: selected = (selected - 1 + items.count) % items.count
        case .down: selected = (selected + 1) % items.count
        case .enter: return .apply(items[selected])
        case .escape, .ctrl("g"): return .close
        default: return .passThrough
        }
        return .stay
    }

    /// Draws the menu above the input line (`inputY`) of the pane in `paneArea`.
    public func render(into buffer: inout CellBuffer, paneArea area: Rect, inputY: Int) {
        guard !waiting, !items.isEmpty else { return }
        let rows = min(items.count, 10, max(0, inputY - area.y - 1))
        guard rows > 0 else { return }
        let labels = items.map { ($0.isHistory ? "↑ " : "  ") + Sanitizer.line($0.text.replacingOccurrences(of: "\n", with: "⏎")) }
        let w = min(area.width - 2, max(20, (labels.map { TextWidth.of($0) }.max() ?? 10) + 2))
        guard w > 4 else { return }
        let first = max(0, min(selected - rows + 1, items.count - rows))
        let x = area.x + min(2, area.width - w)
        for r in 0..<rows {
            let k = first + r
            let y = inputY - rows + r
            // The transcript's marks beside the menu would read as part of it: blanked.
            buffer.fill(Rect(x: area.x, y: y, width: x - area.x, height: 1))
            let style = k == selected ? Style(fg: .black, bg: .cyan, bold: true) : Style(fg: .black, bg: .white)
            buffer.fill(Rect(x: x, y: y, width: w, height: 1), style: style)
            buffer.put(labels[k], x: x, y: y, maxWidth: w, style: style, ellipsis: true)
        }
        if items.count > rows {
            buffer.put(" \(selected + 1)/\(items.count) ", x: x + w - 8, y: inputY - rows, maxWidth: 8,
                       style: Style(fg: .black, bg: .white, dim: true))
        }
    }
}
