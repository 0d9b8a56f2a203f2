import Testing
@testable import Workbench

@Suite struct SanitizerTests {
    @Test func plainTextIsUnchanged() {
        #expect(Sanitizer.line("hello, world") == "hello, world")
        #expect(Sanitizer.line("héllo ünïcode 日本") == "héllo ünïcode 日本")
    }

    @Test func c0AndDelAreCaretEscaped() {
        #expect(Sanitizer.line("a\u{7}b") == "a^Gb")
        #expect(Sanitizer.line("\u{0}") == "^@")
        #expect(Sanitizer.line("x\u{7F}") == "x^?")
        #expect(Sanitizer.line("cr\rlf") == "cr^Mlf")
    }

    @Test func escapeSequencesAreShownNotSent() {
        #expect(Sanitizer.line("\u{1B}c") == "^[c")                       // ESC c (reset)
        #expect(Sanitizer.line("\u{1B}[6n") == "^[[6n")                   // cursor report request
        #expect(Sanitizer.line("\u{1B}]52;c;aGVsbG8=\u{7}") == "^[]52;c;aGVsbG8=^G")  // OSC 52
        #expect(Sanitizer.line("\u{1B}]8;;http://x\u{1B}\\link\u{1B}]8;;\u{1B}\\")
            == "^[]8;;http://x^[\\link^[]8;;^[\\")                        // OSC 8
        #expect(Sanitizer.line("\u{1B}]0;title") == "^[]0;title")         // unterminated OSC
    }

    @Test func c1ControlsAreHexEscaped() {
        // U+009B is CSI when a terminal takes C1 controls; in UTF-8 it is C2 9B.
        let fromUTF8 = String(decoding: [0x61, 0xC2, 0x9B, 0x32, 0x4A], as: UTF8.self)
        #expect(Sanitizer.line(fromUTF8) == "a\\x9b2J")
        #expect(Sanitizer.line("\u{85}\u{90}") == "\\x85\\x90")
    }

    @Test func invalidBytesBecomeReplacementCharacters() {
        let raw = String(decoding: [0x41, 0x9B, 0xFF, 0x42], as: UTF8.self)
        #expect(Sanitizer.line(raw) == "A\u{FFFD}\u{FFFD}B")
    }

    @Test func bidiOverridesAreNamed() {
        #expect(Sanitizer.line("abc\u{202E}def\u{202C}") == "abc<U+202E>def<U+202C>")
        #expect(Sanitizer.line("\u{2066}x\u{2069}\u{200F}") == "<U+2066>x<U+2069><U+200F>")
    }

    @Test func tabsExpand() {
        #expect(Sanitizer.line("a\tb") == "a       b")
        #expect(Sanitizer.line("\tx", tabWidth: 4) == "    x")
    }

    @Test func combiningMarkWithoutBaseGetsACircle() {
        #expect(Sanitizer.line("\u{301}x") == "\u{25CC}\u{301}x")
        #expect(Sanitizer.line("e\u{301}") == "e\u{301}")
    }

    @Test func linesSplitAndDropCR() {
        #expect(Sanitizer.lines("a\r\nb\nc") == ["a", "b", "c"])
    }

    @Test func sanitizedTextHasNoControlScalars() {
        var all = ""
        for v in 0..<0x100 { all.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        let clean = Sanitizer.line(all)
        #expect(!clean.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7F && $0.value < 0xA0) })
    }
}

@Suite struct WidthTests {
    @Test func widths() {
        #expect(TextWidth.of("abc") == 3)
        #expect(TextWidth.of("日本") == 4)
        #expect(TextWidth.of("e\u{301}") == 1)
        #expect(TextWidth.of("🙂") == 2)
    }

    @Test func clustersKeepCombiningMarksWithTheirBase() {
        let c = Sanitizer.clusters("e\u{301}x")
        #expect(c.count == 2)
        #expect(c[0] == [Glyph(text: "e\u{301}", width: 1)])
    }

    @Test func wrapNeverSplitsAWideCharacter() {
        let rows = Wrap.rows("ab日本語", width: 5)
        #expect(rows.map { $0.map(\.text).joined() } == ["ab日", "本語"])
        #expect(Wrap.rowCount("ab日本語", width: 5) == 2)
        #expect(Wrap.rowCount(String(repeating: "x", count: 25), width: 10) == 3)
        #expect(Wrap.rowCount("", width: 10) == 1)
    }

    @Test func truncateWithEllipsis() {
        #expect(Wrap.truncate("hello world", width: 6).map(\.text).joined() == "hello…")
        #expect(Wrap.truncate("日本語", width: 4).map(\.text).joined() == "日…")
        #expect(Wrap.truncate("short", width: 6).map(\.text).joined() == "short")
    }
}

@Suite struct CellBufferTests {
    @Test func wideCharactersTakeTwoCells() {
        var b = CellBuffer(width: 6, height: 1)
        b.put("日本x", x: 0, y: 0, maxWidth: 6, style: .plain)
        #expect(b.lines() == ["日本x "])
        #expect(b[1, 0].isContinuation)
    }

    @Test func wideCharacterAtTheEdgeBecomesASpace() {
        var b = CellBuffer(width: 3, height: 1)
        b.put("ab日", x: 0, y: 0, maxWidth: 3, style: .plain)
        #expect(b.lines() == ["ab "])
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var b = CellBuffer(width: 4, height: 1)
        b.put("日本", x: 0, y: 0, maxWidth: 4, style: .plain)
        b.put("x", x: 1, y: 0, maxWidth: 1, style: .plain)
        #expect(b.lines() == [" x本"])
        b.put("y", x: 2, y: 0, maxWidth: 1, style: .plain)
        #expect(b.lines() == [" xy "])
    }

    @Test func putSanitizes() {
        var b = CellBuffer(width: 10, height: 1)
        b.put("\u{1B}[2J", x: 0, y: 0, maxWidth: 10, style: .plain)
        #expect(b.lines() == ["^[[2J     "])
    }
}

@Suite struct RingBufferTests {
    @Test func boundedAndOrdered() {
        var r = RingBuffer<Int>(capacity: 3)
        for i in 1...10 { r.append(i) }
        #expect(Array(r) == [8, 9, 10])
        #expect(r.count == 3)
        #expect(r.dropped == 7)
        r.replaceLast(11)
        #expect(Array(r) == [8, 9, 11])
    }

    @Test func transcriptStaysBoundedUnderAFlood() {
        var t = Transcript(capacity: 100)
        for i in 0..<10_000 { t.stream(.stdout, "line \(i)\n") }
        #expect(t.lines.count == 100)
        #expect(t.lines.last?.text == "line 9999")
    }

    @Test func aHugeLineIsSplitIntoBoundedLines() {
        var t = Transcript(capacity: 10_000)
        t.stream(.stdout, String(repeating: "ab", count: 50_000))
        t.stream(.stdout, "cd\n")
        #expect(t.lines.allSatisfy { $0.text.utf8.count <= Transcript.maximumLineBytes })
        #expect(t.lines.map(\.text).joined() == String(repeating: "ab", count: 50_000) + "cd")
    }

    @Test func streamedOutputJoinsChunksAndSeparatesChannels() {
        var t = Transcript()
        t.stream(.stdout, "hel")
        t.stream(.stdout, "lo\nwor")
        t.stream(.stderr, "oops\n")
        t.stream(.stdout, "ld\n")
        #expect(t.lines.map(\.text) == ["hello", "wor", "oops", "ld"])
        #expect(t.lines.map(\.kind) == [.stdout, .stdout, .stderr, .stdout])
    }
}
