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
    /// The engine's `BondTraffic.nest`: the requests and served `CALL`s of every bond open on the
    /// thread when the bond's current conversation level began.
    public var nest: Int
    /// The size of the whole line in bytes (`line` may be cut).
    public var bytes: Int
    public init(sent: Bool, time: Date, line: String, depth: Int, nest: Int = 0, bytes: Int? = nil) {
        self.sent = sent
        self.time = time
        self.line = line
        self.depth = depth
        self.nest = nest
        self.bytes = bytes ?? line.utf8.count
    }
}

public enum Focus: Sendable, Equatable {
    case pane(Int)  // pane id
    case log
}

/// A pane removed from the screen, kept with its wires until quit (`undo` brings it back).
public struct RemovedPane: Sendable {
    public var pane: PaneModel
    public var position: Int
    public var wires: [Wire]
}

/// The undo buffer: panes removed, newest last, each with its wires, kept until quit.
public struct RemovedPanes: Sendable {
    public private(set) var panes: [RemovedPane] = []

    public var last: RemovedPane? { panes.last }

    mutating func keep(_ removed: RemovedPane) { panes.append(removed) }

    /// The pane removed last, out of the buffer.
    mutating func takeLast() -> RemovedPane? { panes.popLast() }

    /// A pane brought back gives the wires it shares with a pane still removed to that pane, so
    /// they come back with it.
    mutating func handOver(_ wires: [Wire]) {
        for k in panes.indices {
            let id = panes[k].pane.id
            panes[k].wires += wires.filter { w in (w.source == id || w.target == id) && !panes[k].wires.contains(w) }
        }
    }
}

/// Ids and colours of new panes: each pane its own id, colours in turn.
struct PaneNumbering: Sendable {
    private var nextID = 1
    private var nextColor = 0

    mutating func next() -> (id: Int, color: Int) {
        defer { nextID += 1; nextColor += 1 }
        return (nextID, nextColor)
    }
}

/// How far quitting has gone.
public enum Ending: Sendable, Equatable {
    case running
    /// Every bond is being closed (the quit key again leaves at once).
    case closingBonds
    /// Every bond has closed.
    case over
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
    /// A request of a live object (a handle ref): a method call, its members, its description.
    case object(ObjectRequest)
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
    /// A result JSON cannot carry, kept in the interpreter ([ext] `OBJECTS`): the pane can name it.
    case handle(HandleRef)
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
    public var panes: [PaneModel] = []
    /// The log pane: every frame, its selection, filter, search and detail view.
    public var log = LogModel()
    /// The screen's size, the focus, the log's zoom and extra rows.
    public var arrangement: Arrangement
    public var width: Int {
        get { arrangement.width }
        set { arrangement.width = newValue }
    }
    public var height: Int {
        get { arrangement.height }
        set { arrangement.height = newValue }
    }
    public var focus: Focus {
        get { arrangement.focus }
        set { arrangement.focus = newValue }
    }
    /// The overlay or prompt in front, taking the keys (Front.swift), if any.
    public var front: Front?
    /// The kill ring of every input (Ctrl-K, Ctrl-W, Alt-D... kill; Ctrl-Y, Alt-Y yank).
    public var killRing = KillRing()
    /// Ctrl-X was pressed in a pane (readline's prefix: Ctrl-X Ctrl-E edits in `$EDITOR`).
    public var ctrlXPending = false
    /// The history of each kind of prompt.
    public var promptHistory: [String: History] = [:]
    /// The chain (pane ids, outermost first) the last Ctrl-C interrupted, until its pane answers.
    var lastInterrupt: [Int] = []
    /// Panes removed, with their wires, until quit (`undo` brings the last back).
    public var removed = RemovedPanes()
    /// Saves sent and not yet answered, by path (to ask before writing over a file).
    var pendingSave: [String: Effect] = [:]
    /// Replays running, by pane.
    public var replays: [Int: ReplayRun] = [:]
    /// Calls through each wire so far, by target pane and name there.
    public var wireCalls: [WireKey: Int] = [:]
    /// Whether the workbench is quitting, and whether every bond has closed.
    public var ending = Ending.running
    /// The quit key was pressed (and said yes to): every bond is closing or closed.
    public var quitting: Bool {
        get { ending != .running }
        set { if newValue != quitting { ending = newValue ? .closingBonds : .running } }
    }
    /// Every bond has closed after a quit.
    public var done: Bool { ending == .over }
    /// A message on the status line until the next key.
    public var flash: String?
    /// The host groups' records, their last broadcast rounds and the group view (HostGroup.swift).
    public var hostGroups = HostGroups()
    /// Questions that came while the user typed in front (ssh's, write over a file?), asked in
    /// turn when the front is free.
    var waitingQuestions: [WaitingQuestion] = []
    public var wires: [Wire] = []
    public var knownLanguages: [String]
    /// The id and colour of the next pane.
    var numbering = PaneNumbering()

    public init(width: Int, height: Int, knownLanguages: [String], config: Config = Config()) {
        arrangement = Arrangement(width: width, height: height)
        self.knownLanguages = knownLanguages
        self.config = config
        if let n = config.logFrames { log = LogModel(capacity: n) }
    }

    /// Key bindings, colours and limits (the configuration file).
    public var config = Config()
    public var palette: [TermColor] { config.theme.panes }

    public func index(of id: Int) -> Int? { panes.firstIndex { $0.id == id } }
    public func pane(named name: String) -> PaneModel? { panes.first { $0.name == name } }

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
            let (id, color) = numbering.next()
            var pane = PaneModel(
                id: id, name: name, language: language, command: spec.command, location: location,
                colorIndex: color)
            pane.startupEntries = (spec.startup.map { [StartupEntry(key: "kept:startup", code: $0)] } ?? [])
                + spec.entries.enumerated().map { k, code in
                    StartupEntries.parse(edited: code, language: language).first.map { StartupEntry(key: $0.key.hasPrefix("kept:") ? "kept:\(k)" : $0.key, code: $0.code) }
                        ?? StartupEntry(key: "kept:\(k)", code: code)
                }
            pane.group = spec.group
            if let n = config.transcriptLines { pane.transcript = Transcript(capacity: n) }
            for (k, v) in spec.refs { pane.refs[k] = v }
            panes.append(pane)
            effects.append(.loadHistory(pane: pane.id, name: name))
            effects.append(.start(pane: pane.id, generation: 0, name: name, language: language, command: spec.command))
            if case .log = focus, panes.count == 1 || focusedIndex == nil { focus = .pane(pane.id) }
        }
        return effects
    }

}

extension AppState {
    public var screenLayout: ScreenLayout {
        arrangement.layout(paneCount: panes.count)
    }

    func infoText(_ pane: PaneModel) -> String? {
        var parts: [String] = []
        let handles = pane.handleRefs.map { "@\($0.key) (\($0.value.summary()))" }
        let elsewhere = panes.filter { $0.id != pane.id }.flatMap { other in
            other.handleRefs.keys.filter { pane.refs[$0] == nil && pane.handleRefs[$0] == nil }.map { "@\($0)←\(other.name)" }
        }
        let refs = pane.refs.keys.map { "@\($0)" } + handles + elsewhere
        if !refs.isEmpty { parts.append("refs: " + refs.joined(separator: " ")) }
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
        guard index < layout.panes.count else { return PaneGeometry(in: Rect(x: 0, y: 0, width: 0, height: 0)) }
        return panes[index].geometry(in: layout.panes[index], hasInfo: infoText(panes[index]) != nil)
    }

    public var logBody: Rect {
        let l = screenLayout.log
        return Rect(x: l.x, y: l.y + 1, width: l.width, height: l.height - 1)
    }
}
