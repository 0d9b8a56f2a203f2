import Bond
import Foundation
import Testing

/// Strings from 0 B to 64 MiB, both ways, locally and over ssh.
@Suite struct PayloadTests {
    static let sizes = [0, 512, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20]

    static func payload(_ size: Int) -> String {
        // Mostly ASCII with escapes and multi-byte characters mixed in; exactly `size` UTF-8 bytes.
        let unit = "abc\"\\\n\té€🎉xyz"
        var text = String(repeating: unit, count: size / unit.utf8.count)
        text += String(repeating: "x", count: size - text.utf8.count)
        return text
    }

    @Test(arguments: LanguageTests.cases)
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

    @Test(arguments: LanguageTests.cases)
    func sixtyFourMebibytes(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        let text = String(repeating: "0123456789abcdef", count: (64 << 20) / 16)
        let back = try bond.call("ident", text)
        #expect(back.stringValue == text)
        // And produced remotely.
        let made = try bond.eval(s.language == "Python" ? "'z' * (64 << 20)" : "'z'.repeat(64 << 20)")
        #expect(made.stringValue?.utf8.count == 64 << 20)
    }
}
