import Bond
import Foundation
import OrderedCollections

/// A pane's bond, as the title line shows it.
public enum PaneStatus: Sendable, Equatable {
    case starting
    case idle
    case busy(depth: Int)
    /// The interpreter ended; `exit` says how (`exit status 1`, `killed by signal 9 (SIGKILL)`).
    case dead(exit: String)
    /// The bond could not start.
    case failed
    case closing
    case closed

    public var isLive: Bool {
        switch self {
        case .idle, .busy: true
        default: false
        }
    }

    public var label: String {
        switch self {
        case .starting: "starting"
        case .idle: "idle"
        case .busy(let depth): "busy depth \(depth)"
        case .dead(let exit): "dead (\(exit))"
        case .failed: "failed to start"
        case .closing: "closing"
        case .closed: "closed"
        }
    }
}

/// A proxy: `function` of the `source` pane's bond, callable in the `target` pane's bond as `name`.
public struct Wire: Sendable, Hashable {
    public var source: Int
    public var function: String
    public var target: Int
    public var name: String
    public init(source: Int, function: String, target: Int, name: String) {
        self.source = source
        self.function = function
        self.target = target
        self.name = name
    }
}

public struct WireKey: Sendable, Hashable {
    public var target: Int
    public var name: String
    public init(target: Int, name: String) { self.target = target; self.name = name }
}

extension Wire {
    public var key: WireKey { WireKey(target: target, name: name) }
}

/// One raw protocol line of a bond (the part of `BondTraffic` the workbench uses).
public struct TrafficRecord: Sendable, Equatable {
    public var sent: Bool
    public var time: Date
    public var line: String
    public var depth: Int
    /// The size of the whole line in bytes (`line` may be cut).
    public var bytes: Int
    public init(sent: Bool, time: Date, line: String, depth: Int, bytes: Int? = nil) {
        self.sent = sent
        self.time = time
        self.line = line
        self.depth = depth
        self.bytes = bytes ?? line.utf8.count
    }
}

public struct PaneState: Sendable {
    public let id: Int
    public var name: String
    public var language: String
    public var command: String?
    public var generation = 0
    public var status: PaneStatus = .starting
    public var location: String
    public var pid: Int32?
    public var transcript = Transcript()
    public var input = InputEditor()
    public var history = History()
    /// Ref name -> code.
    public var refs = OrderedDictionary<String, String>()
    /// Rows scrolled up from the bottom (0 follows new output).
    public var scroll = 0
    /// Requests handed to the worker and not answered yet.
    public var pending = 0
    public var colorIndex: Int
    /// Whether the death of the current bond has been written to the transcript.
    var deathReported = false
    /// Whether the end of the current bond has been recorded in the log.
    var endLogged = false
    /// Run at each start of the bond, one after the other, before anything else: the
    /// session's entries, then the definitions recorded since (see `StartupEntries`).
    public var startupEntries: [StartupEntry] = []
    /// The start-up entries of the current start still running, and how many failed.
    var startupRunning = 0
    var startupFailed = 0
    /// Requests made while the bond starts: sent once it has started, after the start-up block
    /// and the wires.
    var held: [Request] = []
    /// The requests of the transcript and how they ended (`transcript save`, replay).
    public var steps: [Step] = []
    /// The last value shown (Alt-v opens it whole).
    public var lastValue: String?
    /// The Perl hint about `my` has been given.
    var perlHintGiven = false
    /// Names the interpreter gave for completion last (offered for `proxy SRC.FUNC`).
    public var knownNames: [String] = []

    /// The host group (`--hosts`) of the pane, if any.
    public var group: String?

    public var spec: PaneSpec { PaneSpec(name: name, language: language, command: command) }
}

public enum Focus: Sendable, Equatable {
    case pane(Int)  // pane id
    case log
}

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

/// An action that waits for a yes (y, or the same key again).
public enum ConfirmAction: Sendable, Equatable {
    case close(pane: Int)
    case restart(pane: Int)
    case remove(pane: Int)
    case quit
    /// Write over an existing file.
    case overwrite(path: String, lines: [String])
}

public struct Confirmation: Sendable, Equatable {
    public var action: ConfirmAction
    public var question: String
    /// Pressing this key again also says yes.
    public var key: Key?
}

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
}

/// A pane removed from the screen, kept with its wires until quit (`undo` brings it back).
public struct RemovedPane: Sendable {
    public var pane: PaneState
    public var position: Int
    public var wires: [Wire]
}

/// Why a file could not be written (carried as a value, never matched by its text).
public enum SaveFailure: Sendable, Equatable, Error {
    /// The file is there already (nothing was written).
    case exists
    /// The system's reason (`No such file or directory`).
    case system(String)
}

/// Why a file is read.
public enum FilePurpose: Sendable, Equatable {
    case replay(report: String?)
}

/// What a pane's worker is asked to do.
public enum Request: Sendable, Equatable {
    /// What the user typed, run as the language's REPL runs it (`Bond.run`).
    case run(String)
    case eval(String)
    case block(String)
    /// Arguments: `.value` as is, `.ref(code)` evaluated by the interpreter.
    case call(name: String, arguments: [CallArgument])
    /// Shows the value of `code`, or its type and description from `describe`.
    case inspect(name: String, code: String, describe: String?)
    /// Exports `function` of the `source` pane to this pane's bond as `name`.
    case proxy(source: Int, function: String, name: String)
    /// Replaces the export `name` of this pane's bond by a function that throws "unwired".
    case unwire(name: String)
    /// The pane's start-up block (run as a block).
    case startup(String)
    /// Names for completion: an expression that gives a list of strings.
    case complete(String)
    /// Asks whether `function` exists (`check` gives true or false) before proxying it into
    /// `target` as `name`.
    case checkFunction(function: String, check: String, target: Int, name: String)
}

/// How a request ended.
public enum Outcome: Sendable, Equatable {
    /// `run`: the value of a final expression, a description of one JSON cannot carry, or nil.
    case ran(BondResult?)
    case value(BondValue)
    case done
    case failure(String)
    /// The interpreter ended while the request ran (the engine's `BondError.terminated`): how,
    /// and the last lines of its standard error.
    case terminated(message: String, stderr: String)
    case inspected(name: String, type: String?, description: String?, value: BondValue?, error: String?)
    case proxied(Wire)
    case unwired(name: String)
    case completions([String])
}

/// Everything the loop receives.
public enum Message: Sendable {
    case key(Key)
    case resize(width: Int, height: Int)
    case started(pane: Int, generation: Int, pid: Int32, remoteHost: String?)
    case startFailed(pane: Int, generation: Int, message: String)
    case state(pane: Int, generation: Int, BondState)
    case output(pane: Int, generation: Int, channel: BondOutputChannel, text: String)
    case traffic(pane: Int, generation: Int, TrafficRecord)
    case result(pane: Int, generation: Int, request: Request, outcome: Outcome)
    /// A line for a pane's transcript (nested calls, notes).
    case note(pane: Int, kind: LineKind, text: String)
    /// The bond's interpreter ended; `message` carries its exit status and last stderr.
    case died(pane: Int, generation: Int, message: String, stderr: String = "")
    case closed(pane: Int, generation: Int)
    case historyLoaded(pane: Int, entries: [String])
    /// A file was written (or not): the path as given, as written (`~/` expanded), and why not.
    case logSaved(path: String, expanded: String, error: SaveFailure?)
    /// The text came back from `$EDITOR` (nil: the editor failed, `error` says why).
    case edited(pane: Int, text: String?, error: String?, startup: Bool = false)
    case fileRead(path: String, purpose: FilePurpose, text: String?, error: String?)
    /// A call came through the wire exported into `target` as `name`.
    case wireCalled(target: Int, name: String)
    case allClosed
    /// ssh asks a question while `pane` starts; answered by `Effect.answerSSH(question:)`.
    case sshQuestion(pane: Int, question: Int, prompt: String, secret: Bool)
}

/// What the loop asks the app layer to do.
public enum Effect: Sendable, Equatable {
    case start(pane: Int, generation: Int, name: String, language: String, command: String?)
    case request(pane: Int, generation: Int, Request)
    case interrupt(pane: Int, generation: Int)
    case close(pane: Int, generation: Int)
    case loadHistory(pane: Int, name: String)
    case saveHistory(name: String, entries: [String])
    /// Write a new file (`~/` is the home directory); an existing one is left alone and
    /// reported as `.exists`.
    case saveLog(path: String, lines: [String])
    /// Write over a file (after the user said yes).
    case replaceFile(path: String, lines: [String])
    /// Suspend the screen and edit `text` in `$EDITOR` (Ctrl-X Ctrl-E, or the start-up
    /// entries with `startup`); comes back as `.edited`.
    case editExternally(pane: Int, text: String, startup: Bool = false)
    /// Read a file; its text comes back as `.fileRead`.
    case readFile(path: String, purpose: FilePurpose)
    /// Close every bond, then post `.allClosed`.
    case quit
    /// The user's answer to an ssh question (nil: cancelled).
    case answerSSH(question: Int, answer: String?)
    /// Leave now.
    case exit
}

public struct AppState: Sendable {
    public var panes: [PaneState] = []
    public var focus: Focus = .log
    public var log = RingBuffer<LogEntry>(capacity: 100_000)
    /// The selected frame (a `seq`); nil follows the newest frame.
    public var logSelected: Int?
    /// The first frame shown when not following (a `seq`; a hint, kept so the selection shows).
    var logTop: Int?
    /// While paused, only frames before this `seq` are shown.
    public var logPausedAt: Int?
    public var logFilter = LogFilter()
    /// The `seq`s of the frames that the filter lets through, oldest first (when it is set).
    var logFiltered: [Int] = []
    public var logSearch = ""
    public var logDetail: LogDetail?
    /// Per pane, the requests waiting for their reply (`seq`s, innermost last).
    var openRequests: [Int: [Int]] = [:]
    /// Per pane, how deep its current conversation is nested in another bond's call.
    var logBase: [Int: Int] = [:]
    var nextSeq = 1
    public var width: Int
    public var height: Int
    public var prompt: Prompt?
    public var showHelp = false
    /// Rows the help overlay is scrolled.
    public var helpScroll = 0
    /// A question waiting for y/N.
    public var confirm: Confirmation?
    /// The kill ring of every input (Ctrl-K, Ctrl-W, Alt-D... kill; Ctrl-Y, Alt-Y yank).
    public var killRing = KillRing()
    /// Ctrl-R / Ctrl-S in a pane's input.
    public var historySearch: HistorySearch?
    /// Ctrl-X was pressed in a pane (readline's prefix: Ctrl-X Ctrl-E edits in `$EDITOR`).
    public var ctrlXPending = false
    /// The history of each kind of prompt.
    public var promptHistory: [String: History] = [:]
    /// The chain (pane ids, outermost first) the last Ctrl-C interrupted, until its pane answers.
    var lastInterrupt: [Int] = []
    /// The whole of a big value, in a scrollable viewer (Alt-v).
    public var viewer: ValueViewer?
    /// Panes removed, newest last (until quit).
    public var removed: [RemovedPane] = []
    /// Saves sent and not yet answered, by path (to ask before writing over a file).
    var pendingSave: [String: Effect] = [:]
    /// The log pane over the whole screen.
    public var logZoomed = false
    /// Rows added to (or taken from) the log pane's height.
    public var logResize = 0
    /// Completion in a pane's input (the menu, or the interpreter's answer awaited).
    public var completion: CompletionState?
    /// Replays running, by pane.
    public var replays: [Int: ReplayRun] = [:]
    /// The wiring view (F2): the selected row.
    public var wiringView: Int?
    /// Calls through each wire so far, by target pane and name there.
    public var wireCalls: [WireKey: Int] = [:]
    public var quitting = false
    public var done = false
    /// A message on the status line until the next key.
    public var flash: String?
    /// The host groups whose input goes to every pane of the group (the `broadcast` key).
    public var broadcasting: Set<String> = []
    /// ssh questions waiting for the prompt (one is asked at a time).
    var sshQuestions: [(pane: Int, question: Int, prompt: String, secret: Bool)] = []
    public var wires: [Wire] = []
    public var knownLanguages: [String]
    var nextPaneID = 1
    var nextColor = 0

    public init(width: Int, height: Int, knownLanguages: [String], config: Config = Config()) {
        self.width = width
        self.height = height
        self.knownLanguages = knownLanguages
        self.config = config
        if let n = config.logFrames { log = RingBuffer(capacity: n) }
    }

    /// Key bindings, colours and limits (the configuration file).
    public var config = Config()
    public var palette: [TermColor] { config.theme.panes }

    public func index(of id: Int) -> Int? { panes.firstIndex { $0.id == id } }
    public func pane(named name: String) -> PaneState? { panes.first { $0.name == name } }

    public var focusedIndex: Int? {
        if case .pane(let id) = focus { return index(of: id) }
        return nil
    }

    public func color(of paneID: Int) -> TermColor {
        guard let i = index(of: paneID) else { return .default }
        return palette[panes[i].colorIndex % palette.count]
    }

    /// Adds panes for `specs`; returns the effects that start them.
    public mutating func addPanes(_ specs: [PaneSpec]) -> [Effect] {
        let names = Languages.paneNames(
            for: specs.map { ($0.name, Languages.canonical($0.language, known: knownLanguages)) },
            taken: panes.map(\.name))
        var effects: [Effect] = []
        for (spec, name) in zip(specs, names) {
            let language = Languages.canonical(spec.language, known: knownLanguages)
            let location = spec.command.flatMap(BondCommand.sshDestination) ?? "local"
            var pane = PaneState(
                id: nextPaneID, name: name, language: language, command: spec.command, location: location,
                colorIndex: nextColor)
            pane.startupEntries = (spec.startup.map { [StartupEntry(key: "kept:startup", code: $0)] } ?? [])
                + spec.entries.enumerated().map { k, code in
                    StartupEntries.parse(edited: code, language: language).first.map { StartupEntry(key: $0.key.hasPrefix("kept:") ? "kept:\(k)" : $0.key, code: $0.code) }
                        ?? StartupEntry(key: "kept:\(k)", code: code)
                }
            pane.group = spec.group
            if let n = config.transcriptLines { pane.transcript = Transcript(capacity: n) }
            for (k, v) in spec.refs { pane.refs[k] = v }
            nextPaneID += 1
            nextColor += 1
            panes.append(pane)
            effects.append(.loadHistory(pane: pane.id, name: name))
            effects.append(.start(pane: pane.id, generation: 0, name: name, language: language, command: spec.command))
            if case .log = focus, panes.count == 1 || focusedIndex == nil { focus = .pane(pane.id) }
        }
        return effects
    }
}

// MARK: - Geometry shared by update (scroll limits) and view

public struct PaneGeometry: Sendable, Equatable {
    public var title: Rect
    public var transcript: Rect
    public var info: Rect
    public var input: Rect
}

extension AppState {
    public var screenLayout: ScreenLayout {
        Layout.screen(width: width, height: height, paneCount: panes.count, logZoomed: logZoomed, logResize: logResize)
    }

    func infoText(_ pane: PaneState) -> String? {
        var parts: [String] = []
        if !pane.refs.isEmpty { parts.append("refs: " + pane.refs.keys.map { "@\($0)" }.joined(separator: " ")) }
        let out = wires.filter { $0.source == pane.id }.compactMap { w -> String? in
            guard let t = index(of: w.target) else { return nil }
            return "\(w.function)→\(panes[t].name).\(w.name)"
        }
        let incoming = wires.filter { $0.target == pane.id }.compactMap { w -> String? in
            guard let s = index(of: w.source) else { return nil }
            return "\(w.name)←\(panes[s].name).\(w.function)"
        }
        if !out.isEmpty || !incoming.isEmpty { parts.append("proxies: " + (out + incoming).joined(separator: " ")) }
        return parts.isEmpty ? nil : parts.joined(separator: "  ")
    }

    public func geometry(of index: Int) -> PaneGeometry {
        let layout = screenLayout
        guard index < layout.panes.count else {
            let z = Rect(x: 0, y: 0, width: 0, height: 0)
            return PaneGeometry(title: z, transcript: z, info: z, input: z)
        }
        let area = layout.panes[index]
        let pane = panes[index]
        let title = Rect(x: area.x, y: area.y, width: area.width, height: min(1, area.height))
        let body = max(0, area.height - 1)
        let inputWidth = max(1, area.width - 2)
        let inputRows = pane.input.text.split(separator: "\n", omittingEmptySubsequences: false)
            .reduce(0) { $0 + Wrap.rowCount(Sanitizer.line($1), width: inputWidth) }
        let maxInput = max(1, body / 3)
        let inputHeight = min(body, min(max(1, inputRows), maxInput))
        let infoHeight = infoText(pane) != nil && body - inputHeight >= 3 ? 1 : 0
        let transcriptHeight = max(0, body - inputHeight - infoHeight)
        let transcript = Rect(x: area.x, y: area.y + 1, width: area.width, height: transcriptHeight)
        let info = Rect(x: area.x, y: transcript.bottom, width: area.width, height: infoHeight)
        let input = Rect(x: area.x, y: info.bottom, width: area.width, height: inputHeight)
        return PaneGeometry(title: title, transcript: transcript, info: info, input: input)
    }

    public var logBody: Rect {
        let l = screenLayout.log
        return Rect(x: l.x, y: l.y + 1, width: l.width, height: l.height - 1)
    }
}
