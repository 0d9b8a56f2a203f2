import Foundation
import Synchronization

/// The async face of a bond: the same bond, connection and driver as the blocking API, but a
/// request suspends its task rather than blocking a thread (see docs/guide.md, "async/await").
///
/// - A cancelled task interrupts the interpreter running its request (in a chain of callbacks,
///   the innermost one running code) and throws `CancellationError`; the bond goes on.
/// - `timeout:` interrupts the request when it passes and throws `BondError.timeout`, whose
///   `bondClosed` says whether the interpreter answered the interrupt (the bond goes on) or
///   not within `BondOptions.interruptGracePeriod` (the bond was closed).
/// - Requests from any number of tasks may be in flight on one bond: one that comes while the
///   interpreter waits for an exported Swift function to return is sent as a nested request;
///   others wait their turn. Async exported functions may await any bond, to any depth.
extension Bond {
    /// Starts an interpreter and injects the driver; see `init(language:command:arguments:options:stateChanged:)`.
    /// No thread of the cooperative pool waits meanwhile (the start-up runs on a thread of its own).
    public static func start(
        language: String, command: String? = nil, arguments: [String] = [], options: BondOptions = BondOptions(),
        stateChanged: (@Sendable (BondState) -> Void)? = nil
    ) async throws(BondError) -> Bond {
        let result = await offThePool { () throws(BondError) -> Bond in
            try Bond(language: language, command: command, arguments: arguments, options: options, stateChanged: stateChanged)
        }
        return try result.get()
    }

    /// Evaluates one expression and returns its value.
    @discardableResult
    public func eval(_ code: String, timeout: Duration? = nil) async throws -> BondValue {
        try await asyncConversation.request("EVAL", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.write(BondValue.string(code))
        }
    }

    /// Runs statements at the top level of the interpreter.
    public func evalBlock(_ code: String, timeout: Duration? = nil) async throws {
        _ = try await asyncConversation.request("EVAL_BLOCK", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.write(BondValue.string(code))
        }
    }

    /// Calls `name` (any callable expression of the language) with the arguments converted.
    @discardableResult
    public func call<each Argument: BondArgument>(
        _ name: String, _ arguments: repeat each Argument, timeout: Duration? = nil
    ) async throws -> BondValue {
        let owner = ObjectIdentifier(self)
        return try await asyncConversation.request("CALL", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.writeCall(name, refsOf: owner) { (frame: inout BondFrameWriter) throws(BondError) in
                for argument in repeat each arguments { try frame.writeArgument(argument) }
            }
        }
    }

    /// `call` with the arguments as an array of values.
    @discardableResult
    public func call(_ name: String, values: [BondValue], timeout: Duration? = nil) async throws -> BondValue {
        let owner = ObjectIdentifier(self)
        return try await asyncConversation.request("CALL", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.writeCall(name, refsOf: owner) { (frame: inout BondFrameWriter) throws(BondError) in
                for value in values { try frame.writeArgument(value) }
            }
        }
    }

    /// `call` with the arguments as a list made at run time (`nil` for a null; refs among them
    /// are evaluated by the interpreter).
    @discardableResult
    public func call(_ name: String, arguments: [(any BondArgument)?], timeout: Duration? = nil) async throws -> BondValue {
        let owner = ObjectIdentifier(self)
        return try await asyncConversation.request("CALL", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.writeCall(name, refsOf: owner) { (frame: inout BondFrameWriter) throws(BondError) in
                for argument in arguments {
                    if let argument { try frame.writeArgument(argument) } else { try frame.writeArgument(BondValue.null) }
                }
            }
        }
    }

    /// Runs `code` as the language's REPL would run what a user typed (see the blocking
    /// `run(_:unserializable:)`; without the `RUN` extension, an expression then a block, each
    /// given `timeout`).
    public func run(
        _ code: String, unserializable: BondUnserializable = .describe, timeout: Duration? = nil
    ) async throws -> BondResult? {
        if unserializable == .handle { try objects.requireOn() }
        guard offersRun else {
            do {
                return .value(try await eval(code, timeout: timeout))
            } catch BondError.remote {
                try await evalBlock(code, timeout: timeout)
                return nil
            }
        }
        let payload = Self.runPayload(code, mode: "input", unserializable)
        let reply = try await asyncConversation.request("RUN", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.write(payload)
        }
        return try result(ofRunReply: reply)
    }

    /// Evaluates one expression; a value JSON cannot carry is described or an error, as asked
    /// (see the blocking `eval(_:unserializable:)`).
    public func eval(_ code: String, unserializable: BondUnserializable, timeout: Duration? = nil) async throws -> BondResult {
        if unserializable == .handle { try objects.requireOn() }
        guard offersRun else {
            guard unserializable == .error else {
                throw errors.usage(
                    "describing values that cannot be serialized needs the RUN extension, which the \(language) driver does not offer")
            }
            return .value(try await eval(code, timeout: timeout))
        }
        let payload = Self.runPayload(code, mode: "expression", unserializable)
        let reply = try await asyncConversation.request("RUN", timeout: timeout) { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.write(payload)
        }
        guard let result = try result(ofRunReply: reply) else {
            throw errors.protocolViolation("RUN of an expression answered with no value")
        }
        return result
    }

    /// Makes `function` callable in the interpreter as the global function `name`; it runs in
    /// a task of its own each time it is called, and may await any bond (this one included).
    public func export(_ name: String, _ function: @escaping AsyncBondFunction) async throws {
        guard Self.isFunctionName(name) else { throw errors.usage("invalid name for an exported function: \"\(name)\"") }
        let previous = conversation.exports.withLock { $0.set(ExportTable.Entry(async: function), for: name) }
        do {
            _ = try await asyncConversation.request("EXPORT", timeout: nil) { (frame: inout BondFrameWriter) throws(BondError) in
                try frame.write(BondValue.string(name))
            }
        } catch {
            conversation.exports.withLock { _ = $0.set(previous, for: name) }
            throw error
        }
    }

    /// Ends the interpreter, as `close()` does, without blocking a thread of the pool.
    public func close() async {
        _ = await offThePool { [self] () throws(BondError) in close() }
    }

    /// Everything the interpreter writes, both channels, in order (see `BondBroadcast`).
    public var output: BondBroadcast<BondOutput> { connection.delivery.streams.output }
    /// Every protocol line sent and received (made only while someone iterates).
    public var traffic: BondBroadcast<BondTraffic> { connection.delivery.streams.traffic }
    /// The bond's state at each change (`busy` with its depth, `idle`, `terminated`).
    public var states: BondBroadcast<BondState> { connection.delivery.streams.states }
}

/// Runs blocking `body` on a thread of its own, and suspends until it returns: the threads of
/// the cooperative pool (as many as the processors) are not to be blocked.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws(BondError) -> T) async -> Result<T, BondError> {
    await withCheckedContinuation { continuation in
        startThread(name: "bond blocking work") {
            continuation.resume(returning: Result { () throws(BondError) in try body() })
        }
    }
}

/// Runs `body` in a task and blocks the calling thread until it ends: an async exported
/// function called by the blocking face (whose calling thread waits anyway).
func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    Task {
        do { outcome.set(.success(try await body())) } catch { outcome.set(.failure(error)) }
    }
    return try outcome.wait().get()
}

/// The result of a task, waited for by a thread.
private final class Outcome<T: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let value = ConditionLock<Result<T, any Error>?>(nil)

    func set(_ result: Result<T, any Error>) {
        value.withLock { $0 = result }
        done.signal()
    }

    func wait() -> Result<T, any Error> {
        done.wait()
        return value.withLock { $0! }
    }
}
