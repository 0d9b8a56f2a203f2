import Bond
import Foundation
import Workbench

/// Runs effects: each pane's bond lives on its own serial queue (one per start, so a restart
/// does not wait behind a stuck request); results come back to the loop as messages.
final class Executor: @unchecked Sendable {
    private struct Key: Hashable { let pane: Int, generation: Int }

    private let queue: MessageQueue
    private let lock = NSLock()
    private var bonds: [Int: (generation: Int, bond: Bond)] = [:]
    private var workers: [Key: DispatchQueue] = [:]
    private var names: [Int: String] = [:]
    /// Generations closed (or restarted) before their start finished.
    private var abandoned: Set<Key> = []
    private var closing: Set<Key> = []
    /// Panes whose bond is starting (a call through a wire from them waits for the start).
    private var startingPanes: [Int: Int] = [:]
    /// Panes whose start-up block is queued or running, and the thread running it: a call
    /// through a wire from them waits for the block, unless it comes from the block itself.
    private var startupsPending: [Int: Int] = [:]
    private var startupThreads: [Int: Thread] = [:]
    private var quitting = false
    private let lifecycle = DispatchGroup()
    private let files = DispatchQueue(label: "bond-workbench.files")
    let timeout: Duration?
    let stateDirectory: URL?

    init(queue: MessageQueue, timeout: Duration?, stateDirectory: URL?) {
        self.queue = queue
        self.timeout = timeout
        self.stateDirectory = stateDirectory
    }

    private func post(_ m: Message) { queue.post(m) }

    private func bond(_ pane: Int, _ generation: Int) -> Bond? {
        lock.withLock {
            guard let entry = bonds[pane], entry.generation == generation else { return nil }
            return entry.bond
        }
    }

    private func currentBond(_ pane: Int) -> Bond? { lock.withLock { bonds[pane]?.bond } }
    private func name(_ pane: Int) -> String { lock.withLock { names[pane] ?? "pane \(pane)" } }

    private func worker(_ pane: Int, _ generation: Int) -> DispatchQueue {
        lock.withLock {
            let key = Key(pane: pane, generation: generation)
            if let q = workers[key] { return q }
            let q = DispatchQueue(label: "bond-workbench.pane\(pane).\(generation)")
            workers[key] = q
            return q
        }
    }

    func run(_ effect: Effect) {
        switch effect {
        case .start(let pane, let gen, let name, let language, let command):
            start(pane: pane, generation: gen, name: name, language: language, command: command)
        case .request(let pane, let gen, let request):
            let isStartup: Bool
            if case .startup = request { isStartup = true } else { isStartup = false }
            if isStartup { lock.withLock { startupsPending[pane, default: 0] += 1 } }
            worker(pane, gen).async { [self] in
                if isStartup { lock.withLock { startupThreads[pane] = Thread.current } }
                let outcome = perform(request, pane: pane, generation: gen)
                if isStartup {
                    lock.withLock {
                        startupThreads[pane] = nil
                        startupsPending[pane, default: 1] -= 1
                        if startupsPending[pane] == 0 { startupsPending[pane] = nil }
                    }
                }
                post(.result(pane: pane, generation: gen, request: request, outcome: outcome))
            }
        case .interrupt(let pane, let gen):
            bond(pane, gen)?.interrupt()
        case .close(let pane, let gen):
            close(pane: pane, generation: gen)
        case .loadHistory(let pane, let name):
            guard let url = historyFile(name) else { return }
            files.async { [self] in
                let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
                post(.historyLoaded(pane: pane, entries: History.decode(text)))
            }
        case .saveHistory(let name, let entries):
            guard let url = historyFile(name) else { return }
            files.async {
                try? FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                try? Data(History.encode(entries).utf8).write(to: url, options: .atomic)
                _ = chmod(url.path, 0o600)
            }
        case .saveLog(let path, let lines):
            files.async { [self] in write(lines, to: path, replacing: false) }
        case .replaceFile(let path, let lines):
            files.async { [self] in write(lines, to: path, replacing: true) }
        case .editExternally:
            break  // the event loop runs the editor (it owns the terminal)
        case .readFile(let path, let purpose):
            files.async { [self] in
                do {
                    let text = try String(contentsOfFile: Self.expand(path), encoding: .utf8)
                    post(.fileRead(path: path, purpose: purpose, text: text, error: nil))
                } catch {
                    post(.fileRead(path: path, purpose: purpose, text: nil, error: error.localizedDescription))
                }
            }
        case .quit:
            sshDesk.cancelAll()
            quitAll()
        case .answerSSH(let question, let answer):
            sshDesk.answer(question, with: answer)
        case .exit:
            break
        }
    }

    /// ssh's questions waiting for the user's answer (the UI loop's prompt).
    private let sshDesk = SSHQuestionDesk()

    /// `~/` is the home directory, as in a shell.
    static func expand(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + path.dropFirst()
    }

    /// Writes a file with mode 0600: a new one (an existing one is left alone and reported), or
    /// over one (`replacing`, after the user said yes).
    private func write(_ lines: [String], to given: String, replacing: Bool) {
        let path = Self.expand(given)
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (replacing ? O_TRUNC : O_EXCL), 0o600)
        guard fd >= 0 else {
            let failure: SaveFailure = errno == EEXIST ? .exists : .system(String(cString: strerror(errno)))
            post(.logSaved(path: given, expanded: path, error: failure))
            return
        }
        let data = Array((lines.joined(separator: "\n") + "\n").utf8)
        var written = 0
        while written < data.count {
            let n = data[written...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            written += n
        }
        let failure = written == data.count ? nil : SaveFailure.system(String(cString: strerror(errno)))
        Foundation.close(fd)
        post(.logSaved(path: given, expanded: path, error: failure))
    }

    private func historyFile(_ name: String) -> URL? {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return stateDirectory?.appendingPathComponent("history-\(safe)")
    }

    // MARK: Life of a bond

    private func start(pane: Int, generation: Int, name: String, language: String, command: String?) {
        lock.withLock {
            names[pane] = name
            startingPanes[pane, default: 0] += 1
        }
        lifecycle.enter()
        let key = Key(pane: pane, generation: generation)
        worker(pane, generation).async { [self] in
            var handedOver = false  // `.started` posted: the pane is settled by the event loop
            defer {
                if !handedOver { settled(pane: pane) }
                lifecycle.leave()
            }
            var options = BondOptions()
            options.name = name
            options.timeout = timeout
            options.startupTimeout = timeout ?? .seconds(60)  // a start that hangs (an ssh password prompt) ends
            let queue = self.queue
            // ssh's questions become the workbench's own prompt: posted to the UI loop, this bond
            // thread waits for the answer (the UI loop never waits for it).
            options.sshAnswer = { [desk = sshDesk] question in
                desk.ask { id in
                    queue.post(.sshQuestion(pane: pane, question: id, prompt: question.description, secret: question.kind == .secret))
                }
            }
            options.output = .handler { channel, text in
                queue.post(.output(pane: pane, generation: generation, channel: channel, text: text))
            }
            options.log = .handler { t in
                let size = t.line.utf8.count
                let line = size > LogEntry.maximumRawBytes
                    ? String(decoding: Array(t.line.utf8.prefix(LogEntry.maximumRawBytes)), as: UTF8.self) : t.line
                queue.post(.traffic(pane: pane, generation: generation, TrafficRecord(
                    sent: t.direction == .sent, time: t.time, line: line, depth: t.depth, nest: t.nest, bytes: size)))
            }
            let stateChanged: @Sendable (BondState) -> Void = { [weak self] state in
                queue.post(.state(pane: pane, generation: generation, state))
                if case .terminated = state { self?.reportDeath(pane: pane, generation: generation) }
            }
            let bond: Bond
            do {
                bond = try Bond(language: language, command: command, options: options, stateChanged: stateChanged)
            } catch {
                post(.startFailed(pane: pane, generation: generation, message: String(describing: error)))
                return
            }
            Signals.remember(pid: bond.processID)
            let drop = lock.withLock { () -> Bool in
                if quitting || abandoned.contains(key) { return true }
                bonds[pane] = (generation, bond)
                return false
            }
            if drop {
                bond.close()
                Signals.forget(pid: bond.processID)
                post(.closed(pane: pane, generation: generation))
                return
            }
            handedOver = true
            post(.started(pane: pane, generation: generation, pid: bond.remoteProcessID ?? bond.processID, remoteHost: bond.remoteHost))
        }
    }

    /// The pane's start is over. For a bond that started, the event loop says so once it has
    /// run the effects of `.started` (the start-up block among them is then pending): a call
    /// through a wire from this pane waits until then, with no moment in between where it
    /// could run before the start-up block.
    func settled(pane: Int) {
        lock.withLock {
            startingPanes[pane, default: 1] -= 1
            if startingPanes[pane] == 0 { startingPanes[pane] = nil }
        }
    }

    /// After the interpreter ended by itself: its exit status and last stderr, from the error
    /// that any request now fails with at once.
    private func reportDeath(pane: Int, generation: Int) {
        DispatchQueue.global().async { [self] in
            guard let bond = bond(pane, generation) else { return }
            if lock.withLock({ closing.contains(Key(pane: pane, generation: generation)) }) { return }
            let error = bond.terminationError ?? .terminated(language: bond.language, exit: .unknown, stderr: "")
            if case .terminated(let language, let exit, let stderr) = error {
                post(.died(pane: pane, generation: generation, message: "\(language) interpreter terminated (\(exit))", stderr: stderr))
            } else {
                post(.died(pane: pane, generation: generation, message: String(describing: error)))
            }
        }
    }

    private func close(pane: Int, generation: Int) {
        let key = Key(pane: pane, generation: generation)
        let bond = lock.withLock { () -> Bond? in
            closing.insert(key)
            guard let entry = bonds[pane], entry.generation == generation else {
                abandoned.insert(key)
                return nil
            }
            bonds[pane] = nil
            return entry.bond
        }
        guard let bond else { return }  // still starting: closed when the start ends
        lifecycle.enter()
        DispatchQueue.global().async { [self] in
            bond.close()
            Signals.forget(pid: bond.processID)
            post(.closed(pane: pane, generation: generation))
            lifecycle.leave()
        }
    }

    /// Closes every bond (in parallel); bonds still starting are closed when their start ends.
    /// Posts `.allClosed` when all are gone.
    private func quitAll() {
        let all = lock.withLock { () -> [(Int, Int, Bond)] in
            quitting = true
            let list = bonds.map { ($0.key, $0.value.generation, $0.value.bond) }
            for (pane, gen, _) in list { closing.insert(Key(pane: pane, generation: gen)) }
            bonds.removeAll()
            return list
        }
        for (_, _, bond) in all {
            lifecycle.enter()
            DispatchQueue.global().async { [self] in
                bond.close()
                Signals.forget(pid: bond.processID)
                lifecycle.leave()
            }
        }
        lifecycle.notify(queue: .global()) { [self] in post(.allClosed) }
    }

    /// Last resort when leaving without waiting: kill every interpreter's process group.
    func killEverything() {
        Signals.killAll()
    }

    // MARK: Requests

    private func perform(_ request: Request, pane: Int, generation: Int) -> Outcome {
        guard let bond = bond(pane, generation) else {
            return .failure("\(name(pane)) has no running bond (it did not start, or was closed)")
        }
        do {
            switch request {
            case .run(let code):
                return try .run(code, on: bond)
            case .eval(let code):
                return .value(try bond.eval(code))
            case .block(let code), .startup(let code):
                try bond.evalBlock(code)
                return .done
            case .call(let function, let arguments):
                let values: [(any BondArgument)?] = arguments.map {
                    switch $0 {
                    case .value(let v): v
                    case .ref(let code): bond.ref(code)
                    }
                }
                return .value(try bond.call(function, arguments: values))
            case .inspect(let label, let code, let describe):
                if bond.offersRun {
                    // The driver describes what JSON cannot carry (RUN), in every language it serves.
                    switch try bond.eval(code, unserializable: .describe) {
                    case .value(let value):
                        return .inspected(name: label, type: nil, description: nil, value: value, error: nil)
                    case .description(let d):
                        return .inspected(name: label, type: d.typeName, description: d.text, value: nil, error: nil)
                    }
                }
                do throws(BondError) {
                    return .inspected(name: label, type: nil, description: nil, value: try bond.eval(code), error: nil)
                } catch {
                    guard case .serialization = error, let describe else { throw error }
                    do {
                        let d = try bond.eval(describe)
                        return .inspected(
                            name: label, type: d[0]?.stringValue, description: d[1]?.stringValue ?? d[1]?.description,
                            value: nil, error: String(describing: error))
                    } catch let describeError {
                        return .inspected(name: label, type: nil, description: nil, value: nil,
                                          error: "\(String(describing: error))\n\(String(describing: describeError))")
                    }
                }
            case .checkFunction(_, let check, _, _):
                return .value(try bond.eval(check))
            case .complete(let expression):
                let names = try bond.eval(expression)
                return .completions((names.arrayValue ?? []).compactMap(\.stringValue))
            case .unwire(let remoteName):
                let language = bond.language
                try bond.export(remoteName) { _ in
                    throw BondError.usage(language: language, message: "unwired: \(remoteName) was unwired in the workbench")
                }
                return .unwired(name: remoteName)
            case .object(let request):
                return try request.perform()
            case .proxy(let source, let function, let remoteName):
                try export(function, of: source, to: bond, pane: pane, as: remoteName)
                return .proxied(Wire(source: source, function: function, target: pane, name: remoteName))
            }
        } catch {
            if let e = error as? BondError, case .terminated(let language, let exit, let stderr) = e {
                return .terminated(message: "\(language) interpreter terminated (\(exit))", stderr: stderr)
            }
            return .failure(String(describing: error))
        }
    }

    /// `Bond.proxy`, with notes in both panes so nested calls show where they run. The source
    /// bond is looked up at each call, so the wire survives a restart of the source pane.
    private func export(_ function: String, of source: Int, to target: Bond, pane: Int, as remoteName: String) throws(BondError) {
        let targetName = name(pane)
        let sourceName = name(source)
        try target.export(remoteName) { [weak self] arguments in
            guard let self else { throw BondError.usage(language: target.language, message: "the workbench is gone") }
            self.post(.wireCalled(target: pane, name: remoteName))
            let shown = Self.brief(arguments.map(\.description).joined(separator: ", "))
            self.post(.note(pane: pane, kind: .nested, text: "\(remoteName)(\(shown)) → \(sourceName).\(function)"))
            guard let bond = self.sourceBond(source) else {
                let error = BondError.usage(language: target.language, message: "\(sourceName) has no running bond")
                self.post(.note(pane: source, kind: .error, text: "called from \(targetName): \(String(describing: error))"))
                throw error
            }
            self.post(.note(pane: source, kind: .nested, text: "\(function)(\(shown)) ← called from \(targetName)"))
            do {
                let result = try bond.call(function, arguments: arguments)
                self.post(.note(pane: source, kind: .nested, text: "\(function) returned \(Self.brief(result.description))"))
                return result
            } catch {
                self.post(.note(pane: source, kind: .error, text: "\(function) failed: \(String(describing: error))"))
                throw error
            }
        }
    }

    /// The source pane's bond for a call through a wire; while it starts, or runs its start-up
    /// block, waits for it (a minute at most).
    private func sourceBond(_ pane: Int) -> Bond? {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let (bond, starting, settling) = lock.withLock { () -> (Bond?, Bool, Bool) in
                // Settling: started, but its start-up block not yet run (or not yet even queued:
                // the event loop has not handled `.started`), unless this is that block's thread.
                let inStartup = (startupsPending[pane] != nil || startingPanes[pane] != nil)
                    && startupThreads[pane] !== Thread.current
                return (bonds[pane]?.bond, startingPanes[pane] != nil, inStartup)
            }
            if let bond, !settling || Date() > deadline { return bond }
            if bond == nil, !starting || Date() > deadline { return nil }
            if lock.withLock({ quitting }) { return bond }
            usleep(10_000)
        }
    }

    static func brief(_ s: String) -> String {
        s.count > 120 ? String(s.prefix(119)) + "…" : s
    }
}
