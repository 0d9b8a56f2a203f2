import Foundation
import Testing
@testable import Bond

/// A value shared with a thread of our own.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ new: Value) { lock.withLock { value = new } }
}

/// A seeded random fuzzer for the frame and JSON decoding (docs/reliability.md, "Fuzzing"). It mutates real
/// protocol lines and feeds them to the line splitter, the frame parser and the JSON reader in
/// random chunks; nothing may crash, hang or grow without bound. Deterministic: a failure
/// prints its seed and input, which then become a regression case below.
@Suite(.timeLimit(.minutes(3))) struct FuzzTests {
    /// Lines seen in real transcripts of the four drivers.
    static let seeds: [String] = [
        "READY", "BYE", "RETURN null", "RETURN 42", "RETURN -1.5e-3", "RETURN \"h\\u00e9llo \\ud83c\\udf89\"",
        "RETURN [1,[2,[3,[]]],{}]", "RETURN {\"b\":1,\"a\":[true,false,null],\"c\":{\"d\":\"e\"}}",
        "OUTPUT [\"STDOUT\",\"hello\\n\"]", "OUTPUT [\"STDERR\",\"PHP[E_WARNING]: oops\\n\"]",
        "EXCEPT \"ValueError: boom\"", "EXCEPT {\"type\":\"ValueError\",\"message\":\"boom\",\"args\":[\"boom\"]}",
        "ERROR \"TypeError: Object of type object is not JSON serializable\"",
        "CALL [\"twice\",[21]]", "CALL [\"down\",[9]]", "EVAL \"1 + 1\"", "EVAL_BLOCK \"def f():\\n    return 1\\n\"",
        "XCALL [\"Math.max\",[[0,1],[1,\"big\"]]]", "EXPORT \"twice\"", "RETURN 9223372036854775807",
        "RETURN \"\\\\\\\"\\/\\b\\f\\n\\r\\t\"",
    ]

    /// xorshift64*: small, fast, and the same on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2685821657736338717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    static func mutate(_ line: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = line
        for _ in 0...random.below(4) {
            switch random.below(8) {
            case 0 where !bytes.isEmpty: bytes[random.below(bytes.count)] ^= UInt8(1 << random.below(8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: random.below(bytes.count + 1))
            case 2 where !bytes.isEmpty: bytes.removeSubrange(random.below(bytes.count)...)
            case 3:
                let open: [UInt8] = random.below(2) == 0 ? Array("[".utf8) : Array("{\"k\":".utf8)
                let depth = random.below(2000)
                bytes = Array("RETURN ".utf8) + Array(repeating: open, count: depth).flatMap { $0 } + bytes
            case 4: bytes.insert(contentsOf: Array(["\\u", "\\ud800", "\\udc00", "\"", "\\", "\r", "\0", "\u{C2}\u{9B}", "1e999", "-"][random.below(10)].utf8), at: random.below(bytes.count + 1))
            case 5 where bytes.count > 2:
                let a = random.below(bytes.count), b = random.below(bytes.count)
                bytes.insert(contentsOf: bytes[min(a, b)..<max(a, b)], at: random.below(bytes.count))
            case 6: bytes.append(contentsOf: Array(" ".utf8) + Array(repeating: UInt8(ascii: "9"), count: random.below(40)))
            default: bytes = Array(seeds[random.below(seeds.count)].utf8)
            }
        }
        return bytes
    }

    /// Runs `body` on a thread with a small (1 MiB) stack, as a worst case for deep nesting.
    static func onSmallStack(_ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { body(); done.signal() }
        thread.stackSize = 1 << 20
        thread.start()
        done.wait()
    }

    /// A verb is told by its length and first byte, then compared whole: each verb is read,
    /// with or without a payload, and a change of any one of its bytes makes it stray output.
    @Test func everyVerbIsReadAndNoNearMiss() {
        let verbs = ["OUTPUT", "RETURN", "EXCEPT", "ERROR", "CALL", "BYE", "EVAL", "EVAL_BLOCK", "XCALL", "EXPORT"]
        for verb in verbs {
            #expect(FrameParser.parse(Array(verb.utf8))?.verb.rawValue == verb)
            #expect(FrameParser.parse(Array((verb + " 1").utf8))?.verb.rawValue == verb)
            for position in 0..<verb.utf8.count {
                for replacement in [UInt8(ascii: "A"), UInt8(ascii: "C"), UInt8(ascii: "P"), UInt8(ascii: "_"), 0x80] {
                    var bytes = Array(verb.utf8)
                    guard bytes[position] != replacement else { continue }
                    bytes[position] = replacement
                    #expect(FrameParser.parse(bytes + Array(" 1".utf8)) == nil, "\(String(decoding: bytes, as: UTF8.self))")
                }
            }
            #expect(FrameParser.parse(Array((verb + "S 1").utf8)) == nil)
            #expect(FrameParser.parse(Array(verb.dropLast().utf8) + Array(" 1".utf8)) == nil)
        }
    }

    /// The splitter hands out lines in place when a chunk holds them whole, and copies those
    /// that span chunks: whatever the chunking, the lines (a final `\r` dropped) and the
    /// oversized ones (by length) are those of a plain split of the whole stream.
    /// A CALL of the usual shape is read as its parts (`Frame.Payload.call`), without the array
    /// that holds them: whatever the line, the frame is the one the general reader makes.
    @Test func callsReadAsPartsAreReadAsTheGeneralReaderDoes() {
        let shapes = [
            "CALL [\"cb\",[1]]", "CALL [ \"cb\" , [ 1 , \"a\" ] ] ", "CALL [\"cb\",[]]", "CALL [\"\",[[1,[2]],{\"a\":null}]]",
            "CALL [\"c\\u00e9\",[1]]", "CALL [\"cb\",[1],2]", "CALL [\"cb\",{}]", "CALL [1,[2]]", "CALL [\"cb\"]",
            "CALL [\"cb\",[1]", "CALL [\"cb\",[1]] x", "CALL \"cb\"", "CALL []",
        ]
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var calls = 0
        for index in 0..<20_000 {
            let line = index < shapes.count ? Array(shapes[index].utf8) : Self.mutate(Array(shapes[random.below(shapes.count)].utf8), &random)
            guard let frame = FrameParser.parse(line), frame.verb == .call, line.count > 5 else { continue }
            let payload = line.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[5...]) }
            let general: Result<BondValue, JSONReadError>
            do { general = .success(try JSONReader.read(payload)) } catch { general = .failure(error) }
            switch (frame.content, general) {
            case (.call(let name, let arguments), .success(let value)):
                calls += 1
                #expect(value == .array([.string(name), .array(arguments)]), "\(String(decoding: line, as: UTF8.self))")
            case (.value(let value), .success(let expected)):
                #expect(value == expected, "\(String(decoding: line, as: UTF8.self))")
                if case .array(let parts) = expected, parts.count == 2, case .string = parts[0], case .array = parts[1] {
                    Issue.record("a call of the usual shape read the general way: \(String(decoding: line, as: UTF8.self))")
                }
            case (.unreadable(let error), .failure(let expected)):
                #expect(error.description == expected.description)
            default:
                Issue.record("read otherwise than the general reader: \(String(decoding: line, as: UTF8.self))")
            }
        }
        #expect(calls > 200)  // (401 with this seed)
    }

    @Test func linesAreTheSameWhateverTheChunks() {
        enum Piece: Equatable { case line([UInt8]), oversized(Int) }
        let limit = 40
        var random = Random(state: 0x2545_F491_4F6C_DD1D)
        for _ in 0..<2_000 {
            var stream: [UInt8] = []
            for _ in 0..<random.below(12) {
                let length = random.below(random.below(4) == 0 ? 90 : 30)
                stream += (0..<length).map { _ in UInt8(ascii: "a") + UInt8(random.below(26)) }
                if random.below(3) == 0 { stream.append(0x0D) }
                stream.append(0x0A)
            }
            stream += Array("tail".utf8.prefix(random.below(5)))  // an unterminated end stays behind
            var expected: [Piece] = []
            var lines = stream.split(separator: 0x0A, omittingEmptySubsequences: false)
            lines.removeLast()
            for line in lines {
                if line.count > limit { expected.append(.oversized(line.count)); continue }
                expected.append(.line(Array(line.last == 0x0D ? line.dropLast() : line)))
            }
            var splitter = LineSplitter(maximumLineBytes: limit)
            var seen: [Piece] = []
            var offset = 0
            let whole = random.below(4) == 0
            while offset < stream.count {
                let end = whole ? stream.count : min(stream.count, offset + 1 + random.below(50))
                stream[offset..<end].withUnsafeBytes { chunk in
                    splitter.feed(chunk) { piece in
                        switch piece {
                        case .line(let line): seen.append(.line(Array(line)))
                        case .oversized(let size): seen.append(.oversized(size))
                        case .block: Issue.record("a block, with blocks off")
                        }
                    }
                }
                offset = end
            }
            #expect(seen == expected, "stream: \(String(decoding: stream, as: UTF8.self).debugDescription)")
            if seen != expected { return }
        }
    }

    @Test func mutatedFramesNeverCrashTheDecoder() {
        Self.onSmallStack {
            var random = Random(state: 0x9E37_79B9_7F4A_7C15)
            var frames = 0, stray = 0, oversized = 0
            for _ in 0..<30_000 {
                let seed = Array(Self.seeds[random.below(Self.seeds.count)].utf8)
                var stream: [UInt8] = []
                for _ in 0...random.below(3) { stream += Self.mutate(seed, &random) + [0x0A] }
                var splitter = LineSplitter(maximumLineBytes: 1 << 12)
                var offset = 0
                while offset < stream.count {
                    let size = 1 + random.below(64)
                    let end = min(stream.count, offset + size)
                    stream[offset..<end].withUnsafeBytes { chunk in
                        splitter.feed(chunk) { piece in
                            switch piece {
                            case .line(let line):
                                if let frame = FrameParser.parse(line) {
                                    frames += 1
                                    if case .success(let value) = frame.payload {
                                        // Whatever was read can be written and read back to the same value.
                                        if let text = try? JSONWriter.encode(value) {
                                            #expect((try? JSONReader.read(text)) == value)
                                        }
                                    }
                                } else {
                                    stray += 1
                                }
                            case .oversized:
                                oversized += 1
                            case .block:
                                Issue.record("a block, with blocks off")
                            }
                        }
                    }
                    offset = end
                }
            }
            #expect(frames > 1000 && stray > 1000)
        }
    }

    @Test func randomValuesRoundTripThroughTheCodec() {
        Self.onSmallStack {
            var random = Random(state: 42)
            func value(_ depth: Int) -> BondValue {
                switch random.below(depth > 6 ? 5 : 7) {
                case 0: return .null
                case 1: return .bool(random.below(2) == 0)
                case 2: return .int(Int(truncatingIfNeeded: random.next()))
                case 3: return .double(Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF) * (random.below(2) == 0 ? 1 : -1))
                case 4:
                    let scalars = (0..<random.below(12)).compactMap { _ in
                        Unicode.Scalar(UInt32([0x20 + random.below(95), random.below(0x20), 0xE9, 0x1F389, 0x301, 0x202E, 0x10FFFF][random.below(7)]))
                    }
                    return .string(String(String.UnicodeScalarView(scalars)))
                case 5: return .array((0..<random.below(5)).map { _ in value(depth + 1) })
                default:
                    var members: [(String, BondValue)] = []
                    for i in 0..<random.below(5) { members.append(("k\(i)\(random.below(3))", value(depth + 1))) }
                    return .object(.init(members, uniquingKeysWith: { a, _ in a }))
                }
            }
            for _ in 0..<5000 {
                let v = value(0)
                let bytes = try! JSONWriter.encode(v)
                #expect(!bytes.contains(0x0A), "a frame payload must stay on one line")
                #expect((try? JSONReader.read(bytes)) == v, "\(v)")
            }
        }
    }

    /// Inputs that once broke something, or nearly: each stays a regression case.
    @Test(arguments: [
        "RETURN " + String(repeating: "[", count: 100_000),
        "RETURN " + String(repeating: "{\"a\":", count: 100_000),
        "RETURN \"\\ud800\"", "RETURN \"\\udc00\\ud800\"", "RETURN \"\\u12\"", "RETURN 1e999", "RETURN -",
        "RETURN 99999999999999999999", "RETURN [1,]", "RETURN {\"a\"}", "RETURN tru",
        "RETURN \"a", "RETURN  [ 1 , 2 ] ", "RETURN\u{0}", "OUTPUT", "CALL [\"x\"]",
    ])
    func regressionInputs(_ line: String) {
        let accepted = Locked<BondValue?>(nil)
        Self.onSmallStack {
            if case .success(let value)? = FrameParser.parse(Array(line.utf8))?.payload { accepted.set(value) }
        }
        if let value = accepted.get() {
            #expect(line.hasSuffix("] ") || line == "OUTPUT" || line.hasPrefix("CALL"), "accepted \(value)")
        }
    }

    @Test func invalidUTF8InAStringIsRejected() {
        let line = Array("RETURN \"".utf8) + [0xC3, 0x28, 0xFF] + Array("\"".utf8)
        guard case .failure(let error)? = FrameParser.parse(line)?.payload else { Issue.record("accepted"); return }
        #expect(error.description.contains("UTF-8"))
    }
}
