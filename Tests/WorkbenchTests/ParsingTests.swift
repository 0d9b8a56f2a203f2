import Bond
import Testing
@testable import Workbench

@Suite struct PaneSpecTests {
    @Test func parsesAllForms() throws {
        #expect(try PaneSpec.parse("Python") == PaneSpec(language: "Python"))
        #expect(try PaneSpec.parse("far:PHP=ssh localhost php") == PaneSpec(name: "far", language: "PHP", command: "ssh localhost php"))
        #expect(try PaneSpec.parse("py=python3 -u") == PaneSpec(language: "py", command: "python3 -u"))
        #expect(try PaneSpec.parse("a:js") == PaneSpec(name: "a", language: "js"))
        // A colon inside the command is part of the command.
        #expect(try PaneSpec.parse("Python=ssh -p 22 h:x") == PaneSpec(language: "Python", command: "ssh -p 22 h:x"))
    }

    @Test func rejectsBadSpecs() {
        #expect(throws: ParseError.self) { try PaneSpec.parse("") }
        #expect(throws: ParseError.self) { try PaneSpec.parse("name:") }
        #expect(throws: ParseError.self) { try PaneSpec.parse("1x:Python") }
        #expect(throws: ParseError.self) { try PaneSpec.parse("Python=") }
    }

    @Test func languageAliases() {
        let known = ["JavaScript", "PHP", "Perl", "Python"]
        #expect(Languages.canonical("py", known: known) == "Python")
        #expect(Languages.canonical("PYTHON", known: known) == "Python")
        #expect(Languages.canonical("node", known: known) == "JavaScript")
        #expect(Languages.canonical("js", known: known) == "JavaScript")
        #expect(Languages.canonical("pl", known: known) == "Perl")
        #expect(Languages.canonical("php", known: known) == "PHP")
        #expect(Languages.canonical("Ruby", known: known) == "Ruby")
        #expect(Languages.canonical("js", known: ["Python"]) == "JavaScript")
    }

    @Test func defaultNamesAreNumberedWhenRepeated() {
        let names = Languages.paneNames(for: [(nil, "Python"), (nil, "Python"), ("far", "PHP"), (nil, "JavaScript"), (nil, "Python")])
        #expect(names == ["python", "python2", "far", "javascript", "python3"])
        #expect(Languages.paneNames(for: [(nil, "Python")], taken: ["python"]) == ["python2"])
    }
}

@Suite struct CallParserTests {
    @Test func nameAndJSONArguments() throws {
        let (name, args) = try CallParser.parseCall(#"math.pow 2 10.5 "a b" [1, {"z": 1, "a": [true, null]}] @r1"#)
        #expect(name == "math.pow")
        #expect(args == [
            .value(2), .value(10.5), .value("a b"),
            .value([1, ["z": 1, "a": [true, nil]]]), .ref("r1"),
        ])
        // Key order is kept.
        if case .value(let v) = args[3] { #expect(v.description == #"[1,{"z":1,"a":[true,null]}]"#) }
    }

    @Test func noArguments() throws {
        let (name, args) = try CallParser.parseCall("  f  ")
        #expect(name == "f")
        #expect(args.isEmpty)
    }

    @Test func badArgumentsAreReported() {
        #expect(throws: ParseError.self) { try CallParser.parseCall("f bare") }
        #expect(throws: ParseError.self) { try CallParser.parseCall("f [1,") }
        #expect(throws: ParseError.self) { try CallParser.parseCall("f \"x\"y") }
        #expect(throws: ParseError.self) { try CallParser.parseCall("") }
        #expect(throws: ParseError.self) { try CallParser.parseCall("f @") }
    }

    @Test func jsonStrings() throws {
        #expect(try CallParser.parseJSON(#""a\n\u00e9\ud83d\ude00""#) == "a\né😀")
        #expect(try CallParser.parseJSON("-12") == .int(-12))
        #expect(try CallParser.parseJSON("1e3") == .double(1000))
    }
}

@Suite struct InputTests {
    @Test func editing() {
        var e = InputEditor()
        e.insert("hello")
        e.left(); e.left()
        e.insert("X")
        #expect(e.text == "helXlo")
        e.backspace()
        e.deleteForward()
        #expect(e.text == "helo")
        e.home()
        e.insert(">")
        e.end()
        e.insert("!")
        #expect(e.text == ">helo!")
        e.killToStart()
        #expect(e.text == "")
    }

    @Test func multiLineCursorMoves() {
        var e = InputEditor("for x in y:\n    pass")
        #expect(e.lineCount == 2)
        #expect(e.cursorPosition == (1, 8))
        var moved = e.lineUp()
        #expect(moved)
        #expect(e.cursorPosition == (0, 8))
        moved = e.lineUp()
        #expect(!moved)
        moved = e.lineDown()
        #expect(moved)
        #expect(e.cursorPosition == (1, 8))
        moved = e.lineDown()
        #expect(!moved)
    }

    @Test func historyWalksAndKeepsTheDraft() {
        var h = History()
        h.add("1+1")
        h.add("2+2")
        h.add("2+2")
        h.add("   ")
        #expect(h.entries == ["1+1", "2+2"])
        #expect(h.previous(current: "draft") == "2+2")
        #expect(h.previous(current: "") == "1+1")
        #expect(h.previous(current: "") == nil)
        #expect(h.next() == "2+2")
        #expect(h.next() == "draft")
        #expect(h.next() == nil)
    }

    @Test func historyFileRoundTrip() {
        let entries = ["a", "for x in y:\n    print(x)", "\"quoted\" \\ \t"]
        #expect(History.decode(History.encode(entries)) == entries)
        #expect(History(entries: Array(repeating: "x", count: 5000).enumerated().map { "\($0.offset)" }).entries.count == 1000)
    }
}

@Suite struct KeyTests {
    let decoder = KeyDecoder(codes: .ncurses)

    @Test func controlKeys() {
        #expect(decoder.decode([.ch("\r")]) == [.enter])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 2)]) == [.ctrl("b")])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 17)]) == [.ctrl("q")])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 9)]) == [.tab])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 127)]) == [.backspace])
    }

    @Test func altEnterAndEscape() {
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27), .ch("\r")]) == [.altEnter])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27), .ch("x")]) == [.alt("x")])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27)]) == [.escape])
        // ESC then a control key: two keys (a help overlay closed, then a command prompt).
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27), RawKey(isKeyCode: false, code: 24)]) == [.escape, .ctrl("x")])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27), RawKey(isKeyCode: false, code: 27)]) == [.escape, .escape])
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27), RawKey(isKeyCode: false, code: 127)]) == [.alt("\u{7F}")])
    }

    @Test func keyCodes() {
        let c = KeyCodes.ncurses
        #expect(decoder.decode([RawKey(isKeyCode: true, code: c.up)]) == [.up])
        #expect(decoder.decode([RawKey(isKeyCode: true, code: c.f0 + 5)]) == [.function(5)])
        #expect(decoder.decode([RawKey(isKeyCode: true, code: c.backTab)]) == [.backTab])
        #expect(decoder.decode([RawKey(isKeyCode: true, code: c.resize)]) == [.resize])
        #expect(decoder.decode([.ch("日")]) == [.char("日")])
    }
}
