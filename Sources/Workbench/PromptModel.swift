/// A question asked on the status line.
public enum PromptKind: Sendable, Equatable {
    case command
    case refName(code: String)
    case inspect
    case proxyFunction
    case proxyTarget(function: String)
    case proxyName(function: String, target: Int)
    case newPane
    case logSave(shown: Bool)
    case logFilter
    case logSearch(origin: Int?)
    /// A question of ssh while a pane starts (a password, a passphrase, a host key): the
    /// answer goes back to the engine (`BondOptions.sshAnswer`); a secret is shown masked.
    case sshAnswer(question: Int, secret: Bool)
}

public struct Prompt: Sendable, Equatable {
    public var kind: PromptKind
    public var label: String
    public var input: InputEditor
    /// The pane that asked (actions apply to it).
    public var pane: Int?
    /// The pre-filled default is selected: typing replaces it, a motion key keeps it.
    public var selected = false
    /// What Tab cycles through (pane names, languages, refs); the command prompt completes instead.
    public var choices: [String] = []
    /// Tab cycling: the text typed before the first Tab, and the candidate shown.
    var cycle: (base: String, candidates: [String], index: Int)?

    public init(kind: PromptKind, label: String, input: InputEditor, pane: Int?, choices: [String] = []) {
        self.kind = kind
        self.label = label
        self.input = input
        self.pane = pane
        self.choices = choices
        self.selected = !input.isEmpty
    }

    public static func == (a: Prompt, b: Prompt) -> Bool {
        a.kind == b.kind && a.label == b.label && a.input == b.input && a.pane == b.pane && a.selected == b.selected
    }

    /// The prompts that share a history (each kind has its own).
    var historyKey: String {
        switch kind {
        case .command: "command"
        case .refName: "ref"
        case .inspect: "inspect"
        case .proxyFunction: "proxyFunction"
        case .proxyTarget: "proxyTarget"
        case .proxyName: "proxyName"
        case .newPane: "new"
        case .logSave: "file"
        case .logFilter: "filter"
        case .logSearch: "search"
        case .sshAnswer: "ssh"
        }
    }
}

/// The prompt's own keys and drawing.
extension Prompt {
    /// What a key did to the prompt.
    public enum Outcome: Sendable, Equatable {
        /// Still editing.
        case editing
        /// Esc, Ctrl-C or Ctrl-G: the prompt closes, nothing is done.
        case cancelled
        /// Enter: the text as typed.
        case submitted(String)
        /// The quit key: the prompt closes and the workbench quits.
        case quit(Key)
        /// Tab found nothing to offer.
        case nothingToComplete
    }

    /// Edits the prompt's input (readline keys, a selected default replaced by typing), browses
    /// `history` with ↑/↓, cycles `candidates(base)` with Tab; says when it is done.
    public mutating func update(_ key: Key, action: Action?, history: inout History, ring: inout KillRing,
                                candidates: (String) -> [String]) -> Outcome {
        var cycle = self.cycle
        self.cycle = nil
        switch key {
        case .escape, .ctrl("c"), .ctrl("g"):
            return .cancelled
        case .enter:
            return .submitted(input.text)
        case .up, .down:
            let entry = key == .up ? history.previous(current: input.text) : history.next()
            if let entry { input = InputEditor(entry); selected = false }
        case .tab, .ctrl(" "):
            if cycle == nil {
                let base = input.text
                let found = candidates(selected ? "" : base)
                guard !found.isEmpty else { return .nothingToComplete }
                // The choice shown now is not offered again first.
                let start = found.firstIndex(of: base).map { ($0 + 1) % found.count } ?? 0
                cycle = (selected ? "" : base, found, start)
            } else {
                cycle!.index = (cycle!.index + 1) % cycle!.candidates.count
            }
            input = InputEditor(cycle!.candidates[cycle!.index])
            selected = false
            self.cycle = cycle!.candidates.count == 1 ? nil : cycle
        default:
            if action == .quit && key != .char("q") { return .quit(key) }
            if selected {
                selected = false
                switch key {
                case .char, .ctrl("y"):
                    // Typing replaces the selected default.
                    input = InputEditor()
                case .backspace, .delete, .ctrl("d"), .ctrl("k"), .ctrl("u"), .ctrl("w"), .alt("\u{7F}"):
                    input = InputEditor()
                    return .editing
                default:
                    break
                }
            }
            LineEditing.apply(key, to: &input, ring: &ring)
        }
        return .editing
    }

    /// Draws the label and the input on the status line `area`; returns where the cursor goes.
    public func render(into buffer: inout CellBuffer, area: Rect) -> (x: Int, y: Int)? {
        let style = Style(reverse: true)
        let label = self.label + ": "
        let used = buffer.put(label, x: area.x, y: area.y, maxWidth: area.width, style: Style(bold: true, reverse: true))
        let field = Rect(x: area.x + used - 2, y: area.y, width: area.width - used + 2, height: 1)
        // The input draws its mark in the first two columns: drawn over the label's ": ".
        var copy = buffer
        var shown = input.text.replacingOccurrences(of: "\n", with: " ")
        if case .sshAnswer(_, true) = kind { shown = String(repeating: "•", count: input.text.count) }
        let c = InputEditor(shown).withCursor(input.cursor).render(into: &copy, area: field, color: .default, focused: true)
        // A selected default is shown as a selection (not reversed, underlined): typing replaces it.
        let selectedStyle = Style(bold: true, underline: true)
        let selectedEnd = field.x + 2 + TextWidth.of(input.text)
        for x in field.x + 2..<field.right { copy[x, area.y].style = selected && x < selectedEnd ? selectedStyle : style }
        for x in field.x..<field.x + 2 { copy[x, area.y] = buffer[x, area.y] }
        buffer = copy
        return c
    }
}
