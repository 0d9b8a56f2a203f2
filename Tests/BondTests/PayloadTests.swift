import Bond
import Foundation
import Testing

/// Strings from 0 B to 64 MiB, both ways, in every language, locally and over ssh.
@Suite(.timeLimit(.minutes(5))) struct PayloadTests {
    static let cases: [(Snippets, Place)] = CrossLanguageTests.all.flatMap { s in places.map { (s, $0) } }
    static let sizes = [0, 512, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20]

    static func payload(_ size: Int) -> String {
        // Mostly ASCII with escapes and multi-byte characters mixed in; exactly `size` UTF-8 bytes.
        let unit = "abc\"\\\n\té€🎉xyz"
        var text = String(repeating: unit, count: size / unit.utf8.count)
        text += String(repeating: "x", count: size - text.utf8.count)
        return text
    }

    @Test(arguments: cases)
    func stringsOfEverySize(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        for size in Self.sizes {
            let text = Self.payload(size)
            let back = try bond.call("ident", text)
            #expect(back.stringValue?.utf8.count == size)
            #expect(back.stringValue == text, "\(size) bytes")
        }
    }

    /// (One case at a time: each holds several copies of 64 MiB, on both sides.)
    @Test(.serialized, arguments: cases)
    func sixtyFourMebibytes(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        let text = String(repeating: "0123456789abcdef", count: (64 << 20) / 16)
        let back = try bond.call("ident", text)
        #expect(back.stringValue == text)
        // And produced remotely.
        let made = try bond.eval(s.sixtyFourMebibytesOfZ)
        #expect(made.stringValue?.utf8.count == 64 << 20)
    }
}

/// docs/reliability.md, "Payloads and text": payloads under concurrent output, text edge cases, unserializable values.
@Suite(.timeLimit(.minutes(3))) struct PayloadEdgeTests {
    @Test(arguments: LanguageTests.cases)
    func roundTripWhileTheInterpreterFloodsOutput(_ s: Snippets, _ place: Place) throws {
        let (bond, collected) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.language == "Python"
            ? "import sys\ndef noisy(x):\n    line = 'o' * 1023 + '\\n'\n    for i in range(10240):\n        sys.stdout.write(line)\n    return x\n"
            : "function noisy(x) { var line = 'o'.repeat(1023) + '\\n'; for (var i = 0; i < 10240; i++) process.stdout.write(line); return x; }")
        let text = PayloadTests.payload(8 << 20)
        #expect(try bond.call("noisy", text).stringValue == text)
        #expect(collected.stdout.utf8.count == 10 << 20)
    }

    @Test(arguments: Snippets.engine)
    func textEdgeCasesRoundTripExactly(_ s: Snippets) throws {
        let (bond, _) = try makeBond(s.language)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        for text in ["𝄞 astral 😀", "e\u{301} combining", "👩‍👩‍👧‍👦 zwj", "🇫🇷 flags", "\u{202E}bidi", "\u{0}\u{1}\u{1F}\u{7F}",
                     "\u{FEFF}bom", "\u{2028}\u{2029}", "\u{10FFFF}"] {
            #expect(try bond.call("ident", text) == .string(text), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test(arguments: Snippets.engine)
    func loneSurrogatesAndBadTextAreRemoteSerializationErrors(_ s: Snippets) throws {
        let (bond, _) = try makeBond(s.language)
        defer { bond.close() }
        let code = s.language == "Python" ? "'a\\ud800b'" : "'a\\ud800b'"
        // Python cannot encode it (remote); Node writes it as an escape, which cannot be read here (local)
        let side: BondSide = s.language == "Python" ? .remote : .local
        guard case .serialization(_, side, _) = bondError({ _ = try bond.eval(code) }) else {
            Issue.record("lone surrogate"); return
        }
        if s.language == "Python" {
            // (bytes are no text: they cross as bytes, see BytesTests)
            #expect(try bond.eval("b'\\xff'") == .bytes([0xFF]))
        }
        #expect(try bond.eval("1") == 1)
    }

    @Test(arguments: Snippets.engine)
    func unserializableValuesAreErrorsAndTheBondGoesOn(_ s: Snippets) throws {
        let (bond, _) = try makeBond(s.language)
        defer { bond.close() }
        let cases = s.language == "Python"
            ? ["lambda: 1", "float('nan')", "float('inf')", "2 ** 70", "-(2 ** 64)", "(lambda l: l.append(l) or l)([])", "{1: 2}.keys()"]
            : ["function () {}", "NaN", "Infinity", "10n ** 30n", "(function () { var a = []; a.push(a); return a; })()", "Symbol('s')",
               // inside the arrays that the driver writes without its checking replacer
               "[NaN]", "[1, [Infinity]]", "[function () {}]", "['x', [10n]]", "[[Symbol('s')]]"]
        for code in cases {
            // Python writes big integers as they are, which this host cannot read (64 bits): local
            let side: BondSide = code.contains("2 ** ") ? .local : .remote
            guard case .serialization(_, side, let message) = bondError({ _ = try bond.eval(code) }) else {
                Issue.record("\(s.language) \(code): expected a remote serialization error"); continue
            }
            #expect(!message.isEmpty)
            #expect(try bond.eval("1 + 1") == 2)
        }
        // The largest integers that fit both sides exactly.
        #expect(try bond.eval(s.language == "Python" ? "2 ** 62" : "2 ** 52") == .int(s.language == "Python" ? 1 << 62 : 1 << 52))
    }

    @Test func dataShapedLikeObjectsStaysData() throws {
        let (bond, _) = try makeBond("Python")
        defer { bond.close() }
        let value = try bond.eval("{'__class__': 'os.system', 'py/object': 'subprocess.Popen', '__reduce__': ['rm', '-rf']}")
        #expect(value["__class__"] == "os.system")
        #expect(value["__reduce__"] == ["rm", "-rf"])
    }
}
