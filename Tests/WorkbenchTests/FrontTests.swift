import Bond
import Foundation
import Testing
@testable import Workbench

/// What is in front (one value), the questions that wait for it, and a pane's own bookkeeping.
@Suite struct FrontTests {
    private func twoPanes() -> AppState {
        var state = AppState(width: 80, height: 24, knownLanguages: ["Python", "JavaScript"])
        _ = state.addPanes([PaneSpec(name: nil, language: "python"), PaneSpec(name: nil, language: "javascript")])
        for p in state.panes { _ = state.update(.started(pane: p.id, generation: 0, pid: 1, remoteHost: nil)) }
        return state
    }

    @Test func openingAnOverlayClosesWhatWasInFront() {
        var state = twoPanes()
        _ = state.update(.key(.function(1)))
        #expect(state.help != nil)
        state.wiringView = WiringView()
        #expect(state.help == nil)
        #expect(state.front == .wiring(WiringView()))
        // Closing another kind leaves the front alone.
        state.help = nil
        #expect(state.wiringView != nil)
        state.wiringView = nil
        #expect(state.front == nil)
    }

    @Test func aQuestionWaitsWhileTheUserTypesInFront() {
        var state = twoPanes()
        _ = state.update(.key(.alt("x")))
        #expect(state.prompt != nil)
        for c in "lo" { _ = state.update(.key(.char(c))) }
        _ = state.update(.sshQuestion(pane: state.panes[0].id, question: 3, prompt: "password: ", secret: true))
        // The command being typed stays in front; the question waits for it.
        #expect(state.prompt?.input.text == "lo")
        _ = state.update(.key(.escape))
        #expect(state.prompt?.label.contains("ssh asks: password:") == true)
    }

    @Test func writingOverAFileIsAskedOnceThePromptCloses() {
        var state = twoPanes()
        state.rememberSaves(state.runCommand("log save /tmp/front-test.jsonl"))
        _ = state.update(.key(.alt("x")))
        _ = state.update(.key(.char("q")))
        _ = state.update(.logSaved(path: "/tmp/front-test.jsonl", expanded: "/tmp/front-test.jsonl", error: .exists))
        #expect(state.prompt?.input.text == "q")
        #expect(state.confirm == nil)
        _ = state.update(.key(.escape))
        #expect(state.confirm?.question.hasPrefix("/tmp/front-test.jsonl exists: write over it?") == true)
        guard case .replaceFile("/tmp/front-test.jsonl", _)? = state.update(.key(.char("y"))).first else {
            Issue.record("no write over the file"); return
        }
    }

    @Test func aQuestionCoversAView() {
        var state = twoPanes()
        _ = state.update(.key(.function(1)))
        _ = state.update(.sshQuestion(pane: state.panes[0].id, question: 4, prompt: "yes/no? ", secret: false))
        #expect(state.help == nil)
        #expect(state.prompt?.label.contains("ssh asks: yes/no?") == true)
    }

    @Test func aPaneHoldsRequestsWhileItStartsAndIsIdleOnceAnswered() {
        var pane = PaneModel(id: 1, name: "python", language: "Python", command: nil, location: "local", colorIndex: 0)
        #expect(pane.take(.eval("1"), transcriptWidth: 40) == nil)
        #expect(pane.pending == 1)
        pane.started(pid: 9, host: nil, transcriptWidth: 40)
        #expect(pane.status == .idle)
        #expect(pane.releaseHeld() == [.eval("1")])
        #expect(pane.releaseHeld().isEmpty)
        pane.status = .busy(depth: 1)
        pane.requestAnswered()
        #expect(pane.status == .idle && pane.pending == 0)
        pane.status = .dead(exit: "exit status 1")
        #expect(pane.take(.eval("2"), transcriptWidth: 40) == nil)
        #expect(pane.transcript.lines.last?.text == "python is dead (exit status 1); F5 restarts it")
    }

    @Test func theLogUnzoomsWhenTheFocusLeavesItAndKeepsTwoRows() {
        var screen = Arrangement(width: 80, height: 24)
        screen.move(focus: .pane(1))
        screen.toggleLogZoom()
        #expect(screen.focus == .log && screen.logZoomed)
        screen.move(focus: .pane(1))
        #expect(!screen.logZoomed)
        for _ in 0..<40 { screen.resizeLog(by: -2, paneCount: 2) }
        #expect(screen.layout(paneCount: 2).log.height == 2)
        for _ in 0..<40 { screen.resizeLog(by: 2, paneCount: 2) }
        #expect(screen.layout(paneCount: 2).log.height == 24 - 5)
    }
}
