import Bond
import Foundation
import Testing
@testable import Workbench

/// Types keys into the state, one message each.
func press(_ keys: Key..., into state: inout AppState) {
    for k in keys { _ = state.update(.key(k)) }
}

@Suite struct ReadlineTests {
    func edit(_ text: String, cursor: Int? = nil, _ keys: [Key]) -> (String, Int) {
        var input = InputEditor(text)
        if let cursor { input.moveCursor(to: cursor) }
        var ring = KillRing()
        for k in keys { LineEditing.apply(k, to: &input, ring: &ring) }
        return (input.text, input.cursor)
    }

    @Test func movesByCharacterWordAndLine() {
        #expect(edit("print(foo_bar, 42)", [.ctrl("a")]).1 == 0)
        #expect(edit("print(foo_bar, 42)", cursor: 0, [.ctrl("e")]).1 == 18)
        #expect(edit("print(foo_bar, 42)", [.alt("b")]).1 == 15)
        #expect(edit("print(foo_bar, 42)", [.ctrlLeft, .ctrlLeft]).1 == 6)
        #expect(edit("print(foo_bar, 42)", cursor: 0, [.alt("f"), .ctrlRight]).1 == 13)
        #expect(edit("abc", [.ctrl("b"), .ctrl("b"), .ctrl("f")]).1 == 2)
        #expect(edit("ab\ncd", [.home]).1 == 3)
        #expect(edit("ab\ncd", cursor: 1, [.end]).1 == 2)
    }

    @Test func killsAndYanks() {
        #expect(edit("one two three", cursor: 4, [.ctrl("k")]).0 == "one ")
        #expect(edit("one two three", cursor: 8, [.ctrl("u")]).0 == "three")
        #expect(edit("x = foo.bar(1)", [.ctrl("w")]).0 == "x = ")
        #expect(edit("x = foo.bar", [.alt("\u{7F}")]).0 == "x = foo.")
        #expect(edit("x = foo.bar", cursor: 4, [.alt("d")]).0 == "x = .bar")
        // Kills in a row make one entry; Ctrl-Y yanks it back.
        #expect(edit("a b c", [.ctrl("w"), .ctrl("w"), .ctrl("e"), .ctrl("y")]).0 == "a b c")
        // Alt-Y after Ctrl-Y: the older kill instead.
        #expect(edit("first second", [.ctrl("w"), .ctrl("a"), .ctrl("k"), .ctrl("y"), .alt("y")]).0 == "second")
        // At the end of a line of a multi-line input, Ctrl-K joins the lines.
        #expect(edit("ab\ncd", cursor: 2, [.ctrl("k")]).0 == "abcd")
    }

    @Test func transposeCaseAndUndo() {
        #expect(edit("teh", cursor: 2, [.ctrl("t")]).0 == "the")
        #expect(edit("ab", [.ctrl("t")]).0 == "ba")
        #expect(edit("hello world", cursor: 0, [.alt("u")]).0 == "HELLO world")
        #expect(edit("hello world", cursor: 0, [.alt("c"), .alt("c")]).0 == "Hello World")
        #expect(edit("abc", [.char("d"), .char("e"), .ctrl("_")]).0 == "abc")
        #expect(edit("abc def", [.ctrl("w"), .ctrl("_")]).0 == "abc def")
    }

    @Test func paneInputUsesReadlineKeysNotActions() {
        var (state, _) = makeState(["py"])
        type("x = value", into: &state)
        // Ctrl-W deletes a word (it used to close the bond), Ctrl-K kills, Ctrl-B moves.
        press(.ctrl("w"), into: &state)
        #expect(state.panes[0].input.text == "x = ")
        #expect(state.panes[0].status == .idle && state.confirm == nil)
        type("1 + 2", into: &state)
        press(.ctrl("a"), .ctrl("f"), .ctrl("k"), into: &state)
        #expect(state.panes[0].input.text == "x")
        press(.ctrl("e"), .ctrl("y"), into: &state)
        #expect(state.panes[0].input.text == "x = 1 + 2")
        press(.home, into: &state)
        #expect(state.panes[0].input.cursor == 0 && state.panes[0].scroll == 0)
    }

    @Test func incrementalHistorySearch() {
        var (state, _) = makeState(["py"])
        for entry in ["nums = [1, 2]", "print(nums)", "other"] {
            type(entry, into: &state)
            press(.enter, into: &state)
        }
        type("draft", into: &state)
        press(.ctrl("r"), into: &state)
        type("nu", into: &state)
        #expect(state.panes[0].input.text == "print(nums)")
        #expect(state.render().buffer.trimmedLines().last == "(reverse-i-search)`nu': print(nums)")
        press(.ctrl("r"), into: &state)
        #expect(state.panes[0].input.text == "nums = [1, 2]")
        press(.ctrl("s"), into: &state)
        #expect(state.panes[0].input.text == "print(nums)")
        // Esc brings the draft back; Enter takes the match and runs it.
        press(.escape, into: &state)
        #expect(state.panes[0].input.text == "draft" && state.historySearch == nil)
        press(.ctrl("r"), into: &state)
        type("[1", into: &state)
        let effects = state.update(.key(.enter))
        #expect(effects.contains(.request(pane: 1, generation: 0, .run("nums = [1, 2]"))))
    }

    @Test func ctrlXCtrlEEditsInTheEditor() {
        var (state, _) = makeState(["py"])
        type("def f():", into: &state)
        press(.ctrl("x"), into: &state)
        #expect(state.update(.key(.ctrl("e"))) == [.editExternally(pane: 1, text: "def f():")])
        _ = state.update(.edited(pane: 1, text: "def f():\n    return 1\n", error: nil))
        #expect(state.panes[0].input.text == "def f():\n    return 1")
    }
}

@Suite struct KeyDecoderTests {
    let decoder = KeyDecoder(codes: .ncurses)
    func raw(_ s: String) -> [RawKey] { s.unicodeScalars.map { RawKey(isKeyCode: false, code: Int32($0.value)) } }

    @Test func xtermSequencesNcursesDidNotKnow() {
        #expect(decoder.decode(raw("\u{1B}[1;5D\u{1B}[1;5C")) == [.ctrlLeft, .ctrlRight])
        #expect(decoder.decode(raw("\u{1B}[1;3D\u{1B}[1;3C\u{1B}[1;3A\u{1B}[1;3B")) == [.altLeft, .altRight, .altUp, .altDown])
        #expect(decoder.decode(raw("\u{1B}[1~\u{1B}[4~\u{1B}[H\u{1B}OF\u{1B}[3~")) == [.home, .end, .home, .end, .delete])
        #expect(decoder.decode(raw("\u{1B}[1;5H\u{1B}[1;5F")) == [.ctrlHome, .ctrlEnd])
        #expect(decoder.decode(raw("\u{1B}b\u{1B}f\u{1B}d")) == [.alt("b"), .alt("f"), .alt("d")])
        #expect(decoder.decode(raw("\u{1F}")) == [.ctrl("_")])
    }

    @Test func escDelIsAltBackspaceAsTerminalsSendIt() {
        #expect(decoder.decode(raw("\u{1B}\u{7F}")) == [.alt("\u{7F}")])
        // ncurses may give DEL as KEY_BACKSPACE: still Alt-Backspace after ESC.
        #expect(decoder.decode([RawKey(isKeyCode: false, code: 27), RawKey(isKeyCode: true, code: KeyCodes.ncurses.backspace)])
            == [.alt("\u{7F}")])
        var codes = KeyCodes.ncurses
        codes.extended[0o1040] = .ctrlLeft
        #expect(KeyDecoder(codes: codes).decode([RawKey(isKeyCode: true, code: 0o1040)]) == [.ctrlLeft])
    }
}

@Suite struct BindingTests {
    @Test func actionsMovedOffReadlineKeys() {
        let b = KeyBindings()
        let readline: [Key] = [.ctrl("a"), .ctrl("b"), .ctrl("d"), .ctrl("e"), .ctrl("f"), .ctrl("k"), .ctrl("r"), .ctrl("s"),
                               .ctrl("t"), .ctrl("u"), .ctrl("w"), .ctrl("x"), .ctrl("y"), .ctrl("p"), .ctrl("n"), .alt("b"),
                               .alt("f"), .alt("d"), .alt("\u{7F}"), .alt("y"), .alt("u"), .alt("l"), .alt("c"), .alt("t"),
                               .home, .end, .left, .right, .ctrlLeft, .ctrlRight]
        for k in readline { #expect(b.action(for: k) == nil, "\(k) is readline's") }
        #expect(b.action(for: .function(3)) == .block)
        #expect(b.action(for: .tab) == .complete)
        #expect(b.action(for: .ctrl("q")) == .quit && b.action(for: .function(10)) == .quit)
    }

    @Test func classicPresetKeepsTheOldKeys() throws {
        let config = try Config.parse(#"{"keys": {"preset": "classic", "restart": "F12"}}"#)
        let b = config.bindings
        #expect(b.action(for: .ctrl("b")) == .block && b.action(for: .ctrl("w")) == .close && b.action(for: .tab) == .nextPane)
        #expect(b.action(for: .ctrl("x")) == .command && b.action(for: .function(12)) == .restart)
        #expect(b.action(for: .function(5)) == nil)
        #expect(try Config.parse(#"{"keys": {"quit": ["Ctrl-Q", "F10"]}}"#).bindings.keys[.quit] == [.ctrl("q"), .function(10)])
    }

    @Test func statusLineLeadsWithHelpAndQuitAndCutsNoHint() {
        for width in [80, 160, 40] {
            var (state, _) = makeState(["py", "js"], width: width, height: 24)
            let last = state.render().buffer.trimmedLines().last!
            #expect(last.hasPrefix("F1 help  ^Q quit"))
            #expect(!last.hasSuffix("…"))
            let hints = state.statusHints()
            // Every hint shown is whole.
            for part in last.components(separatedBy: "  ") { #expect(hints.contains(part)) }
            state.focus = .log
            #expect(state.render().buffer.trimmedLines().last!.hasPrefix("F1 help  ^Q quit"))
        }
    }

    @Test func helpScrollsAt80x24() {
        var (state, _) = makeState(["py"])
        press(.function(1), into: &state)
        let first = state.render().buffer.trimmedLines()
        #expect(first.contains { $0.contains("bond-workbench keys · 1-22 of") })
        press(.pageDown, into: &state)
        let second = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(second.contains("bond-workbench keys · 23-44 of"))
        press(.end, into: &state)
        #expect(state.render().buffer.trimmedLines().joined(separator: "\n").contains("any other key closes this help"))
        press(.char("x"), into: &state)
        #expect(state.help == nil && state.panes[0].input.text == "")
    }
}

@Suite struct SafeActionTests {
    @Test func closingRestartingAndRemovingAsk() {
        var (state, _) = makeState(["py", "js"])
        #expect(state.update(.key(.alt("k"))) == [])
        #expect(state.confirm?.question == "close python? its interpreter and state end y/N (Alt-k again: yes)")
        press(.char("n"), into: &state)
        #expect(state.confirm == nil && state.panes[0].status == .idle && state.flash == "cancelled")
        _ = state.update(.key(.alt("k")))
        #expect(state.update(.key(.alt("k"))) == [.close(pane: 1, generation: 0)])  // the same key again
        _ = state.update(.closed(pane: 1, generation: 0))
        // Removing asks too, and the wires are kept for undo.
        _ = state.update(.result(pane: 2, generation: 0, request: .proxy(source: 1, function: "f", name: "f"),
                                 outcome: .proxied(Wire(source: 1, function: "f", target: 2, name: "f"))))
        _ = state.update(.key(.alt("k")))
        #expect(state.confirm?.question.hasPrefix("remove the pane python and its 1 wire?") == true)
        press(.char("y"), into: &state)
        #expect(state.panes.map(\.name) == ["javascript"] && state.wires.isEmpty)
        let back = state.runCommand("undo")
        #expect(back == [.start(pane: 1, generation: 1, name: "python", language: "Python", command: nil)])
        #expect(state.panes.map(\.name) == ["python", "javascript"])
        #expect(state.wires == [Wire(source: 1, function: "f", target: 2, name: "f")])
        // Restarting a live bond asks; F5 again says yes.
        _ = state.update(.started(pane: 1, generation: 1, pid: 9, remoteHost: nil))
        state.focus = .pane(1)
        #expect(state.update(.key(.function(5))) == [])
        #expect(state.update(.key(.function(5))).contains(.start(pane: 1, generation: 2, name: "python", language: "Python", command: nil)))
    }

    @Test func quittingWithABusyBondAsks() {
        var (state, _) = makeState(["py"])
        type("while True: pass", into: &state)
        press(.function(3), into: &state)
        #expect(state.update(.key(.ctrl("q"))) == [])
        #expect(state.confirm?.question == "quit while python is busy? y/N (Ctrl-Q again: yes)")
        #expect(state.update(.key(.ctrl("q"))) == [.quit])
        var (idle, _) = makeState(["py"])
        #expect(idle.update(.key(.ctrl("q"))) == [.quit])
    }

    @Test func anExistingFileIsNotWrittenOverWithoutAYes() {
        var (state, _) = makeState(["py"])
        let save = state.runCommand("log save ~/x.jsonl")
        #expect(save == [.saveLog(path: "~/x.jsonl", lines: [])])
        _ = state.update(.logSaved(path: "~/x.jsonl", expanded: "/home/u/x.jsonl", error: .exists))
        #expect(state.confirm?.question == "/home/u/x.jsonl exists: write over it? y/N")
        #expect(state.update(.key(.char("y"))) == [.replaceFile(path: "~/x.jsonl", lines: [])])
        _ = state.update(.logSaved(path: "/nope/x", expanded: "/nope/x", error: .system("No such file or directory")))
        #expect(state.flash == "cannot write /nope/x: No such file or directory")
    }
}

@Suite struct PromptTests {
    @Test func aDefaultIsSelectedAndTypingReplacesIt() {
        var (state, _) = makeState(["py", "js"])
        type("[1, 2]", into: &state)
        press(.function(7), into: &state)
        #expect(state.prompt?.input.text == "r1" && state.prompt?.selected == true)
        type("nums", into: &state)
        #expect(state.prompt?.input.text == "nums")
        press(.enter, into: &state)
        #expect(state.panes[0].refs["nums"] == "[1, 2]")
        // The proxy target: python's default javascript, replaced by typing.
        type("f", into: &state)
        press(.function(9), .enter, into: &state)
        #expect(state.prompt?.input.text == "javascript")
        type("perl", into: &state)
        #expect(state.prompt?.input.text == "perl")
    }

    @Test func tabCyclesChoicesAndPromptsHaveHistory() {
        var (state, _) = makeState(["py", "js"])
        state.knownLanguages = ["JavaScript", "PHP", "Perl", "Python"]
        press(.alt("n"), into: &state)
        type("p", into: &state)
        press(.tab, into: &state)
        #expect(state.prompt?.input.text == "PHP")
        press(.tab, into: &state)
        #expect(state.prompt?.input.text == "Perl")
        press(.escape, into: &state)
        press(.alt("x"), into: &state)
        type("log pause", into: &state)
        press(.enter, .alt("x"), .up, into: &state)
        #expect(state.prompt?.input.text == "log pause")
    }

    @Test func theCommandPromptCompletes() {
        var (state, _) = makeState(["py", "js"])
        _ = state.runCommand("ref nums [1]")
        state.panes[0].knownNames = ["add", "area"]
        #expect(state.commandCompletions("pr") == ["proxy"])
        #expect(state.commandCompletions("focus ") == ["focus python", "focus javascript", "focus log"])
        #expect(state.commandCompletions("proxy py") == ["proxy python."])
        #expect(state.commandCompletions("proxy python.a") == ["proxy python.add", "proxy python.area"])
        #expect(state.commandCompletions("proxy python.add ") == ["proxy python.add to"])
        #expect(state.commandCompletions("proxy python.add to j") == ["proxy python.add to javascript"])
        #expect(state.commandCompletions("inspect @") == ["inspect @nums"])
        #expect(state.commandCompletions("log s") == ["log save", "log search", "log show"])
        press(.alt("x"), into: &state)
        type("res", into: &state)
        press(.tab, into: &state)
        #expect(state.prompt?.input.text == "restart")
    }

    @Test func inputIsCheckedAndNothingIsCreated() {
        var (state, _) = makeState(["py", "js"])
        state.knownLanguages = ["JavaScript", "PHP", "Perl", "Python"]
        #expect(state.runCommand("new ruby") == [])
        #expect(state.flash == "unknown language \"ruby\" (known: JavaScript, PHP, Perl, Python; also py, js, node, pl)")
        #expect(state.runCommand("new python:js") == [])
        #expect(state.flash?.hasPrefix("a pane named python is open") == true)
        #expect(state.runCommand("new perl:js") == [])
        #expect(state.flash?.contains("ambiguous") == true)
        #expect(state.panes.count == 2)
        _ = state.runCommand("log filter depth:x")
        #expect(state.flash == "filter not set: depth:N wants a number, 1 or more (\"depth:x\")")
        _ = state.runCommand("log filter verb:FOO")
        #expect(state.flash?.hasPrefix("filter not set: verb:FOO is not a verb") == true)
        _ = state.runCommand("log filter pane:nobody")
        #expect(state.flash?.hasPrefix("filter not set: pane:nobody: no such pane") == true)
        #expect(state.log.filter.isEmpty)
        _ = state.runCommand("log filter verb:CALL pane:python")
        #expect(!state.log.filter.isEmpty)
    }

    @Test func theLogFollowsAgainAfterTheDetailView() {
        var (state, _) = makeState(["py"])
        frame(&state, true, "EVAL \"1\"", at: 0)
        frame(&state, false, "RETURN 1", at: 0.1)
        state.focus = .log
        press(.enter, into: &state)
        #expect(state.log.detail != nil)
        press(.escape, into: &state)
        #expect(state.log.selected == nil)
        #expect(!state.render().buffer.trimmedLines().joined().contains("not following"))
    }

    @Test func theLogZoomsAndResizes() {
        var (state, _) = makeState(["py"], width: 80, height: 24)
        let usual = state.screenLayout.log.height
        press(.altUp, into: &state)
        #expect(state.screenLayout.log.height == usual + 2)
        press(.altDown, .altDown, into: &state)
        #expect(state.screenLayout.log.height == usual - 2)
        press(.alt("z"), into: &state)
        #expect(state.screenLayout.log.height == 23 && state.focus == .log)
        press(.alt("z"), into: &state)
        #expect(state.screenLayout.log.height == usual - 2)
    }

    @Test func completionMenuHidesTheTranscriptMarks() {
        var (state, _) = makeState(["py"])
        for k in 0..<12 { _ = state.update(.note(pane: 1, kind: .info, text: "note \(k)")) }
        type("ma", into: &state)
        press(.tab, into: &state)
        _ = state.update(.result(pane: 1, generation: 0, request: .complete(""), outcome: .completions(["map", "max"])))
        let lines = state.render().buffer.trimmedLines()
        let menu = lines.filter { $0.contains("map") || $0.contains("max") }
        #expect(menu.count == 2)
        for line in menu { #expect(!line.hasPrefix("·")) }
    }
}

@Suite struct GuideTests {
    let guide = (try? String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/workbench.md").standardized, encoding: .utf8)) ?? ""

    @Test func theGuideListsEveryCommandOfTheTable() {
        #expect(!guide.isEmpty)
        for c in Command.all {
            #expect(guide.contains("| `\(c.usage.replacingOccurrences(of: "|", with: "\\|"))` |"), "\(c.usage)")
        }
    }

    @Test func theGuideNamesEveryActionAndItsDefaultKey() {
        let guide = self.guide.replacingOccurrences(of: "\n", with: " ")
        for action in Action.allCases {
            #expect(guide.contains("`\(action.rawValue)` \(KeyBindings().long(action).components(separatedBy: ", ").joined(separator: " and "))"),
                    "\(action)")
        }
    }
}

@Suite struct EndOfBondTests {
    @Test func anInterpretersEndClosesItsOpenRequestsInTheLogAndIsShownOnce() {
        var (state, _) = makeState(["php"], width: 120, height: 30)
        frame(&state, true, #"EVAL_BLOCK "str_repeat('x', 1e9);""#, at: 0)
        _ = state.update(.output(pane: 1, generation: 0, channel: .stderr, text: "PHP Fatal error:  Allowed memory size exhausted\n"))
        _ = state.update(.result(pane: 1, generation: 0, request: .block("x"),
                                 outcome: .terminated(message: "PHP interpreter terminated (exit status 255)",
                                                      stderr: "PHP Fatal error:  Allowed memory size exhausted\n")))
        _ = state.update(.died(pane: 1, generation: 0, message: "PHP interpreter terminated (exit status 255)",
                               stderr: "PHP Fatal error:  Allowed memory size exhausted\n"))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines.filter { $0.contains("Allowed memory size") }.count == 1)
        #expect(lines.contains("✗ PHP interpreter terminated (exit status 255) (its last output is above)"))
        // The EVAL_BLOCK is closed by the record of the end, not left open.
        let request = state.log.entry(1)!
        #expect(request.pair == 2 && request.duration != nil)
        #expect(state.log.entry(2)!.event)
        #expect(state.log.entry(2)!.text == "✗ interpreter ended: PHP interpreter terminated (exit status 255) · no reply to EVAL_BLOCK #1")
        #expect(!lines.contains { $0.contains("EVAL_BLOCK") && $0.contains("…") })
        #expect(Traffic.jsonLine(state.log.entry(2)!).contains(#""event":"end""#))
    }
}

@Suite struct StartupEntryTests {
    @Test func definitionsAreKeptOnceAndLoopsAndPrintsAreNot() {
        let py = StartupEntries.definitions(in: "import os\nx = 5\nfor i in range(5000):\n    print(i)\ndef g():\n    return x\nprint('hi')\n@staticmethod\ndef h(): pass", language: "Python")
        #expect(py.map(\.key) == ["import:import os", "name:x", "def:g", "def:h"])
        #expect(py[2].code == "def g():\n    return x")
        let php = StartupEntries.definitions(in: "function tri($n) {\n    return $n * ($n + 1) / 2;\n}\necho \"hi\\n\";\n$t = tri(4);", language: "PHP")
        #expect(php.map(\.key) == ["def:tri", "name:$t"])
        let perl = StartupEntries.definitions(in: "sub greet { return \"hi $_[0]\" }\nprint greet('x');\nour $n = 3;", language: "Perl")
        #expect(perl.map(\.key) == ["def:greet", "name:$n"])
        let js = StartupEntries.definitions(in: "function sq(x) {\n  return x * x;\n}\nconst o = {};\nconsole.log(sq(3));\nlet a = 5", language: "JavaScript")
        #expect(js.map(\.key) == ["def:sq", "name:o", "name:a"])
        // A redefinition replaces the old entry, and comes last.
        let merged = StartupEntries.merge(py, StartupEntries.definitions(in: "def g():\n    return 2", language: "Python"))
        #expect(merged.map(\.key) == ["import:import os", "name:x", "def:h", "def:g"])
        #expect(merged.last?.code == "def g():\n    return 2")
    }

    @Test func sessionSaveWritesEntriesAndRestoreRunsThemOneByOne() throws {
        var (state, _) = makeState(["php"])
        let code = "function tri($n) { return $n * ($n + 1) / 2; }"
        _ = state.runCommand("block " + code)
        _ = state.update(.result(pane: 1, generation: 0, request: .block(code), outcome: .done))
        _ = state.runCommand("block " + code)
        _ = state.update(.result(pane: 1, generation: 0, request: .block(code), outcome: .done))
        _ = state.runCommand("block for ($i = 0; $i < 5000; $i++) echo $i;")
        _ = state.update(.result(pane: 1, generation: 0, request: .block("for ($i = 0; $i < 5000; $i++) echo $i;"), outcome: .done))
        _ = state.runCommand("eval $base = 10")
        _ = state.update(.result(pane: 1, generation: 0, request: .eval("$base = 10"), outcome: .value(10)))
        #expect(state.panes[0].startupEntries.map(\.code) == [code, "$base = 10"])
        let saved = state.session
        #expect(saved.panes[0].entries == [code, "$base = 10"])
        // Recorded entries do not run at a restart (a fresh interpreter, and PHP cannot declare
        // tri twice); they run when the saved session is opened.
        _ = state.runCommand("restart")
        _ = state.update(.key(.char("y")))
        #expect(state.update(.started(pane: 1, generation: 1, pid: 2, remoteHost: nil)).isEmpty)
        // Restored: each entry its own request; a failing one is reported with its text, the rest go on.
        var back = AppState(width: 80, height: 24, knownLanguages: ["PHP"])
        _ = back.addPanes(saved.specs)
        let effects = back.update(.started(pane: 1, generation: 0, pid: 1, remoteHost: nil))
        #expect(effects == [.request(pane: 1, generation: 0, .startup(code)), .request(pane: 1, generation: 0, .startup("$base = 10"))])
        _ = back.update(.result(pane: 1, generation: 0, request: .startup(code), outcome: .failure("PHP exception: boom")))
        _ = back.update(.result(pane: 1, generation: 0, request: .startup("$base = 10"), outcome: .done))
        let lines = back.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(lines.contains("✗ start-up entry 1 of 2 failed: PHP exception: boom"))
        #expect(lines.contains("· start-up: 2 entries ran, 1 failed"))
        // session edit: the entries as text; what comes back replaces them.
        guard case .editExternally(1, let text, true)? = back.runCommand("session edit").first else { Issue.record("no edit"); return }
        #expect(text.contains(code) && text.contains(StartupEntries.separator))
        _ = back.update(.edited(pane: 1, text: "\(StartupEntries.separator)\n$base = 20\n", error: nil, startup: true))
        #expect(back.panes[0].startupEntries.map(\.code) == ["$base = 20"])
    }
}

@Suite struct InterruptChainTests {
    @Test func ctrlCInterruptsTheInterpreterTheChainWaitsOn() {
        var (state, _) = makeState(["py", "js"], width: 120, height: 30)
        _ = state.update(.result(pane: 2, generation: 0, request: .proxy(source: 1, function: "spin", name: "spin"),
                                 outcome: .proxied(Wire(source: 1, function: "spin", target: 2, name: "spin"))))
        state.focus = .pane(2)
        type("spin()", into: &state)
        _ = state.update(.key(.enter))
        frame(&state, pane: 2, true, #"EVAL "spin()""#, at: 0)
        frame(&state, pane: 2, false, #"CALL ["spin",[]]"#, at: 0.1)
        frame(&state, pane: 1, true, #"CALL ["spin",[]]"#, at: 0.1)
        _ = state.update(.state(pane: 1, generation: 0, .busy(depth: 1)))
        _ = state.update(.state(pane: 2, generation: 0, .busy(depth: 1)))
        #expect(state.waitChain(1) == [1, 0])
        #expect(state.update(.key(.ctrl("c"))) == [.interrupt(pane: 1, generation: 0)])
        #expect(state.panes[1].transcript.lines.last?.text == "interrupt: python runs the call this pane waits on; interrupting it")
        // Again while the chain is still busy: every interpreter of it, innermost first.
        #expect(state.update(.key(.ctrl("c"))) == [.interrupt(pane: 1, generation: 0), .interrupt(pane: 2, generation: 0)])
    }
}
