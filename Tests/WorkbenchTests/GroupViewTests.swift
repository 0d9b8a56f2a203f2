import Bond
import Foundation
import Testing
@testable import Workbench

/// A host group as one thing: the group view, broadcast rounds, the group's start-up entries,
/// Ctrl-C to every busy host, and the group saved in a session.
@Suite struct GroupViewTests {
    static let group = try! HostGroup(hosts: ["h1", "h2", "h3"], language: "Python", ssh: "ssh -F cfg", program: "python3")

    func groupState(width: Int = 160, height: Int = 48, broadcast: Bool = true) -> AppState {
        var state = AppState(width: width, height: height, knownLanguages: ["Python"])
        state.addHostGroups([Self.group], broadcasting: broadcast ? [Self.group.name] : [])
        _ = state.addPanes(Self.group.specs)
        for (n, pane) in state.panes.enumerated() {
            _ = state.update(.started(pane: pane.id, generation: 0, pid: Int32(2000 + n), remoteHost: pane.name))
        }
        return state
    }

    func requests(_ effects: [Effect]) -> [(pane: Int, request: Request)] {
        effects.compactMap { if case .request(let pane, _, let r) = $0 { (pane, r) } else { nil } }
    }

    /// Types `text` in the focused pane and presses Enter: the requests sent.
    func broadcast(_ text: String, into state: inout AppState) -> [(pane: Int, request: Request)] {
        type(text, into: &state)
        return requests(state.update(.key(.enter)))
    }

    func answer(_ state: inout AppState, _ k: Int, _ request: Request, _ outcome: Outcome) {
        let p = state.panes[k]
        _ = state.update(.result(pane: p.id, generation: p.generation, request: request, outcome: outcome))
    }

    /// The screen line that holds every one of `parts` (side by side, a column each).
    func line(_ lines: [String], with parts: [String]) -> String? {
        lines.first { line in parts.allSatisfy { line.contains($0) } }
    }

    /// h1 answers a value, h2 an error, h3 is still busy.
    func answered(width: Int, height: Int) -> AppState {
        var state = groupState(width: width, height: height)
        let sent = broadcast("socket.gethostname()", into: &state)
        #expect(sent.map(\.pane) == state.panes.map(\.id))
        _ = state.update(.state(pane: state.panes[2].id, generation: 0, .busy(depth: 1)))
        answer(&state, 0, sent[0].request, .ran(.value(.string("h1"))))
        answer(&state, 1, sent[1].request, .failure("Python exception: ZeroDivisionError: division by zero"))
        _ = state.update(.key(.alt("h")))
        return state
    }

    @Test func theGroupViewShowsEachHostsAnswerSideBySideAt160x48() {
        let state = answered(width: 160, height: 48)
        #expect(state.groupView?.group == "h1,h2,h3")
        let lines = state.render().buffer.lines()
        #expect(lines[0].contains("group h1,h2,h3 · Python · broadcast on · 2 of 3 answered, 1 failed"))
        #expect(lines[1].contains("› socket.gethostname()"))
        #expect(line(lines, with: ["✓ h1 · idle", "✗ h2 · idle", "… h3 · busy depth 1"]) != nil)
        #expect(line(lines, with: [#"= "h1""#, "✗ Python exception: ZeroDivisionError", "… running"]) != nil)
        #expect(lines[45].contains("Esc close"))
        #expect(state.render().cursor == nil)
        // The failure is red, the busy host yellow.
        let buffer = state.render().buffer
        let y = lines.firstIndex { $0.contains("✗ Python exception") }!
        let x = Array(lines[y]).firstIndex(of: "✗")!
        #expect(buffer[x, y].style.fg == .red)
    }

    @Test func theGroupViewFitsAt80x24AndBecomesRowsWhenNarrow() {
        let state = answered(width: 80, height: 24)
        let lines = state.render().buffer.lines()
        #expect(lines.allSatisfy { TextWidth.of($0) == 80 })
        #expect(lines[0].contains("group h1,h2,h3 · Python · broadcast on · 2 of 3 answered"))
        #expect(line(lines, with: ["✓ h1", "✗ h2", "… h3"]) != nil)
        #expect(line(lines, with: [#"= "h1""#, "✗ Python exception", "… running"]) != nil)
        // The error wraps in its column instead of being cut.
        #expect(line(lines, with: ["✗ Python exception: ZeroD"]) != nil && line(lines, with: ["ivisionError: division by"]) != nil)
        var narrow = state
        _ = narrow.update(.resize(width: 50, height: 24))
        let rows = narrow.render().buffer.trimmedLines()
        #expect(line(rows, with: ["✓ h1", "✗ h2"]) == nil)
        #expect(rows.contains { $0.contains("✓ h1 · idle") } && rows.contains { $0.contains("… h3 · busy") })
    }

    @Test func manyHostsInRowsKeepTheSelectedHostInSight() throws {
        let hosts = (1...12).map { "n\($0)" }
        let group = try HostGroup(hosts: hosts, language: "Python", ssh: "ssh", program: "python3")
        var state = AppState(width: 80, height: 24, knownLanguages: ["Python"])
        state.addHostGroups([group])
        _ = state.addPanes(group.specs)
        #expect(state.panes.allSatisfy { $0.group == group.name })
        _ = state.update(.key(.alt("h")))
        var lines = state.render().buffer.trimmedLines()
        #expect(lines.contains { $0.contains("n1 · starting") } && !lines.contains { $0.contains("n12 · starting") })
        for _ in 0..<11 { _ = state.update(.key(.down)) }
        lines = state.render().buffer.trimmedLines()
        #expect(lines.contains { $0.contains("n12 · starting") } && !lines.contains { $0.contains("n1 · starting") })
        #expect(lines.allSatisfy { TextWidth.of($0) <= 80 })
    }

    @Test func whatEachHostPrintedShowsAboveItsAnswer() {
        var state = groupState()
        let sent = broadcast("print(socket.gethostname()); 7", into: &state)
        for (k, p) in state.panes.enumerated() {
            _ = state.update(.output(pane: p.id, generation: 0, channel: .stdout, text: "host \(p.name)\n"))
            if k < 2 { answer(&state, k, sent[k].request, k == 0 ? .ran(.value(.int(7))) : .ran(nil)) }
        }
        let cells = state.groupCells("h1,h2,h3")
        #expect(cells.map(\.text) == ["host h1\n= 7", "host h2", "host h3\n… running"])
        // Output outside a round (the pane's own input) is not the group's.
        _ = state.update(.key(.alt("g")))
        let own = broadcast("print(1)", into: &state)
        #expect(own.count == 1)
        _ = state.update(.output(pane: state.panes[0].id, generation: 0, channel: .stdout, text: "1\n"))
        #expect(state.groupCells("h1,h2,h3")[0].text == "host h1\n= 7")
    }

    @Test func aDeadHostIsMarkedAndAHostLostMidRequestToo() {
        var state = groupState()
        let h3 = state.panes[2].id
        _ = state.update(.died(pane: h3, generation: 0, message: "Python interpreter terminated (exit status 255)"))
        _ = state.update(.state(pane: h3, generation: 0, .terminated(.exited(255))))
        let sent = broadcast("1 + 1", into: &state)
        #expect(sent.map(\.pane) == [state.panes[0].id, state.panes[1].id])
        answer(&state, 1, sent[1].request, .terminated(message: "Python interpreter terminated (exit status 255)", stderr: ""))
        let cells = state.groupCells("h1,h2,h3")
        #expect(cells.map(\.mark) == [.busy, .failed, .failed])
        #expect(cells[1].text == "✗ Python interpreter terminated (exit status 255)")
        #expect(cells[2].text.hasPrefix("✗ not sent: the pane was dead"))
        #expect(cells[2].status.hasPrefix("dead"))
    }

    @Test func anAnswerOfAnEarlierRoundOrBondIsNotTakenForTheLastOne() {
        var state = groupState()
        let first = broadcast("f()", into: &state)
        _ = broadcast("f()", into: &state)
        // The first round's answers come first (each pane answers in order).
        for k in 0..<3 { answer(&state, k, first[k].request, .ran(.value(.int(1)))) }
        #expect(state.groupCells("h1,h2,h3").map(\.mark) == [.busy, .busy, .busy])
        answer(&state, 0, first[0].request, .ran(.value(.int(2))))
        #expect(state.groupCells("h1,h2,h3")[0].text == "= 2")
        // A restart drops the request: it is said, not waited for.
        _ = state.restartNow(1)
        #expect(state.groupCells("h1,h2,h3")[1].text == "✗ restarted before it answered")
    }

    @Test func aRestartedHostRunsTheGroupsDefinitionsAndGetsItsWiresBack() throws {
        var state = groupState()
        let (h1, h3) = (state.panes[0].id, state.panes[2].id)
        state.addWires([Session.Wire(source: "h1", function: "produce", target: "h3", name: "produce")])
        _ = state.update(.died(pane: h3, generation: 0, message: "Python interpreter terminated (exit status 255)"))
        _ = state.update(.state(pane: h3, generation: 0, .terminated(.exited(255))))
        // Defined while h3 is down; a definition that fails everywhere is not kept.
        let sent = broadcast("import socket\ndef who(): return socket.gethostname()", into: &state)
        for k in 0..<2 { answer(&state, k, sent[k].request, .ran(nil)) }
        let bad = broadcast("def oops(:", into: &state)
        for k in 0..<2 { answer(&state, k, bad[k].request, .failure("Python exception: SyntaxError")) }
        #expect(state.hostGroups.record(named: "h1,h2,h3")?.entries.map(\.key) == ["import:import socket", "def:who"])
        // What runs at every start is a definition, not a statement that does more than import.
        #expect(StartupEntries.definitions(in: "import time; time.sleep(3)", language: "Python").isEmpty)
        #expect(StartupEntries.definitions(in: "import os; import sys", language: "Python").map(\.key) == ["import:import os; import sys"])
        _ = state.restartNow(2)
        let started = requests(state.update(.started(pane: h3, generation: 1, pid: 3000, remoteHost: "h3")))
        #expect(started.map(\.request) == [
            .startup("import socket"), .startup("def who(): return socket.gethostname()"),
            .proxy(source: h1, function: "produce", name: "produce"),
        ])
        #expect(started.allSatisfy { $0.pane == h3 })
        // A pane outside the group runs only its own entries.
        #expect(state.startupEntriesAtStart(0).count == 2)
    }

    @Test func ctrlCInterruptsEveryBusyHostWhenBroadcastIsOn() {
        var state = groupState()
        _ = broadcast("import time; time.sleep(30)", into: &state)
        let effects = state.update(.key(.ctrl("c")))
        let interrupted = effects.compactMap { if case .interrupt(let pane, _) = $0 { pane } else { nil } }
        #expect(interrupted == state.panes.map(\.id))
        #expect(state.flash == "interrupted 3 of 3 hosts of the group (broadcast is on)")
        // Broadcast off: only the focused pane.
        _ = state.update(.key(.alt("g")))
        let alone = state.update(.key(.ctrl("c"))).compactMap { if case .interrupt(let pane, _) = $0 { pane } else { nil } }
        #expect(alone == [state.panes[0].id])
    }

    @Test func theGroupIsSavedInTheSessionAndBroughtBack() throws {
        var state = groupState()
        let sent = broadcast("def who(): return 1", into: &state)
        answer(&state, 0, sent[0].request, .ran(nil))
        let text = state.session.text
        let session = try Session.parse(Data(text.utf8))
        #expect(session.groups == [Session.Group(name: "h1,h2,h3", language: "Python", hosts: ["h1", "h2", "h3"], ssh: "ssh -F cfg",
                                                 program: "python3", broadcast: true, entries: ["def who(): return 1"])])
        var restored = AppState(width: 160, height: 48, knownLanguages: ["Python"])
        restored.addHostGroups(session.hostGroups, broadcasting: session.broadcasting)
        let effects = restored.addPanes(session.specs)
        var started: [(pane: Int, request: Request)] = []
        for (n, pane) in restored.panes.enumerated() {
            started += requests(restored.update(.started(pane: pane.id, generation: 0, pid: Int32(n), remoteHost: pane.name)))
        }
        #expect(restored.hostGroups.broadcasting == ["h1,h2,h3"])
        #expect(restored.panes.map(\.group) == Array(repeating: "h1,h2,h3", count: 3))
        #expect(restored.panes.map(\.command) == ["ssh -F cfg h1 python3", "ssh -F cfg h2 python3", "ssh -F cfg h3 python3"])
        #expect(restored.hostGroups.records.first?.ssh == "ssh -F cfg")
        #expect(effects.filter { if case .start = $0 { true } else { false } }.count == 3)
        #expect(started.map(\.request) == Array(repeating: .startup("def who(): return 1"), count: 3))
        // Broadcast is on again: the input goes to all three.
        #expect(broadcast("1", into: &restored).count == 3)
        // Broadcast off is saved as off.
        _ = state.update(.key(.alt("g")))
        #expect(try Session.parse(Data(state.session.text.utf8)).broadcasting.isEmpty)
    }

    @Test func sessionsWithoutGroupsStillReadAndAPaneOfNoGroupIsRefused() throws {
        let old = try Session.parse(Data(#"{"version": 1, "panes": [{"name": "py", "language": "Python"}]}"#.utf8))
        #expect(old.groups == nil && old.hostGroups.isEmpty && old.specs[0].group == nil)
        #expect(!AppState(width: 80, height: 24, knownLanguages: []).session.text.contains("groups"))
        #expect(throws: ParseError.self) {
            try Session.parse(Data(#"{"panes": [{"name": "h1", "language": "Python", "group": "nope"}]}"#.utf8))
        }
        #expect(throws: ParseError.self) {
            try Session.parse(Data(#"{"panes": [], "groups": [{"name": "g", "language": "Python", "hosts": [], "ssh": "ssh", "program": "python3"}]}"#.utf8))
        }
    }

    @Test func theGroupCommandAndKeysOfTheView() {
        var state = groupState(broadcast: false)
        #expect(state.statusHints().contains("M-h group"))
        _ = state.runCommand("group")
        #expect(state.groupView == GroupView(group: "h1,h2,h3", selected: 0))
        #expect(state.render().buffer.lines()[1].contains("no broadcast input yet"))
        _ = state.update(.key(.right))
        _ = state.update(.key(.right))
        _ = state.update(.key(.alt("g")))
        #expect(state.hostGroups.broadcasting == ["h1,h2,h3"])
        _ = state.update(.key(.enter))
        #expect(state.groupView == nil)
        #expect(state.focus == .pane(state.panes[2].id))
        _ = state.runCommand("group broadcast")
        #expect(state.hostGroups.broadcasting.isEmpty)
        var plain = AppState(width: 80, height: 24, knownLanguages: ["Python"])
        _ = plain.addPanes([PaneSpec(language: "Python")])
        _ = plain.update(.key(.alt("h")))
        #expect(plain.groupView == nil)
        #expect(plain.flash?.hasPrefix("no host group") == true)
    }
}

/// The group view as a model on its own: its keys answer outcomes, it draws its content into
/// the `Rect` it is given and nowhere else.
@Suite struct GroupViewModelTests {
    static let cells = [
        GroupView.Cell(pane: 1, name: "h1", status: "idle", mark: .ok, text: "= 1"),
        GroupView.Cell(pane: 2, name: "h2", status: "dead (exit status 255)", mark: .failed, text: "✗ not sent: the pane was dead"),
    ]
    static let content = GroupView.Content(title: "group h1,h2 · Python · broadcast on · 2 of 2 answered, 1 failed", input: "› 1",
                                           hasInput: true, entries: [], cells: cells, footer: "Esc close")

    @Test func keysAnswerOutcomes() {
        var view = GroupView(group: "h1,h2")
        #expect(view.update(.right, action: nil, cells: Self.cells) == .overlay(.stay))
        #expect(view.selected == 1)
        #expect(view.update(.right, action: nil, cells: Self.cells) == .overlay(.stay) && view.selected == 1)
        #expect(view.update(.enter, action: nil, cells: Self.cells) == .focus(pane: 2))
        #expect(view.update(.alt("g"), action: .broadcast, cells: Self.cells) == .toggleBroadcast)
        #expect(view.update(.ctrl("c"), action: .interrupt, cells: Self.cells) == .interruptBusy)
        #expect(view.update(.escape, action: nil, cells: Self.cells) == .overlay(.close))
        #expect(view.update(.ctrl("q"), action: .quit, cells: Self.cells) == .overlay(.quit(.ctrl("q"))))
    }

    @Test func itDrawsInsideItsAreaOnly() {
        for (w, h) in [(80, 24), (160, 48)] {
            var buffer = CellBuffer(width: w, height: h)
            let area = Rect(x: 2, y: 1, width: w - 4, height: h - 3)
            GroupView(group: "h1,h2").render(into: &buffer, area: area, content: Self.content, theme: Theme())
            let lines = buffer.lines()
            for y in 0..<h where y < area.y || y >= area.bottom { #expect(lines[y].allSatisfy { $0 == " " }) }
            #expect(lines.allSatisfy { $0.hasPrefix("  ") })
            #expect(lines[area.y].contains("group h1,h2 · Python · broadcast on · 2 of 2 answered, 1 failed"))
            #expect(lines.contains { $0.contains("✓ h1 · idle") && $0.contains("✗ h2 · dead (exit status 255)") })
        }
    }
}
