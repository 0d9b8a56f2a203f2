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
        #expect(back.panes[0].startup == "def add(a, b): return a + b")
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
