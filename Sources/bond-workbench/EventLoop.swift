import Bond
import CNcurses
import Foundation
import Workbench

/// The one loop that owns curses and the state (bubbletea's program): it waits in poll(2) on
/// the terminal, the message pipe and the signal pipe, applies messages to the state, runs the
/// effects, and draws at most one frame per wake-up (and per 1/60 s under a flood).
final class EventLoop {
    private let specs: [PaneSpec]
    private let wires: [Session.Wire]
    private let groups: [HostGroup]
    private let broadcasting: Set<String>
    private let config: Config
    private let knownLanguages: [String]
    private let queue = MessageQueue()
    private let executor: Executor
    private let stateDirectory: URL?
    private var savedStderr: Int32 = -1

    init(specs: [PaneSpec], wires: [Session.Wire], groups: [HostGroup], broadcasting: Set<String>, config: Config, knownLanguages: [String], timeout: Duration?, stateDirectory: URL?) {
        self.specs = specs
        self.wires = wires
        self.groups = groups
        self.broadcasting = broadcasting
        self.config = config
        self.knownLanguages = knownLanguages
        self.stateDirectory = stateDirectory
        executor = Executor(queue: queue, timeout: timeout, stateDirectory: stateDirectory)
    }

    func run() -> Int32 {
        setlocale(LC_ALL, "")
        let codeset = String(cString: cn_codeset()).lowercased()
        if !codeset.contains("utf-8") && !codeset.contains("utf8") { setlocale(LC_CTYPE, "C.UTF-8") }
        TextWidth.ensureUTF8Locale()
        let signalFD = Signals.install()
        redirectStderr()
        let terminal = Terminal(monochrome: config.monochrome, mouse: config.mouse)
        atexit {
            if cursesActive != 0 {
                cursesActive = 0
                endwin()
            }
        }
        let size = terminal.size
        var state = AppState(width: size.width, height: size.height, knownLanguages: knownLanguages, config: config)
        state.addHostGroups(groups, broadcasting: broadcasting)
        let startEffects = state.addPanes(specs)
        state.addWires(wires)
        execute(startEffects)
        if specs.isEmpty {
            let keys = config.bindings
            state.flash = "no language found: \(keys.long(.new)) opens a pane, \(keys.long(.quit)) quits"
        }
        terminal.draw(state.render())

        var exitStatus: Int32 = 0
        var quitDeadline: Date?
        var lastDraw = Date.distantPast
        var dirty = false
        let frameInterval = 1.0 / 60
        var running = true
        while running {
            var timeoutMS: Int32 = -1
            if dirty { timeoutMS = max(0, Int32((frameInterval - Date().timeIntervalSince(lastDraw)) * 1000)) }
            if quitDeadline != nil { timeoutMS = timeoutMS < 0 ? 100 : min(timeoutMS, 100) }
            var fds = [
                pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                pollfd(fd: queue.readFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
            ]
            let n = poll(&fds, nfds_t(fds.count), timeoutMS)
            var messages: [Message] = []
            var keysArrived = false
            if n > 0 && fds[2].revents != 0 {
                var bytes = [UInt8](repeating: 0, count: 64)
                let got = read(signalFD, &bytes, bytes.count)
                for sig in bytes.prefix(max(0, got)).map(Int32.init) {
                    if sig == SIGWINCH {
                        let s = terminal.resize()
                        messages.append(.resize(width: s.width, height: s.height))
                    } else {
                        // SIGTERM, SIGHUP, SIGINT, SIGQUIT: close every bond and leave.
                        exitStatus = 128 + sig
                        if quitDeadline != nil || state.quitting {
                            running = false
                        } else {
                            state.quitting = true
                            quitDeadline = Date().addingTimeInterval(8)
                            execute([.quit])
                        }
                    }
                }
            }
            if n > 0 && fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                if fds[0].revents & Int16(POLLHUP | POLLERR) != 0 && fds[0].revents & Int16(POLLIN) == 0 {
                    // The terminal is gone: leave as after SIGHUP.
                    exitStatus = 128 + SIGHUP
                    if !state.quitting {
                        state.quitting = true
                        quitDeadline = Date().addingTimeInterval(8)
                        execute([.quit])
                    }
                }
                for key in terminal.readKeys() {
                    keysArrived = true
                    if key == .resize {
                        let s = terminal.resize()
                        messages.append(.resize(width: s.width, height: s.height))
                    } else {
                        messages.append(.key(key))
                    }
                }
            }
            messages += queue.drain()
            var k = 0
            while k < messages.count {
                let message = messages[k]
                k += 1
                let effects = state.update(message)
                if effects.contains(.exit) { running = false }
                if effects.contains(.quit) && quitDeadline == nil { quitDeadline = Date().addingTimeInterval(8) }
                for case .editExternally(let pane, let text, let startup) in effects {
                    messages.append(editExternally(pane: pane, text: text, startup: startup, terminal: terminal))
                }
                execute(effects.filter { $0 != .exit })
                if case .started(let pane, _, _, _) = message { executor.settled(pane: pane) }
                dirty = true
            }
            if let deadline = quitDeadline, Date() >= deadline { running = false }
            if dirty && (keysArrived || Date().timeIntervalSince(lastDraw) >= frameInterval || !running) {
                terminal.draw(state.render())
                lastDraw = Date()
                dirty = false
            }
        }
        terminal.end()
        executor.killEverything()
        restoreStderr()
        return exitStatus
    }

    /// Ctrl-X Ctrl-E: the screen is given back, `$VISUAL` or `$EDITOR` (else `vi`) edits the
    /// input in a file of its own, then the screen comes back with the text in the input.
    private func editExternally(pane: Int, text: String, startup: Bool, terminal: Terminal) -> Message {
        let dir = FileManager.default.temporaryDirectory
        let file = dir.appendingPathComponent("bond-workbench-\(getpid())-\(pane).txt")
        do {
            try Data((text + "\n").utf8).write(to: file, options: .atomic)
        } catch {
            return .edited(pane: pane, text: nil, error: "cannot write \(file.path): \(error.localizedDescription)", startup: startup)
        }
        defer { try? FileManager.default.removeItem(at: file) }
        let environment = ProcessInfo.processInfo.environment
        let editor = [environment["VISUAL"], environment["EDITOR"]].compactMap { $0 }.first { !$0.isEmpty } ?? "vi"
        terminal.suspend()
        restoreStderr()
        let status = Self.runShell("\(editor) \"$1\"", argument: file.path)
        redirectStderr()
        terminal.resume()
        guard status == 0 else { return .edited(pane: pane, text: nil, error: "\(editor) exited with status \(status)", startup: startup) }
        guard let edited = try? String(contentsOf: file, encoding: .utf8) else {
            return .edited(pane: pane, text: nil, error: "cannot read \(file.path)", startup: startup)
        }
        return .edited(pane: pane, text: edited, error: nil, startup: startup)
    }

    /// Runs `sh -c COMMAND sh ARGUMENT` on the terminal and waits for it; its exit status.
    private static func runShell(_ command: String, argument: String) -> Int32 {
        var pid: pid_t = 0
        let args = ["/bin/sh", "-c", command, "sh", argument]
        var cArgs = args.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &cArgs, environ) == 0 else { return 127 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    private func execute(_ effects: [Effect]) {
        for effect in effects { executor.run(effect) }
    }

    /// Stray writes to standard error would scribble over the screen: they go to a file.
    private func redirectStderr() {
        var path = "/dev/null"
        if let dir = stateDirectory {
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            path = dir.appendingPathComponent("stderr.log").path
        }
        var fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { fd = open("/dev/null", O_WRONLY | O_CLOEXEC) }
        guard fd >= 0 else { return }
        savedStderr = dup(STDERR_FILENO)
        dup2(fd, STDERR_FILENO)
        close(fd)
    }

    private func restoreStderr() {
        guard savedStderr >= 0 else { return }
        dup2(savedStderr, STDERR_FILENO)
        close(savedStderr)
        savedStderr = -1
    }
}
