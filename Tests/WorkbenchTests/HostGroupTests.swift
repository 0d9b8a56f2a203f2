import Bond
import Testing
@testable import Workbench

/// `--hosts`: a pane per host, one group, and the broadcast key.
@Suite struct HostGroupTests {
    @Test func aPanePerHostThroughSSH() throws {
        let specs = try PaneSpec.hostGroup(hosts: ["h1", "bob@box.example", "h3"], language: "Python", ssh: "ssh -F cfg", program: "python3")
        #expect(specs.map(\.name) == ["h1", "box_example", "h3"])
        #expect(specs.map(\.command) == ["ssh -F cfg h1 python3", "ssh -F cfg bob@box.example python3", "ssh -F cfg h3 python3"])
        #expect(Set(specs.map(\.group)).count == 1)
        #expect(throws: ParseError.self) { try PaneSpec.hostGroup(hosts: ["h1", "h1"], language: "Python", ssh: "ssh", program: "python3") }
        #expect(throws: ParseError.self) { try PaneSpec.hostGroup(hosts: [], language: "Python", ssh: "ssh", program: "python3") }
        #expect(PaneSpec.shellQuoted("it's") == #"'it'\''s'"#)
    }

    func groupState() throws -> AppState {
        var state = AppState(width: 160, height: 40, knownLanguages: ["Python"])
        _ = state.addPanes(try PaneSpec.hostGroup(hosts: ["h1", "h2", "h3"], language: "Python", ssh: "ssh", program: "python3")
            + [PaneSpec(name: "local", language: "Python")])
        for (n, pane) in state.panes.enumerated() {
            _ = state.update(.started(pane: pane.id, generation: 0, pid: Int32(1000 + n), remoteHost: nil))
        }
        return state
    }

    func runs(_ effects: [Effect]) -> [Int] {
        effects.compactMap { if case .request(let pane, _, .run) = $0 { pane } else { nil } }
    }

    @Test func broadcastSendsTheInputToEveryPaneOfTheGroupOnly() throws {
        var state = try groupState()
        let ids = state.panes.map(\.id)
        _ = state.update(.key(.alt("g")))
        #expect(state.flash?.hasPrefix("broadcast on: input goes to h1, h2, h3") == true)
        #expect(state.titleText(state.panes[1]).contains("broadcast"))
        #expect(!state.titleText(state.panes[3]).contains("broadcast"))
        type("1 + 1", into: &state)
        #expect(runs(state.update(.key(.enter))) == Array(ids[0..<3]))
        #expect(state.panes[0..<3].allSatisfy { $0.history.entries.last == "1 + 1" })
        _ = state.update(.key(.alt("g")))
        type("2 + 2", into: &state)
        #expect(runs(state.update(.key(.enter))) == [ids[0]])
    }

    @Test func aPaneOutsideAGroupSaysSo() throws {
        var state = try groupState()
        for _ in 0..<3 { _ = state.update(.key(.function(6))) }
        #expect(state.focus == .pane(state.panes[3].id))
        _ = state.update(.key(.alt("g")))
        #expect(state.hostGroups.broadcasting.isEmpty)
        #expect(state.flash?.contains("is in no host group") == true)
    }

    @Test func sshsQuestionIsTheWorkbenchsPromptMaskedAndAnswered() throws {
        var state = try groupState()
        let pane = state.panes[1].id
        _ = state.update(.sshQuestion(pane: pane, question: 7, prompt: "bondask@h2's password: ", secret: true))
        _ = state.update(.sshQuestion(pane: pane, question: 8, prompt: "Are you sure you want to continue connecting (yes/no)?", secret: false))
        #expect(state.prompt?.label == "h2: ssh asks: bondask@h2's password: (hidden; Esc cancels)")
        type("s3cret", into: &state)
        let screen = state.render().buffer.lines().joined(separator: "\n")
        #expect(screen.contains("••••••"))
        #expect(!screen.contains("s3cret"))
        var effects = state.update(.key(.enter))
        #expect(effects.contains { if case .answerSSH(7, "s3cret") = $0 { true } else { false } })
        #expect(state.promptHistory["ssh"]?.entries.isEmpty ?? true)
        // The next question is asked once the first is answered; Esc cancels it.
        #expect(state.prompt?.label.hasPrefix("h2: ssh asks: Are you sure") == true)
        effects = state.update(.key(.escape))
        #expect(effects.contains { if case .answerSSH(8, nil) = $0 { true } else { false } })
        #expect(state.prompt == nil)
    }
}
