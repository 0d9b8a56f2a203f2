import Foundation

/// Where remote output goes: text the evaluated code wrote on either channel.
public enum BondOutputChannel: String, Sendable, Hashable {
    case stdout = "STDOUT"
    case stderr = "STDERR"
}

/// One raw protocol line, sent or received.
public struct BondTraffic: Sendable {
    public enum Direction: String, Sendable {
        /// Host to interpreter.
        case sent = ">"
        /// Interpreter to host.
        case received = "<"
    }

    /// The bond's name (`BondOptions.name`, or the language).
    public let bond: String
    public let direction: Direction
    public let time: Date
    /// The line, without its end of line; for a frame, `VERB` or `VERB payload`.
    public let line: String
    /// The nesting depth of the conversation when the line passed (1 = top level).
    public let depth: Int
    /// How many requests and served `CALL`s, of every bond that logs traffic, were open on the
    /// thread (on the async face: along the tasks that led to the request) when the bond's
    /// current conversation level began (0: it began at the top, or no request is open). A request sent to this bond from a function that serves another
    /// bond's `CALL` is nested in that `CALL`; with `depth` and the pairing of the frames, the
    /// exact nesting of each line across bonds (bond-workbench's log). 0 for a bond whose
    /// requests are made on no thread of a logging conversation.
    public let nest: Int

    /// The verb of a frame line (the first word).
    public var verb: Substring { line.prefix { $0 != " " } }
}

/// Receives remote output.
public enum BondOutputSink: Sendable {
    /// Our own standard output and standard error (the default).
    case standard
    /// Dropped.
    case discard
    /// A closure, called from the bond's reader threads in the order the text arrived.
    case handler(@Sendable (BondOutputChannel, String) -> Void)
}

/// Receives every raw protocol line.
public enum BondLogSink: Sendable {
    /// Appended to a file, one line each: time, bond, direction, line.
    case file(FileHandle)
    /// A closure, called from whichever thread sent or received the line.
    case handler(@Sendable (BondTraffic) -> Void)
}

/// Everything `make_bond` of python-bond takes, and more.
public struct BondOptions: Sendable {
    /// Working directory of the interpreter (default: ours).
    public var workingDirectory: String?
    /// Environment of the interpreter (default: ours).
    public var environment: [String: String]?
    /// Append the driver's default arguments (such as `-i`) to the command.
    public var defaultArguments = true
    /// How long start-up may take, and how long a request may wait for the interpreter to say
    /// anything (a frame or output resets the clock). `nil` waits forever. Default 60 s.
    public var timeout: Duration? = .seconds(60)
    /// How long start-up may take, when it should differ from `timeout` (an interactive tool
    /// may want no limit on requests but a bounded start). `nil`: `timeout`.
    public var startupTimeout: Duration?
    /// Transparent exceptions: the interpreter sends its error objects rather than their text.
    public var transparentExceptions = false
    /// Serialization protocol; only `"JSON"` is spoken by this host.
    public var serializationProtocol = "JSON"
    /// Where remote output goes.
    public var output: BondOutputSink = .standard
    /// Where raw traffic is logged (none by default).
    public var log: BondLogSink?
    /// The bond's name in logs and errors (default: the language).
    public var name: String?
    /// More folders holding driver folders (`<Language>/bond.json`), searched first.
    public var driverDirectories: [URL] = []
    /// Largest frame accepted from the interpreter, in bytes; larger ones fail the request.
    public var maximumFrameBytes = 1 << 30
    /// How long `close()` waits after closing the interpreter's input before SIGTERM, and
    /// again before SIGKILL.
    public var closeGracePeriod: Duration = .milliseconds(500)
    /// How long an interpreter interrupted by the async face (a cancelled task, a `timeout:`
    /// passed) has to answer before the bond is closed. (Over ssh the interrupt itself goes
    /// through a second ssh connection, which takes a second or more on a busy machine.)
    public var interruptGracePeriod: Duration = .seconds(10)
    /// ssh options (`-o Name=value`) added to a command that runs the interpreter through ssh,
    /// unless the command sets them itself: keep-alives every 3 s, 3 of them unanswered end
    /// the link (a dead host or network is seen within about 11 s, during a call or idle), and
    /// a host that does not answer fails to connect within 10 s. `[:]` adds none (ssh_config's
    /// values apply then).
    public var sshOptions: [String: String] = ["ServerAliveInterval": "3", "ServerAliveCountMax": "3", "ConnectTimeout": "10"]
    /// Answers the questions ssh asks while a bond through ssh starts (a password, a key's
    /// passphrase, an unknown host key); `nil` refuses them, and start-up then fails saying
    /// what the host asked. Either way ssh never reads the terminal (the interpreter has none).
    public var sshAnswer: SSHAnswer?

    public init() {}

    /// Options built by changing the defaults in a closure.
    public static func with(_ change: (inout BondOptions) -> Void) -> BondOptions {
        var options = BondOptions()
        change(&options)
        return options
    }
}

extension BondLogSink {
    /// A log file at `path`, created (or truncated) with mode 0600: traffic may hold secrets.
    public static func file(path: String) throws(BondError) -> BondLogSink {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BondError.usage(language: "Swift", message: "cannot open log file \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
        return .file(FileHandle(fileDescriptor: fd, closeOnDealloc: true))
    }
}
