#if canImport(Glibc)
import Glibc
#endif

/// The verbs of the protocol (docs/protocol.md).
enum Verb: String, Sendable {
    case output = "OUTPUT", reply = "RETURN", except = "EXCEPT", error = "ERROR", call = "CALL", bye = "BYE"
    case eval = "EVAL", evalBlock = "EVAL_BLOCK", xcall = "XCALL", export = "EXPORT"
    /// [ext] REPL input or an expression, its result as data or described (docs/protocol.md).
    case run = "RUN"

    /// Whether the verb answers a request (RETURN, EXCEPT, ERROR).
    var isReply: Bool { self == .reply || self == .except || self == .error }
}

/// A protocol frame received from the driver.
struct Frame: Sendable {
    let verb: Verb
    /// The decoded payload, or why it could not be read.
    let content: Content

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

/// Splits a byte stream into lines with a size limit, copying only the lines that span
/// chunks (a line wholly within a chunk is handed out in place).
struct LineSplitter {
    let maximumLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = 0

    init(maximumLineBytes: Int) { self.maximumLineBytes = maximumLineBytes }

    enum Piece {
        /// A line, valid only during the call that hands it out.
        case line(UnsafeRawBufferPointer)
        /// A line longer than the limit was dropped; its length.
        case oversized(Int)
    }

    /// Feeds a chunk; calls `emit` for each complete line (without `\n` or `\r\n`).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (Piece) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            let rest = chunk.count - start
            guard let nl = memchr(base + start, 0x0A, rest) else {
                append(base + start, count: rest)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(nl))
            if pending.isEmpty && discarding == 0 && end - start <= maximumLineBytes {
                // the whole line is in this chunk: handed out in place
                let length = end > start && chunk[end - 1] == 0x0D ? end - start - 1 : end - start
                emit(.line(UnsafeRawBufferPointer(start: base + start, count: length)))
                start = end + 1
                continue
            }
            append(base + start, count: end - start)
            if discarding > 0 {
                emit(.oversized(discarding))
                discarding = 0
            } else {
                if pending.last == 0x0D { pending.removeLast() }
                pending.withUnsafeBytes { emit(.line($0)) }
            }
            // A small line's buffer serves the next one (no allocation per frame); a big one goes.
            if pending.capacity <= 1 << 16 { pending.removeAll(keepingCapacity: true) } else { pending = [] }
            start = end + 1
        }
    }

    /// The unterminated tail, if any (at end of file).
    var remainder: [UInt8] { pending }

    private mutating func append(_ pointer: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        if discarding > 0 { discarding += count; return }
        if pending.count + count > maximumLineBytes {
            discarding = pending.count + count
            pending = []
            return
        }
        pending.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// Builds a frame line in one buffer: the verb, a space, the payload that `writePayload`
/// writes straight into the buffer, the end of line (one allocation, one write).
@inline(__always)
func frameLine<E: Error>(_ verb: String, writingPayload writePayload: (inout [UInt8]) throws(E) -> Void) throws(E) -> [UInt8] {
    var line: [UInt8] = []
    line.reserveCapacity(64)
    try appendFrameLine(verb, to: &line, writingPayload: writePayload)
    return line
}

/// Appends a frame line to `line` (see `frameLine`).
@inline(__always)
func appendFrameLine<E: Error>(
    _ verb: String, to line: inout [UInt8], writingPayload writePayload: (inout [UInt8]) throws(E) -> Void
) throws(E) {
    var verb = verb
    verb.withUTF8 { line.append(contentsOf: $0) }
    line.append(0x20)
    try writePayload(&line)
    line.append(0x0A)
}

/// Decodes lines into frames or stray text.
enum FrameParser {
    /// The verb that the first `length` bytes of `line` spell, told by its length and first
    /// byte, then compared byte by byte (no string is made or hashed for each frame).
    private static func verb(in line: UnsafeRawBufferPointer, length: Int) -> Verb? {
        let candidate: Verb
        switch (length, line[0]) {
        case (6, UInt8(ascii: "R")): candidate = .reply
        case (6, UInt8(ascii: "O")): candidate = .output
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
    static func parse(_ line: UnsafeRawBufferPointer) -> Frame? {
        guard let base = line.baseAddress, !line.isEmpty else { return nil }
        let space = memchr(base, 0x20, line.count).map { base.distance(to: UnsafeRawPointer($0)) } ?? line.count
        guard space > 0, space <= 10, let verb = verb(in: line, length: space) else { return nil }
        if space == line.count { return Frame(verb: verb, content: .value(.null)) }
        let payload = UnsafeRawBufferPointer(rebasing: line[(space + 1)...])
        if verb == .call, let (name, arguments) = JSONReader.readCall(payload) {
            return Frame(verb: verb, content: .call(name: name, arguments: arguments))
        }
        do {
            return Frame(verb: verb, content: .value(try JSONReader.read(payload)))
        } catch {
            return Frame(verb: verb, content: .unreadable(error))
        }
    }

    /// A frame, or `nil` if the line is not one (stray output).
    static func parse(_ line: [UInt8]) -> Frame? {
        line.withUnsafeBytes { parse($0) }
    }
}
