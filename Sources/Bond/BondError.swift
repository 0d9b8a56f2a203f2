/// Which side of a bond a serialization failure happened on.
public enum BondSide: String, Sendable {
    /// In this process: a value that cannot be sent, or data received that cannot be read here.
    case local
    /// In the interpreter: it could not serialize a value (its `ERROR` reply).
    case remote
}

/// How an interpreter process ended.
public enum BondExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    /// The process closed its output but its status is not known (yet).
    case unknown

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal)\(signalName(signal).map { " (\($0))" } ?? "")"
        case .unknown: "exit status unknown"
        }
    }

    private func signalName(_ signal: Int32) -> String? {
        [1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 13: "SIGPIPE", 15: "SIGTERM", 6: "SIGABRT", 11: "SIGSEGV"][signal]
    }
}

/// Every error a bond reports: python-bond's exceptions as Swift cases.
///
/// Each message names the language and, where it matters, the side.
public enum BondError: Error, Sendable, CustomStringConvertible {
    /// The interpreter could not be started or the driver not injected.
    /// `output` is what the interpreter printed meanwhile (it usually says why).
    case startup(language: String, message: String, output: String)
    /// The interpreter is gone: it exited, was killed, or its connection dropped.
    case terminated(language: String, exit: BondExit, stderr: String)
    /// A value could not be serialized or read back (`side` tells where).
    case serialization(language: String, side: BondSide, message: String)
    /// The interpreter raised an error that the evaluated code did not catch.
    /// `data` is the raw payload: the message, or the error object with transparent exceptions.
    case remote(language: String, message: String, data: BondValue)
    /// No answer within the timeout while the interpreter was still running (slow, not dead).
    /// `bondClosed`: the bond was closed, so that no late reply can be mistaken for a later
    /// answer (always so on the blocking face; on the async face only when the interpreter did
    /// not answer the interrupt within the grace period, else the request was interrupted and
    /// the bond goes on).
    case timeout(language: String, seconds: Double, bondClosed: Bool)
    /// The request cannot be made as asked (unknown language, bad name, a ref of another bond, a closed bond).
    case usage(language: String, message: String)
    /// The interpreter broke the protocol (a frame that cannot be read, one that was not expected).
    case protocolViolation(language: String, message: String)

    /// The language of the bond the error comes from.
    public var language: String {
        switch self {
        case .startup(let l, _, _), .terminated(let l, _, _), .serialization(let l, _, _), .remote(let l, _, _),
            .timeout(let l, _, _), .usage(let l, _), .protocolViolation(let l, _):
            l
        }
    }

    /// What went wrong, without the language (the message of the case).
    var message: String {
        switch self {
        case .startup(_, let message, _), .serialization(_, _, let message), .remote(_, let message, _),
            .usage(_, let message), .protocolViolation(_, let message):
            message
        case .terminated(_, let exit, _): "\(exit)"
        case .timeout(_, let seconds, _): "no answer within \(seconds.formatted1) s"
        }
    }

    public var description: String {
        switch self {
        case .startup(let language, let message, let output):
            let tail = output.trimmingWhitespace()
            return "\(language) bond failed to start: \(message)" + (tail.isEmpty ? "" : "\n\(tail)")
        case .terminated(let language, let exit, let stderr):
            let tail = stderr.trimmingWhitespace()
            return "\(language) interpreter terminated (\(exit))" + (tail.isEmpty ? "" : ": \(tail)")
        case .serialization(let language, let side, let message):
            return "\(language) bond: \(side) serialization error: \(message)"
        case .remote(let language, let message, _):
            return "\(language) exception: \(message)"
        case .timeout(let language, let seconds, let bondClosed):
            return bondClosed
                ? "\(language) interpreter is alive but did not answer within \(seconds.formatted1) s; the bond was closed"
                : "\(language) interpreter did not answer within \(seconds.formatted1) s; the request was interrupted, the bond goes on"
        case .usage(let language, let message):
            return "\(language) bond: \(message)"
        case .protocolViolation(let language, let message):
            return "\(language) bond: protocol error from the interpreter: \(message)"
        }
    }
}

/// Makes the errors of one bond, its language filled in (no case is built by hand with it).
struct BondErrors: Sendable {
    let language: String

    /// For what fails before any bond exists, or outside one (values, log files).
    static let swift = BondErrors(language: "Swift")

    func startup(_ message: String, output: String = "") -> BondError {
        .startup(language: language, message: message, output: output)
    }

    func terminated(_ exit: BondExit, _ stderr: String) -> BondError {
        .terminated(language: language, exit: exit, stderr: stderr)
    }

    func serialization(_ side: BondSide, _ message: String) -> BondError {
        .serialization(language: language, side: side, message: message)
    }

    func remote(_ message: String, data: BondValue) -> BondError {
        .remote(language: language, message: message, data: data)
    }

    func timeout(_ seconds: Double, bondClosed: Bool = true) -> BondError {
        .timeout(language: language, seconds: seconds, bondClosed: bondClosed)
    }

    func usage(_ message: String) -> BondError { .usage(language: language, message: message) }

    func protocolViolation(_ message: String) -> BondError {
        .protocolViolation(language: language, message: message)
    }
}

extension Double {
    var formatted1: String {
        self == rounded() ? String(Int(self)) : String((self * 10).rounded() / 10)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
