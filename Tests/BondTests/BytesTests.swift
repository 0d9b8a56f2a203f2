import Bond
import Foundation
import Testing

/// How each language makes and turns around byte strings, for `BytesTests`.
struct BytesSnippets: Sendable, CustomTestStringConvertible {
    let language: String
    /// A callable that reverses a byte string.
    let reverse: String
    /// An expression: the 256 byte values in order, as the language's byte string.
    let allBytes: String
    /// A callable that tells the type of its argument as the language names it.
    let typeName: String
    /// The type name that `typeName` gives for a byte string that arrived.
    let bytesType: String
    /// A callable that gives its argument back.
    let echo: String
    /// A callable that gives back what the exported function `flip` gives for its argument.
    let callFlip: String
    var testDescription: String { language }

    static let python = BytesSnippets(
        language: "Python", reverse: "lambda b: b[::-1]", allBytes: "bytes(range(256))",
        typeName: "lambda v: type(v).__name__", bytesType: "bytes", echo: "lambda v: v", callFlip: "lambda b: flip(b)")
    static let javaScript = BytesSnippets(
        language: "JavaScript", reverse: "(b) => Buffer.from(b).reverse()",
        allBytes: "Buffer.from(Array.from({length: 256}, (_, i) => i))",
        typeName: "(v) => v.constructor.name", bytesType: "Buffer", echo: "(v) => v", callFlip: "(b) => flip(b)")
    static let perl = BytesSnippets(
        language: "Perl", reverse: "sub { scalar reverse $_[0] }", allBytes: "join('', map { chr } 0..255)",
        typeName: "sub { utf8::is_utf8($_[0]) ? 'text' : 'bytes' }", bytesType: "bytes", echo: "sub { $_[0] }",
        callFlip: "sub { flip($_[0]) }")
    static let php = BytesSnippets(
        language: "PHP", reverse: "strrev", allBytes: "implode('', array_map('chr', range(0, 255)))",
        typeName: "gettype", bytesType: "string", echo: "(fn($v) => $v)", callFlip: "(fn($b) => flip($b))")
    static let all: [BytesSnippets] = [.python, .javaScript, .perl, .php]
}

/// [ext] Byte strings both ways, as raw blocks (docs/protocol.md, `BYTES`).
@Suite(.timeLimit(.minutes(5))) struct BytesTests {
    static let cases: [(BytesSnippets, Place)] = BytesSnippets.all.flatMap { s in places.map { (s, $0) } }

    @Test(arguments: cases)
    func everyByteValueCrossesBothWays(_ s: BytesSnippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        let all = (0...255).map { UInt8($0) }
        #expect(try bond.eval(s.allBytes) == .bytes(all))
        #expect(try bond.call(s.reverse, BondValue.bytes([0, 255, 128])) == .bytes([128, 255, 0]))
        #expect(try bond.call(s.reverse, BondValue.bytes(all)) == .bytes(all.reversed()))
        #expect(try bond.call(s.typeName, BondValue.bytes(all)) == .string(s.bytesType))
        // (Perl and PHP have no type of their own for bytes: an empty byte string is an empty string.)
        #expect(try bond.call(s.reverse, BondValue.bytes([])) == (["Perl", "PHP"].contains(s.language) ? "" : .bytes([])))
        // Nested, several in one frame, next to text that looks like their markers. (Each is
        // not UTF-8 text: a Perl or PHP byte string that is comes back as a string.)
        let nested: BondValue = [
            "a": [.bytes([1, 0xFF]), .bytes(Array("\n\nBYTES 3\n".utf8) + [0xFE]), "__BOND_bytes", ["__BOND_bytes": "x"]],
            "b": .bytes([0, 10, 13, 0x80]),
        ]
        let echo = s.echo
        #expect(try bond.call(echo, nested) == nested)
        #expect(try bond.eval(s.language == "Perl" ? "1 + 1" : "1 + 1") == 2)
    }

    @Test(arguments: cases)
    func exportedFunctionsTakeAndGiveBytes(_ s: BytesSnippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.export("flip") { args in .bytes((args.first?.bytesValue ?? []).map { ~$0 }) }
        let flipped = try bond.call(s.callFlip, BondValue.bytes([0, 1, 255]))
        #expect(flipped == .bytes([255, 254, 0]))
    }

    /// A handle let go rides on the next frame as a `RELEASE`, before the frame's blocks, on
    /// both faces (it went between the blocks and their frame, which then lost them).
    @Test(arguments: BytesSnippets.all)
    func aReleaseGoesBeforeTheBlocks(_ s: BytesSnippets) throws {
        let (bond, _) = try makeBond(s.language)
        defer { bond.close() }
        do { _ = try bond.object(Self.plainObject[s.language]!) }   // (let go at once)
        #expect(try bond.call(s.echo, Self.someBytes) == Self.someBytes)
        #expect(try bond.eval(Self.tableSize[s.language]!) == 0)
    }

    @Test(arguments: BytesSnippets.all)
    func aReleaseGoesBeforeTheBlocksOnTheAsyncFace(_ s: BytesSnippets) async throws {
        let bond = try await Bond.start(language: s.language)
        do { _ = try await bond.object(Self.plainObject[s.language]!) }
        #expect(try await bond.call(s.echo, Self.someBytes) == Self.someBytes)
        #expect(try await bond.eval(Self.tableSize[s.language]!) == 0)
        await bond.close()
    }

    static let someBytes = BondValue.bytes([0, 255, 10, 128])
    /// An object with nothing in it.
    static let plainObject = ["Python": "object()", "JavaScript": "({})", "Perl": "bless({}, 'Thing')", "PHP": "new stdClass()"]
    /// How many objects the driver holds for the host.
    static let tableSize = ["Python": "len(_BOND_TABLE)", "JavaScript": "__BOND.objectCount()",
                            "Perl": "__BOND::object_count()", "PHP": "_BOND_object_count()"]

    /// The async face sends and takes bytes as the blocking one does: requests, the answers of
    /// async exported functions, big blocks.
    @Test(arguments: cases)
    func theAsyncFaceCarriesBytes(_ s: BytesSnippets, _ place: Place) async throws {
        let bond = try await Bond.start(language: s.language, command: command(s.language, place))
        let all = (0...255).map { UInt8($0) }
        #expect(try await bond.call(s.reverse, BondValue.bytes(all)) == .bytes(all.reversed()))
        #expect(try await bond.call(s.typeName, BondValue.bytes(all)) == .string(s.bytesType))
        try await bond.export("flip") { args async throws -> BondValue in .bytes((args.first?.bytesValue ?? []).map { ~$0 }) }
        #expect(try await bond.call(s.callFlip, BondValue.bytes([0, 1, 255])) == .bytes([255, 254, 0]))
        let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try await bond.call(s.echo, BondValue.bytes(big)) == .bytes(big))
        await bond.close()
    }

    @Test(arguments: BytesSnippets.all)
    func runShowsBytesAsData(_ s: BytesSnippets) throws {
        let (bond, _) = try makeBond(s.language)
        defer { bond.close() }
        let code = ["Python": "b'\\x00ab'", "JavaScript": "Buffer.from([0, 97, 98])", "Perl": "\"\\x00ab\\xff\"",
                    "PHP": "\"\\x00ab\\xff\""][s.language]!
        let expected: [UInt8] = ["Perl", "PHP"].contains(s.language) ? [0, 97, 98, 255] : [0, 97, 98]
        #expect(try bond.run(code) == .value(.bytes(expected)))
        #expect(BondValue.bytes(expected).description.hasPrefix("b'\\x00ab"))
    }

    @Test(arguments: places)
    func perlMarksBytesAndTellsTextFromBytes(_ place: Place) throws {
        let (bond, _) = try makeBond("Perl", place)
        defer { bond.close() }
        #expect(try bond.eval("_BOND_bytes('abc')") == .bytes(Array("abc".utf8)))
        #expect(try bond.eval("[_BOND_bytes(''), \"\\xff\\x00\", \"caf\\x{e9}\", \"caf\\xc3\\xa9\", \"caf\\x{e9}\\x{263a}\"]")
            == [.bytes([]), .bytes([0xFF, 0]), .bytes(Array("caf".utf8) + [0xE9]), "café", "café☺"])
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval("_BOND_bytes(\"\\x{263a}\")") }) else {
            Issue.record("expected a remote serialization error"); return
        }
    }

    @Test(arguments: places)
    func phpMarksBytesAndTellsTextFromBytes(_ place: Place) throws {
        let (bond, _) = try makeBond("PHP", place)
        defer { bond.close() }
        #expect(try bond.eval("_BOND_bytes('abc')") == .bytes(Array("abc".utf8)))
        #expect(try bond.eval("[_BOND_bytes(''), \"\\xff\\x00\", 'café', ['k' => \"\\xc3\"]]")
            == [.bytes([]), .bytes([0xFF, 0]), "café", ["k": .bytes([0xC3])]])
        try bond.export("size") { args in .int(args.first?.bytesValue?.count ?? -1) }
        #expect(try bond.eval("size(\"\\xff\\xfe\")") == 2)
        #expect(try bond.eval("size(_BOND_bytes('ok'))") == 2)
    }

    @Test func aDriverWithoutTheExtensionIsNamed() throws {
        // Our Python driver with a manifest that does not offer BYTES (as python-bond's own).
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bond-no-bytes-\(getpid())")
        let python = folder.appendingPathComponent("Python")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: python, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ours = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Resources/drivers/Python")
        for file in ["stage1.py", "stage2.py"] {
            try FileManager.default.copyItem(at: ours.appendingPathComponent(file), to: python.appendingPathComponent(file))
        }
        let manifest = try String(contentsOf: ours.appendingPathComponent("bond.json"), encoding: .utf8)
            .replacingOccurrences(of: ", \"BYTES\"", with: "")
        try manifest.write(to: python.appendingPathComponent("bond.json"), atomically: true, encoding: .utf8)
        let (py, _) = try makeBond("Python") { $0.driverDirectories = [folder] }
        defer { py.close() }
        guard case .usage(_, let message) = bondError({ _ = try py.call("len", BondValue.bytes([1, 2])) }) else {
            Issue.record("expected a usage error"); return
        }
        #expect(message.contains("BYTES") && message.contains("Python driver"), "\(message)")
        // Without the extension the driver sends no blocks: a byte string is what JSON cannot carry.
        guard case .serialization(_, .remote, _) = bondError({ _ = try py.eval("b'x'") }) else {
            Issue.record("expected a remote serialization error"); return
        }
        #expect(try py.call("len", [1, 2]) == 2)
    }
}

/// 64 MiB of bytes through each driver, locally and over ssh, one bond at a time (each holds
/// a few copies of the payload).
@Suite(.serialized, .timeLimit(.minutes(5))) struct BigBytesTests {
    /// 64 MiB of every byte value in a scattered order, made once (a loop in a debug build is slow).
    static let big: [UInt8] = {
        let pattern = (0..<(1 << 16)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var data: [UInt8] = []
        data.reserveCapacity(64 << 20)
        for _ in 0..<((64 << 20) >> 16) { data.append(contentsOf: pattern) }
        return data
    }()

    @Test(arguments: BytesTests.cases)
    func sixtyFourMebibytesEchoExactly(_ s: BytesSnippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        let back = try bond.call(s.echo, BondValue.bytes(Self.big)).bytesValue
        // (compared with memcmp: an element-wise comparison of 64 MiB is slow in a debug build)
        let same = back.map { back in
            back.count == Self.big.count && back.withUnsafeBytes { a in Self.big.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
        }
        #expect(same == true)
        #expect(try bond.eval("2 + 2") == 4)
    }

}

/// The `bytes` and `keywords:` lines of issue 18's contract, as written there.
@Suite struct Issue18ContractTests {
    @Test func bytesAndKeywordLinesBehaveAsCommented() throws {
        let py = try Bond(language: "Python")
        defer { py.close() }
        let reversed = try py.call("lambda b: b[::-1]", BondValue.bytes([0, 255, 128]))  // .bytes([128, 255, 0])
        let sorted = try py.call("sorted", [3, 1, 2], keywords: ["reverse": true])     // [3, 2, 1]
        #expect(reversed == .bytes([128, 255, 0]))
        #expect(sorted == [3, 2, 1])
    }
}
