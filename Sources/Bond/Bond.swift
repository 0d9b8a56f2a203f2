import Foundation

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
public final class Bond: Sendable {
    /// The language, as named by its driver (`"Python"`, `"PHP"`, ...).
    public let language: String
    /// The bond's name in logs and errors.
    public let name: String
    /// The ssh destination when the interpreter runs through ssh, else `nil`.
    public var remoteHost: String? { host.remoteDestination }
    /// The interpreter's process id (the local `ssh` for a remote bond).
    public var processID: Int32 { connection.process.pid }
    /// The interpreter's process id on the remote machine, for a bond through ssh.
    public var remoteProcessID: Int32? { host.remoteProcessID }

    let connection: Connection
    let conversation: Conversation
    /// The async face's conversation (AsyncBond.swift), on the same connection.
    let asyncConversation: AsyncConversation
    let errors: BondErrors
    /// The protocol extensions the driver's manifest offers (`"RUN"`, ...).
    let driverExtensions: Set<String>
    /// Remote objects (the `OBJECTS` extension): releases, proxies, markers.
    let objects: BondObjects
    private let host: any InterpreterHost
    private let shutdown: Shutdown

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
        let errors = BondErrors(language: driver.language)
        self.language = driver.language
        self.name = options.name ?? driver.language
        self.errors = errors
        let extensions = Set(driver.manifest.extensions ?? [])
        self.driverExtensions = extensions
        let objects = BondObjects(isOn: extensions.contains("OBJECTS"), errors: errors)
        self.objects = objects
        guard options.serializationProtocol.uppercased() == "JSON" else {
            throw errors.usage("unsupported protocol \(options.serializationProtocol); this host speaks JSON")
        }
        guard driver.manifest.proto.contains("JSON") else { throw errors.startup("the driver does not offer JSON") }
        let launch = try LaunchCommand.make(
            driver: driver, command: command, arguments: arguments, defaultArguments: options.defaultArguments,
            sshOptions: options.sshOptions)
        host = launch.host
        let process: InterpreterProcess
        let sshQuestions = SSHQuestions.start(for: launch, options: options)  // (through ssh only)
        defer { sshQuestions?.stop() }
        do {
            process = try host.spawn(
                launch.argv, environment: sshQuestions?.environment(options.environment) ?? options.environment,
                workingDirectory: options.workingDirectory)
        } catch {
            throw errors.startup("cannot run \(error)")
        }
        let streams = BondStreams()
        let stateChanged: @Sendable (BondState) -> Void = { [stateChanged] state in
            stateChanged?(state)
            streams.changed(state)
        }
        stateChanged(.starting)
        do {
            connection = try Connection(
                language: driver.language, name: name, process: process, options: options,
                readsBlocks: extensions.contains(BytesBlocks.extensionName), stateChanged: stateChanged, streams: streams)
        } catch {
            throw errors.startup("cannot make a pipe: \(error)")
        }
        let closedByUser = ClosedFlag()
        shutdown = Shutdown(
            connection: connection, host: host, closedByUser: closedByUser, grace: options.closeGracePeriod.seconds)
        conversation = Conversation(
            connection: connection, timeout: options.timeout, closedByUser: closedByUser,
            sendsBlocks: extensions.contains(BytesBlocks.extensionName), objects: objects)
        asyncConversation = AsyncConversation(
            connection: connection, conversation: conversation, closedByUser: closedByUser,
            grace: options.interruptGracePeriod,
            interruptRetry: host.remoteDestination == nil ? .milliseconds(200) : .seconds(2),  // (through ssh, a process each)
            interrupt: { [host, connection] in host.interrupt(connection.process) }, close: { [shutdown] in shutdown.close() })
        objects.attach(self)
        do {
            // [ext] The extensions the host switches on, one list: those it speaks that the driver offers.
            try connection.handshake(
                driver, transparentExceptions: options.transparentExceptions,
                switchingOn: extensions.intersection([BytesBlocks.extensionName, "OBJECTS"]).sorted(),
                within: options.startupTimeout ?? options.timeout)
            try host.started(driver: driver) { (expression) throws(BondError) in try eval(expression) }
        } catch {
            close()
            throw sshQuestions?.explain(error) ?? error
        }
        // (The handler refers to what it needs, not to the bond: a weak reference to the bond
        // would send every retain and release of it down the runtime's slow path, about 500
        // instructions per call.)
        connection.onTermination { [host] in
            // The link died (the local ssh was killed, the connection dropped): make sure the
            // interpreter does not linger.
            if !closedByUser.isSet { host.killRemoteProcess() }
        }
        stateChanged(.idle)
    }

    deinit { close() }

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

    /// A function that calls `name` (python-bond's `callable`).
    public func callable(_ name: String) -> BondCallable { BondCallable(bond: self, name: name) }

    /// A quoted expression of this bond, evaluated remotely where it is used.
    public func ref(_ code: String) -> BondRef { BondRef(code: code, owner: ObjectIdentifier(self)) }

    /// Makes `function` callable in the interpreter as the global function `name`.
    /// Exporting a name again replaces the function.
    public func export(_ name: String, _ function: @escaping BondFunction) throws(BondError) {
        try export(name, ExportTable.Entry(function), payload: .string(name))
    }

    /// Exports `entry` as `name` with the EXPORT payload `payload`.
    func export(_ name: String, _ entry: ExportTable.Entry, payload: BondValue) throws(BondError) {
        guard Self.isFunctionName(name) else { throw errors.usage("invalid name for an exported function: \"\(name)\"") }
        let previous = conversation.exports.withLock { $0.set(entry, for: name) }
        do {
            _ = try request("EXPORT", payload)
        } catch {
            conversation.exports.withLock { _ = $0.set(previous, for: name) }
            throw error
        }
    }

    /// Exports this bond's function `name` to `other` as `remoteName` (python-bond's `proxy`):
    /// calls made there run here. Where `other`'s driver takes keyword arguments, so does the
    /// proxy, and they are passed on (this bond's `.usage` error if its language has none).
    public func proxy(_ name: String, to other: Bond, as remoteName: String? = nil) throws(BondError) {
        guard other.offersKeywords else {
            return try other.export(remoteName ?? name) { [weak self] arguments in
                guard let self else { throw other.errors.usage("the bond behind \(name) is gone") }
                return try self.call(name, values: arguments)
            }
        }
        try other.export(remoteName ?? name, withKeywords: { [weak self] arguments, keywords in
            guard let self else { throw other.errors.usage("the bond behind \(name) is gone") }
            if keywords.isEmpty { return try self.call(name, values: arguments) }
            return try self.call(name, values: arguments, keywords: keywords)
        })
    }

    /// The names exported to this bond, sorted.
    public var exportedNames: [String] {
        conversation.exports.withLock { $0.names }
    }

    // MARK: Life

    /// The current state.
    public var state: BondState {
        if connection.isClosed { return .terminated(connection.termination.exit) }
        let depth = connection.depth
        return depth == 0 ? .idle : .busy(depth: depth)
    }

    /// Whether `close()` was called.
    var isClosedByUser: Bool { shutdown.closedByUser.isSet }

    /// Whether the interpreter is still running.
    public var isAlive: Bool { !connection.isClosed }

    /// The `.terminated` error (exit status and last lines of stderr) once the interpreter is
    /// gone, else `nil`.
    public var terminationError: BondError? {
        guard connection.isClosed else { return nil }
        return conversation.terminated()
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
        host.interrupt(connection.process)
    }

    /// Ends the interpreter: closes its input, then SIGTERM and SIGKILL to its process group
    /// after `closeGracePeriod` each. Waiting calls fail with `terminated`. Safe to call twice.
    public func close() {
        shutdown.close()
        objects.dropAll()
    }

    // MARK: The conversation

    /// Sends a request and serves the interpreter until its reply arrives.
    func request(_ verb: String, _ payload: BondValue) throws(BondError) -> BondValue {
        try request(verb) { (frame: inout BondFrameWriter) throws(BondError) in try frame.write(payload) }
    }

    /// Sends a request whose payload `writePayload` writes, and serves the interpreter until
    /// its reply arrives. A request that times out closes the bond, so that no late reply can
    /// be taken for the answer to a later one.
    func request(
        _ verb: String, writingPayload writePayload: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) -> BondValue {
        do {
            return try conversation.request(verb, writingPayload: writePayload)
        } catch {
            if case .timeout = error { close() }
            throw error
        }
    }

    func code(of ref: BondRef) throws(BondError) -> String {
        guard ref.owner == ObjectIdentifier(self) else { throw errors.usage("\(ref) belongs to another bond") }
        return ref.code
    }

    /// Whether `name` can name the function that `export` or `proxy` defines, in any language:
    /// an ASCII letter or `_`, then ASCII letters, digits and `_`.
    public static func isFunctionName(_ name: String) -> Bool {
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
        try bond.call(name, arguments: arguments)
    }
}

/// How a bond ends: its input closed, then SIGTERM and SIGKILL to its process group after a
/// grace period each (with the host's own way of reaching a remote interpreter first).
struct Shutdown: Sendable {
    let connection: Connection
    let host: any InterpreterHost
    /// Whether `close()` was called (shared with the connection's termination handler).
    let closedByUser: ClosedFlag
    let grace: Double

    func close() {
        guard closedByUser.set() else { return }
        let process = connection.process
        process.closeInput()
        if !connection.waitForExit(deadline: Date().addingTimeInterval(grace)) {
            host.terminate(process, grace: grace)
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
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
