/// What is in front of the panes and the log and takes the keys: one overlay or prompt, with
/// its state. One value, so at most one is ever open and routing is one switch.
public enum Front: Sendable, Equatable {
    /// The status-line prompt (a command, a new pane, a log search, an ssh answer...).
    case prompt(Prompt)
    /// The help overlay (F1).
    case help(HelpOverlay)
    /// A question waiting for y/N.
    case confirmation(Confirmation)
    /// Ctrl-R / Ctrl-S in a pane's input.
    case historySearch(HistorySearch)
    /// The whole of a big value, in a scrollable viewer (Alt-v).
    case viewer(ValueViewer)
    /// The wiring view (F2).
    case wiring(WiringView)
    /// A host group's view.
    case groupView(GroupView)
    /// Completion in a pane's input: the interpreter's answer awaited, then the menu.
    case completion(CompletionState)

    /// True for what holds the user's typing or a question (a new question waits for it to close);
    /// the others are views that a question may cover, as nothing is lost by closing them.
    var holdsTyping: Bool {
        switch self {
        case .prompt, .confirmation, .historySearch: true
        case .help, .viewer, .wiring, .groupView, .completion: false
        }
    }
}

/// Each kind of front as an optional: reading gives it when it is in front; setting a value puts
/// it in front (closing what was there); setting nil closes it only if it is the one in front.
extension AppState {
    public var prompt: Prompt? {
        get { if case .prompt(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.prompt), closing: prompt != nil) }
    }
    public var help: HelpOverlay? {
        get { if case .help(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.help), closing: help != nil) }
    }
    public var confirm: Confirmation? {
        get { if case .confirmation(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.confirmation), closing: confirm != nil) }
    }
    public var historySearch: HistorySearch? {
        get { if case .historySearch(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.historySearch), closing: historySearch != nil) }
    }
    public var viewer: ValueViewer? {
        get { if case .viewer(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.viewer), closing: viewer != nil) }
    }
    public var wiringView: WiringView? {
        get { if case .wiring(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.wiring), closing: wiringView != nil) }
    }
    public var groupView: GroupView? {
        get { if case .groupView(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.groupView), closing: groupView != nil) }
    }
    public var completion: CompletionState? {
        get { if case .completion(let v)? = front { v } else { nil } }
        set { setFront(newValue.map(Front.completion), closing: completion != nil) }
    }

    private mutating func setFront(_ new: Front?, closing isInFront: Bool) {
        if let new { front = new } else if isInFront { front = nil }
    }
}

/// A question that came while the user typed in front, asked when the front is free.
enum WaitingQuestion: Sendable, Equatable {
    /// ssh asks while `pane` starts (answered by `Effect.answerSSH(question:)`).
    case ssh(pane: Int, question: Int, prompt: String, secret: Bool)
    /// A y/N question (a file to write over).
    case confirmation(Confirmation)
}
