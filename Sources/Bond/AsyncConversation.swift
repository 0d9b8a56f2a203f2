import DequeModule
import Foundation
import Synchronization

/// A Swift function the interpreter can call, that may suspend (await other bonds, sleep).
public typealias AsyncBondFunction = @Sendable ([BondValue]) async throws -> BondValue

/// Why an async request was stopped before its reply came.
enum AsyncStop: Sendable {
    /// Its task was cancelled.
    case cancelled
    /// Its `timeout:` passed.
    case timedOut(Duration)
}

/// The async face's request loop of one bond: the same connection, frames and drivers as the
/// blocking face (`Conversation`), but no thread waits. The connection's background reader
/// reads the interpreter's output and hands every event to `handle` (the connection's
/// `asyncSink`); a request suspends on a continuation that `handle` resumes.
///
/// The interpreter's stack is mirrored in `AsyncStack`: requests waiting for their reply and
/// callbacks (the driver's `CALL`s) being served, each callback in a task of its own. A
/// request is sent when the interpreter can read it: when the bond is idle, or when the top of
/// the stack is a callback (the driver, waiting for its `RETURN`, serves requests: nesting);
/// otherwise it waits in the queue. A callback's answer waits until the requests above it are
/// answered. So at most one frame is ever in flight (each send is made possible only by the
/// interpreter's answer to the one before), which is why frames can be sent outside the lock.
final class AsyncConversation: Sendable {
    private let connection: Connection
    private let conversation: Conversation
    private let errors: BondErrors
    private let closedByUser: ClosedFlag
    /// Interrupts the interpreter (its host's way: a signal, or `kill -INT` through ssh).
    private let interruptInterpreter: @Sendable () -> Void
    /// Closes the bond; it blocks (grace periods), so it runs on a thread of its own.
    private let closeBond: @Sendable () -> Void
    /// How long an interrupted interpreter has to answer before the bond is closed.
    private let grace: Duration
    /// How often an interrupt is sent again while it is not answered.
    private let interruptRetry: Duration
    /// (A `ConditionLock` rather than a `Mutex`: ThreadSanitizer sees its pthread lock, and
    /// does not see the futex of `Synchronization.Mutex`, whose users it reports as racing.)
    private let stack: ConditionLock<AsyncStack>

    init(
        connection: Connection, conversation: Conversation, closedByUser: ClosedFlag, grace: Duration,
        interruptRetry: Duration, interrupt: @escaping @Sendable () -> Void, close: @escaping @Sendable () -> Void
    ) {
        self.interruptRetry = interruptRetry
        self.connection = connection
        self.conversation = conversation
        self.errors = BondErrors(language: connection.language)
        self.stack = ConditionLock(AsyncStack(errors: errors))
        self.closedByUser = closedByUser
        self.grace = grace
        self.interruptInterpreter = interrupt
        self.closeBond = close
    }

    // MARK: Requests

    /// Sends `verb` with the payload `writePayload` writes, suspends until the reply, and
    /// serves the interpreter's callbacks meanwhile. Throws `BondError`, or `CancellationError`
    /// when the task is cancelled (the interpreter is interrupted).
    func request(
        _ verb: String, timeout: Duration?,
        writingPayload writePayload: (inout BondFrameWriter) throws(BondError) -> Void
    ) async throws -> BondValue {
        var frame = conversation.newFrameWriter()
        try frame.build(verb, writePayload)
        if closedByUser.isSet && !connection.isClosed { throw errors.usage("the bond is closed") }
        let line = frame.outgoing
        let nest = connection.delivery.logs ? AsyncNest.count : 0
        let id = stack.withLock { $0.reserveID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<BondValue, any Error>) in
                let timer = timeout.map { timeout in
                    Task { [self] in
                        guard (try? await Task.sleep(for: timeout)) != nil else { return }
                        stop(id, .timedOut(timeout))
                    }
                }
                let sent = transition { stack, effects in
                    stack.submit(AsyncStack.Request(id: id, line: line, nest: nest, continuation: continuation, timer: timer), &effects)
                }
                if sent {
                    connection.readBriefly(until: { stack.withLock { $0.topID != id } }, stillAwaited: awaitsTheInterpreter)
                }
            }
        } onCancel: {
            stop(id, .cancelled)
        }
    }

    /// Stops request `id`: interrupts the interpreter if it runs the request's code (or
    /// cancels the callbacks above it, whose own requests are then stopped in turn).
    private func stop(_ id: UInt64, _ why: AsyncStop) {
        transition { stack, effects in stack.stop(id, why, &effects) }
    }

    /// Gives the interrupted request `id` the grace period to end, interrupting again every
    /// `interruptRetry` while it runs on top (a driver takes an interrupt only while user code
    /// runs: one that lands a moment before is lost); once the period is over, the bond is
    /// closed. Ends early if the request ends, or a callback runs above it (the request is
    /// interrupted again when it is back on top).
    private func awaitInterrupt(of id: UInt64) async {
        let clock = ContinuousClock()
        let end = clock.now + grace
        while clock.now < end {
            try? await Task.sleep(for: min(interruptRetry, end - clock.now))
            guard stack.withLock({ $0.runsInterrupted(id) }) else { return }
            if clock.now < end { interruptInterpreter() }
        }
        graceExpired(id)
    }

    /// The grace period after an interrupt of request `id` has passed.
    private func graceExpired(_ id: UInt64) {
        transition { stack, effects in stack.graceExpired(id, &effects) }
    }

    // MARK: The interpreter's side

    /// An event read by the connection's background reader (in order, on its thread).
    func handle(_ event: Connection.Event) {
        switch event {
        case .closed:
            transition { stack, effects in stack.closed(&effects) }
        case .oversized(let size):
            let error = errors.protocolViolation("a frame of \(size) bytes is over the limit (BondOptions.maximumFrameBytes)")
            transition { stack, effects in stack.replied(.failure(error), &effects) }
        case .frame(let frame):
            handle(frame)
        }
    }

    private func handle(_ frame: ReceivedFrame) {
        let payload: BondValue
        switch frame.content {
        case .call(let name, let arguments):
            // [ext] OBJECTS: markers read back as handles and proxies, as in `Conversation`.
            guard frame.mayHoldMarkers && conversation.objects.isOn else { return callback(name, arguments) }
            do {
                return callback(name, try conversation.objects.decode(arguments))
            } catch {
                return answer("EXCEPT", String(describing: error))
            }
        case .value(let value):
            do {
                payload = frame.mayHoldMarkers && conversation.objects.isOn ? try conversation.objects.decode(value) : value
            } catch {
                if frame.verb.isReply { transition { stack, effects in stack.replied(.failure(error), &effects) } }
                else { answer("ERROR", "cannot read the \(frame.verb.rawValue) payload: \(error.message)") }
                return
            }
        case .unreadable(let error):
            switch frame.verb {
            case .reply, .except, .error:
                let failure = errors.serialization(.local, "cannot read the \(frame.verb.rawValue) payload: \(error)")
                transition { stack, effects in stack.replied(.failure(failure), &effects) }
                return
            case .call:
                return answer("ERROR", "cannot read the CALL payload: \(error)")
            default:
                return
            }
        }
        switch frame.verb {
        case .reply:
            transition { stack, effects in stack.replied(.success(payload), &effects) }
        case .except:
            let error = errors.remote(payload.stringValue ?? payload.description, data: payload)
            transition { stack, effects in stack.replied(.failure(error), &effects) }
        case .error:
            let error = errors.serialization(.remote, payload.stringValue ?? payload.description)
            transition { stack, effects in stack.replied(.failure(error), &effects) }
        case .bye:
            connection.process.closeInput()  // (`.closed` follows)
        case .call:
            guard case .array(let parts) = payload, parts.count == 2, case .string(let name) = parts[0],
                case .array(let arguments) = parts[1]
            else { return answer("EXCEPT", "malformed CALL payload: \(payload)") }
            callback(name, arguments)
        case .ocall, .oget, .odescribe:
            // [ext] OBJECTS: served at once (the driver waits for nothing else meanwhile).
            answerObjectRequest(frame.verb, payload)
        case .release:
            conversation.objects.dropProxies(payload)
        case .output, .eval, .evalBlock, .xcall, .export, .run, .object:
            answer("ERROR", "the host does not serve \(frame.verb.rawValue)")
        }
    }

    /// [ext] Answers the driver's `OCALL`, `OGET` or `ODESCRIBE` of a proxy it holds.
    private func answerObjectRequest(_ verb: Verb, _ payload: BondValue) {
        var frame = conversation.newFrameWriter()
        do throws(BondError) {
            let result = try conversation.objects.serve(verb, payload)
            do throws(BondError) {
                try frame.build("RETURN") { (frame: inout BondFrameWriter) throws(BondError) in try frame.write(result) }
            } catch {
                return answer("ERROR", "cannot serialize the result of \(verb.rawValue): \(error.message)")
            }
        } catch {
            return answer("EXCEPT", String(describing: error))
        }
        _ = connection.send(frame.outgoing)
    }

    /// The driver calls exported function `name`: it runs in a task of its own, and its
    /// answer is sent once the callback is on top of the stack. (Caught instead when a task
    /// serving callbacks reads it: see `serve`.)
    private func callback(_ name: String, _ arguments: [BondValue]) {
        if let catcher = CallCatcher.current, catcher.isEmpty {
            transition { stack, effects in
                catcher.set(CallCatcher.Call(id: stack.pushCallback(servedBy: catcher.owner, &effects), name: name, arguments: arguments))
            }
            return
        }
        let logs = connection.delivery.logs
        transition { stack, effects in
            let nest = logs ? stack.nest + AsyncNest.servingStep : 0
            _ = stack.pushCallback(&effects) { id in
                let call = CallCatcher.Call(id: id, name: name, arguments: arguments)
                guard logs else { return Task { [self] in await serve(call) } }
                return Task { [self] in await AsyncNest.$count.withValue(nest) { await serve(call) } }
            }
        }
    }

    /// Serves a callback in the task made for it: runs the function, answers. Speed trick: a
    /// task whose answer was sent then reads the interpreter's output for a moment itself, and
    /// serves the next `CALL` it reads in the same task (the interpreter calls in loops), with
    /// no wake-up of another thread (async callback round trip: docs/performance.md).
    private func serve(_ first: CallCatcher.Call) async {
        var call = first
        while true {
            let function = conversation.exports.withLock { $0.entry(named: call.name) }
            let answer = await answer(of: function, call.name, call.arguments)
            let owner = stack.withLock { $0.task(ofCallback: call.id) }
            let sent = transition { stack, effects in stack.callbackAnswered(call.id, answer, &effects) }
            guard sent, let owner, !Task.isCancelled, let top = stack.withLock({ $0.topID }) else {
                if sent { connection.wakeBackgroundReader() }  // (no task reads what the answer brings)
                return
            }
            let catcher = CallCatcher(owner: owner)
            CallCatcher.$current.withValue(catcher) {
                connection.readBriefly(until: { stack.withLock { $0.topID != top } }, stillAwaited: awaitsTheInterpreter)
            }
            guard let next = catcher.take() else { return }
            call = next
        }
    }

    /// Whether a reply or a `CALL` is still to come from the interpreter (see `Connection.readBriefly`).
    private func awaitsTheInterpreter() -> Bool { stack.withLock { $0.awaitsTheInterpreter } }

    /// The `RETURN` (or `EXCEPT`, `ERROR`) frame answering a call of `function`.
    private func answer(of function: ExportTable.Entry?, _ name: String, _ arguments: [BondValue]) async -> OutgoingFrame {
        guard let function else { return line("EXCEPT", "\(name) is not a function exported by the host") }
        let result: BondValue
        do {
            if let asynchronous = function.asyncFunction {
                result = try await asynchronous(arguments)
            } else if let blocking = function.function {
                result = try blocking(arguments)
            } else if let withKeywords = function.keywordFunction {
                result = try withKeywords(arguments, [:])
            } else {
                return line("EXCEPT", "\(name) is not a function exported by the host")
            }
        } catch {
            return line("EXCEPT", String(describing: error))
        }
        var frame = conversation.newFrameWriter()
        do {
            try frame.build("RETURN") { (frame: inout BondFrameWriter) throws(BondError) in try frame.write(result) }
        } catch {
            return line("ERROR", "cannot serialize the result of \(name): \(error.message)")
        }
        return frame.outgoing
    }

    /// Answers the driver at once with `verb` and a string payload (it waits for nothing else).
    private func answer(_ verb: String, _ text: String) {
        _ = connection.send(line(verb, text))
    }

    private func line(_ verb: String, _ text: String) -> OutgoingFrame {
        var payload: [UInt8] = []
        JSONWriter.writeString(text, into: &payload)
        return OutgoingFrame(line: BondFrameWriter.line(verb, payload: payload))
    }

    // MARK: Transitions

    /// Changes the stack under its lock, takes or lets go of the connection as the stack needs
    /// (under the same lock: the order is always this lock, then the connection's), then does
    /// what the change asks, without the lock.
    /// Returns whether a frame was sent.
    @discardableResult
    private func transition(_ change: (inout AsyncStack, inout AsyncEffects) -> Void) -> Bool {
        var effects = AsyncEffects()
        let depth = stack.withLock { stack -> Int? in
            change(&stack, &effects)
            stack.advance(&effects)
            while effects.claim {
                effects.claim = false
                let claim = connection.state.withLock { state in
                    state.beginAsync({ [self] in handle($0) }, whenIdle: { [self] in
                        Task { transition { stack, effects in stack.connectionIdle(&effects) } }
                    })
                }
                switch claim {
                case .claimed: stack.connectionClaimed(&effects)
                case .busy: stack.waitForConnection()
                case .closed: stack.closed(&effects)
                }
            }
            if effects.release {
                connection.state.changing { $0.endAsync() }  // (wakes a blocking request waiting)
            }
            if connection.delivery.logs { connection.delivery.nest.set(stack.nest) }
            guard let depth = effects.depth else { return nil }
            connection.state.withLock { $0.asyncDepth(max(depth, 1)) }
            return depth
        }
        if let depth { connection.stateChanged?(effects.release ? .idle : .busy(depth: depth)) }
        perform(effects)
        return effects.send != nil
    }

    private func perform(_ effects: AsyncEffects) {
        if var frame = effects.send {
            // [ext] Handles let go ride on the next frame, a RELEASE before it.
            if let released = conversation.objects.takeReleases() { frame.release = OutgoingFrame.releaseLine(released) }
            // (A failed write is seen as the end of the output, which fails every request.)
            _ = connection.send(frame)
        }
        if effects.interrupt { interruptInterpreter() }
        for (continuation, result) in effects.resume { continuation.resume(with: result) }
        if !effects.terminated.isEmpty {
            let error = conversation.terminated()
            for continuation in effects.terminated { continuation.resume(throwing: error) }
        }
        for task in effects.cancel { task.cancel() }
        if let id = effects.graceFor { Task { await awaitInterrupt(of: id) } }
        if effects.closeBond {
            connection.delivery.warn(
                "\(connection.language) did not answer the interrupt within \(grace.seconds.formatted1) s; the bond was closed")
            startThread(name: "bond close") { [closeBond] in closeBond() }
        }
    }
}

/// What a transition of `AsyncStack` asks to be done once its lock is let go.
struct AsyncEffects {
    /// A frame to send (at most one: see `AsyncConversation`).
    var send: OutgoingFrame?
    /// Requests answered.
    var resume: [(CheckedContinuation<BondValue, any Error>, Result<BondValue, any Error>)] = []
    /// Requests that fail with the `.terminated` error.
    var terminated: [CheckedContinuation<BondValue, any Error>] = []
    var interrupt = false
    /// Callbacks and timers to cancel.
    var cancel: [Task<Void, Never>] = []
    /// The request whose interrupt starts a grace period.
    var graceFor: UInt64?
    /// The interpreter ignored an interrupt: close the bond.
    var closeBond = false
    /// Take the connection for the async face (done by `transition`, under the lock).
    var claim = false
    /// Let the connection go.
    var release = false
    /// The bond's new depth (requests open), when it changed.
    var depth: Int?
}

/// The async face's mirror of the interpreter's stack, and the requests waiting to be sent.
/// Owned by `AsyncConversation.stack` (behind its lock); each change is one method, named for what
/// happened, and says in `AsyncEffects` what to do after.
struct AsyncStack {
    let errors: BondErrors

    init(errors: BondErrors) { self.errors = errors }

    struct Request {
        let id: UInt64
        let line: OutgoingFrame
        /// Where it stands in the conversations of the task chain that made it (`AsyncNest`).
        let nest: Int
        /// `nil` once the caller was answered early (a grace period ran out).
        var continuation: CheckedContinuation<BondValue, any Error>?
        var timer: Task<Void, Never>?
        var stop: AsyncStop?
    }

    struct Callback {
        let id: UInt64
        var task: Task<Void, Never>?
        /// The frame answering the call, held while requests above it wait for their reply.
        var answer: OutgoingFrame?
        var cancelled = false
    }

    enum Level {
        case request(Request)
        case callback(Callback)
    }

    private var levels: [Level] = []
    private var queued = Deque<Request>()
    private var nextID: UInt64 = 0
    /// Ids handed out whose request is not submitted yet, and the stops that came meanwhile.
    private var reserved: [UInt64: AsyncStop?] = [:]
    private var holdsConnection = false
    /// The depth last reported (`noteDepth`).
    private var reportedDepth = 0
    private var waitsForConnection = false
    private var isClosed = false

    mutating func reserveID() -> UInt64 {
        nextID += 1
        reserved[nextID] = .some(nil)
        return nextID
    }

    // MARK: Requests

    mutating func submit(_ request: Request, _ effects: inout AsyncEffects) {
        let earlyStop = reserved.removeValue(forKey: request.id) ?? nil
        if let earlyStop {
            return finish(request, .failure(error(for: earlyStop, answered: true)), &effects)
        }
        if isClosed {
            if let timer = request.timer { effects.cancel.append(timer) }
            if let continuation = request.continuation { effects.terminated.append(continuation) }
            return
        }
        queued.append(request)
    }

    mutating func stop(_ id: UInt64, _ why: AsyncStop, _ effects: inout AsyncEffects) {
        if reserved[id] != nil {
            reserved[id] = .some(why)
        } else if let index = queued.firstIndex(where: { $0.id == id }) {
            let request = queued.remove(at: index)
            finish(request, .failure(error(for: why, answered: true)), &effects)
        } else if let index = levels.firstIndex(where: { if case .request(let r) = $0 { r.id == id } else { false } }),
            case .request(var request) = levels[index], request.stop == nil
        {
            request.stop = why
            levels[index] = .request(request)
            if index == levels.count - 1 {
                effects.interrupt = true
                effects.graceFor = id
            }
            cancelCallbacks(above: index, &effects)
        }
    }

    /// Whether request `id` was stopped, is not answered, and runs on top.
    func runsInterrupted(_ id: UInt64) -> Bool {
        guard !isClosed, case .request(let request)? = levels.last, request.id == id else { return false }
        return request.stop != nil && request.continuation != nil
    }

    /// The interpreter did not answer the interrupt of `id` in time: its caller is answered
    /// now, and the bond is closed (so no late reply is taken for another request's).
    mutating func graceExpired(_ id: UInt64, _ effects: inout AsyncEffects) {
        guard !isClosed, let index = levels.firstIndex(where: { if case .request(let r) = $0 { r.id == id } else { false } }),
            case .request(var request) = levels[index], let stop = request.stop, let continuation = request.continuation
        else { return }
        request.continuation = nil
        levels[index] = .request(request)
        effects.resume.append((continuation, .failure(error(for: stop, answered: false))))
        effects.closeBond = true
    }

    private mutating func cancelCallbacks(above index: Int, _ effects: inout AsyncEffects) {
        for i in levels.indices where i > index {
            guard case .callback(var callback) = levels[i], !callback.cancelled else { continue }
            callback.cancelled = true
            if let task = callback.task { effects.cancel.append(task) }
            levels[i] = .callback(callback)
        }
    }

    // MARK: The interpreter's side

    /// A reply (`RETURN`, `EXCEPT`, `ERROR`) came: it answers the request on top.
    mutating func replied(_ result: Result<BondValue, any Error>, _ effects: inout AsyncEffects) {
        // A reply while callbacks are on top: the interpreter's interrupt unwound its CALLs
        // (Node.js ends every request in progress); their answers are not awaited any more.
        while case .callback(let callback)? = levels.last {
            if let task = callback.task { effects.cancel.append(task) }
            levels.removeLast()
        }
        guard case .request(let request)? = levels.last else { return }  // (nothing waits: stale)
        levels.removeLast()
        noteDepth(&effects)
        finish(request, result, &effects)
    }

    /// The driver sent a `CALL`: a callback above the request on top, its task made by `makeTask`.
    @discardableResult
    mutating func pushCallback(_ effects: inout AsyncEffects, makeTask: (UInt64) -> Task<Void, Never>) -> UInt64 {
        pushCallback(servedBy: makeTask(nextID + 1), &effects)
    }

    /// The driver sent a `CALL`, served by `task` (a task serving callbacks caught it).
    mutating func pushCallback(servedBy task: Task<Void, Never>, _ effects: inout AsyncEffects) -> UInt64 {
        nextID += 1
        let stopped = levels.contains { if case .request(let r) = $0 { r.stop != nil } else { false } }
        if stopped { effects.cancel.append(task) }
        levels.append(.callback(Callback(id: nextID, task: task, cancelled: stopped)))
        noteDepth(&effects)
        return nextID
    }

    /// The task serving callback `id`.
    func task(ofCallback id: UInt64) -> Task<Void, Never>? {
        for case .callback(let callback) in levels.reversed() where callback.id == id { return callback.task }
        return nil
    }

    /// The bond's depth is the number of requests open, as on the blocking face (the callbacks
    /// between them are not counted): reported when it changes.
    private mutating func noteDepth(_ effects: inout AsyncEffects) {
        let depth = levels.count { if case .request = $0 { true } else { false } }
        guard depth != reportedDepth else { return }
        reportedDepth = depth
        effects.depth = depth
    }

    /// The nest of the innermost request (`AsyncNest`): the lines of the bond are logged at it,
    /// a callback's `RETURN` included (0 when idle).
    var nest: Int {
        for case .request(let request) in levels.reversed() { return request.nest }
        return 0
    }

    /// Whether anything is open on the interpreter's side (a request or a callback).
    var awaitsTheInterpreter: Bool { !levels.isEmpty }

    /// The id of the request or callback on top.
    var topID: UInt64? {
        switch levels.last {
        case .request(let request)?: request.id
        case .callback(let callback)?: callback.id
        case nil: nil
        }
    }

    /// A callback's function returned (or threw): `answer` is the frame to send once it is on top.
    mutating func callbackAnswered(_ id: UInt64, _ answer: OutgoingFrame, _ effects: inout AsyncEffects) {
        guard let index = levels.firstIndex(where: { if case .callback(let c) = $0 { c.id == id } else { false } }),
            case .callback(var callback) = levels[index]
        else { return }
        callback.answer = answer
        callback.task = nil
        levels[index] = .callback(callback)
    }

    /// The interpreter's output ended: every request fails, every callback is cancelled.
    mutating func closed(_ effects: inout AsyncEffects) {
        isClosed = true
        for level in levels {
            switch level {
            case .request(let request):
                if let stop = request.stop {
                    finish(request, .failure(error(for: stop, answered: false)), &effects)
                } else {
                    finishTerminated(request, &effects)
                }
            case .callback(let callback):
                if let task = callback.task { effects.cancel.append(task) }
            }
        }
        for request in queued { finishTerminated(request, &effects) }
        levels = []
        queued = []
        if holdsConnection {
            holdsConnection = false
            effects.release = true  // (the state reported is the connection's `.terminated`)
        }
    }

    // MARK: The connection

    mutating func connectionClaimed(_ effects: inout AsyncEffects) {
        holdsConnection = true
        advance(&effects)
    }

    mutating func waitForConnection() { waitsForConnection = true }

    /// The blocking face's conversation ended: try again to take the connection.
    mutating func connectionIdle(_ effects: inout AsyncEffects) { waitsForConnection = false }

    // MARK: What comes next

    /// After every change: sends a callback's held answer once it is on top, sends the next
    /// request when the interpreter can read it, interrupts again a stopped request back on
    /// top, and takes or lets go of the connection.
    mutating func advance(_ effects: inout AsyncEffects) {
        guard !isClosed, effects.send == nil else { return }
        switch levels.last {
        case .callback(let callback)?:
            if let answer = callback.answer {
                levels.removeLast()
                effects.send = answer
                noteDepth(&effects)
                if case .request(let request)? = levels.last, request.stop != nil, request.continuation != nil {
                    // It was stopped while its callback ran. The answer just sent unwinds it in
                    // most code, so it is interrupted only if it still runs after `interruptRetry`:
                    // an interrupt sent now could land before the driver has read the answer,
                    // and leave that answer to be taken for a later request's reply.
                    effects.graceFor = request.id
                }
            } else if !queued.isEmpty {
                sendNext(&effects)
            }
        case .request?:
            break
        case nil:
            if !queued.isEmpty {
                if holdsConnection {
                    sendNext(&effects)
                } else if !waitsForConnection {
                    effects.claim = true
                }
            } else if holdsConnection {
                holdsConnection = false
                effects.release = true
                reportedDepth = 0
                effects.depth = 0
            }
        }
    }

    private mutating func sendNext(_ effects: inout AsyncEffects) {
        let request = queued.removeFirst()
        effects.send = request.line
        levels.append(.request(Request(
            id: request.id, line: OutgoingFrame(line: []), nest: request.nest, continuation: request.continuation, timer: request.timer)))
        noteDepth(&effects)
    }

    // MARK: Answers

    private func finish(_ request: Request, _ result: Result<BondValue, any Error>, _ effects: inout AsyncEffects) {
        if let timer = request.timer { effects.cancel.append(timer) }
        guard let continuation = request.continuation else { return }
        if let stop = request.stop {
            // (The interpreter answered: its interrupt error, or a value when the code ended
            // before the interrupt took effect. Either way the caller learns why it stopped.)
            effects.resume.append((continuation, .failure(error(for: stop, answered: true))))
        } else {
            effects.resume.append((continuation, result))
        }
    }

    private func finishTerminated(_ request: Request, _ effects: inout AsyncEffects) {
        if let timer = request.timer { effects.cancel.append(timer) }
        if let continuation = request.continuation { effects.terminated.append(continuation) }
    }

    /// The error a stopped request throws: `CancellationError`, or `.timeout` saying whether
    /// the interpreter answered the interrupt (else the bond is closed).
    func error(for stop: AsyncStop, answered: Bool) -> any Error {
        switch stop {
        case .cancelled: CancellationError()
        case .timedOut(let duration): errors.timeout(duration.seconds, bondClosed: !answered)
        }
    }
}

/// Where a task serving callbacks catches the next `CALL` it reads (see `AsyncConversation.serve`).
final class CallCatcher: Sendable {
    struct Call: Sendable {
        let id: UInt64
        let name: String
        let arguments: [BondValue]
    }

    /// The catcher of the task reading now, if it serves callbacks.
    @TaskLocal static var current: CallCatcher?

    /// The task serving the calls caught.
    let owner: Task<Void, Never>
    private let call = ConditionLock<Call?>(nil)

    init(owner: Task<Void, Never>) { self.owner = owner }

    var isEmpty: Bool { call.withLock { $0 == nil } }
    func set(_ caught: Call) { call.withLock { $0 = caught } }
    func take() -> Call? { call.withLock { $0.take() } }
}

/// How deep an async request runs in the conversations of the tasks that led to it, for the
/// traffic log (`BondTraffic.nest`), counted as the blocking face counts on a thread
/// (`ConversationNest`): a request made by a task serving a `CALL` is nested in the request
/// that `CALL` came from, to any depth, across bonds. Only bonds that log traffic pay for it.
enum AsyncNest {
    /// The count of the task making a request: 0 at the top; in a task serving a `CALL`, the
    /// nest of the request it came from plus `servingStep`.
    @TaskLocal static var count = 0

    /// As on a thread: a request counts one level, and serving its `CALL` one more.
    static let servingStep = 2
}
