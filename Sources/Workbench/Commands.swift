/// The commands of the command prompt: ONE table drives their dispatch, the help overlay,
/// completion at the prompt and the guide's table (a test checks docs/workbench.md against it).
public struct Command: Sendable {
    /// What a word of the arguments is, for completion.
    public enum Argument: Sendable, Equatable {
        case pane, paneOrLog, ref, sourceFunction, file, code
        case words([String])
    }

    public let name: String
    public let aliases: [String]
    public let usage: String
    public let summary: String
    /// The arguments' words in order (the last one repeats).
    public let arguments: [Argument]
    let run: @Sendable (inout AppState, String) -> [Effect]

    public static let all: [Command] = [
        Command(name: "eval", aliases: [], usage: "eval CODE", summary: "evaluate an expression", arguments: [.code]) {
            $0.submitCommand(.eval, $1, verb: "eval")
        },
        Command(name: "block", aliases: [], usage: "block CODE", summary: "run statements", arguments: [.code]) {
            $0.submitCommand(.block, $1, verb: "block")
        },
        Command(name: "call", aliases: [], usage: "call NAME ARG ...", summary: "call a function; ARG is JSON or @ref",
                arguments: [.code]) { $0.submitCommand(.call, $1, verb: "call") },
        Command(name: "ref", aliases: [], usage: "ref NAME [CODE]",
                summary: "make a ref (ref NAME = CODE works too); without CODE, name the last handle",
                arguments: [.code]) { $0.refCommand($1) },
        Command(name: "unref", aliases: [], usage: "unref REF", summary: "drop a ref; a handle ref releases its object",
                arguments: [.ref]) { state, rest in
            guard let i = state.commandPane("unref") else { return [] }
            guard !rest.isEmpty else { state.flash = "usage: unref REF"; return [] }
            return state.unref(i, rest)
        },
        Command(name: "inspect", aliases: [], usage: "inspect REF", summary: "inspect a ref (or any expression)",
                arguments: [.ref]) { state, rest in
            guard let i = state.commandPane("inspect") else { return [] }
            guard !rest.isEmpty else { state.flash = "usage: inspect REF"; return [] }
            return state.inspect(i, rest)
        },
        Command(name: "proxy", aliases: [], usage: "proxy SRC.FUNC to PANE [as NAME]",
                summary: "make FUNC of pane SRC callable in PANE as NAME (checked in SRC first)",
                arguments: [.sourceFunction, .words(["to"]), .pane, .words(["as"]), .code]) { $0.proxyCommand($1) },
        Command(name: "new", aliases: [], usage: "new [NAME:]LANGUAGE[=COMMAND]", summary: "open a pane",
                arguments: [.code]) { state, rest in
            guard !rest.isEmpty else { state.flash = "usage: new [NAME:]LANGUAGE[=COMMAND]"; return [] }
            return state.newPane(rest)
        },
        Command(name: "close", aliases: [], usage: "close [PANE]", summary: "close a bond (asks first); again to remove the pane",
                arguments: [.pane]) { state, rest in
            guard let i = state.paneArgument("close", rest) else { return [] }
            return state.closeOrRemove(i)
        },
        Command(name: "restart", aliases: [], usage: "restart [PANE]", summary: "restart a bond (asks first when it is live)",
                arguments: [.pane]) { state, rest in
            guard let i = state.paneArgument("restart", rest) else { return [] }
            return state.restart(i)
        },
        Command(name: "undo", aliases: [], usage: "undo", summary: "bring back the pane removed last, with its wires",
                arguments: []) { state, _ in state.undoRemove() },
        Command(name: "interrupt", aliases: [], usage: "interrupt [PANE]", summary: "interrupt the running request",
                arguments: [.pane]) { state, rest in
            guard let i = state.paneArgument("interrupt", rest) else { return [] }
            return state.interruptChain(i)
        },
        Command(name: "focus", aliases: [], usage: "focus PANE|log", summary: "move the focus", arguments: [.paneOrLog]) { state, rest in
            if rest == "log" { state.focus = .log; return [] }
            guard let p = state.pane(named: rest) else { state.flash = "focus: no pane named \"\(rest)\""; return [] }
            state.arrangement.move(focus: .pane(p.id))
            return []
        },
        Command(name: "log", aliases: [], usage: "log save [--shown] FILE | filter [EXPR] | search TEXT | pause | follow | show N | zoom",
                summary: "the traffic log: save (JSON lines), filter, search, pause, follow, a frame's detail, zoom",
                arguments: [.words(["save", "filter", "search", "pause", "follow", "show", "zoom"]), .file]) { $0.logCommand($1) },
        Command(name: "wires", aliases: ["wiring"], usage: "wires", summary: "the wiring view", arguments: []) { state, _ in
            state.wiringView = WiringView()
            return []
        },
        Command(name: "unwire", aliases: [], usage: "unwire PANE.NAME", summary: "remove the wire that made NAME callable in PANE (or unwire N)",
                arguments: [.code]) { $0.unwireCommand($1) },
        Command(name: "group", aliases: [], usage: "group [broadcast]",
                summary: "the group view: each host's answer to the last broadcast input; group broadcast: on/off",
                arguments: [.words(["broadcast"])]) { $0.groupCommand($1) },
        Command(name: "session", aliases: [], usage: "session save FILE | entries [PANE] | edit [PANE]",
                summary: "write the session (panes, start-up entries, refs, wires); list or edit a pane's start-up entries",
                arguments: [.words(["save", "entries", "edit"]), .pane]) { $0.sessionCommand($1) },
        Command(name: "transcript", aliases: [], usage: "transcript save [PANE] FILE", summary: "write a pane's requests and results (JSON lines)",
                arguments: [.words(["save"]), .pane, .file]) { state, rest in
            guard rest.hasPrefix("save ") else { state.flash = "usage: transcript save [PANE] FILE"; return [] }
            return state.saveTranscript(String(rest.dropFirst(5)).trimmingSpaces)
        },
        Command(name: "replay", aliases: [], usage: "replay FILE [--report OUT]", summary: "replay a transcript or log against fresh bonds",
                arguments: [.file, .words(["--report"]), .file]) { $0.replayCommand($1) },
        Command(name: "help", aliases: [], usage: "help", summary: "the help overlay", arguments: []) { state, _ in
            state.help = HelpOverlay(lines: state.helpLines())
            return []
        },
        Command(name: "quit", aliases: ["exit"], usage: "quit", summary: "close every bond and leave (asks first when one is busy)",
                arguments: []) { state, _ in state.quit() },
    ]

    public static func named(_ name: String) -> Command? { all.first { $0.name == name || $0.aliases.contains(name) } }
}

extension AppState {
    /// Runs a typed command (the command prompt).
    public mutating func runCommand(_ line: String) -> [Effect] {
        let text = line.trimmingSpaces
        guard !text.isEmpty else { return [] }
        let verb = String(text.prefix { !$0.isWhitespace })
        let rest = String(text.dropFirst(verb.count)).trimmingSpaces
        guard let command = Command.named(verb) else {
            let near = Command.all.map(\.name).filter { $0.hasPrefix(String(verb.prefix(2))) }
            flash = "unknown command \"\(verb)\"" + (near.isEmpty ? " (F1 lists them)" : " (did you mean \(near.joined(separator: ", "))?)")
            return []
        }
        let effects = command.run(&self, rest)
        rememberSaves(effects)
        return effects
    }

    /// The focused pane, or a message saying a pane must be focused.
    mutating func commandPane(_ verb: String) -> Int? {
        if focusedIndex == nil { flash = "\(verb): focus a pane first" }
        return focusedIndex
    }

    mutating func paneArgument(_ verb: String, _ rest: String) -> Int? {
        if rest.isEmpty { return commandPane(verb) }
        guard let p = pane(named: rest), let i = index(of: p.id) else {
            flash = "\(verb): no pane named \"\(rest)\""
            return nil
        }
        return i
    }

    mutating func submitCommand(_ kind: SubmitKind, _ rest: String, verb: String) -> [Effect] {
        guard let i = commandPane(verb) else { return [] }
        guard !rest.isEmpty else { flash = "\(verb): nothing to run"; return [] }
        panes[i].history.add(rest)
        return [.saveHistory(name: panes[i].name, entries: panes[i].history.entries)] + perform(i, kind: kind, text: rest)
    }

    mutating func refCommand(_ rest: String) -> [Effect] {
        guard let i = commandPane("ref") else { return [] }
        let name = String(rest.prefix { !$0.isWhitespace })
        var code = String(rest.dropFirst(name.count)).trimmingSpaces
        if code.hasPrefix("=") { code = String(code.dropFirst()).trimmingSpaces }
        guard !name.isEmpty else { flash = "usage: ref NAME [CODE]"; return [] }
        return makeRef(i, name: name, code: code)
    }

    /// `proxy SRC.FUNC to PANE [as NAME]`
    mutating func proxyCommand(_ rest: String) -> [Effect] {
        let words = rest.split(separator: " ").map(String.init)
        guard words.count == 3 || words.count == 5, words[1] == "to", words.count == 3 || words[3] == "as",
            let dot = words[0].firstIndex(of: ".")
        else {
            flash = "usage: proxy SRC.FUNC to PANE [as NAME]"
            return []
        }
        let sourceName = String(words[0][..<dot])
        let function = String(words[0][words[0].index(after: dot)...])
        guard let source = pane(named: sourceName), let s = index(of: source.id) else {
            flash = "proxy: no pane named \"\(sourceName)\""
            return []
        }
        guard let t = pane(named: words[2]) else {
            flash = "proxy: no pane named \"\(words[2])\""
            return []
        }
        let name = words.count == 5 ? words[4] : String(function.split(separator: ".").last ?? Substring(function))
        return proxy(s, function: function, target: t.id, name: name)
    }

    mutating func sessionCommand(_ rest: String) -> [Effect] {
        let words = rest.split(separator: " ", maxSplits: 1).map(String.init)
        let argument = words.count > 1 ? words[1].trimmingSpaces : ""
        switch words.first ?? "" {
        case "save":
            guard !argument.isEmpty else { flash = "usage: session save FILE"; return [] }
            return [.saveLog(path: argument, lines: [session.text])]
        case "entries":
            guard let i = paneArgument("session entries", argument) else { return [] }
            let list = panes[i].startupEntries
            append(i, .info, list.isEmpty ? "start-up: no entries" : "start-up: \(list.count) entries (session edit changes them)")
            for (n, e) in list.enumerated() { append(i, .stdout, "\(n + 1). " + e.code) }
            return []
        case "edit":
            guard let i = paneArgument("session edit", argument) else { return [] }
            return [.editExternally(pane: panes[i].id, text: StartupEntries.editable(panes[i].startupEntries, pane: panes[i].name), startup: true)]
        default:
            flash = "usage: " + (Command.named("session")?.usage ?? "session")
            return []
        }
    }

    mutating func logCommand(_ rest: String) -> [Effect] {
        let words = rest.split(separator: " ", maxSplits: 1).map(String.init)
        let argument = words.count > 1 ? words[1].trimmingSpaces : ""
        switch words.first ?? "" {
        case "save":
            if argument.hasPrefix("--shown ") { return saveLog(String(argument.dropFirst(8)).trimmingSpaces, shown: true) }
            return saveLog(argument)
        case "filter":
            setLogFilterChecked(argument)
            return []
        case "search":
            log.search = argument
            if let s = log.find(argument, from: log.selected, older: true, inclusive: true) {
                log.select(seq: s, bodyHeight: logBody.height)
            } else if !argument.isEmpty {
                flash = "not found: \(argument)"
            }
            return []
        case "pause":
            log.pause()
            return []
        case "follow":
            log.follow()
            return []
        case "show":
            guard let n = Int(argument.drop { $0 == "#" }), log.entry(n) != nil else { flash = "log show: no frame #\(argument)"; return [] }
            log.show(n)
            return []
        case "zoom":
            arrangement.toggleLogZoom()
            return []
        default:
            flash = "usage: " + (Command.named("log")?.usage ?? "log")
            return []
        }
    }

    /// Completions of the last word of a command line: the command names, then what each
    /// argument is (pane names, refs, `SRC.` and the functions the source is known to have).
    public func commandCompletions(_ line: String) -> [String] {
        let endsWithSpace = line.last?.isWhitespace ?? false
        var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        let current = endsWithSpace || words.isEmpty ? "" : words.removeLast()
        let head = words.isEmpty ? "" : line[..<line.index(line.endIndex, offsetBy: -current.count)]
        func full(_ options: [String]) -> [String] {
            options.filter { $0.hasPrefix(current) && $0 != current || (options.count == 1 && $0 == current) }.map { head + $0 }
        }
        guard let verb = words.first else { return full(Command.all.map(\.name)) }
        guard let command = Command.named(verb), !command.arguments.isEmpty else { return [] }
        let position = min(words.count - 1, command.arguments.count - 1)
        let refs = focusedIndex.map { i in usableRefNames(i).map { "@" + $0 } } ?? []
        switch command.arguments[position] {
        case .pane: return full(panes.map(\.name))
        case .paneOrLog: return full(panes.map(\.name) + ["log"])
        case .ref: return full(refs)
        case .words(let w): return full(w)
        case .file, .code: return []
        case .sourceFunction:
            guard let dot = current.firstIndex(of: ".") else { return full(panes.map { $0.name + "." }) }
            let source = String(current[..<dot])
            guard let p = pane(named: source) else { return [] }
            return full(p.knownNames.map { source + "." + $0 })
        }
    }
}
