import Foundation
import Synchronization
import OrderedCollections

/// The life of a bond, as seen by the host.
public enum BondState: Sendable, Equatable {
    case starting
    case idle
    /// Serving a request; `depth` counts nested calls (1 = a top-level request).
    case busy(depth: Int)
    case terminated(BondExit)
}

/// A Swift function the interpreter can call.
public typealias BondFunction = @Sendable ([BondValue]) throws -> BondValue

/// A live interpreter with the bond driver injected: evaluate code, call functions with
/// arguments converted both ways, export Swift functions to it, proxy functions between bonds.
///
/// A `Bond` is safe to use from any thread. Requests to one bond are served one conversation
/// at a time; calls nest to any depth on the thread that made the outer call (an exported
/// Swift function may call this bond or any other).
public final class Bond: @unchecked Sendable {
    /// The language, as named by its driver (`"Python"`, `"PHP"`, ...).
    public let language: String
    /// The bond's name in logs and errors.
    public let name: String
    /// The ssh destination when the interpreter runs through ssh, else `nil`.
    public let remoteHost: String?
    /// The interpreter's process id (the local `ssh` for a remote bond).
    public var processID: Int32 { connection.process.pid }

    let connection: Connection
    private let remotePrefix: [String]?
    /// The protocol extensions the driver's manifest offers (`"RUN"`, ...).
    let driverExtensions: Set<String>
    /// The interpreter's process id on the remote machine, for a bond through ssh.
    public private(set) var remoteProcessID: Int32?
    private let transparentExceptions: Bool
    private let timeout: Duration?
    private let closeGracePeriod: Duration
    private let conversation = NSRecursiveLock()
    /// Where frame lines are built, reused from frame to frame (guarded by `conversation`; a
    /// frame is written before any other is built, so nested requests share it too).
    @exclusivity(unchecked) private var lineBuffer: [UInt8] = []
    /// The start of the last `CALL` payload written, `["name",[`, and the name: calls of one
    /// function in a row encode its name once (guarded by `conversation`).
    @exclusivity(unchecked) private var callPrefix: (name: String, bytes: [UInt8]) = ("", [])
    /// The functions exported to the interpreter.
    private let exports = Mutex(ExportTable())
    /// Whether `close()` was called (an object of its own, shared with the connection's
    /// termination handler: see `init`).
    private let closedByUser = ClosedFlag()

    /// Every language whose driver is found (see `BondOptions.driverDirectories`, `$BOND_DRIVERS`).
    public static var languages: [String] { DriverCatalog.languages(extra: []) }

    /// Every language found, searching `directories` first.
    public static func languages(searching directories: [URL]) -> [String] {
        DriverCatalog.languages(extra: directories)
    }

    /// Starts an interpreter and injects the driver (python-bond's `make_bond`).
    ///
    /// - Parameters:
    ///   - language: a driver name, matched without regard to case.
    ///   - command: a shell command line that starts the interpreter (e.g. `"ssh box php"`);
    ///     `nil` runs the driver's default command.
    ///   - arguments: more arguments for the interpreter, passed exactly as given (quoted for the
    ///     shell, twice over ssh).
    public init(
        language: String, command: String? = nil, arguments: [String] = [], options: BondOptions = BondOptions(),
        stateChanged: (@Sendable (BondState) -> Void)? = nil
    ) throws(BondError) {
        let driver = try DriverCatalog.find(language, extra: options.driverDirectories)
        self.language = driver.language
        self.name = options.name ?? driver.language
        self.transparentExceptions = options.transparentExceptions
        self.timeout = options.timeout
        self.closeGracePeriod = options.closeGracePeriod
        self.driverExtensions = Set(driver.manifest.extensions ?? [])
        guard options.serializationProtocol.uppercased() == "JSON" else {
            throw BondError.usage(language: driver.language, message: "unsupported protocol \(options.serializationProtocol); this host speaks JSON")
        }
        guard driver.manifest.proto.contains("JSON") else {
            throw BondError.startup(language: driver.language, message: "the driver does not offer JSON", output: "")
        }
        let launch = SSHLink.adding(options.sshOptions, to: try LaunchCommand.make(
            driver: driver, command: command, arguments: arguments, defaultArguments: options.defaultArguments))
        self.remoteHost = launch.remoteHost
        self.remotePrefix = launch.remotePrefix
        let process: InterpreterProcess
        let sshQuestions = SSHQuestions.start(for: launch, options: options)  // (through ssh only)
        defer { sshQuestions?.stop() }
        do {
            process = try InterpreterProcess.spawn(
                argv: launch.argv, environment: sshQuestions?.environment(options.environment) ?? options.environment,
                workingDirectory: options.workingDirectory)
        } catch {
            throw BondError.startup(language: driver.language, message: "cannot run \(error)", output: "")
        }
        stateChanged?(.starting)
        connection = Connection(
            language: driver.language, name: name, process: process, options: options, stateChanged: stateChanged)
        do {
            try start(driver, within: options.startupTimeout ?? options.timeout)
            if remotePrefix != nil, let pid = driver.manifest.pid {
                remoteProcessID = try eval(pid).intValue.map(Int32.init)
            }
        } catch {
            close()
            throw sshQuestions?.explain(error) ?? error
        }
        // (The handler refers to what it needs, not to the bond: a weak reference to the bond
        // would send every retain and release of it down the runtime's slow path, about 500
        // instructions per call.)
        connection.onTermination = { [remotePrefix, remoteProcessID, closedByUser] in
            // The link died (the local ssh was killed, the connection dropped): make sure the
            // remote interpreter does not linger, as far as the remote machine can be reached.
            guard let remotePrefix, !closedByUser.isSet, let pid = remoteProcessID else { return }
            RemoteCommand.run(remotePrefix + ["kill", "-KILL", String(pid)])
        }
        stateChanged?(.idle)
    }

    deinit { close() }

    private func start(_ driver: Driver, within limit: Duration?) throws(BondError) {
        let deadline = limit.map { Date().addingTimeInterval($0.seconds) } ?? Date().addingTimeInterval(100 * 365 * 86_400)
        func fail(_ message: String) -> BondError {
            var text = message
            if Date() >= deadline {
                text += " within \((limit?.seconds ?? 0).formatted1) s"
            } else if connection.waitUntilFinished(deadline: Date().addingTimeInterval(2)) {
                text += " (\(connection.termination.exit))"
            }
            return .startup(language: language, message: text, output: connection.startupNoise)
        }
        func regex(_ pattern: String) throws(BondError) -> NSRegularExpression {
            do { return try NSRegularExpression(pattern: pattern) } catch {
                throw BondError.startup(language: language, message: "bad pattern \(pattern) in driver", output: "")
            }
        }
        var offset = 0
        if let wait = driver.manifest.`init`.wait {
            guard let end = connection.waitForStartupText(try regex(wait), after: offset, deadline: deadline) else {
                throw fail("the interpreter did not show its prompt")
            }
            offset = end
        }
        guard connection.sendRaw(driver.manifest.`init`.probe),
            let afterProbe = connection.waitForStartupText(try regex("STAGE1\r?\n"), after: offset, deadline: deadline)
        else { throw fail("the interpreter did not answer the probe") }
        let stage1: String
        let stage2: String
        do {
            stage1 = try driver.stage1Line()
            stage2 = try driver.stage2Source()
        } catch {
            throw BondError.startup(language: language, message: "cannot read the driver: \(error)", output: "")
        }
        guard connection.sendRaw(stage1),
            let afterStage1 = connection.waitForStartupText(try regex("STAGE2\r?\n"), after: afterProbe, deadline: deadline)
        else { throw fail("stage 1 of the driver did not start") }
        connection.expectReady(after: afterStage1)
        let start: BondValue = ["code": .string(stage2), "start": ["JSON", .bool(transparentExceptions)]]
        guard connection.sendRaw(start.description), connection.waitForReady(deadline: deadline) else {
            throw fail("stage 2 of the driver did not start")
        }
    }

    // MARK: Requests

    /// Evaluates one expression and returns its value (python-bond's `eval`).
    @discardableResult
    public func eval(_ code: String) throws(BondError) -> BondValue {
        try request("EVAL", .string(code))
    }

    /// Evaluates the code of a ref.
    @discardableResult
    public func eval(_ ref: BondRef) throws(BondError) -> BondValue {
        try eval(try code(of: ref))
    }

    /// Runs statements at the top level of the interpreter (python-bond's `eval_block`).
    public func evalBlock(_ code: String) throws(BondError) {
        _ = try request("EVAL_BLOCK", .string(code))
    }

    /// Runs the code of a ref as a block.
    public func evalBlock(_ ref: BondRef) throws(BondError) {
        try evalBlock(try code(of: ref))
    }

    /// Calls `name` (any callable expression of the language) with the arguments converted
    /// (see `BondValue.init(converting:)`); refs among them are evaluated by the interpreter.
    @discardableResult
    public func call<each Argument: BondArgument>(_ name: String, _ arguments: repeat each Argument) throws(BondError) -> BondValue {
        // The common types convert without a cast, and straight into the frame (no array of
        // values on the way); anything else (refs, Encodable) goes the general way.
        for argument in repeat each arguments {
            guard !BondValue.isCommon(argument) else { continue }
            var all: [Any?] = []
            for argument in repeat each arguments { all.append(argument) }
            return try call(name, arguments: all)
        }
        return try request(call: name, common: repeat each arguments)
    }

    /// `call` with arguments that include `nil` (or are typed as `any BondArgument`).
    @discardableResult
    public func call(_ name: String, _ arguments: (any BondArgument)?...) throws(BondError) -> BondValue {
        // As above, but each argument is opened from its existential first.
        for case let argument? in arguments where !BondValue.isCommon(argument) {
            return try call(name, arguments: arguments.map { $0 as Any? })
        }
        return try request(call: name, arguments.lazy.map { $0.flatMap { BondValue.commonValue($0) } ?? .null })
    }

    /// `call` with the arguments as an array of any values that `BondValue(converting:)` takes
    /// (and refs of this bond).
    @discardableResult
    public func call(_ name: String, arguments: [Any?]) throws(BondError) -> BondValue {
        var values: [BondValue] = []
        values.reserveCapacity(arguments.count)
        var refs: [(index: Int, code: String)] = []
        for (index, argument) in arguments.enumerated() {
            if let argument, let value = BondValue.convertDirect(argument) {  // the common case, cheaply
                values.append(value)
            } else if let ref = argument as? BondRef {
                guard ref.owner == ObjectIdentifier(self) else {
                    throw BondError.usage(language: language, message: "\(ref) belongs to another bond")
                }
                refs.append((index, ref.code))
                values.append(.null)
            } else {
                values.append(try BondValue(converting: argument, language: language))
            }
        }
        guard refs.isEmpty else {
            // XCALL: each argument as [is_ref, value or code].
            var items = values.map { BondValue.array([0, $0]) }
            for ref in refs { items[ref.index] = [1, .string(ref.code)] }
            return try request("XCALL", [.string(name), .array(items)])
        }
        return try request(call: name, values)
    }

    /// A function that calls `name` (python-bond's `callable`).
    public func callable(_ name: String) -> BondCallable { BondCallable(bond: self, name: name) }

    /// A quoted expression of this bond, evaluated remotely where it is used.
    public func ref(_ code: String) -> BondRef { BondRef(code: code, owner: ObjectIdentifier(self)) }

    /// Makes `function` callable in the interpreter as the global function `name`.
    /// Exporting a name again replaces the function.
    public func export(_ name: String, _ function: @escaping BondFunction) throws(BondError) {
        guard Self.isValidName(name) else {
            throw BondError.usage(language: language, message: "invalid name for an exported function: \"\(name)\"")
        }
        let previous = exports.withLock { $0.set(ExportTable.Entry(function), for: name) }
        do {
            _ = try request("EXPORT", .string(name))
        } catch {
            exports.withLock { _ = $0.set(previous, for: name) }
            throw error
        }
    }

    /// Exports this bond's function `name` to `other` as `remoteName` (python-bond's `proxy`):
    /// calls made there run here.
    public func proxy(_ name: String, to other: Bond, as remoteName: String? = nil) throws(BondError) {
        try other.export(remoteName ?? name) { [weak self] arguments in
            guard let self else {
                throw BondError.usage(language: other.language, message: "the bond behind \(name) is gone")
            }
            return try self.call(name, arguments: arguments)
        }
    }

    /// The names exported to this bond, sorted.
    public var exportedNames: [String] {
        exports.withLock { $0.names }
    }

    // MARK: Life

    /// The current state.
    public var state: BondState {
        if connection.isClosed { return .terminated(connection.termination.exit) }
        let depth = connection.depth
        return depth == 0 ? .idle : .busy(depth: depth)
    }

    /// Whether the interpreter is still running.
    public var isAlive: Bool { !connection.isClosed }

    /// The `.terminated` error (exit status and last lines of stderr) once the interpreter is
    /// gone, else `nil`.
    public var terminationError: BondError? {
        guard connection.isClosed else { return nil }
        return terminatedError()
    }

    /// The command the driver of `language` would run by default (its first command whose
    /// program is found in `PATH`), or `nil` when none is installed or there is no such driver.
    public static func defaultCommand(language: String, searching directories: [URL] = []) -> [String]? {
        guard let driver = try? DriverCatalog.find(language, extra: directories) else { return nil }
        return try? LaunchCommand.make(driver: driver, command: nil, arguments: [], defaultArguments: true).argv
    }

    /// Interrupts the request in progress: the interpreter raises its own interrupt error,
    /// the call fails with it, and the bond goes on. Does nothing while the bond is idle.
    public func interrupt() {
        guard connection.depth > 0, !connection.isClosed else { return }
        if let remotePrefix {
            // Over ssh, signal the remote interpreter through a second connection.
            guard let pid = remoteProcessID else { return }
            RemoteCommand.run(remotePrefix + ["kill", "-INT", String(pid)])
        } else {
            connection.process.signalGroup(SIGINT)
        }
    }

    /// Ends the interpreter: closes its input, then SIGTERM and SIGKILL to its process group
    /// after `closeGracePeriod` each. Waiting calls fail with `terminated`. Safe to call twice.
    public func close() {
        guard closedByUser.set() else { return }
        let process = connection.process
        process.closeInput()
        let grace = closeGracePeriod.seconds
        if !connection.waitForExit(deadline: Date().addingTimeInterval(grace)) {
            if let remotePrefix, let pid = remoteProcessID {
                RemoteCommand.run(remotePrefix + ["kill", "-TERM", String(pid), ";", "sleep", String(grace), ";",
                                                   "kill", "-KILL", String(pid)], wait: grace * 2 + 5)
            }
            process.signalGroup(SIGTERM)
            if !connection.waitForExit(deadline: Date().addingTimeInterval(grace)) {
                process.signalGroup(SIGKILL)
                _ = connection.waitForExit(deadline: Date().addingTimeInterval(5))
            }
        }
        // Whatever the interpreter left behind in its group (background children) goes too.
        process.signalGroup(SIGKILL)
        let deadline = Date().addingTimeInterval(2)
        while process.groupExists, Date() < deadline { usleep(5_000) }
        _ = connection.waitUntilFinished(deadline: deadline)
    }

    // MARK: The conversation

    private func code(of ref: BondRef) throws(BondError) -> String {
        guard ref.owner == ObjectIdentifier(self) else {
            throw BondError.usage(language: language, message: "\(ref) belongs to another bond")
        }
        return ref.code
    }

    private var isClosedByUser: Bool { closedByUser.isSet }

    /// Sends a request and serves the interpreter until its reply arrives.
    func request(_ verb: String, _ payload: BondValue) throws(BondError) -> BondValue {
        try request(verb) { (out: inout [UInt8]) throws(JSONWriteError) in try JSONWriter.write(payload, into: &out) }
    }

    /// `CALL [name, [values...]]`, written straight from the values.
    private func request(call name: String, _ values: some Sequence<BondValue>) throws(BondError) -> BondValue {
        try request("CALL") { (out: inout [UInt8]) throws(JSONWriteError) in
            writeCallPrefix(name, into: &out)
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try JSONWriter.write(value, into: &out)
            }
            out.append(UInt8(ascii: "]"))
            out.append(UInt8(ascii: "]"))
        }
    }

    /// `CALL [name, [arguments...]]` of arguments of the common types (see `BondValue.commonValue`).
    private func request<each Argument>(call name: String, common arguments: repeat each Argument) throws(BondError) -> BondValue {
        try request("CALL") { (out: inout [UInt8]) throws(JSONWriteError) in
            writeCallPrefix(name, into: &out)
            var first = true
            for argument in repeat each arguments {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                try JSONWriter.writeCommon(argument, into: &out)
            }
            out.append(UInt8(ascii: "]"))
            out.append(UInt8(ascii: "]"))
        }
    }

    /// Writes `["name",[`, cached for calls of one function in a row. Needs `conversation`.
    private func writeCallPrefix(_ name: String, into out: inout [UInt8]) {
        if callPrefix.bytes.isEmpty || callPrefix.name != name {
            var bytes = [UInt8(ascii: "[")]
            JSONWriter.writeString(name, into: &bytes)
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: "["))
            callPrefix = (name, bytes)
        }
        out.append(contentsOf: callPrefix.bytes)
    }

    /// Sends a request whose payload `writePayload` writes, and serves the interpreter until
    /// its reply arrives.
    private func request(
        _ verb: String, writingPayload writePayload: (inout [UInt8]) throws(JSONWriteError) -> Void
    ) throws(BondError) -> BondValue {
        conversation.lock()
        defer { conversation.unlock() }
        do {
            try buildLine(verb, writingPayload: writePayload)
        } catch {
            throw BondError.serialization(language: language, side: .local, message: error.message)
        }
        if isClosedByUser && !connection.isClosed {
            throw BondError.usage(language: language, message: "the bond is closed")
        }
        guard connection.enter() else { throw terminatedError() }
        defer { connection.leave() }
        guard sendLine() else { throw terminatedError() }
        return try awaitReply()
    }

    /// Builds a frame line in `lineBuffer`. Needs `conversation`.
    private func buildLine<E: Error>(
        _ verb: String, writingPayload writePayload: (inout [UInt8]) throws(E) -> Void
    ) throws(E) {
        lineBuffer.removeAll(keepingCapacity: true)
        try appendFrameLine(verb, to: &lineBuffer, writingPayload: writePayload)
    }

    /// Sends the line in `lineBuffer`; a big one's buffer is let go. Needs `conversation`.
    private func sendLine() -> Bool {
        let sent = connection.send(line: lineBuffer)
        if lineBuffer.capacity > 1 << 16 { lineBuffer = [] }
        return sent
    }

    private func terminatedError() -> BondError {
        _ = connection.waitUntilFinished(deadline: Date().addingTimeInterval(2))
        let (exit, stderr) = connection.termination
        return .terminated(language: language, exit: exit, stderr: stderr)
    }

    private func awaitReply() throws(BondError) -> BondValue {
        while true {
            let deadline = timeout.map { Date().addingTimeInterval($0.seconds) }
            switch connection.nextEvent(deadline: deadline) {
            case nil:
                if connection.isClosed { throw terminatedError() }
                close()
                throw BondError.timeout(language: language, seconds: timeout?.seconds ?? 0)
            case .closed?:
                throw terminatedError()
            case .oversized(let size)?:
                throw BondError.protocolViolation(
                    language: language, message: "a frame of \(size) bytes is over the limit (BondOptions.maximumFrameBytes)")
            case .frame(let frame)?:
                if let value = try handle(frame) { return value }
            }
        }
    }

    /// Handles one frame; returns the reply value when the frame ends the request.
    private func handle(_ frame: Frame) throws(BondError) -> BondValue? {
        let payload: BondValue
        switch frame.content {
        case .call(let name, let arguments):  // (only a CALL is read so)
            serveCall(name, arguments)
            return nil
        case .value(let value):
            payload = value
        case .unreadable(let error):
            switch frame.verb {
            case .reply, .except, .error:
                throw BondError.serialization(
                    language: language, side: .local, message: "cannot read the \(frame.verb.rawValue) payload: \(error)")
            case .call:
                _ = connection.send("ERROR", Self.encodeString("cannot read the CALL payload: \(error)"))
                return nil
            default:
                return nil
            }
        }
        switch frame.verb {
        case .reply:
            return payload
        case .except:
            throw BondError.remote(language: language, message: payload.stringValue ?? payload.description, data: payload)
        case .error:
            throw BondError.serialization(language: language, side: .remote, message: payload.stringValue ?? payload.description)
        case .bye:
            connection.process.closeInput()
            throw terminatedError()
        case .call:
            serveCall(payload)
            return nil
        case .output, .eval, .evalBlock, .xcall, .export, .run:
            // A request verb from the driver is not part of the protocol: answer it with an error.
            _ = connection.send("ERROR", Self.encodeString("the host does not serve \(frame.verb.rawValue)"))
            return nil
        }
    }

    /// Serves a CALL whose payload was not read as a call (see `Frame.Content`).
    private func serveCall(_ payload: BondValue) {
        guard case .array(let parts) = payload, parts.count == 2, case .string(let name) = parts[0],
            case .array(let arguments) = parts[1]
        else {
            _ = connection.send("EXCEPT", Self.encodeString("malformed CALL payload: \(payload)"))
            return
        }
        serveCall(name, arguments)
    }

    private func serveCall(_ name: String, _ arguments: [BondValue]) {
        let exported = exports.withLock { $0.entry(named: name) }
        guard let exported else {
            _ = connection.send("EXCEPT", Self.encodeString("\(name) is not a function exported by the host"))
            return
        }
        let result: BondValue
        do {
            result = try exported.function(arguments)
        } catch {
            _ = connection.send("EXCEPT", Self.encodeString(String(describing: error)))
            return
        }
        do {
            try buildLine("RETURN") { (out: inout [UInt8]) throws(JSONWriteError) in try JSONWriter.write(result, into: &out) }
        } catch {
            _ = connection.send("ERROR", Self.encodeString("cannot serialize the result of \(name): \(error.message)"))
            return
        }
        _ = sendLine()
    }

    private static func encodeString(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.writeString(text, into: &out)
        return out
    }

    private static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}

/// A remote function bound to a bond; call it like a Swift function.
public struct BondCallable: Sendable {
    public let bond: Bond
    public let name: String

    @discardableResult
    public func callAsFunction(_ arguments: (any BondArgument)?...) throws(BondError) -> BondValue {
        try bond.call(name, arguments: arguments.map { $0 as Any? })
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

/// Runs a command on the remote machine of a bond, through its own ssh command.
enum RemoteCommand {
    /// Starts `argv` (an ssh command line) without a shell; waits up to `wait` seconds if given.
    static func run(_ argv: [String], wait: Double? = nil) {
        guard let process = try? InterpreterProcess.spawn(argv: argv, environment: nil, workingDirectory: nil) else {
            return
        }
        process.closeInput()
        let done = DispatchSemaphore(value: 0)
        startThread(name: "bond remote command") {
            _ = process.waitForExit()
            close(process.outputFD)
            close(process.errorFD)
            done.signal()
        }
        if let wait { _ = done.wait(timeout: .now() + wait) }
    }
}

/// A flag set once, shared between threads.
final class ClosedFlag: Sendable {
    private let value = Atomic(false)

    /// Whether it is set.
    var isSet: Bool { value.load(ordering: .acquiring) }

    /// Sets it; returns whether this call did (`false` if it was already set).
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}

/// The functions exported to an interpreter, by name; the last one looked up is kept at hand,
/// as callbacks usually come in runs of one function (its name is not hashed each time).
struct ExportTable {
    /// (Each function in a box of its own, so that the one at hand is the same reference as
    /// the one in the dictionary: a function taken out of a dictionary and kept elsewhere is
    /// wrapped anew, and released again, at each use.)
    final class Entry: Sendable {
        let function: BondFunction
        init(_ function: @escaping BondFunction) { self.function = function }
    }

    private var entries: [String: Entry] = [:]
    private var last: Entry?
    private var lastName = ""

    /// The function exported as `name`, if any.
    mutating func entry(named name: String) -> Entry? {
        if let last, name == lastName { return last }
        let entry = entries[name]
        last = entry
        lastName = name
        return entry
    }

    /// Exports `function` as `name` (or takes `name` back, given `nil`); returns what it replaces.
    mutating func set(_ entry: Entry?, for name: String) -> Entry? {
        last = nil
        if let entry { return entries.updateValue(entry, forKey: name) }
        return entries.removeValue(forKey: name)
    }

    /// The exported names, sorted.
    var names: [String] { entries.keys.sorted() }
}
