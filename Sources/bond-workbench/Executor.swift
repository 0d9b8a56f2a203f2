import Bond
import Foundation
import Workbench

/// Runs effects. Each start of a pane's bond (a generation) has a lane: one task that runs the
/// pane's requests in order on the bond's async face, so no thread waits on an interpreter; a
/// restart starts a new lane and the old one ends with its last job. Results come back to the
/// loop as messages. A call through a wire awaits the other pane's bond, which serves it as a
/// nested request when it is itself waiting on a call: two panes that call each other's
/// functions at once do not deadlock.
final class Executor: Sendable {
    /// The newest generation of a pane: its lane, and its bond once started.
    private struct Generation {
        let number: Int
        let lane: JobLane
        var bond: Bond?
        /// Closed at the user's word while it started: the start closes its bond when it ends.
        var closing = false
    }

    private struct State {
        var generations: [Int: Generation] = [:]
        var names: [Int: String] = [:]
        var settling = PaneSettling()
        /// Lanes whose task has not ended (the current generations', and old ones finishing).
        var lanes = 0
        var quitting = false
        var nextWaiter: UInt64 = 0
    }

    private let queue: MessageQueue
    private let state = Locked(State())
    /// Starts and closes in progress: `.allClosed` is posted when none is left after `.quit`.
    private let lifecycle = DispatchGroup()
    private let files = DispatchQueue(label: "bond-workbench.files")
    /// How long a request may take before it is interrupted (nil: no limit; `Bond.eval(_:timeout:)`).
    let timeout: Duration?
    let stateDirectory: URL?

    init(queue: MessageQueue, timeout: Duration?, stateDirectory: URL?) {
        self.queue = queue
        self.timeout = timeout
        self.stateDirectory = stateDirectory
    }

    private func post(_ m: Message) { queue.post(m) }

    private func bond(_ pane: Int, _ generation: Int) -> Bond? {
        state.withLock {
            guard let entry = $0.generations[pane], entry.number == generation else { return nil }
            return entry.bond
        }
    }

    private func name(_ pane: Int) -> String { state.withLock { $0.names[pane] ?? "pane \(pane)" } }

    /// Lanes whose task has not ended: one per pane whose bond runs, starts or is being closed.
    var laneCount: Int { state.withLock { $0.lanes } }

    func run(_ effect: Effect) {
        switch effect {
        case .start(let pane, let gen, let name, let language, let command):
            start(pane: pane, generation: gen, name: name, language: language, command: command)
        case .request(let pane, let gen, let request):
            submit(request, pane: pane, generation: gen)
        case .interrupt(let pane, let gen):
            // The interpreter raises its own interrupt error, which fails whatever it runs: a
            // request of this pane, or a call through a wire (the chain then unwinds, each pane
            // showing its error). (Cancelling the lane's task would throw `CancellationError`
            // instead of that error, and could not reach a call through a wire.)
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

    /// A new lane for the generation, whose first job starts the bond; the pane's older
    /// generation (closed, or dead: a dead bond is restarted without a close) takes no more jobs.
    private func start(pane: Int, generation: Int, name: String, language: String, command: String?) {
        let lane = JobLane { [weak self] in self?.state.withLock { $0.lanes -= 1 } }
        let older = state.withLock { state -> Generation? in
            state.names[pane] = name
            state.settling.startBegins(pane)
            state.lanes += 1
            defer { state.generations[pane] = Generation(number: generation, lane: lane) }
            return state.generations[pane]
        }
        if let older {
            older.lane.finish()
            // (A dead bond, or one still closing: its close, off the loop's thread, is quick.)
            if let bond = older.bond { Task { await bond.close() } }
        }
        lifecycle.enter()
        _ = lane.submit { [self] in
            await startBond(pane: pane, generation: generation, name: name, language: language, command: command)
            lifecycle.leave()
        }
    }

    private func startBond(pane: Int, generation: Int, name: String, language: String, command: String?) async {
        var options = BondOptions()
        options.name = name
        options.timeout = timeout
        options.startupTimeout = timeout ?? .seconds(60)  // a start that hangs (an ssh password prompt) ends
        let queue = self.queue
        // ssh's questions become the workbench's own prompt: posted to the UI loop, the start's
        // own thread waits for the answer (the UI loop never waits for it).
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
            switch state {
            case .busy: self?.bondBusy(pane: pane, generation: generation)
            case .terminated: self?.reportDeath(pane: pane, generation: generation)
            default: break
            }
        }
        let bond: Bond
        do {
            bond = try await Bond.start(language: language, command: command, options: options, stateChanged: stateChanged)
        } catch {
            settled(pane: pane)
            finishLane(pane: pane, generation: generation)
            post(.startFailed(pane: pane, generation: generation, message: String(describing: error)))
            return
        }
        Signals.remember(pid: bond.processID)
        let kept = state.withLock { state -> Bool in
            guard !state.quitting, var entry = state.generations[pane], entry.number == generation, !entry.closing else {
                return false
            }
            entry.bond = bond
            state.generations[pane] = entry
            return true
        }
        guard kept else {
            // Closed (or restarted, or quitting) while it started.
            state.withLock { state in
                if state.generations[pane]?.number == generation { state.generations[pane] = nil }
            }
            settled(pane: pane)
            await bond.close()
            Signals.forget(pid: bond.processID)
            post(.closed(pane: pane, generation: generation))
            return
        }
        // (The event loop settles the pane once it has run the effects of `.started`.)
        post(.started(pane: pane, generation: generation, pid: bond.remoteProcessID ?? bond.processID, remoteHost: bond.remoteHost))
    }

    /// The pane's start is over. For a bond that started, the event loop says so once it has
    /// run the effects of `.started` (the start-up block among them is then queued): a call
    /// through a wire from this pane waits until then, with no moment in between where it
    /// could run before the start-up block.
    func settled(pane: Int) {
        resume(state.withLock { $0.settling.startSettled(pane) })
    }

    private func bondBusy(pane: Int, generation: Int) {
        resume(state.withLock { $0.settling.bondBusy(pane, generation: generation) })
    }

    private func resume(_ ready: PaneSettling.Ready) {
        for waiter in ready { waiter.resume() }
    }

    /// The generation's lane takes no more jobs (its bond will run nothing more).
    private func finishLane(pane: Int, generation: Int) {
        let lane = state.withLock { state -> JobLane? in
            guard let entry = state.generations[pane], entry.number == generation else { return nil }
            return entry.lane
        }
        lane?.finish()
    }

    /// After the interpreter ended by itself: its exit status and last stderr, from the error
    /// that any request now fails with at once.
    private func reportDeath(pane: Int, generation: Int) {
        // (On Dispatch's queue, not the cooperative pool: the exit status may take a moment.)
        DispatchQueue.global().async { [self] in
            let bond = state.withLock { state -> Bond? in
                guard let entry = state.generations[pane], entry.number == generation, !entry.closing else { return nil }
                return entry.bond
            }
            guard let bond else { return }
            finishLane(pane: pane, generation: generation)
            let error = bond.terminationError ?? .terminated(language: bond.language, exit: .unknown, stderr: "")
            if case .terminated(let language, let exit, let stderr) = error {
                post(.died(pane: pane, generation: generation, message: "\(language) interpreter terminated (\(exit))", stderr: stderr))
            } else {
                post(.died(pane: pane, generation: generation, message: String(describing: error)))
            }
        }
    }

    private func close(pane: Int, generation: Int) {
        let (lane, bond) = state.withLock { state -> (JobLane?, Bond?) in
            guard var entry = state.generations[pane], entry.number == generation else { return (nil, nil) }
            guard entry.bond != nil else {
                entry.closing = true  // still starting: closed when the start ends
                state.generations[pane] = entry
                return (entry.lane, nil)
            }
            state.generations[pane] = nil
            return (entry.lane, entry.bond)
        }
        lane?.finish()
        guard let bond else { return }
        lifecycle.enter()
        Task { [self] in
            await bond.close()
            Signals.forget(pid: bond.processID)
            post(.closed(pane: pane, generation: generation))
            lifecycle.leave()
        }
    }

    /// Closes every bond (in parallel); bonds still starting are closed when their start ends.
    /// Posts `.allClosed` when all are gone.
    private func quitAll() {
        let (all, waiting) = state.withLock { state -> ([Generation], PaneSettling.Ready) in
            state.quitting = true
            defer { state.generations.removeAll() }
            return (Array(state.generations.values), state.settling.wakeAll())
        }
        resume(waiting)
        for generation in all {
            generation.lane.finish()
            guard let bond = generation.bond else { continue }
            lifecycle.enter()
            Task { [self] in
                await bond.close()
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

    /// Queues `request` in the generation's lane; the result is posted when it is done. With no
    /// lane (the generation is over), it fails at once, in a task of its own.
    private func submit(_ request: Request, pane: Int, generation: Int) {
        let ticket: UInt64? = if case .startup = request { state.withLock { $0.settling.startupQueued(pane) } } else { nil }
        let job: JobLane.Job = { [self] in
            if let ticket { state.withLock { $0.settling.startupRuns(ticket, pane: pane, generation: generation) } }
            let outcome = await perform(request, pane: pane, generation: generation)
            if let ticket { resume(state.withLock { $0.settling.startupEnded(ticket, pane: pane) }) }
            post(.result(pane: pane, generation: generation, request: request, outcome: outcome))
        }
        let lane = state.withLock { state -> JobLane? in
            guard let entry = state.generations[pane], entry.number == generation else { return nil }
            return entry.lane
        }
        if lane?.submit(job) != true { Task { await job() } }
    }

    /// Runs work of the engine's blocking face (a handle's requests have no async face yet) on
    /// a thread of its own, so that no thread of the cooperative pool waits on an interpreter.
    private func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws(BondError) -> T) async throws(BondError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, BondError>, Never>) in
            Thread.detachNewThread { continuation.resume(returning: Result { () throws(BondError) -> T in try work() }) }
        }
        return try result.get()
    }

    private func perform(_ request: Request, pane: Int, generation: Int) async -> Outcome {
        guard let bond = bond(pane, generation) else {
            return .failure("\(name(pane)) has no running bond (it did not start, or was closed)")
        }
        do {
            switch request {
            case .run(let code):
                // With OBJECTS, a result JSON cannot carry comes back as a handle the user can name.
                guard bond.offersObjects else { return .ran(try await bond.run(code, unserializable: .describe, timeout: timeout)) }
                let result = try await bond.run(code, unserializable: .handle, timeout: timeout)
                guard case .value(.handle(let handle))? = result else { return .ran(result) }
                return try await offThePool { () throws(BondError) -> Outcome in .handle(HandleRef(handle: handle, description: handle.description)) }
            case .eval(let code):
                return .value(try await bond.eval(code, timeout: timeout))
            case .block(let code), .startup(let code):
                try await bond.evalBlock(code, timeout: timeout)
                return .done
            case .call(let function, let arguments):
                let values: [(any BondArgument)?] = arguments.map {
                    switch $0 {
                    case .value(let v): v
                    case .ref(let code): bond.ref(code)
                    }
                }
                return .value(try await bond.call(function, arguments: values, timeout: timeout))
            case .inspect(let label, let code, let describe):
                if bond.offersRun {
                    // The driver describes what JSON cannot carry (RUN), in every language it serves.
                    switch try await bond.eval(code, unserializable: .describe, timeout: timeout) {
                    case .value(let value):
                        return .inspected(name: label, type: nil, description: nil, value: value, error: nil)
                    case .description(let d):
                        return .inspected(name: label, type: d.typeName, description: d.text, value: nil, error: nil)
                    }
                }
                do {
                    return .inspected(name: label, type: nil, description: nil, value: try await bond.eval(code, timeout: timeout), error: nil)
                } catch let error as BondError {
                    guard case .serialization = error, let describe else { throw error }
                    do {
                        let d = try await bond.eval(describe, timeout: timeout)
                        return .inspected(
                            name: label, type: d[0]?.stringValue, description: d[1]?.stringValue ?? d[1]?.description,
                            value: nil, error: String(describing: error))
                    } catch let describeError {
                        return .inspected(name: label, type: nil, description: nil, value: nil,
                                          error: "\(String(describing: error))\n\(String(describing: describeError))")
                    }
                }
            case .checkFunction(_, let check, _, _):
                return .value(try await bond.eval(check, timeout: timeout))
            case .complete(let expression):
                let names = try await bond.eval(expression, timeout: timeout)
                return .completions((names.arrayValue ?? []).compactMap(\.stringValue))
            case .unwire(let remoteName):
                let language = bond.language
                try await bond.export(remoteName) { _ async throws -> BondValue in
                    throw BondError.usage(language: language, message: "unwired: \(remoteName) was unwired in the workbench")
                }
                return .unwired(name: remoteName)
            case .object(let request):
                return try await offThePool { () throws(BondError) -> Outcome in try request.perform() }
            case .proxy(let source, let function, let remoteName):
                try await export(function, of: source, to: bond, pane: pane, as: remoteName)
                return .proxied(Wire(source: source, function: function, target: pane, name: remoteName))
            }
        } catch {
            if let e = error as? BondError, case .terminated(let language, let exit, let stderr) = e {
                return .terminated(message: "\(language) interpreter terminated (\(exit))", stderr: stderr)
            }
            return .failure(String(describing: error))
        }
    }

    /// `Bond.proxy` on the async face, with notes in both panes so nested calls show where they
    /// run. The source bond is looked up at each call, so the wire survives a restart of the
    /// source pane; the call awaits it (no thread waits), and is served by it as a nested
    /// request when it waits on a call itself.
    private func export(_ function: String, of source: Int, to target: Bond, pane: Int, as remoteName: String) async throws {
        let targetName = name(pane)
        let sourceName = name(source)
        let language = target.language  // (not the bond: its exports hold this function)
        try await target.export(remoteName) { [weak self] arguments in
            guard let self else { throw BondError.usage(language: language, message: "the workbench is gone") }
            self.post(.wireCalled(target: pane, name: remoteName))
            let shown = Self.brief(arguments.map(\.description).joined(separator: ", "))
            self.post(.note(pane: pane, kind: .nested, text: "\(remoteName)(\(shown)) → \(sourceName).\(function)"))
            guard let bond = await self.sourceBond(source) else {
                let error = BondError.usage(language: language, message: "\(sourceName) has no running bond")
                self.post(.note(pane: source, kind: .error, text: "called from \(targetName): \(String(describing: error))"))
                throw error
            }
            self.post(.note(pane: source, kind: .nested, text: "\(function)(\(shown)) ← called from \(targetName)"))
            do {
                let result = try await bond.call(function, values: arguments, timeout: self.timeout)
                self.post(.note(pane: source, kind: .nested, text: "\(function) returned \(Self.brief(result.description))"))
                return result
            } catch {
                self.post(.note(pane: source, kind: .error, text: "\(function) failed: \(String(describing: error))"))
                throw error
            }
        }
    }

    /// The source pane's bond for a call through a wire; while it starts, or its start-up block
    /// is not yet running, the call waits (a minute at most; see `PaneSettling`).
    private func sourceBond(_ pane: Int) async -> Bond? {
        await waitUntilSettled(pane, atMost: .seconds(60))
        return state.withLock { $0.generations[pane]?.bond }
    }

    private func waitUntilSettled(_ pane: Int, atMost limit: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let stopWaiting: @Sendable () -> Void = { [self] in
            state.withLock { $0.settling.stopWaiting(pane, id) }?.resume()
        }
        let timer = Task {
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            stopWaiting()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waits = state.withLock { state -> Bool in
                    guard !state.quitting, state.settling.isSettling(pane), !Task.isCancelled else { return false }
                    state.settling.wait(pane, id, continuation)
                    return true
                }
                if !waits { continuation.resume() }
            }
        } onCancel: {
            stopWaiting()
        }
        timer.cancel()
    }

    static func brief(_ s: String) -> String {
        s.count > 120 ? String(s.prefix(119)) + "…" : s
    }
}
