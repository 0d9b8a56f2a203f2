import Bond
import Foundation
import Testing
@testable import Workbench

@Suite struct SessionTests {
    let file = #"""
    {
      "version": 1,
      "panes": [
        {"name": "py", "language": "Python", "startup": "def add(a, b):\n    return a + b",
         "refs": [{"name": "nums", "code": "[1, 2, 3]"}]},
        {"name": "js", "language": "javascript", "command": "node -i"}
      ],
      "wires": [{"source": "py", "function": "add", "target": "js", "name": "plus"}]
    }
    """#

    @Test func sessionStartsPanesRunsStartupAndWires() throws {
        let session = try Session.parse(Data(file.utf8))
        var state = AppState(width: 100, height: 30, knownLanguages: ["JavaScript", "PHP", "Perl", "Python"])
        let effects = state.addPanes(session.specs)
        state.addWires(session.wires)
        #expect(effects.contains(.start(pane: 2, generation: 0, name: "js", language: "JavaScript", command: "node -i")))
        #expect(state.panes[0].refs["nums"] == "[1, 2, 3]")
        // Asked while starting: held until the start-up block and the wires have gone.
        _ = state.runCommand("focus js")
        #expect(state.runCommand("eval plus(1, 2)").allSatisfy { if case .request = $0 { false } else { true } })
        let py = state.update(.started(pane: 1, generation: 0, pid: 10, remoteHost: nil))
        #expect(py == [.request(pane: 1, generation: 0, .startup("def add(a, b):\n    return a + b"))])
        let js = state.update(.started(pane: 2, generation: 0, pid: 11, remoteHost: nil))
        #expect(js == [.request(pane: 2, generation: 0, .proxy(source: 1, function: "add", name: "plus")),
                       .request(pane: 2, generation: 0, .eval("plus(1, 2)"))])
    }

    @Test func sessionSaveWritesTheCurrentState() throws {
        var (state, _) = makeState(["py", "js"])
        _ = state.runCommand("focus python")
        _ = state.runCommand("block def add(a, b): return a + b")
        _ = state.update(.result(pane: 1, generation: 0, request: .block("def add(a, b): return a + b"), outcome: .done))
        _ = state.runCommand("block oops(")
        _ = state.update(.result(pane: 1, generation: 0, request: .block("oops("), outcome: .failure("SyntaxError")))
        _ = state.runCommand("ref r = [1]")
        _ = state.update(.result(pane: 2, generation: 0, request: .proxy(source: 1, function: "add", name: "add"),
                                 outcome: .proxied(Wire(source: 1, function: "add", target: 2, name: "add"))))
        guard case .saveLog(let path, let lines) = state.runCommand("session save /tmp/s.json").first else {
            Issue.record("nothing saved"); return
        }
        #expect(path == "/tmp/s.json")
        let back = try Session.parse(Data(lines.joined(separator: "\n").utf8))
        #expect(back.panes.map(\.name) == ["python", "javascript"])
        #expect(back.panes[0].entries == ["def add(a, b): return a + b"])
        #expect(back.panes[0].refs == [Session.Ref(name: "r", code: "[1]")])
        #expect(back.wires == [Session.Wire(source: "python", function: "add", target: "javascript", name: "add")])
    }

    @Test func badSessionsAreExplained() {
        #expect(throws: ParseError("two panes are named \"a\"")) {
            try Session.parse(Data(#"{"panes": [{"name": "a", "language": "py"}, {"name": "a", "language": "js"}]}"#.utf8))
        }
        #expect(throws: ParseError("wire to b.f: no pane \"b\"")) {
            try Session.parse(Data(#"{"panes": [{"name": "a", "language": "py"}], "wires": [{"source": "a", "function": "f", "target": "b", "name": "f"}]}"#.utf8))
        }
        #expect(throws: ParseError(".panes[0]: \"language\" is missing")) {
            try Session.parse(Data(#"{"panes": [{"name": "a"}]}"#.utf8))
        }
    }
}

@Suite struct ConfigTests {
    @Test func everyOptionIsRead() throws {
        let config = try Config.parse(#"""
        {"keys": {"block": "Ctrl-O", "complete": "F3", "wiring": "Alt-w"},
         "colors": {"panes": ["blue", "red"], "stderr": "magenta", "value": "cyan", "error": "yellow", "nested": "green", "timing": "white"},
         "monochrome": true, "mouse": false, "timeout": 2.5, "history": false, "stateDir": "/tmp/wb",
         "panes": ["py", "b:js"], "logFrames": 500, "transcriptLines": 200}
        """#)
        #expect(config.bindings.keys[.block] == [.ctrl("o")])
        #expect(config.bindings.keys[.complete] == [.function(3)])
        #expect(config.bindings.keys[.wiring] == [.alt("w")])
        #expect(config.theme.panes == [.blue, .red] && config.theme.stderr == .magenta && config.theme.timing == .white)
        #expect(config.monochrome && !config.mouse && config.timeout == 2.5 && config.history == false)
        #expect(config.stateDir == "/tmp/wb" && config.panes == ["py", "b:js"])
        #expect(config.logFrames == 500 && config.transcriptLines == 200)
    }

    @Test func mistakesAreExplained() {
        #expect(throws: ParseError("unknown option \"colour\" (known: keys, colors, monochrome, mouse, timeout, history, stateDir, panes, logFrames, transcriptLines, previewLines)")) {
            try Config.parse(#"{"colour": "red"}"#)
        }
        #expect(throws: ParseError("keys: F4 is bound to both block and call")) { try Config.parse(#"{"keys": {"block": "F4"}}"#) }
        #expect(throws: ParseError.self) { try Config.parse(#"{"keys": {"preset": "vim"}}"#) }
        #expect(throws: ParseError("keys.block: \"Hyper-x\" is not a key name")) { try Config.parse(#"{"keys": {"block": "Hyper-x"}}"#) }
        #expect(throws: ParseError.self) { try Config.parse(#"{"colors": {"value": "mauve"}}"#) }
    }

    @Test func reboundKeysActAndShow() throws {
        var config = try Config.parse(#"{"keys": {"block": "Ctrl-O"}}"#)
        config.theme.panes = [.blue]
        var state = AppState(width: 100, height: 30, knownLanguages: ["Python"], config: config)
        _ = state.addPanes([PaneSpec(language: "Python")])
        _ = state.update(.started(pane: 1, generation: 0, pid: 1, remoteHost: nil))
        type("x = 1", into: &state)
        #expect(state.update(.key(.function(3))) == [])  // the old key does nothing
        #expect(state.update(.key(.ctrl("o"))).contains(.request(pane: 1, generation: 0, .block("x = 1"))))
        let lines = state.render().buffer.trimmedLines()
        #expect(lines.last!.contains("^O block"))
        #expect(state.render().buffer[0, 0].style.bg == .blue)
        _ = state.update(.key(.function(1)))
        #expect(state.render().buffer.trimmedLines().contains { $0.contains("Ctrl-O") && $0.contains("run the input as a block") })
    }

    @Test func monochromeHasNoColourAndReversesWhatHadABackground() {
        var (state, _) = makeState(["py", "js"])
        _ = state.update(.result(pane: 1, generation: 0, request: .eval("1"), outcome: .failure("boom")))
        state.config.monochrome = true
        let buffer = state.render().buffer
        #expect(buffer.cells.allSatisfy { $0.style.fg == .default && $0.style.bg == .default })
        #expect(buffer[0, 0].style.reverse)  // the focused title
        #expect(!buffer[45, 0].style.reverse)
        #expect(Config.noColor(environment: ["NO_COLOR": "1"]))
        #expect(!Config.noColor(environment: ["NO_COLOR": ""]))
        #expect(Config.defaultPath(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/bond-workbench/config.json")
        #expect(Config.defaultPath(environment: ["HOME": "/h"]) == "/h/.config/bond-workbench/config.json")
    }
}

@Suite struct MouseTests {
    @Test func decodesNcursesMasks() {
        let m = MouseEvent.Masks.ncurses
        #expect(MouseEvent.decode(x: 3, y: 4, bstate: m.button1Pressed, masks: m) == MouseEvent(x: 3, y: 4, kind: .press))
        #expect(MouseEvent.decode(x: 3, y: 4, bstate: m.button1Clicked, masks: m).kind == .press)
        #expect(MouseEvent.decode(x: 0, y: 0, bstate: m.button4Pressed, masks: m).kind == .wheelUp)
        #expect(MouseEvent.decode(x: 0, y: 0, bstate: m.button5Pressed, masks: m).kind == .wheelDown)
        #expect(MouseEvent.decode(x: 0, y: 0, bstate: m.button1Released, masks: m).kind == .release)
    }

    @Test func clickFocusesAndWheelScrolls() {
        var (state, _) = makeState(["py", "js"])
        _ = state.update(.key(.mouse(MouseEvent(x: 60, y: 5, kind: .press))))
        #expect(state.focus == .pane(2))
        _ = state.update(.key(.mouse(MouseEvent(x: 10, y: 5, kind: .press))))
        #expect(state.focus == .pane(1))
        for n in 0..<40 { _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: "line \(n)\n")) }
        _ = state.update(.key(.mouse(MouseEvent(x: 10, y: 5, kind: .wheelUp))))
        #expect(state.panes[0].scroll == 3)
        _ = state.update(.key(.mouse(MouseEvent(x: 10, y: 5, kind: .wheelDown))))
        #expect(state.panes[0].scroll == 0)
        // The log: a click focuses it and selects the row under the pointer.
        for n in 0..<10 { frame(&state, true, "EVAL \"\(n)\"", at: Double(n)) }
        _ = state.update(.key(.mouse(MouseEvent(x: 10, y: 20, kind: .press))))
        #expect(state.focus == .log)
        #expect(state.log.selected == 8)  // rows 19..22 show frames 7..10
        _ = state.update(.key(.mouse(MouseEvent(x: 10, y: 20, kind: .wheelUp))))
        #expect(state.log.selected == 5)
    }
}

@Suite struct CompletionTests {
    @Test func contextOfTheWordBeforeTheCursor() {
        #expect(AppState.completionContext(InputEditor("print(os.pa")) == (9, "pa", "os"))
        #expect(AppState.completionContext(InputEditor("x = ma")) == (4, "ma", nil))
        #expect(AppState.completionContext(InputEditor("$fo")) == (0, "$fo", nil))
        #expect(AppState.completionContext(InputEditor("a.b.c")) == (4, "c", "a.b"))
    }

    @Test func asksTheInterpreterThenOneChoiceIsTaken() {
        var (state, _) = makeState(["py"])
        type("x = hyp", into: &state)
        let effects = state.update(.key(.ctrl(" ")))
        #expect(effects == [.request(pane: 1, generation: 0, .complete("list(globals()) + dir(__import__('builtins'))"))])
        _ = state.update(.result(pane: 1, generation: 0, request: .complete(""), outcome: .completions(["hypot", "print", "_BOND_x"])))
        #expect(state.panes[0].input.text == "x = hypot")
        #expect(state.completion == nil)
    }

    @Test func severalChoicesOpenAMenuWithHistory() {
        var (state, _) = makeState(["py"], width: 80, height: 30)
        for entry in ["max(1, 2)", "print('a')", "max(3, 4)"] {
            type(entry, into: &state)
            _ = state.update(.key(.enter))
            _ = state.update(.result(pane: 1, generation: 0, request: .eval(entry), outcome: .value(1)))
        }
        type("ma", into: &state)
        _ = state.update(.key(.ctrl(" ")))
        _ = state.update(.result(pane: 1, generation: 0, request: .complete(""), outcome: .completions(["map", "max", "math", "min"])))
        #expect(state.completion?.items.map(\.text) == ["map", "math", "max", "max(3, 4)", "max(1, 2)"])
        let lines = state.render().buffer.trimmedLines()
        #expect(lines.contains { $0.hasPrefix("    map") })
        #expect(lines.contains { $0.hasPrefix("  ↑ max(3, 4)") })
        _ = state.update(.key(.down))
        _ = state.update(.key(.down))
        _ = state.update(.key(.down))
        _ = state.update(.key(.enter))
        #expect(state.panes[0].input.text == "max(3, 4)")
        #expect(state.focus == .pane(1))
    }

    @Test func commonPrefixIsInsertedAndBusyPanesUseHistoryOnly() {
        var (state, _) = makeState(["js"])
        type("Math.fl", into: &state)
        let effects = state.update(.key(.ctrl(" ")))
        guard case .request(_, _, .complete(let expression)) = effects.first else { Issue.record("no request"); return }
        #expect(expression.hasSuffix("((Math))"))
        _ = state.update(.result(pane: 1, generation: 0, request: .complete(""), outcome: .completions(["floor", "flooring", "abs"])))
        #expect(state.panes[0].input.text == "Math.floor")
        _ = state.update(.key(.escape))
        #expect(state.completion == nil)
        _ = state.update(.died(pane: 1, generation: 0, message: "gone"))
        _ = state.update(.state(pane: 1, generation: 0, .terminated(.unknown)))
        #expect(state.update(.key(.ctrl(" "))) == [])
        #expect(state.flash == "no completion for \"floor\"")
    }
}

@Suite struct ReplayTests {
    /// A python pane where three requests ran.
    func session() -> AppState {
        var (state, _) = makeState(["py"], width: 100, height: 40)
        _ = state.runCommand("eval 6*7")
        _ = state.update(.output(pane: 1, generation: 0, channel: .stdout, text: "side\n"))
        _ = state.update(.result(pane: 1, generation: 0, request: .eval("6*7"), outcome: .value(42)))
        _ = state.runCommand("block x = 1")
        _ = state.update(.result(pane: 1, generation: 0, request: .block("x = 1"), outcome: .done))
        _ = state.runCommand("call max 3 9")
        _ = state.update(.result(pane: 1, generation: 0, request: .call(name: "max", arguments: [.value(3), .value(9)]),
                                 outcome: .failure("Python exception: boom")))
        return state
    }

    @Test func transcriptSaveWritesEachStep() throws {
        var state = session()
        guard case .saveLog(let path, let lines) = state.runCommand("transcript save /tmp/t.jsonl").first else {
            Issue.record("no save"); return
        }
        #expect(path == "/tmp/t.jsonl")
        #expect(lines == [
            #"{"step":1,"pane":"python","language":"Python","kind":"eval","input":"6*7","output":"side\n","value":42}"#,
            #"{"step":2,"pane":"python","language":"Python","kind":"block","input":"x = 1","output":"","ok":true}"#,
            #"{"step":3,"pane":"python","language":"Python","kind":"call","input":"max 3 9","function":"max","arguments":[{"value":3},{"value":9}],"output":"","error":"Python exception: boom"}"#,
        ])
    }

    @Test func replayOfATranscriptReportsWhereResultsDiffer() throws {
        var state = session()
        guard case .saveLog(_, let lines) = state.runCommand("transcript save /tmp/t.jsonl").first else { return }
        #expect(state.runCommand("replay /tmp/t.jsonl --report /tmp/r.jsonl") == [.readFile(path: "/tmp/t.jsonl", purpose: .replay(report: "/tmp/r.jsonl"))])
        let effects = state.update(.fileRead(path: "/tmp/t.jsonl", purpose: .replay(report: "/tmp/r.jsonl"), text: lines.joined(separator: "\n"), error: nil))
        #expect(effects.contains(.start(pane: 2, generation: 0, name: "python-replay", language: "Python", command: nil)))
        #expect(state.panes[1].name == "python-replay" && state.focus == .pane(2))
        // The first step waits for the start.
        let first = state.update(.started(pane: 2, generation: 0, pid: 7, remoteHost: nil))
        #expect(first == [.request(pane: 2, generation: 0, .eval("6*7"))])
        _ = state.update(.output(pane: 2, generation: 0, channel: .stdout, text: "side\n"))
        let second = state.update(.result(pane: 2, generation: 0, request: .eval("6*7"), outcome: .value(42)))
        #expect(second == [.request(pane: 2, generation: 0, .block("x = 1"))])
        let third = state.update(.result(pane: 2, generation: 0, request: .block("x = 1"), outcome: .failure("NameError")))
        #expect(third == [.request(pane: 2, generation: 0, .call(name: "max", arguments: [.value(3), .value(9)]))])
        let end = state.update(.result(pane: 2, generation: 0, request: .call(name: "max", arguments: [.value(3), .value(9)]), outcome: .value(9)))
        guard case .saveLog(let reportPath, let report) = end.first else { Issue.record("no report"); return }
        #expect(reportPath == "/tmp/r.jsonl")
        #expect(report.count == 4)
        #expect(report[0] == #"{"step":1,"input":"6*7","same":true,"expected":"= 42","got":"= 42"}"#)
        #expect(report[1] == #"{"step":2,"input":"x = 1","same":false,"expected":"ok","got":"✗ NameError"}"#)
        #expect(report[3].contains(#""same":1,"differ":2"#))
        let text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("· step 1: same (= 42)"))
        #expect(text.contains("✗ step 2 differs (result):"))
        #expect(text.contains("  expected ok"))
        #expect(text.contains("  got      ✗ NameError"))
        #expect(text.contains("replay: 3 steps, 1 same, 2 differ"))
        #expect(state.replays.isEmpty)
    }

    @Test func replayOfALogComparesReplyFrames() throws {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)  // javascript EVAL whose reply is RETURN 43, with a nested CALL into python
        frame(&state, true, #"EVAL_BLOCK "y = 2""#, at: 1)
        frame(&state, false, "RETURN null", at: 1.001)
        guard case .saveLog(_, let lines) = state.runCommand("log save /tmp/l.jsonl").first else { return }
        let plan = try ReplayFile.parse(lines.joined(separator: "\n"))
        // Only top-level requests: the nested CALL into python is not replayed on its own.
        #expect(plan.map(\.pane) == ["javascript", "python"])
        #expect(plan[0].steps.map(\.request) == [.eval("add(2, 40) + 1")])
        #expect(plan[0].steps[0].expected == .reply(verb: "RETURN", payload: "43"))
        #expect(plan[1].steps.map(\.request) == [.block("y = 2")])
        _ = state.update(.fileRead(path: "/tmp/l.jsonl", purpose: .replay(report: nil), text: lines.joined(separator: "\n"), error: nil))
        let js = state.pane(named: "javascript-replay")!.id
        _ = state.update(.started(pane: js, generation: 0, pid: 8, remoteHost: nil))
        _ = state.update(.traffic(pane: js, generation: 0, TrafficRecord(sent: true, time: Date(), line: #"EVAL "add(2, 40) + 1""#, depth: 1)))
        _ = state.update(.traffic(pane: js, generation: 0, TrafficRecord(sent: false, time: Date(), line: #"EXCEPT "ReferenceError: add is not defined""#, depth: 1)))
        _ = state.update(.result(pane: js, generation: 0, request: .eval("add(2, 40) + 1"), outcome: .failure("x")))
        let text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("step 1 differs (reply):"))
        #expect(text.contains(#"got      EXCEPT "ReferenceError: add is not defined""#))
    }
}
