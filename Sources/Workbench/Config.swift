import Bond
import Foundation

/// What a key does: the workbench's own actions, each bound to keys in the configuration file.
/// Editing the input is not an action: it follows GNU readline's emacs mode (see `LineEditing`).
public enum Action: String, Sendable, CaseIterable, Codable {
    case eval, newline, block, call, ref, inspect, proxy, interrupt, complete
    case nextPane, previousPane, new, close, restart, command, help, wiring, quit
    case zoomLog, growLog, shrinkLog, openValue
    /// Evaluate the input as one expression (python-bond's `eval`), where Enter runs it as typed.
    case expression
    /// Send what is typed in a pane of a host group (`--hosts`) to every pane of the group.
    case broadcast
    /// The group view: each host's answer to the group's last broadcast input, side by side.
    case groupView
}

/// Key bindings: each action's keys (the first is the one the status line shows). Two
/// presets: `standard` (the default: function keys and Alt- keys that readline and tmux leave
/// free) and `classic` (the bindings of earlier versions, Ctrl- keys that readline uses).
public struct KeyBindings: Sendable, Equatable {
    public enum Preset: String, Sendable, CaseIterable {
        case standard, classic
    }

    /// The default keys. Why each: docs/workbench.md, "Keys".
    public static let defaults: [Action: [Key]] = [
        .eval: [.enter], .newline: [.altEnter], .block: [.function(3)], .call: [.function(4)], .ref: [.function(7)],
        .inspect: [.function(8)], .proxy: [.function(9)], .interrupt: [.ctrl("c")], .complete: [.tab, .ctrl(" ")],
        .nextPane: [.function(6), .altRight], .previousPane: [.backTab, .altLeft], .new: [.alt("n")],
        .close: [.alt("k")], .restart: [.function(5)], .command: [.alt("x")], .help: [.function(1)],
        .wiring: [.function(2)], .quit: [.ctrl("q"), .function(10)], .zoomLog: [.alt("z")], .growLog: [.altUp],
        .shrinkLog: [.altDown], .openValue: [.alt("v")], .expression: [.alt("e")],
        .broadcast: [.alt("g")], .groupView: [.alt("h")],
    ]

    /// The bindings of earlier versions (`"keys": {"preset": "classic"}`).
    public static let classic: [Action: [Key]] = defaults.merging([
        .block: [.ctrl("b")], .call: [.ctrl("k")], .ref: [.ctrl("r")], .inspect: [.ctrl("t")], .proxy: [.ctrl("p")],
        .complete: [.ctrl(" ")], .nextPane: [.tab], .previousPane: [.backTab], .new: [.ctrl("n")], .close: [.ctrl("w")],
        .command: [.ctrl("x")], .quit: [.ctrl("q")],
    ]) { $1 }

    public static func preset(_ p: Preset) -> [Action: [Key]] { p == .classic ? classic : defaults }

    public private(set) var keys: [Action: [Key]] = defaults
    /// Pressed key -> its action.
    private var actions: [Key: Action] = [:]

    public init() { index() }

    /// The preset's keys, with `custom` given to some actions instead.
    public init(preset: Preset = .standard, _ custom: [Action: [Key]] = [:]) {
        keys = Self.preset(preset)
        for (action, k) in custom { keys[action] = k }
        index()
    }

    private mutating func index() {
        actions = [:]
        for action in Action.allCases { for k in keys[action] ?? [] { actions[k] = action } }
    }

    /// The action a key is bound to, if any.
    public func action(for key: Key) -> Action? { actions[key] }

    /// Two actions on one key, if any.
    public static func conflict(_ keys: [Action: [Key]]) -> (Key, Action, Action)? {
        var seen: [Key: Action] = [:]
        for action in Action.allCases {
            for k in keys[action] ?? [] {
                if let other = seen[k], other != action { return (k, other, action) }
                seen[k] = action
            }
        }
        return nil
    }

    /// The key of an action as the status line shows it (`^B`, `F5`, `M-Enter`).
    public func short(_ action: Action) -> String { keys[action]?.first.map { Self.name($0, short: true) } ?? "-" }
    /// As the help and the guide write it (`Ctrl-B`, every key of the action: `Tab, Ctrl-Space`).
    public func long(_ action: Action) -> String {
        let k = keys[action] ?? []
        return k.isEmpty ? "(unbound)" : k.map { Self.name($0, short: false) }.joined(separator: ", ")
    }

    public static func name(_ key: Key, short: Bool) -> String {
        switch key {
        case .ctrl(" "): return short ? "^Space" : "Ctrl-Space"
        case .ctrl(let c): return short ? "^\(c.uppercased())" : "Ctrl-\(c.uppercased())"
        case .alt(let c): return short ? "M-\(c)" : "Alt-\(c)"
        case .altEnter: return short ? "M-Enter" : "Alt-Enter"
        case .function(let n): return "F\(n)"
        case .enter: return "Enter"
        case .tab: return "Tab"
        case .backTab: return short ? "S-Tab" : "Shift-Tab"
        case .escape: return "Esc"
        case .altLeft: return short ? "M-Left" : "Alt-Left"
        case .altRight: return short ? "M-Right" : "Alt-Right"
        case .altUp: return short ? "M-Up" : "Alt-Up"
        case .altDown: return short ? "M-Down" : "Alt-Down"
        case .ctrlLeft: return short ? "C-Left" : "Ctrl-Left"
        case .ctrlRight: return short ? "C-Right" : "Ctrl-Right"
        case .ctrlUp: return short ? "C-Up" : "Ctrl-Up"
        case .ctrlDown: return short ? "C-Down" : "Ctrl-Down"
        case .ctrlHome: return short ? "C-Home" : "Ctrl-Home"
        case .ctrlEnd: return short ? "C-End" : "Ctrl-End"
        case .alt(" "): return short ? "M-Space" : "Alt-Space"
        case .char(let c): return String(c)
        default: return key.description
        }
    }

    /// Reads a key name: `Ctrl-X` (or `C-x`, `^X`), `Alt-X` (`M-x`), `F1`..`F12`, `Enter`,
    /// `Alt-Enter`, `Tab`, `Shift-Tab`, `Ctrl-Space`, `Esc`, or one character.
    public static func parse(_ text: String) -> Key? {
        let t = text.trimmingSpaces
        let lower = t.lowercased()
        switch lower {
        case "enter", "return": return .enter
        case "alt-enter", "m-enter", "meta-enter": return .altEnter
        case "tab": return .tab
        case "shift-tab", "s-tab", "backtab": return .backTab
        case "esc", "escape": return .escape
        case "ctrl-space", "c-space", "^space", "ctrl-@", "c-@": return .ctrl(" ")
        case "alt-left", "m-left", "meta-left": return .altLeft
        case "alt-right", "m-right", "meta-right": return .altRight
        case "alt-up", "m-up", "meta-up": return .altUp
        case "alt-down", "m-down", "meta-down": return .altDown
        case "ctrl-left", "c-left": return .ctrlLeft
        case "ctrl-right", "c-right": return .ctrlRight
        case "ctrl-up", "c-up": return .ctrlUp
        case "ctrl-down", "c-down": return .ctrlDown
        default: break
        }
        if lower.count >= 2, lower.hasPrefix("f"), let n = Int(lower.dropFirst()), (1...24).contains(n) { return .function(n) }
        for prefix in ["ctrl-", "control-", "c-", "^"] where lower.hasPrefix(prefix) {
            let rest = lower.dropFirst(prefix.count)
            guard rest.count == 1, let c = rest.first, c.isASCII, c.isLetter else { return nil }
            return .ctrl(c)
        }
        for prefix in ["alt-", "meta-", "m-"] where lower.hasPrefix(prefix) {
            let rest = t.dropFirst(prefix.count)
            guard rest.count == 1, let c = rest.first else { return nil }
            return .alt(c)
        }
        if t.count == 1, let c = t.first { return .char(c) }
        return nil
    }
}

/// Colours of the screen.
public struct Theme: Sendable, Equatable {
    /// Pane colours, given in turn to new panes.
    public var panes: [TermColor] = [.cyan, .green, .yellow, .magenta, .blue, .red]
    public var stderr: TermColor = .yellow
    public var value: TermColor = .green
    public var error: TermColor = .red
    public var nested: TermColor = .magenta
    /// Reply timings in the log.
    public var timing: TermColor = .cyan
    public init() {}

    public static func color(_ name: String) -> TermColor? {
        switch name.lowercased() {
        case "default", "none": .default
        case "black": .black
        case "red": .red
        case "green": .green
        case "yellow": .yellow
        case "blue": .blue
        case "magenta": .magenta
        case "cyan": .cyan
        case "white": .white
        default: nil
        }
    }
}

/// The configuration file: `$XDG_CONFIG_HOME/bond-workbench/config.json`
/// (default `~/.config/bond-workbench/config.json`). Every member is optional.
public struct Config: Sendable, Equatable {
    public var bindings = KeyBindings()
    public var theme = Theme()
    public var monochrome = false
    public var mouse = true
    public var timeout: Double?
    public var history: Bool?
    public var stateDir: String?
    public var panes: [String]?
    public var logFrames: Int?
    public var transcriptLines: Int?
    /// Lines of a value shown before "… N more" (nil: a third of the pane).
    public var previewLines: Int?

    public init() {}

    public static let members = ["keys", "colors", "monochrome", "mouse", "timeout", "history", "stateDir", "panes",
                                 "logFrames", "transcriptLines", "previewLines"]

    public static func parse(_ text: String) throws(ParseError) -> Config {
        let value: BondValue
        do { value = try JSONText.parse(text) } catch { throw ParseError("not JSON: \(error.message)") }
        guard case .object(let top) = value else { throw ParseError("the configuration is a JSON object") }
        var config = Config()
        for (key, v) in top {
            switch key {
            case "keys":
                guard case .object(let keys) = v else { throw ParseError("keys: an object of action: key") }
                var custom: [Action: [Key]] = [:]
                var preset = KeyBindings.Preset.standard
                for (name, keyValue) in keys {
                    if name == "preset" {
                        guard let s = keyValue.stringValue, let p = KeyBindings.Preset(rawValue: s) else {
                            throw ParseError("keys.preset: \(keyValue) is not a preset (\(KeyBindings.Preset.allCases.map(\.rawValue).joined(separator: ", ")))")
                        }
                        preset = p
                        continue
                    }
                    guard let action = Action(rawValue: name) else {
                        throw ParseError("keys: unknown action \"\(name)\" (known: preset, \(Action.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    let names: [BondValue] = keyValue.arrayValue ?? [keyValue]
                    custom[action] = try names.map { item throws(ParseError) in
                        guard let s = item.stringValue, let k = KeyBindings.parse(s) else {
                            throw ParseError("keys.\(name): \(item) is not a key name")
                        }
                        return k
                    }
                }
                var all = KeyBindings.preset(preset)
                for (action, k) in custom { all[action] = k }
                if let (k, a, b) = KeyBindings.conflict(all) {
                    throw ParseError("keys: \(KeyBindings.name(k, short: false)) is bound to both \(a.rawValue) and \(b.rawValue)")
                }
                config.bindings = KeyBindings(preset: preset, custom)
            case "colors", "colours":
                guard case .object(let colors) = v else { throw ParseError("colors: an object") }
                for (name, c) in colors {
                    if name == "panes" {
                        guard let list = c.arrayValue, !list.isEmpty else { throw ParseError("colors.panes: a list of colour names") }
                        config.theme.panes = try list.map { item throws(ParseError) in
                            guard let s = item.stringValue, let color = Theme.color(s) else { throw ParseError("colors.panes: \(item) is not a colour") }
                            return color
                        }
                        continue
                    }
                    guard let s = c.stringValue, let color = Theme.color(s) else {
                        throw ParseError("colors.\(name): \(c) is not a colour (black red green yellow blue magenta cyan white default)")
                    }
                    switch name {
                    case "stderr": config.theme.stderr = color
                    case "value": config.theme.value = color
                    case "error": config.theme.error = color
                    case "nested": config.theme.nested = color
                    case "timing": config.theme.timing = color
                    default: throw ParseError("colors: unknown \"\(name)\" (panes stderr value error nested timing)")
                    }
                }
            case "monochrome": config.monochrome = try bool(v, key)
            case "mouse": config.mouse = try bool(v, key)
            case "history": config.history = try bool(v, key)
            case "timeout":
                guard let d = v.doubleValue, d >= 0 else { throw ParseError("timeout: seconds, 0 or more") }
                config.timeout = d
            case "stateDir":
                guard let s = v.stringValue else { throw ParseError("stateDir: a path") }
                config.stateDir = s
            case "panes":
                guard let list = v.arrayValue else { throw ParseError("panes: a list of [NAME:]LANGUAGE[=COMMAND]") }
                config.panes = try list.map { item throws(ParseError) in
                    guard let s = item.stringValue else { throw ParseError("panes: \(item) is not a string") }
                    _ = try PaneSpec.parse(s)
                    return s
                }
            case "logFrames":
                guard let n = v.intValue, n >= 100 else { throw ParseError("logFrames: a number, 100 or more") }
                config.logFrames = n
            case "previewLines":
                guard let n = v.intValue, n >= 1 else { throw ParseError("previewLines: a number, 1 or more") }
                config.previewLines = n
            case "transcriptLines":
                guard let n = v.intValue, n >= 100 else { throw ParseError("transcriptLines: a number, 100 or more") }
                config.transcriptLines = n
            default:
                throw ParseError("unknown option \"\(key)\" (known: \(members.joined(separator: ", ")))")
            }
        }
        return config
    }

    static func bool(_ v: BondValue, _ key: String) throws(ParseError) -> Bool {
        guard let b = v.boolValue else { throw ParseError("\(key): true or false") }
        return b
    }

    /// Where the configuration file is looked for.
    public static func defaultPath(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/bond-workbench/config.json" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.config/bond-workbench/config.json"
    }

    /// `NO_COLOR` set to anything but the empty string asks for no colour (https://no-color.org).
    public static func noColor(environment: [String: String]) -> Bool {
        if let v = environment["NO_COLOR"], !v.isEmpty { return true }
        return false
    }
}
