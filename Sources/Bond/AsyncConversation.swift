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
final class AsyncConversation: AsyncSink {
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
        // (The stack's spare writer is swapped out and back in: moved, never copied.)
        var writer: BondFrameWriter?
        stack.withLock { swap(&$0.spareWriter, &writer) }
        if writer == nil { writer = conversation.newFrameWriter() }
        try writer!.build(verb, writePayload)
        if closedByUser.isSet && !connection.isClosed { throw errors.usage("the bond is closed") }
        try Task.checkCancellation()  // (a task cancelled already sends nothing)
        let line = writer!.outgoing
        let nest = connection.delivery.logs ? AsyncNest.count : 0
        var submitted: UInt64 = 0
        var sent = false
        connection.sendThenReadBriefly(small: line.isSmall, {
            sent = transition { stack, effects in
                if stack.spareWriter == nil { swap(&stack.spareWriter, &writer) }
                submitted = stack.submit(line: line, nest: nest, &effects)
            }
            return sent
        }, until: { stack.withLock { $0.topID != submitted } }, stillAwaited: awaitsTheInterpreter)
        let id = submitted
        if sent, let outcome = stack.withLock({ $0.takeOutcome(of: id) }) { return try result(of: outcome) }
        if let timeout {
            let timer = Task { [self, id] in
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                stop(id, .timedOut(timeout))
            }
            if !stack.withLock({ $0.setTimer(timer, of: id) }) { timer.cancel() }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<BondValue, any Error>) in
                transition { stack, effects in stack.attach(continuation, to: id, &effects) }
            }
        } onCancel: {
            stop(id, .cancelled)
        }
    }

    /// What a request answered before its task suspended returns or throws.
    private func result(of outcome: AsyncStack.Outcome) throws -> BondValue {
        switch outcome {
        case .result(let result): try result.get()
        case .terminated: throw conversation.terminated()
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

    /// The blocking face's conversation ended: the requests waiting take the connection.
    func connectionIdle() {
        Task { transition { stack, effects in stack.connectionIdle(&effects) } }
    }

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
        let logs = connection.delivery.logs
        transition { stack, effects in
            if stack.catchCall(name, arguments, &effects) { return }
            let nest = logs ? stack.nest + AsyncNest.servingStep : 0
            _ = stack.pushCallback(&effects) { id in
                let call = CaughtCall(id: id, name: name, arguments: arguments)
                guard logs else { return Task { [self] in await serve(call) } }
                return Task { [self] in await AsyncNest.$count.withValue(nest) { await serve(call) } }
            }
        }
    }

    /// Serves a callback in the task made for it: runs the function, answers. Speed trick: a
    /// task whose answer was sent then reads the interpreter's output for a moment itself, and
    /// serves the next `CALL` it reads in the same task (the interpreter calls in loops), with
    /// no wake-up of another thread (async callback round trip: docs/performance.md).
    private func serve(_ first: CaughtCall) async {
        var call = first
        // (One frame writer for its answers: no buffer made, no growth, per answer.)
        var writer = conversation.newFrameWriter()
        while true {
            let function = conversation.exports.withLock { $0.entry(named: call.name) }
            let answer = await answer(of: function, call.name, call.arguments, writer: &writer)
            var sent = false
            var top: UInt64?
            // Sends the answer, then reads, catching the next CALL (if the answer went and the
            // task is not cancelled).
            connection.sendThenReadBriefly(small: answer.isSmall, {
                var owner: Task<Void, Never>?
                sent = transition { stack, effects in
                    owner = stack.task(ofCallback: call.id)
                    stack.callbackAnswered(call.id, answer, &effects)
                }
                guard sent, let owner, !Task.isCancelled else { return false }
                top = stack.withLock { $0.startCatching(for: owner) }
                return top != nil
            }, until: { stack.withLock { $0.topID != top } }, stillAwaited: awaitsTheInterpreter)
            guard top != nil else {
                if sent { connection.wakeBackgroundReader() }  // (no task reads what the answer brings)
                return
            }
            guard let next = stack.withLock({ $0.stopCatching() }) else { return }
            call = next
        }
    }

    /// Whether a reply or a `CALL` is still to come from the interpreter (see `Connection.readBriefly`).
    func awaitsTheInterpreter() -> Bool { stack.withLock { $0.awaitsTheInterpreter } }

    /// The `RETURN` (or `EXCEPT`, `ERROR`) frame answering a call of `function`.
    private func answer(
        of function: ExportTable.Entry?, _ name: String, _ arguments: [BondValue], writer frame: inout BondFrameWriter
    ) async -> OutgoingFrame {
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
            var claimed = false
            while effects.claim {
                effects.claim = false
                let claim = connection.state.withLock { $0.beginAsync(self) }
                switch claim {
                case .claimed:
                    claimed = true
                    stack.connectionClaimed(&effects)
                case .busy: stack.waitForConnection()
                case .closed: stack.closed(&effects)
                }
            }
            if effects.release {
                connection.state.changing { $0.endAsync() }  // (wakes a blocking request waiting)
            }
            if connection.delivery.logs { connection.delivery.nest.set(stack.nest) }
            guard let depth = effects.depth else { return nil }
            // (Taking the connection set its depth to 1, letting it go to 0: no lock again then.)
            if !effects.release && !(claimed && depth <= 1) { connection.state.withLock { $0.asyncDepth(max(depth, 1)) } }
            return depth
        }
        if let depth { connection.stateChanged?(effects.release ? .idle : .busy(depth: depth)) }
        let sends = effects.send != nil
        perform(&effects)
        return sends
    }

    private func perform(_ effects: inout AsyncEffects) {
        if var frame = effects.send.take() {
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
        /// Its frame, until it is sent (then nil: a request copied holds no buffer).
        var line: OutgoingFrame?
        /// Where it stands in the conversations of the task chain that made it (`AsyncNest`).
        let nest: Int
        /// Who waits for the answer.
        var waiter: Waiter
        var timer: Task<Void, Never>?
        var stop: AsyncStop?
    }

    /// Who waits for a request's answer.
    enum Waiter {
        /// Its task, reading the interpreter's output briefly before it suspends: an answer
        /// that comes meanwhile is kept in `outcomes`, and no continuation is ever made (a
        /// speed trick: the async call round trip, docs/performance.md).
        case readingBriefly
        /// Its task, suspended.
        case continuation(CheckedContinuation<BondValue, any Error>)
        /// Nobody: the caller was answered early (a grace period ran out).
        case answered

        var isWaiting: Bool { if case .answered = self { false } else { true } }
    }

    /// An answer kept for a task that reads briefly.
    enum Outcome {
        case result(Result<BondValue, any Error>)
        /// The bond ended (the error is made by the conversation, out of the lock).
        case terminated
    }

    struct Callback {
        let id: UInt64
        var task: Task<Void, Never>?
        /// The frame answering the call, held while requests above it wait for their reply.
        var answer: OutgoingFrame?
        var cancelled = false
    }

    /// A level of the stack: its id and kind stored beside what it holds, so that the hot paths
    /// read them in place (matching the payload of an enum copies it, retaining every
    /// reference it holds: about twenty such copies a callback, 200 host instructions each;
    /// the async callback round trip, docs/performance.md).
    struct Level {
        let id: UInt64
        /// A request (else a callback).
        let isRequest: Bool
        var kind: Kind

        /// (Boxed: a level copied, as array scans of the optimized build still do, retains one
        /// reference rather than each one its payload holds.)
        indirect enum Kind {
            case request(Request)
            case callback(Callback)
        }

        init(_ request: Request) { (id, isRequest, kind) = (request.id, true, .request(request)) }
        init(_ callback: Callback) { (id, isRequest, kind) = (callback.id, false, .callback(callback)) }

        /// A request stopped (cancelled, timed out) whose caller still waits.
        var isStoppedAndAwaited: Bool {
            if case .request(let request) = kind { request.stop != nil && request.waiter.isWaiting } else { false }
        }

        /// A request stopped (cancelled, timed out).
        var isStopped: Bool { if case .request(let request) = kind { request.stop != nil } else { false } }

        /// A callback whose answer is held until it is on top.
        var holdsAnswer: Bool { if case .callback(let callback) = kind { callback.answer != nil } else { false } }
    }

    private var levels: [Level] = []
    private var queued = Deque<Request>()
    private var nextID: UInt64 = 0
    /// Answers that came while their task read briefly (`Waiter.readingBriefly`): one at most,
    /// but for requests whose tasks were slow to look.
    private var outcomes: [(id: UInt64, outcome: Outcome)] = []
    /// A task that answered a callback and now reads briefly: it serves the next `CALL` read
    /// meanwhile itself (speed trick: a loop of callbacks in one task, no task made and no
    /// thread woken for each; the async callback round trip, docs/performance.md).
    private var catcher: (owner: Task<Void, Never>, caught: CaughtCall?)?
    /// A frame writer of a request sent, to build the next one in (its buffer and its speed
    /// tricks kept: no allocation, no name encoded again).
    var spareWriter: BondFrameWriter?
    private var holdsConnection = false
    /// The depth last reported (`noteDepth`).
    private var reportedDepth = 0
    private var waitsForConnection = false
    private var isClosed = false

    // MARK: Requests

    /// A request to send: queued, sent when the interpreter can read it (`advance`). Its id.
    mutating func submit(line: OutgoingFrame, nest: Int, _ effects: inout AsyncEffects) -> UInt64 {
        nextID += 1
        let request = Request(id: nextID, line: line, nest: nest, waiter: .readingBriefly)
        if isClosed {
            finishTerminated(request, &effects)
        } else {
            queued.append(request)
        }
        return nextID
    }

    /// Request `id`'s timer, cancelled when it ends. False if it has ended.
    mutating func setTimer(_ timer: Task<Void, Never>, of id: UInt64) -> Bool {
        if let index = queued.firstIndex(where: { $0.id == id }) {
            queued[index].timer = timer
            return true
        }
        guard let index = levelIndex(ofRequest: id), case .request(var request) = levels[index].kind else { return false }
        request.timer = timer
        levels[index].kind = .request(request)
        return true
    }

    /// The task of request `id` suspends on `continuation`: it is resumed at once if the
    /// answer came meanwhile.
    mutating func attach(_ continuation: CheckedContinuation<BondValue, any Error>, to id: UInt64, _ effects: inout AsyncEffects) {
        if let outcome = takeOutcome(of: id) {
            switch outcome {
            case .result(let result): effects.resume.append((continuation, result))
            case .terminated: effects.terminated.append(continuation)
            }
        } else if let index = queued.firstIndex(where: { $0.id == id }) {
            queued[index].waiter = .continuation(continuation)
        } else if let index = levelIndex(ofRequest: id), case .request(var request) = levels[index].kind {
            request.waiter = .continuation(continuation)
            levels[index].kind = .request(request)
        } else {
            effects.terminated.append(continuation)  // (not reached: a request ends with an outcome)
        }
    }

    /// The answer kept for request `id`, if it came while its task read briefly.
    mutating func takeOutcome(of id: UInt64) -> Outcome? {
        guard let index = outcomes.firstIndex(where: { $0.id == id }) else { return nil }
        return outcomes.remove(at: index).outcome
    }

    private func levelIndex(ofRequest id: UInt64) -> Int? {
        levels.firstIndex { $0.isRequest && $0.id == id }
    }

    mutating func stop(_ id: UInt64, _ why: AsyncStop, _ effects: inout AsyncEffects) {
        if let index = queued.firstIndex(where: { $0.id == id }) {
            let request = queued.remove(at: index)
            finish(request, .failure(error(for: why, answered: true)), &effects)
        } else if let index = levelIndex(ofRequest: id), case .request(var request) = levels[index].kind, request.stop == nil
        {
            request.stop = why
            levels[index].kind = .request(request)
            if index == levels.count - 1 {
                effects.interrupt = true
                effects.graceFor = id
            }
            cancelCallbacks(above: index, &effects)
        }
    }

    /// Whether request `id` was stopped, is not answered, and runs on top.
    func runsInterrupted(_ id: UInt64) -> Bool {
        guard !isClosed, let top = levels.indices.last, levels[top].id == id, case .request(let request) = levels[top].kind else { return false }
        return request.stop != nil && request.waiter.isWaiting
    }

    /// The interpreter did not answer the interrupt of `id` in time: its caller is answered
    /// now, and the bond is closed (so no late reply is taken for another request's).
    mutating func graceExpired(_ id: UInt64, _ effects: inout AsyncEffects) {
        guard !isClosed, let index = levelIndex(ofRequest: id), case .request(var request) = levels[index].kind,
            let stop = request.stop, request.waiter.isWaiting
        else { return }
        answer(request, .result(.failure(error(for: stop, answered: false))), &effects)
        request.waiter = .answered
        levels[index].kind = .request(request)
        effects.closeBond = true
    }

    private mutating func cancelCallbacks(above index: Int, _ effects: inout AsyncEffects) {
        for i in levels.indices where i > index {
            guard case .callback(var callback) = levels[i].kind, !callback.cancelled else { continue }
            callback.cancelled = true
            if let task = callback.task { effects.cancel.append(task) }
            levels[i].kind = .callback(callback)
        }
    }

    // MARK: The interpreter's side

    /// A reply (`RETURN`, `EXCEPT`, `ERROR`) came: it answers the request on top.
    mutating func replied(_ result: Result<BondValue, any Error>, _ effects: inout AsyncEffects) {
        // A reply while callbacks are on top: the interpreter's interrupt unwound its CALLs
        // (Node.js ends every request in progress); their answers are not awaited any more.
        while let top = levels.indices.last, !levels[top].isRequest {
            if case .callback(let callback) = levels.removeLast().kind, let task = callback.task { effects.cancel.append(task) }
        }
        guard !levels.isEmpty, case .request(let request) = levels.removeLast().kind else { return }  // (nothing waits: stale)
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
        let stopped = levels.contains { $0.isStopped }
        if stopped { effects.cancel.append(task) }
        levels.append(Level(Callback(id: nextID, task: task, cancelled: stopped)))
        noteDepth(&effects)
        return nextID
    }

    /// `owner` reads briefly after its answer, and catches the next `CALL`. The id on top.
    mutating func startCatching(for owner: Task<Void, Never>) -> UInt64? {
        guard let top = topID, catcher == nil else { return nil }
        catcher = (owner, nil)
        return top
    }

    /// The brief read is over: the `CALL` caught meanwhile, if any.
    mutating func stopCatching() -> CaughtCall? {
        defer { catcher = nil }
        return catcher?.caught
    }

    /// A `CALL` came while a task that serves callbacks reads briefly: it is that task's to
    /// serve. False if none waits for one.
    mutating func catchCall(_ name: String, _ arguments: [BondValue], _ effects: inout AsyncEffects) -> Bool {
        guard let owner = catcher?.owner, catcher?.caught == nil else { return false }
        let id = pushCallback(servedBy: owner, &effects)
        catcher?.caught = CaughtCall(id: id, name: name, arguments: arguments)
        return true
    }

    /// The task serving callback `id`.
    func task(ofCallback id: UInt64) -> Task<Void, Never>? {
        guard let index = levels.lastIndex(where: { !$0.isRequest && $0.id == id }), case .callback(let callback) = levels[index].kind
        else { return nil }
        return callback.task
    }

    /// The bond's depth is the number of requests open, as on the blocking face (the callbacks
    /// between them are not counted): reported when it changes.
    private mutating func noteDepth(_ effects: inout AsyncEffects) {
        var depth = 0
        for index in levels.indices where levels[index].isRequest { depth += 1 }
        guard depth != reportedDepth else { return }
        reportedDepth = depth
        effects.depth = depth
    }

    /// The nest of the innermost request (`AsyncNest`): the lines of the bond are logged at it,
    /// a callback's `RETURN` included (0 when idle).
    var nest: Int {
        for level in levels.reversed() { if case .request(let request) = level.kind { return request.nest } }
        return 0
    }

    /// Whether a reply or a `CALL` is still to come from the interpreter: a request is on top.
    /// (With a callback on top the interpreter waits for its answer, and the task that sends
    /// it reads after, or wakes the background reader: no wake-up of that reader for each
    /// `CALL` of a loop of callbacks, which then held the reader when the serving task wanted
    /// it: the async callback round trip, docs/performance.md.)
    var awaitsTheInterpreter: Bool { !levels.isEmpty && levels[levels.count - 1].isRequest }

    /// The id of the request or callback on top.
    var topID: UInt64? { levels.isEmpty ? nil : levels[levels.count - 1].id }

    /// A callback's function returned (or threw): `answer` is the frame to send once it is on top.
    mutating func callbackAnswered(_ id: UInt64, _ answer: OutgoingFrame, _ effects: inout AsyncEffects) {
        guard let index = levels.firstIndex(where: { !$0.isRequest && $0.id == id }),
            case .callback(var callback) = levels[index].kind
        else { return }
        callback.answer = answer
        callback.task = nil
        levels[index].kind = .callback(callback)
    }

    /// The interpreter's output ended: every request fails, every callback is cancelled.
    mutating func closed(_ effects: inout AsyncEffects) {
        isClosed = true
        for level in levels {
            switch level.kind {
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
        switch levels.indices.last {
        case let top? where !levels[top].isRequest:
            if levels[top].holdsAnswer, case .callback(let callback) = levels.removeLast().kind, let answer = callback.answer {
                effects.send = answer
                noteDepth(&effects)
                if let below = levels.indices.last, levels[below].isStoppedAndAwaited {
                    // It was stopped while its callback ran. The answer just sent unwinds it in
                    // most code, so it is interrupted only if it still runs after `interruptRetry`:
                    // an interrupt sent now could land before the driver has read the answer,
                    // and leave that answer to be taken for a later request's reply.
                    effects.graceFor = levels[below].id
                }
            } else if !queued.isEmpty {
                sendNext(&effects)
            }
        case .some:
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
        var request = queued.removeFirst()
        effects.send = request.line.take()
        levels.append(Level(request))
        noteDepth(&effects)
    }

    // MARK: Answers

    private mutating func finish(_ request: Request, _ result: Result<BondValue, any Error>, _ effects: inout AsyncEffects) {
        if let timer = request.timer { effects.cancel.append(timer) }
        // (A stopped request's interpreter answered: its interrupt error, or a value when the
        // code ended before the interrupt took effect. Either way the caller learns why it stopped.)
        answer(request, .result(request.stop.map { .failure(error(for: $0, answered: true)) } ?? result), &effects)
    }

    private mutating func finishTerminated(_ request: Request, _ effects: inout AsyncEffects) {
        if let timer = request.timer { effects.cancel.append(timer) }
        answer(request, .terminated, &effects)
    }

    /// Gives `outcome` to whoever waits for `request`: its continuation, or its task reading briefly.
    private mutating func answer(_ request: Request, _ outcome: Outcome, _ effects: inout AsyncEffects) {
        switch (request.waiter, outcome) {
        case (.readingBriefly, _): outcomes.append((request.id, outcome))
        case (.continuation(let continuation), .result(let result)): effects.resume.append((continuation, result))
        case (.continuation(let continuation), .terminated): effects.terminated.append(continuation)
        case (.answered, _): break
        }
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

/// A `CALL` of the interpreter, as a callback of the stack: served by a task made for it, or
/// caught by the task that served the one before (see `AsyncConversation.serve`).
struct CaughtCall: Sendable {
    let id: UInt64
    let name: String
    let arguments: [BondValue]
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
