import ArgumentParser
import Bond
import CNcurses
import Foundation
import Workbench

@main
struct BondWorkbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bond-workbench",
        abstract: "A terminal workbench for bonds: live interpreters side by side, with the raw protocol log.",
        discussion: """
            Each PANE is [NAME:]LANGUAGE[=COMMAND]:
              LANGUAGE  Python, JavaScript, Perl, PHP (any case; also py, js, node, pl)
              NAME      the pane's name (default: the language in lower case,
                        numbered when repeated: python, python2)
              COMMAND   a shell command line that starts the interpreter,
                        e.g. "ssh host php"
            With no PANE, one pane opens per language whose driver and interpreter
            are found on this machine.

            Examples:
              bond-workbench
              bond-workbench python js
              bond-workbench Python Perl 'far:PHP=ssh localhost php'
              bond-workbench a:py b:py=python3.12

            Keys (F1 shows them in the program; the configuration file can change them,
            "keys": {"preset": "classic"} gives back the keys of earlier versions):
              F1 help, Ctrl-Q (or F10) quit: always first on the status line
              Enter       run the input as the language's REPL does; a final value is shown
                          (Alt-e: evaluate one expression; Alt-v: the last value, whole)
              Alt-Enter   new line in the input
              F3          run the input as a block (statements)
              F4          call: the input is NAME ARG ..., each ARG a JSON value or @ref
              F7          make a ref from the input (asks its name); F8 inspects a ref
              F9          proxy a function of this pane's bond into another pane's bond
              Ctrl-C      interrupt the running request (the innermost interpreter of the
                          chain this pane waits on); when idle, clear the input
              Tab         complete a name known to the interpreter, or a history entry
              F6, Alt-Right / Shift-Tab, Alt-Left   next / previous pane (the log included)
              Alt-n       new pane; Alt-k close the bond (asks; again: remove the pane)
              F5          restart the bond (asks); F2 wiring view; Alt-x command prompt
              Alt-z       zoom the log pane; Alt-Up / Alt-Down make it taller / shorter
              The input edits as GNU readline (emacs mode): Ctrl-A/E/B/F/K/U/W/Y,
                          Alt-B/F/D/Backspace, Ctrl-Left/Right, Home/End, Ctrl-T,
                          Ctrl-_ undo, Ctrl-R/Ctrl-S history search, Ctrl-X Ctrl-E $EDITOR.
              Up/Down     input history of the pane (kept between runs)
              PgUp/PgDn   scroll the transcript or log; Ctrl-Home/Ctrl-End top/bottom
              In the log pane: Up/Down select a frame, Enter shows it in detail
                          (r: its exact bytes), / searches, n/N next/previous match,
                          f filters, c clears the filter, p pauses, End follows,
                          s saves what is shown.
              Mouse: a click focuses a pane (or selects a log row), the wheel scrolls.

            Commands (Alt-x): eval CODE, block CODE, call NAME ARG..., ref NAME CODE,
              inspect REF, proxy SRC.FUNC to PANE [as NAME], new SPEC, close [PANE],
              restart [PANE], undo, interrupt [PANE], session entries|edit [PANE], focus PANE|log, wires, unwire PANE.NAME,
              log save [--shown] FILE, log filter EXPR, log search TEXT, log pause,
              log follow, log show N, log zoom, session save FILE, transcript save [PANE] FILE,
              replay FILE [--report OUT], help, quit.

            Configuration: $XDG_CONFIG_HOME/bond-workbench/config.json (default
            ~/.config/bond-workbench/config.json), or --config FILE. NO_COLOR (any
            non-empty value) or --no-color: no colours.

            History is kept in $XDG_STATE_HOME/bond-workbench (default
            ~/.local/state/bond-workbench), one file per pane name; anything the program
            itself writes to standard error goes to stderr.log there.
            """,
        version: "bond-workbench 0.1.0"
    )

    @Argument(help: ArgumentHelp("Panes to open: [NAME:]LANGUAGE[=COMMAND].", valueName: "PANE"))
    var panes: [String] = []

    @Option(help: ArgumentHelp(
        "Seconds a start or a request may go without any word from the interpreter before the bond is closed (0: no limit).",
        valueName: "SECONDS"))
    var timeout: Double?

    @Option(help: ArgumentHelp(
        "The configuration file (default: $XDG_CONFIG_HOME/bond-workbench/config.json, or ~/.config/bond-workbench/config.json).",
        valueName: "FILE"))
    var config: String?

    @Flag(help: "No colours (as NO_COLOR=1 in the environment).")
    var noColor = false

    @Option(help: ArgumentHelp("Where history is kept (default: $XDG_STATE_HOME/bond-workbench).", valueName: "DIR"))
    var stateDir: String?

    @Flag(help: "Keep no history on disk.")
    var noHistory = false

    @Option(help: ArgumentHelp(
        "Start the panes of a session file (written by the `session save` command): their start-up blocks run and their wiring is re-created.",
        valueName: "FILE"))
    var session: String?

    @Option(help: ArgumentHelp(
        "A pane per host, all running the one LANGUAGE given through ssh: a host group (its input can be broadcast to every host).",
        valueName: "H1,H2,..."))
    var hosts: String?

    @Option(help: ArgumentHelp("The ssh command line for --hosts (default: $BOND_SSH, or ssh).", valueName: "COMMAND"))
    var ssh: String?

    func validate() throws {
        for pane in panes {
            do { _ = try PaneSpec.parse(pane) } catch { throw ValidationError(error.message) }
        }
        guard (timeout ?? 0) >= 0 else { throw ValidationError("--timeout must be 0 or more") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var settings = Config()
        let configPath = config ?? Config.defaultPath(environment: environment)
        if let data = FileManager.default.contents(atPath: configPath) {
            do { settings = try Config.parse(String(decoding: data, as: UTF8.self)) } catch {
                throw ValidationError("\(configPath): \(error.message)")
            }
        } else if config != nil {
            throw ValidationError("--config: cannot read \(configPath)")
        }
        if noColor || Config.noColor(environment: environment) { settings.monochrome = true }
        let known = Bond.languages
        var specs: [PaneSpec]
        var groups: [HostGroup] = []
        if let hosts {
            guard panes.count == 1, let language = try? PaneSpec.parse(panes[0]).language else {
                throw ValidationError("--hosts H1,H2,... takes one LANGUAGE (e.g. --hosts h1,h2,h3 Python)")
            }
            let canonical = Languages.canonical(language, known: known)
            guard let program = Bond.defaultCommand(language: canonical).flatMap({ Self.program(of: $0) }) else {
                throw ValidationError("--hosts: no driver for \(language)")
            }
            let ssh = self.ssh ?? environment["BOND_SSH"] ?? "ssh"
            do {
                let group = try HostGroup(
                    hosts: hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                    language: canonical, ssh: ssh, program: program)
                groups = [group]
                specs = group.specs
            } catch { throw ValidationError(error.message) }
        } else {
            specs = try (panes.isEmpty && session == nil ? settings.panes ?? [] : panes).map { try PaneSpec.parse($0) }
        }
        var loaded: Session?
        if let path = session {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--session: cannot read \(path)")
            }
            do { loaded = try Session.parse(data) } catch { throw ValidationError("--session \(path): \(error.message)") }
            specs = loaded!.specs + specs
            groups = loaded!.hostGroups + groups
        }
        if specs.isEmpty && loaded == nil {
            specs = known.filter { language in
                Bond.defaultCommand(language: language) != nil
            }.map { PaneSpec(language: $0) }
        }
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw ValidationError("bond-workbench needs a terminal")
        }
        let keepHistory = !noHistory && settings.history != false
        let directory: URL? = keepHistory ? Self.stateDirectory(stateDir ?? settings.stateDir) : nil
        let timeout = self.timeout ?? settings.timeout ?? 0
        let loop = EventLoop(
            specs: specs, wires: loaded?.wires ?? [], groups: groups, broadcasting: loaded?.broadcasting ?? [], config: settings, knownLanguages: known, timeout: timeout > 0 ? .milliseconds(Int64(timeout * 1000)) : nil,
            stateDirectory: directory)
        let status = loop.run()
        if status != 0 { throw ExitCode(status) }
    }

    /// The interpreter's program in a default command line (`python3` of `/bin/sh -c exec python3 -i`),
    /// run on each host as the group of the engine does (`BondGroup`).
    static func program(of argv: [String]) -> String? {
        let line = argv.count == 3 && argv[0] == "/bin/sh" ? argv[2] : argv.joined(separator: " ")
        let words = line.split(separator: " ").map(String.init).filter { $0 != "exec" }
        return words.first
    }

    static func stateDirectory(_ given: String?) -> URL {
        let env = ProcessInfo.processInfo.environment
        if var given {
            if given == "~" || given.hasPrefix("~/") { given = (env["HOME"] ?? NSHomeDirectory()) + given.dropFirst() }
            return URL(fileURLWithPath: given)
        }
        if let xdg = env["XDG_STATE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("bond-workbench")
        }
        let home = env["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/state/bond-workbench")
    }
}
