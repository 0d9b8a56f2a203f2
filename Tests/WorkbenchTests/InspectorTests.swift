import Bond
import Foundation
import Testing
@testable import Workbench

/// A traffic message as the engine hands it over; `nest` is `BondTraffic.nest`.
func frame(_ state: inout AppState, pane: Int = 1, _ sent: Bool, _ line: String, depth: Int = 1, nest: Int = 0, at t: Double) {
    _ = state.update(.traffic(pane: pane, generation: 0, TrafficRecord(
        sent: sent, time: Date(timeIntervalSince1970: 1_000_000 + t), line: line, depth: depth, nest: nest)))
}

/// javascript calls python's add through a proxy, inside an EVAL: python's conversation runs
/// inside javascript's EVAL and the CALL it serves (nest 2).
func nestedTraffic(_ state: inout AppState) {
    frame(&state, pane: 2, true, #"EVAL "add(2, 40) + 1""#, at: 0)
    frame(&state, pane: 2, false, #"CALL ["add",[2,40]]"#, at: 0.001)
    frame(&state, pane: 1, true, #"CALL ["add",[2,40]]"#, depth: 2, nest: 2, at: 0.002)
    frame(&state, pane: 1, false, #"OUTPUT ["STDOUT","adding\n"]"#, depth: 2, nest: 2, at: 0.003)
    frame(&state, pane: 1, false, "RETURN 42", depth: 2, nest: 2, at: 0.0045)
    frame(&state, pane: 2, true, "RETURN 42", depth: 2, at: 0.005)
    frame(&state, pane: 2, false, "RETURN 43", at: 0.010)
}

@Suite struct InspectorTests {
    /// Python calls `jsback` (JavaScript), which calls `pyf` (Python): Python's second
    /// conversation level runs inside four open requests (its EVAL, its CALL of jsback,
    /// JavaScript's CALL, JavaScript's CALL of pyf), as the engine reports it.
    @Test func reentrantCallsAreNestedAsTheEngineSays() throws {
        var (state, _) = makeState(["py", "js"], width: 160, height: 48)
        frame(&state, pane: 1, true, #"EVAL "jsback(1)""#, at: 0)
        frame(&state, pane: 1, false, #"CALL ["jsback",[1]]"#, at: 0.001)
        frame(&state, pane: 2, true, #"CALL ["jsback",[1]]"#, nest: 2, at: 0.002)
        frame(&state, pane: 2, false, #"CALL ["pyf",[1]]"#, nest: 2, at: 0.003)
        frame(&state, pane: 1, true, #"CALL ["pyf",[1]]"#, depth: 2, nest: 4, at: 0.004)
        frame(&state, pane: 1, false, "RETURN 2", depth: 2, nest: 4, at: 0.005)
        frame(&state, pane: 2, true, "RETURN 2", nest: 2, at: 0.006)
        frame(&state, pane: 2, false, "RETURN 3", nest: 2, at: 0.007)
        frame(&state, pane: 1, true, "RETURN 3", at: 0.008)
        frame(&state, pane: 1, false, "RETURN 4", at: 0.009)
        #expect((1...10).map { state.log.entry($0)!.indent } == [0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
        let rows = state.render().buffer.trimmedLines().filter { $0.contains(" >") || $0.contains(" <") }
        let jsCall = rows.first { $0.contains("javascript <1") }!
        let pyCall = rows.first { $0.contains("python     >2") && $0.contains("CALL") }!
        #expect(pyCall.range(of: "CALL")!.lowerBound.utf16Offset(in: pyCall) == jsCall.range(of: "CALL")!.lowerBound.utf16Offset(in: jsCall) + 2)
        guard case .saveLog(_, let lines) = state.runCommand("log save /tmp/nest.jsonl").first else { Issue.record("no save"); return }
        #expect(try JSONText.parse(lines[4])["nest"] == 4)
        #expect(try JSONText.parse(lines[5])["nest"] == 4, "a reply has its request's nest")
    }

    @Test func requestsArePairedWithTheirReplies() {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)
        let e = (1...7).map { state.log.entry($0)! }
        #expect(e[0].pair == 7 && e[6].pair == 1)       // EVAL ... RETURN 43
        #expect(e[1].pair == 6 && e[5].pair == 2)       // CALL from javascript ... RETURN sent back
        #expect(e[2].pair == 5 && e[4].pair == 3)       // CALL into python ... its RETURN
        #expect(e[3].pair == nil)                        // OUTPUT is neither
        #expect(abs(e[0].duration! - 0.010) < 1e-6)
        #expect(abs(e[2].duration! - 0.0025) < 1e-6)
        #expect(e[0].bytes == 21)
        #expect(e[3].verb == "OUTPUT" && e[4].isReply && e[2].isRequest)
    }

    @Test func logRowsShowSizeTimeAndDepth() {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)
        let lines = state.render().buffer.trimmedLines()
        let log = lines.filter { $0.contains(" >") || $0.contains(" <") }
        #expect(log.count == 7)
        #expect(log[0].contains("javascript >1    21B  10.00ms EVAL \"add(2, 40) + 1\""))
        #expect(log[2].contains("python     >2    19B   2.50ms     CALL [\"add\",[2,40]]"))
        #expect(log[4].contains("python     <2     9B   2.50ms     RETURN 42"))
        #expect(log[3].contains("python     <2    28B                OUTPUT [\"STDOUT\""))
        #expect(log[0].hasPrefix("     1 "))
        #expect(log[5].contains("javascript >2     9B   4.00ms   RETURN 42"))
        #expect(state.log.entry(4)!.indent == 3)
    }

    @Test func filterByPaneVerbAndText() {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)
        state.log.setFilter("verb:CALL")
        #expect(state.log.count == 2)
        state.log.setFilter("pane:python verb:RETURN,CALL")
        #expect((0..<state.log.count).map { state.log.seq(at: $0) } == [3, 5])
        state.log.setFilter("adding")
        #expect((0..<state.log.count).map { state.log.seq(at: $0) } == [4])
        frame(&state, true, #"EVAL "print('adding')""#, at: 1)
        #expect(state.log.count == 2)
        let text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("filter adding · 2 shown"))
        _ = state.runCommand("log filter")
        #expect(state.log.count == 8)
    }

    @Test func incrementalSearchAndNext() {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)
        state.focus = .log
        _ = state.update(.key(.char("/")))
        _ = state.update(.key(.char("R")))
        #expect(state.log.selected == 7)  // the newest RETURN first
        for c in "ETURN 42" { _ = state.update(.key(.char(c))) }
        #expect(state.log.selected == 6)
        _ = state.update(.key(.enter))
        _ = state.update(.key(.char("n")))
        #expect(state.log.selected == 5)
        _ = state.update(.key(.char("N")))
        #expect(state.log.selected == 6)
        _ = state.update(.key(.char("/")))
        _ = state.update(.key(.char("z")))
        _ = state.update(.key(.escape))
        #expect(state.log.selected == 6)
    }

    @Test func pauseHoldsTheViewAndFollowResumes() {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)
        state.focus = .log
        _ = state.update(.key(.char("p")))
        frame(&state, true, #"EVAL "later""#, at: 2)
        var text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("paused · 1 new"))
        #expect(!text.contains("later"))
        _ = state.update(.key(.end))
        text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("EVAL \"later\""))
    }

    @Test func detailViewPrettyPrintsAndShowsRawBytes() {
        var (state, _) = makeState(["py", "js"], width: 100, height: 30)
        nestedTraffic(&state)
        state.focus = .log
        _ = state.update(.key(.up))
        _ = state.update(.key(.up))
        #expect(state.log.selected == 6)
        _ = state.update(.key(.left))  // no effect outside the detail
        state.log.selected = 2
        _ = state.update(.key(.enter))
        var lines = state.render().buffer.trimmedLines()
        #expect(lines[0].contains("frame detail"))
        #expect(lines[1].hasPrefix("frame #2 · javascript (JavaScript) · received from the interpreter (<) · depth 1"))
        #expect(lines[3].hasPrefix("CALL · request, answered by #6 RETURN after 4.00ms"))
        #expect(lines[5...].contains("[") && lines[5...].contains(#"  "add","#))
        _ = state.update(.key(.char("r")))
        lines = state.render().buffer.trimmedLines()
        #expect(lines.contains { $0.hasPrefix("000000  43 41 4c 4c 20 5b") })
        #expect(lines.contains { $0.hasPrefix("line: CALL [\"add\",[2,40]]") })
        _ = state.update(.key(.char("p")))
        #expect(state.log.detail?.seq == 6)
        _ = state.update(.key(.escape))
        #expect(state.log.detail == nil)
    }

    @Test func saveWritesJSONLines() throws {
        var (state, _) = makeState(["py", "js"], width: 120, height: 40)
        nestedTraffic(&state)
        state.log.setFilter("pane:python")
        let effects = state.runCommand("log save --shown /tmp/x.jsonl")
        guard case .saveLog(let path, let lines) = effects.first else { Issue.record("no save"); return }
        #expect(path == "/tmp/x.jsonl")
        #expect(lines.count == 3)
        #expect(lines[0] == #"{"seq":3,"time":"1970-01-12T13:46:40.002Z","pane":"python","language":"Python","dir":"sent","depth":2,"nest":2,"verb":"CALL","bytes":19,"pair":5,"ms":2.5,"line":"CALL [\"add\",[2,40]]"}"#)
        let v = try JSONText.parse(lines[1])
        #expect(v["verb"] == "OUTPUT" && v["pair"] == nil)
        guard case .saveLog(_, let all) = state.runCommand("log save /tmp/y.jsonl").first else { return }
        #expect(all.count == 7)
    }

    @Test func jsonReaderKeepsOrderAndKinds() throws {
        let v = try JSONText.parse(#" {"b": [1, 2.5, "x\u00e9\ud83d\ude00", true, null], "a": {}} "#)
        #expect(v.description == #"{"b":[1,2.5,"xé😀",true,null],"a":{}}"#)
        #expect(throws: JSONText.Failure.self) { try JSONText.parse("[1,") }
    }
}

@Suite struct WiringTests {
    func wired() -> AppState {
        var (state, _) = makeState(["py", "js"], width: 100, height: 30)
        _ = state.runCommand("proxy python.add to javascript")
        _ = state.update(.result(pane: 2, generation: 0, request: .proxy(source: 1, function: "add", name: "add"),
                                 outcome: .proxied(Wire(source: 1, function: "add", target: 2, name: "add"))))
        _ = state.runCommand("proxy javascript.Math.max to python as jsmax")
        _ = state.update(.result(pane: 1, generation: 0, request: .proxy(source: 2, function: "Math.max", name: "jsmax"),
                                 outcome: .proxied(Wire(source: 2, function: "Math.max", target: 1, name: "jsmax"))))
        return state
    }

    @Test func viewListsWiresWithCounts() {
        var state = wired()
        for _ in 0..<3 { _ = state.update(.wireCalled(target: 2, name: "add")) }
        _ = state.update(.key(.function(2)))
        let text = state.render().buffer.trimmedLines().joined(separator: "\n")
        #expect(text.contains("wiring · 2 proxies"))
        #expect(text.contains("#  source      function  → target      name there  calls"))
        #expect(text.contains("1  python      add       → javascript  add             3"))
        #expect(text.contains("2  javascript  Math.max  → python      jsmax           0"))
        _ = state.update(.key(.escape))
        #expect(state.wiringView == nil)
    }

    @Test func unwireReplacesTheExportAndIsNotReapplied() {
        var state = wired()
        _ = state.update(.key(.function(2)))
        let effects = state.update(.key(.char("d")))
        #expect(effects == [.request(pane: 2, generation: 0, .unwire(name: "add"))])
        #expect(state.wires.map(\.name) == ["jsmax"])
        // A restart of javascript exports nothing; one of python exports jsmax again.
        _ = state.runCommand("restart javascript")
        _ = state.update(.key(.char("y")))
        let js = state.update(.started(pane: 2, generation: 1, pid: 5, remoteHost: nil))
        #expect(!js.contains { if case .request(_, _, .proxy) = $0 { true } else { false } })
        _ = state.runCommand("restart python")
        _ = state.update(.key(.char("y")))
        let py = state.update(.started(pane: 1, generation: 1, pid: 6, remoteHost: nil))
        #expect(py.contains(.request(pane: 1, generation: 1, .proxy(source: 2, function: "Math.max", name: "jsmax"))))
        #expect(state.runCommand("unwire python.jsmax") == [.request(pane: 1, generation: 1, .unwire(name: "jsmax"))])
        #expect(state.wires.isEmpty)
    }
}
