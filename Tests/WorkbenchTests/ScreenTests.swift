import Bond
import Foundation
import Testing
@testable import Workbench

/// A state with panes already started (no bonds: messages are faked).
func makeState(_ specs: [String], width: Int = 80, height: Int = 24) -> (AppState, [Effect]) {
    var state = AppState(width: width, height: height, knownLanguages: ["JavaScript", "PHP", "Perl", "Python"])
    let effects = state.addPanes(specs.map { try! PaneSpec.parse($0) })
    for (n, pane) in state.panes.enumerated() {
        _ = state.update(.started(pane: pane.id, generation: 0, pid: Int32(1000 + n), remoteHost: nil))
    }
    return (state, effects)
}

func type(_ text: String, into state: inout AppState) {
    for c in text { _ = state.update(.key(c == "\n" ? .altEnter : .char(c))) }
}

@Suite struct LayoutTests {
    @Test func twoPanesAt80x24() {
        let l = Layout.screen(width: 80, height: 24, paneCount: 2)
        #expect(l.status == Rect(x: 0, y: 23, width: 80, height: 1))
        #expect(l.log == Rect(x: 0, y: 18, width: 80, height: 5))
        #expect(l.panes == [Rect(x: 0, y: 0, width: 40, height: 18), Rect(x: 41, y: 0, width: 39, height: 18)])
        #expect(l.separators == [Rect(x: 40, y: 0, width: 1, height: 18)])
    }

    @Test func fourPanesAt160x48TileAsAGrid() {
        let l = Layout.screen(width: 160, height: 48, paneCount: 4)
        #expect(l.log == Rect(x: 0, y: 36, width: 160, height: 11))
        #expect(l.panes.count == 4)
        #expect(l.panes[0] == Rect(x: 0, y: 0, width: 80, height: 18))
        #expect(l.panes[3] == Rect(x: 81, y: 18, width: 79, height: 18))
        // Panes cover the area above the log without overlap.
        let area = l.panes.reduce(0) { $0 + $1.width * $1.height } + l.separators.reduce(0) { $0 + $1.width * $1.height }
        #expect(area == 160 * 36)
    }

    @Test func threePanesSideBySideWhenWide() {
        #expect(Layout.grid(count: 3, width: 160, height: 36) == [3])
        #expect(Layout.grid(count: 5, width: 160, height: 36).reduce(0, +) == 5)
    }

    @Test func tinyScreensDoNotCrash() {
        for w in 0..<12 {
            for h in 0..<8 {
                var (state, _) = makeState(["py", "js", "pl"], width: w, height: h)
                _ = state.update(.resize(width: w, height: h))
                _ = state.render()
            }
        }
    }
}

@Suite struct ScreenTests {
    @Test func initialScreenAt80x24() {
        var (state, effects) = makeState(["py", "js"])
        #expect(effects.contains(.start(pane: 1, generation: 0, name: "python", language: "Python", command: nil)))
        #expect(effects.contains(.start(pane: 2, generation: 0, name: "javascript", language: "JavaScript", command: nil)))
        _ = state.update(.traffic(pane: 1, generation: 0, TrafficRecord(
            sent: true, time: Date(timeIntervalSince1970: 0), line: "EVAL \"1+1\"", depth: 1)))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines.count == 24)
        #expect(lines[0] == "▶ python · Python · local · idle        │  javascript · local · idle")
        #expect(lines[1] == "· Python started (pid 1000, local)      │· JavaScript started (pid 1001, local)")
        #expect(lines[17] == "›                                       │›")
        #expect(lines[18].hasPrefix("  log · 1 frames"))
        #expect(lines[19].hasSuffix(#"python     >1    10B        … EVAL "1+1""#))
        #expect(state.render().cursor! == (2, 17))
        #expect(lines[23] == "F1 help  ^Q quit  Enter run  F3 block  F4 call  Tab complete  F6 next  M-x cmd")
    }

    @Test func evalShowsInputThenOutputThenValue() {
        var (state, _) = makeState(["py", "js"])
        type("print('hi') or [1, {'a': 2}]", into: &state)
        let effects = state.update(.key(.enter))
        #expect(effects.contains(.request(pane: 1, generation: 0, .run("print('hi') or [1, {'a': 2}]"))))
        _ = state.update(.state(pane: 1, generation: 0, .busy(depth: 1)))
        _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: "hi\n"))
        _ = state.update(.output(pane: 1, generation: 0, channel: .stderr, text: "warning\n"))
        _ = state.update(.result(pane: 1, generation: 0, request: .run(""), outcome: .ran(.value([1, ["a": 2, "b": "a longer text that does not fit"]]))))
        _ = state.update(.state(pane: 1, generation: 0, .idle))
        let lines = state.render().buffer.trimmedLines()
        let left = lines.prefix(18).map { String($0.prefix(40)).replacingOccurrences(of: " +$", with: "", options: .regularExpression) }
        #expect(Array(left[2...10]) == [
            "› print('hi') or [1, {'a': 2}]",
            "  hi",
            "! warning",
            "= [",
            "    1,",
            "    {",
            "      \"a\": 2,",
            "· … 48 more characters, 3 more lines (Al",  // a third of the pane, then what is left
            "  t-v shows it whole)",
        ])
        // Alt-v shows the whole value.
        _ = state.update(.key(.alt("v")))
        #expect(state.render().buffer.trimmedLines().contains("    \"b\": \"a longer text that does not fit\""))
    }

    @Test func busyTitleShowsDepth() {
        var (state, _) = makeState(["py", "js"])
        _ = state.update(.state(pane: 2, generation: 0, .busy(depth: 2)))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines[0].hasSuffix("│  javascript · local · busy depth 2"))
    }

    @Test func deadPaneShowsExitAndStderr() {
        var (state, _) = makeState(["py"])
        _ = state.update(.state(pane: 1, generation: 0, .terminated(.signaled(9))))
        _ = state.update(.died(pane: 1, generation: 0, message: "Python interpreter terminated (killed by signal 9 (SIGKILL)): boom"))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines[0].hasPrefix("▶ python · Python · local · dead (killed by signal 9 (SIGKILL))"))
        #expect(lines.contains("✗ Python interpreter terminated (killed by signal 9 (SIGKILL)): boom"))
        #expect(lines.contains("· F5 restarts python"))
        // F5 starts a new generation; old messages are ignored.
        let effects = state.update(.key(.function(5)))
        #expect(effects == [.start(pane: 1, generation: 1, name: "python", language: "Python", command: nil)])
        _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: "stale\n"))
        #expect(!state.render().buffer.trimmedLines().contains("  stale"))
        _ = state.update(.started(pane: 1, generation: 1, pid: 2000, remoteHost: nil))
        #expect(state.panes[0].status == .idle)
    }

    @Test func wideCombiningAndEmojiInNarrowPanesDoNotDrift() {
        var (state, _) = makeState(["py", "js", "pl"], width: 60, height: 24)
        // Three panes of 19/20 columns side by side.
        let text = "日本語テキスト e\u{301}e\u{301} 🙂🙂 \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} abc"
        _ = state.update(.output(pane: 2, generation: 0, channel: .stdout, text: text + "\n"))
        let buffer = state.render().buffer
        // Every row holds exactly `width` columns.
        for y in 0..<buffer.height {
            var columns = 0
            for x in 0..<buffer.width where !buffer[x, y].isContinuation {
                columns += max(1, TextWidth.of(buffer[x, y].symbol))
            }
            #expect(columns == 60, "row \(y)")
        }
        // The separators stay in their columns.
        let layout = state.screenLayout
        for sep in layout.separators {
            for y in sep.y..<sep.bottom { #expect(buffer[sep.x, y].symbol == "│") }
        }
    }

    @Test func screenAfterResize() {
        var (state, _) = makeState(["py", "js"])
        _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: String(repeating: "0123456789", count: 10) + "\n"))
        _ = state.update(.resize(width: 160, height: 48))
        var lines = state.render().buffer.trimmedLines()
        #expect(lines.count == 48)
        #expect(lines[2].hasPrefix("  " + String(repeating: "0123456789", count: 7) + "012345"))
        _ = state.update(.resize(width: 50, height: 10))
        lines = state.render().buffer.trimmedLines()
        #expect(lines.count == 10)
        #expect(lines.allSatisfy { TextWidth.of($0) <= 50 })
    }

    @Test func controlCharactersFromRemoteAreEscapedOnScreen() {
        var (state, _) = makeState(["py"])
        _ = state.update(.output(pane: 1, generation: 0, channel: .stdout,
                                 text: "\u{1B}]52;c;SGVsbG8=\u{7}\u{1B}c\u{1B}[6n\u{9B}2J\u{202E}evil\n"))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines.contains("  ^[]52;c;SGVsbG8=^G^[c^[[6n\\x9b2J<U+202E>evil"))
        let frame = state.render()
        for cell in frame.buffer.cells {
            #expect(!cell.symbol.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7F && $0.value < 0xA0) })
        }
    }

    @Test func helpOverlayListsEveryBinding() {
        var (state, _) = makeState(["py"], width: 100, height: 80)
        _ = state.update(.key(.function(1)))
        let text = state.render().buffer.trimmedLines().joined(separator: "\n")
        let rows = text.split(separator: "\n")
        for (action, what) in KeyHelp.actions {
            #expect(rows.contains { $0.contains(state.config.bindings.long(action)) && $0.contains(what.prefix(20)) })
        }
        for command in Command.all { #expect(text.contains(command.usage)) }
        #expect(text.contains("proxy SRC.FUNC to PANE [as NAME]"))
        _ = state.update(.key(.char("x")))
        #expect(state.help == nil)
        #expect(state.panes[0].input.text == "")
    }

    @Test func logIsBoundedAndScrolls() {
        var (state, _) = makeState(["py"])
        for i in 0..<100_010 {
            _ = state.update(.traffic(pane: 1, generation: 0, TrafficRecord(sent: i % 2 == 0, time: Date(), line: "OUTPUT [\"STDOUT\", \"\(i)\"]", depth: 1)))
        }
        #expect(state.log.frames.count == 100_000)
        state.focus = .log
        _ = state.update(.key(.pageUp))
        #expect(state.log.selected == 100_010 - (state.logBody.height - 1))
        _ = state.update(.key(.home))
        #expect(state.log.selected == 11)
        #expect(state.render().buffer.trimmedLines()[19].contains(#""10"]"#))
        _ = state.update(.key(.end))
        #expect(state.log.selected == nil)
    }

    @Test func longLogLinesAreCutToTheWidth() {
        var (state, _) = makeState(["py"])
        _ = state.update(.traffic(pane: 1, generation: 0, TrafficRecord(sent: false, time: Date(), line: "RETURN \"" + String(repeating: "x", count: 10_000) + "\"", depth: 1)))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines[19].hasSuffix("x…"))
        #expect(TextWidth.of(lines[19]) == 80)
    }
}

@Suite struct UpdateTests {
    @Test func blockCallAndRefs() {
        var (state, _) = makeState(["py", "js"])
        type("x = 1\ny = 2", into: &state)
        #expect(state.update(.key(.function(3))).contains(.request(pane: 1, generation: 0, .block("x = 1\ny = 2"))))
        // Ctrl-R asks a name for the ref.
        type("[x, y]", into: &state)
        _ = state.update(.key(.function(7)))
        #expect(state.prompt?.kind == .refName(code: "[x, y]"))
        for _ in 0..<2 { _ = state.update(.key(.backspace)) }
        type("xy", into: &state)
        _ = state.update(.key(.enter))
        #expect(state.panes[0].refs["xy"] == "[x, y]")
        // Ctrl-K with a ref.
        type("len @xy", into: &state)
        let effects = state.update(.key(.function(4)))
        #expect(effects.contains(.request(pane: 1, generation: 0, .call(name: "len", arguments: [.ref("[x, y]")]))))
        // Unknown ref: an error in the transcript, nothing sent.
        type("len @nope", into: &state)
        #expect(!state.update(.key(.function(4))).contains { if case .request = $0 { true } else { false } })
        #expect(state.panes[0].transcript.lines.last?.text == "call: no ref @nope in python")
        // The refs are listed in the pane.
        #expect(state.render().buffer.trimmedLines().contains { $0.hasPrefix("refs: @xy") })
    }

    @Test func inspectUsesTheLanguagesDescribeExpression() {
        var (state, _) = makeState(["py"])
        _ = state.runCommand("ref f = open")
        _ = state.update(.key(.function(8)))
        #expect(state.prompt?.input.text == "f")
        let effects = state.update(.key(.enter))
        #expect(effects == [.request(pane: 1, generation: 0, .inspect(
            name: "@f", code: "open", describe: "(lambda v: [type(v).__name__, repr(v)])(open)"))])
        _ = state.update(.result(pane: 1, generation: 0, request: .eval(""), outcome: .inspected(
            name: "@f", type: "builtin_function_or_method", description: "<built-in function open>", value: nil, error: "not serializable")))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines.contains("· inspect @f: builtin_function_or_method"))
        #expect(lines.contains("  <built-in function open>"))
    }

    @Test func proxyPromptsAndCommand() {
        var (state, _) = makeState(["py", "js"])
        type("math.sqrt", into: &state)
        _ = state.update(.key(.function(9)))
        _ = state.update(.key(.enter))
        #expect(state.prompt?.input.text == "javascript")
        _ = state.update(.key(.enter))
        #expect(state.prompt?.input.text == "sqrt")
        // The source is asked whether it has the function first.
        let check = Request.checkFunction(function: "math.sqrt", check: #"callable(eval("math.sqrt"))"#, target: 2, name: "sqrt")
        #expect(state.update(.key(.enter)) == [.request(pane: 1, generation: 0, check)])
        let effects = state.update(.result(pane: 1, generation: 0, request: check, outcome: .value(true)))
        #expect(effects == [.request(pane: 2, generation: 0, .proxy(source: 1, function: "math.sqrt", name: "sqrt"))])
        let wire = Wire(source: 1, function: "math.sqrt", target: 2, name: "sqrt")
        _ = state.update(.result(pane: 2, generation: 0, request: .proxy(source: 1, function: "math.sqrt", name: "sqrt"), outcome: .proxied(wire)))
        #expect(state.wires == [wire])
        let text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("proxies: math.sqrt→javascript.sqrt"))
        #expect(text.contains("proxies: sqrt←python.math.sqrt"))
        // The same through the command prompt.
        let jsCheck = Request.checkFunction(function: "Math.max", check: "typeof (Math.max) === 'function'", target: 1, name: "jsmax")
        #expect(state.runCommand("proxy javascript.Math.max to python as jsmax") == [.request(pane: 2, generation: 0, jsCheck)])
        #expect(state.update(.result(pane: 2, generation: 0, request: jsCheck, outcome: .value(true)))
            == [.request(pane: 1, generation: 0, .proxy(source: 2, function: "Math.max", name: "jsmax"))])
        // A function the source does not have: said so, no wire.
        let missing = Request.checkFunction(function: "nope", check: "typeof (nope) === 'function'", target: 1, name: "nope")
        #expect(state.runCommand("proxy javascript.nope to python") == [.request(pane: 2, generation: 0, missing)])
        #expect(state.update(.result(pane: 2, generation: 0, request: missing, outcome: .value(false))) == [])
        #expect(state.flash == "proxy not made: javascript has no function nope (it is not a function there)")
        // Restarting the target exports the wire again (after a yes: the bond is live).
        state.focus = .pane(2)
        #expect(state.update(.key(.function(5))) == [])
        _ = state.update(.key(.function(5)))
        let again = state.update(.started(pane: 2, generation: 1, pid: 5, remoteHost: nil))
        #expect(again == [.request(pane: 2, generation: 1, .proxy(source: 1, function: "math.sqrt", name: "sqrt"))])
    }

    @Test func ctrlCInterruptsWhenBusyElseClears() {
        var (state, _) = makeState(["py"])
        type("while True: pass", into: &state)
        _ = state.update(.key(.function(3)))
        _ = state.update(.state(pane: 1, generation: 0, .busy(depth: 1)))
        #expect(state.update(.key(.ctrl("c"))) == [.interrupt(pane: 1, generation: 0)])
        _ = state.update(.result(pane: 1, generation: 0, request: .block(""), outcome: .failure("Python exception: KeyboardInterrupt")))
        _ = state.update(.state(pane: 1, generation: 0, .idle))
        type("abc", into: &state)
        #expect(state.update(.key(.ctrl("c"))) == [])
        #expect(state.panes[0].input.text == "")
    }

    @Test func historyUpDown() {
        var (state, _) = makeState(["py"])
        _ = state.update(.historyLoaded(pane: 1, entries: ["old"]))
        type("1+1", into: &state)
        let effects = state.update(.key(.enter))
        #expect(effects.first == .saveHistory(name: "python", entries: ["old", "1+1"]))
        type("dr", into: &state)
        _ = state.update(.key(.up))
        #expect(state.panes[0].input.text == "1+1")
        _ = state.update(.key(.up))
        #expect(state.panes[0].input.text == "old")
        _ = state.update(.key(.down))
        _ = state.update(.key(.down))
        #expect(state.panes[0].input.text == "dr")
    }

    @Test func focusCyclesThroughPanesAndLog() {
        var (state, _) = makeState(["py", "js"])
        #expect(state.focus == .pane(1))
        _ = state.update(.key(.function(6)))
        #expect(state.focus == .pane(2))
        _ = state.update(.key(.function(6)))
        #expect(state.focus == .log)
        _ = state.update(.key(.altRight))
        #expect(state.focus == .pane(1))
        _ = state.update(.key(.backTab))
        #expect(state.focus == .log)
        _ = state.runCommand("focus javascript")
        #expect(state.focus == .pane(2))
    }

    @Test func commands() {
        var (state, _) = makeState(["py"])
        #expect(state.runCommand("eval 6*7") .contains(.request(pane: 1, generation: 0, .eval("6*7"))))
        #expect(state.runCommand("block x = 1").contains(.request(pane: 1, generation: 0, .block("x = 1"))))
        #expect(state.runCommand("call max 1 2").contains(.request(pane: 1, generation: 0, .call(name: "max", arguments: [.value(1), .value(2)]))))
        #expect(state.runCommand("interrupt") == [.interrupt(pane: 1, generation: 0)])
        #expect(state.runCommand("log save /tmp/x.log") == [.saveLog(path: "/tmp/x.log", lines: [])])
        let new = state.runCommand("new far:Python=ssh localhost python3")
        #expect(new.contains(.start(pane: 2, generation: 0, name: "far", language: "Python", command: "ssh localhost python3")))
        #expect(state.panes[1].location == "localhost")
        #expect(state.focus == .pane(2))
        #expect(state.runCommand("close far") == [])  // asks first
        #expect(state.confirm?.question.hasPrefix("close far?") == true)
        #expect(state.update(.key(.char("y"))) == [.close(pane: 2, generation: 0)])
        _ = state.update(.closed(pane: 2, generation: 0))
        #expect(state.panes[1].status == .closed)
        _ = state.runCommand("close far")
        _ = state.update(.key(.char("y")))
        #expect(state.panes.count == 1)
        _ = state.runCommand("restart")
        #expect(state.update(.key(.char("y"))).contains(.start(pane: 1, generation: 1, name: "python", language: "Python", command: nil)))
        _ = state.runCommand("bogus")
        #expect(state.flash?.contains("unknown command") == true)
        #expect(state.runCommand("quit") == [.quit])
        #expect(state.update(.allClosed) == [.exit])
    }

    @Test func ctrlXPromptRunsACommand() {
        var (state, _) = makeState(["py"])
        _ = state.update(.key(.alt("x")))
        type("eval 1+2", into: &state)
        let lines = state.render().buffer.trimmedLines()
        #expect(lines[23] == "command (Tab completes): eval 1+2")
        #expect(state.update(.key(.enter)).contains(.request(pane: 1, generation: 0, .eval("1+2"))))
    }

    @Test func startFailureShowsTheReason() {
        var state = AppState(width: 80, height: 24, knownLanguages: ["Python"])
        _ = state.addPanes([PaneSpec(language: "Python", command: "nonexistent-python")])
        _ = state.update(.startFailed(pane: 1, generation: 0, message: "Python bond failed to start: the interpreter did not show its prompt (exit status 127)\nsh: 1: exec: nonexistent-python: not found"))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines[0].contains("failed to start"))
        #expect(lines[1].hasPrefix("✗ Python bond failed to start: the interpreter did not show its prompt (exit sta"))
        #expect(lines.contains("  sh: 1: exec: nonexistent-python: not found"))
    }

    @Test func scrollingHoldsItsPlaceWhileOutputArrives() {
        var (state, _) = makeState(["py"])
        for i in 0..<100 { _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: "line \(i)\n")) }
        _ = state.update(.key(.pageUp))
        let before = state.render().buffer.trimmedLines()
        #expect(state.panes[0].scroll > 0)
        for i in 100..<110 { _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: "line \(i)\n")) }
        let after = state.render().buffer.trimmedLines()
        #expect(Array(before[1...10]) == Array(after[1...10]))
        _ = state.update(.key(.ctrlEnd))
        #expect(state.render().buffer.trimmedLines().contains("  line 109"))
        _ = state.update(.key(.ctrlHome))
        #expect(state.render().buffer.trimmedLines()[1] == "· Python started (pid 1000, local)")
    }

    @Test func multiLineInputWrapsAndShowsTheCursor() {
        var (state, _) = makeState(["py", "js"])
        type("def f(x):\n    return x * 2 + 1000000000000000000000000000000", into: &state)
        let frame = state.render()
        let lines = frame.buffer.trimmedLines()
        #expect(lines[15].hasPrefix("› def f(x):"))
        #expect(lines[16].hasPrefix("…     return x * 2 + 1000000000000000000│"))
        #expect(lines[17].hasPrefix("  000000000000"))
        #expect(frame.cursor?.y == 17)
    }
}
