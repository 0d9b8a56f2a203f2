#if canImport(Glibc)
import Glibc
#endif

/// The verbs of the protocol (docs/protocol.md).
enum Verb: String, Sendable {
    case output = "OUTPUT", reply = "RETURN", except = "EXCEPT", error = "ERROR", call = "CALL", bye = "BYE"
    case eval = "EVAL", evalBlock = "EVAL_BLOCK", xcall = "XCALL", export = "EXPORT"
    /// [ext] REPL input or an expression, its result as data or described (docs/protocol.md).
    case run = "RUN"
    /// [ext] Remote objects: make one, call a method, get an attribute, describe one, release
    /// ids (docs/protocol.md, the `OBJECTS` extension).
    case object = "OBJECT", ocall = "OCALL", oget = "OGET", odescribe = "ODESCRIBE", release = "RELEASE"

    /// Whether the verb answers a request (RETURN, EXCEPT, ERROR).
    var isReply: Bool { self == .reply || self == .except || self == .error }
}

/// A protocol frame received from the driver: its verb and its payload, decoded.
struct ReceivedFrame: Sendable {
    let verb: Verb
    /// The decoded payload, or why it could not be read.
    let content: Content
    /// Whether the payload's text has `"$bond"` in it, so that it may hold markers of the
    /// `OBJECTS` extension (when it has not, the payload is taken as it is, with no walk).
    var mayHoldMarkers = false

    enum Content: Sendable {
        /// The payload (`.null` when the frame has none).
        case value(BondValue)
        /// A CALL's payload of the usual shape, `["name", [arguments...]]`, read as its parts
        /// (the array that holds them is never made: a callback costs 10% less).
        case call(name: String, arguments: [BondValue])
        /// Why the payload could not be read.
        case unreadable(JSONReadError)
    }

    /// The decoded payload as one value (`.null` when the frame has none), or why it could not be read.
    var payload: Result<BondValue, JSONReadError> {
        switch content {
        case .value(let value): .success(value)
        case .call(let name, let arguments): .success(.array([.string(name), .array(arguments)]))
        case .unreadable(let error): .failure(error)
        }
    }
}

/// Decodes lines into frames or stray text.
enum FrameParser {
    /// The verb that the first `length` bytes of `line` spell, told by its length and first
    /// byte, then compared byte by byte (no string is made or hashed for each frame).
    private static func verb(in line: UnsafeRawBufferPointer, length: Int) -> Verb? {
        let candidate: Verb
        switch (length, line[0]) {
        case (6, UInt8(ascii: "R")): candidate = .reply
        case (6, UInt8(ascii: "O")): candidate = line[1] == UInt8(ascii: "U") ? .output : .object
        case (5, UInt8(ascii: "O")): candidate = .ocall
        case (4, UInt8(ascii: "O")): candidate = .oget
        case (9, _): candidate = .odescribe
        case (7, _): candidate = .release
        case (4, UInt8(ascii: "C")): candidate = .call
        case (6, UInt8(ascii: "E")): candidate = line[2] == UInt8(ascii: "C") ? .except : .export
        case (5, UInt8(ascii: "E")): candidate = .error
        case (3, UInt8(ascii: "R")): candidate = .run
        case (3, _): candidate = .bye
        case (4, _): candidate = .eval
        case (10, _): candidate = .evalBlock
        case (5, _): candidate = .xcall
        default: return nil
        }
        var spelling = candidate.rawValue
        return spelling.withUTF8 { memcmp(line.baseAddress!, $0.baseAddress!, length) } == 0 ? candidate : nil
    }

    /// A frame, or `nil` if the line is not one (stray output).
    static func parse(_ line: UnsafeRawBufferPointer) -> ReceivedFrame? {
        guard let base = line.baseAddress, !line.isEmpty else { return nil }
        let space = memchr(base, 0x20, line.count).map { base.distance(to: UnsafeRawPointer($0)) } ?? line.count
        guard space > 0, space <= 10, let verb = verb(in: line, length: space) else { return nil }
        if space == line.count { return ReceivedFrame(verb: verb, content: .value(.null)) }
        let payload = UnsafeRawBufferPointer(rebasing: line[(space + 1)...])
        let markers = mayHoldMarkers(payload)
        if verb == .call, let (name, arguments) = JSONReader.readCall(payload) {
            return ReceivedFrame(verb: verb, content: .call(name: name, arguments: arguments), mayHoldMarkers: markers)
        }
        do {
            return ReceivedFrame(verb: verb, content: .value(try JSONReader.read(payload)), mayHoldMarkers: markers)
        } catch {
            return ReceivedFrame(verb: verb, content: .unreadable(error))
        }
    }

    /// [ext] A frame whose payload refers to the raw `blocks` read before it (`BytesBlocks`),
    /// which it takes.
    static func parse(_ line: UnsafeRawBufferPointer, blocks: inout [[UInt8]]) -> ReceivedFrame? {
        let taken = blocks
        blocks = []
        guard let frame = parse(line) else { return nil }
        guard case .value(let payload) = frame.content else {
            if case .call(let name, let arguments) = frame.content,
                case .array(let parts)? = BytesBlocks.substitute(.array([.string(name), .array(arguments)]), taken),
                case .array(let substituted) = parts[1] {
                return ReceivedFrame(
                    verb: frame.verb, content: .call(name: name, arguments: substituted), mayHoldMarkers: frame.mayHoldMarkers)
            }
            return frame
        }
        guard let substituted = BytesBlocks.substitute(payload, taken) else {
            return ReceivedFrame(verb: frame.verb, content: .unreadable(
                JSONReadError(message: "the payload refers to a BYTES block that was not sent", offset: 0)))
        }
        return ReceivedFrame(verb: frame.verb, content: .value(substituted), mayHoldMarkers: frame.mayHoldMarkers)
    }

    /// Whether `"$bond"` is in the payload's text (for the `OBJECTS` markers): `memchr` for
    /// the `$`, rare in JSON text, then the bytes around it.
    private static func mayHoldMarkers(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard payload.count >= 7, let base = payload.baseAddress else { return false }
        var offset = 1
        while offset + 5 < payload.count, let found = memchr(base + offset, 0x24, payload.count - 5 - offset) {
            let at = base.distance(to: UnsafeRawPointer(found))
            if payload[at - 1] == 0x22, payload[at + 1] == 0x62, payload[at + 2] == 0x6F, payload[at + 3] == 0x6E,
                payload[at + 4] == 0x64, payload[at + 5] == 0x22
            {
                return true
            }
            offset = at + 1
        }
        return false
    }

    /// A frame, or `nil` if the line is not one (stray output).
    static func parse(_ line: [UInt8]) -> ReceivedFrame? {
        line.withUnsafeBytes { parse($0) }
    }
}
