import Bond
import Foundation
import Testing
@testable import Workbench

/// The sub-models on their own, without the composition: each updates from its keys and draws
/// into its `Rect` of a screen's cell buffer, at 80x24 and 160x48, and nowhere else.

/// The cells of `buffer` outside `area` that were drawn on.
private func drawnOutside(_ buffer: CellBuffer, _ area: Rect) -> [String] {
    var found: [String] = []
    for y in 0..<buffer.height {
        for x in 0..<buffer.width where !(x >= area.x && x < area.right && y >= area.y && y < area.bottom) {
            if buffer[x, y] != .blank { found.append("(\(x),\(y))") }
        }
    }
    return found
}

/// The rows of `area` as text, trailing spaces removed.
private func rows(_ buffer: CellBuffer, _ area: Rect) -> [String] {
    let lines = buffer.lines()
    return (area.y..<area.bottom).map { y in
        var s = Substring(String(lines[y].dropFirst(area.x).prefix(area.width)))
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

private func record(_ sent: Bool, _ line: String, _ depth: Int, nest: Int = 0) -> TrafficRecord {
    TrafficRecord(sent: sent, time: Date(timeIntervalSince1970: 1_000_000), line: line, depth: depth, nest: nest)
}

/// Python evaluates code that calls `jsf`, proxied from JavaScript (whose conversation runs
/// inside Python's EVAL and the CALL it serves: the engine's nest 2).
private func nestedLog() -> LogModel {
    var log = LogModel()
    let frames: [(Int, String, Bool, String, Int)] = [
        (1, "python", true, #"EVAL "jsf(1)""#, 1),
        (1, "python", false, #"CALL ["jsf",[1]]"#, 1),
        (2, "js", true, #"CALL ["jsf",[1]]"#, 1),
        (2, "js", false, "RETURN 2", 1),
        (1, "python", true, "RETURN 2", 1),
        (1, "python", false, "RETURN 2", 1),
    ]
    for (pane, name, sent, line, depth) in frames {
        log.append(LogEntry(seq: log.nextSeq, date: Date(timeIntervalSince1970: 1_000_000), pane: pane, paneName: name,
                            language: pane == 1 ? "Python" : "JavaScript", record: record(sent, line, depth, nest: pane == 2 ? 2 : 0)))
    }
    return log
}

private func context(focused: Bool = false) -> LogModel.RenderContext {
    LogModel.RenderContext(focused: focused, nameWidth: 6, color: { $0 == 1 ? .cyan : .green })
}

@Suite struct LogModelTests {
    @Test(arguments: [(80, 24, Rect(x: 0, y: 14, width: 80, height: 9)), (160, 48, Rect(x: 0, y: 36, width: 160, height: 11))])
    func rendersIntoItsRect(width: Int, height: Int, area: Rect) {
        let log = nestedLog()
        var buffer = CellBuffer(width: width, height: height)
        log.render(into: &buffer, area: area, context: context(focused: true))
        #expect(drawnOutside(buffer, area).isEmpty)
        let shown = rows(buffer, area)
        #expect(shown[0] == "▶ log · 6 frames")
        // The nested CALL of JavaScript is indented one level more than Python's CALL.
        let call = shown.firstIndex { $0.contains("python <1") && $0.contains("CALL") }!
        let nested = shown.firstIndex { $0.contains("js     >1") && $0.contains("CALL") }!
        #expect(shown[nested].range(of: "CALL")!.lowerBound.utf16Offset(in: shown[nested])
                    == shown[call].range(of: "CALL")!.lowerBound.utf16Offset(in: shown[call]) + 2)
        // The frame numbers show when the log is wide.
        #expect(shown[1].hasPrefix("     1 ") == (width >= 100))
        #expect(shown.count == area.height && shown[7...].allSatisfy(\.isEmpty))
    }

    @Test func keysAnswerCommandsAsValues() {
        var log = nestedLog()
        let viewport = LogModel.Viewport(bodyHeight: 8, screenHeight: 24)
        #expect(log.update(.char("p"), viewport: viewport) == [.flash("log paused (p resumes)")])
        #expect(log.pausedAt == 7)
        #expect(log.update(.end, viewport: viewport).isEmpty && log.pausedAt == nil)
        guard case .openPrompt(let p)? = log.update(.char("/"), viewport: viewport).first else {
            Issue.record("/ opens no prompt")
            return
        }
        #expect(p.kind == .logSearch(origin: nil))
        _ = log.update(.up, viewport: viewport)
        #expect(log.selected == 6)
        _ = log.update(.enter, viewport: viewport)
        #expect(log.detail?.seq == 6)
        _ = log.update(.char("p"), viewport: viewport)
        #expect(log.detail?.seq == 1, "p goes to the pair of the reply")
        #expect(log.update(.ctrl("q"), viewport: viewport) == [.quit(.ctrl("q"))])
        #expect(log.detail == nil)
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func detailRendersOverItsRect(width: Int, height: Int) {
        var log = nestedLog()
        log.show(3)
        let area = Rect(x: 0, y: 0, width: width, height: height - 1)
        var buffer = CellBuffer(width: width, height: height)
        log.renderDetail(into: &buffer, area: area, color: { _ in .cyan })
        #expect(drawnOutside(buffer, area).isEmpty)
        let shown = rows(buffer, area)
        #expect(shown[0].hasPrefix(" frame detail"))
        #expect(shown[1] == "frame #3 · js (JavaScript) · sent to the interpreter (>) · depth 1")
        #expect(shown.contains("CALL · request, answered by #4 RETURN after 0us") || shown.contains { $0.hasPrefix("CALL · request, answered by #4") })
    }
}

@Suite struct PaneModelTests {
    static func pane() -> PaneModel {
        var pane = PaneModel(id: 1, name: "python", language: "Python", command: nil, location: "local", colorIndex: 0)
        pane.status = .idle
        pane.pid = 4242
        return pane
    }

    @Test(arguments: [(80, 24, Rect(x: 41, y: 0, width: 39, height: 18)), (160, 48, Rect(x: 81, y: 18, width: 79, height: 18))])
    func rendersIntoItsRect(width: Int, height: Int, area: Rect) {
        var pane = Self.pane()
        let g = pane.geometry(in: area, hasInfo: true)
        for n in 1...30 { pane.append(.stdout, "line \(n)", transcriptWidth: g.transcript.width) }
        pane.input = InputEditor("6 * 7")
        var buffer = CellBuffer(width: width, height: height)
        let context = PaneModel.RenderContext(focused: true, color: .cyan, theme: Theme(), info: "refs: @r1", broadcasting: false)
        let cursor = pane.render(into: &buffer, geometry: g, context: context)
        #expect(drawnOutside(buffer, area).isEmpty)
        let shown = rows(buffer, area)
        // The pid shows when the title has room for it.
        #expect(shown[0] == (area.width > 40 ? "▶ python · Python · local · idle · pid 4242" : "▶ python · Python · local · idle"))
        #expect(shown[area.height - 3] == "  line 30")
        #expect(shown[area.height - 2] == "refs: @r1")
        #expect(shown[area.height - 1] == "› 6 * 7")
        #expect(cursor?.x == area.x + 7 && cursor?.y == area.bottom - 1)
    }

    @Test func keysAnswerOutcomes() {
        var pane = Self.pane()
        let area = Rect(x: 0, y: 1, width: 40, height: 10)
        for n in 1...30 { pane.append(.stdout, "line \(n)", transcriptWidth: area.width) }
        var ring = KillRing()
        #expect(pane.update(.pageUp, ring: &ring, transcriptArea: area) == .done)
        #expect(pane.scroll == 9)
        #expect(pane.update(.ctrl("r"), ring: &ring, transcriptArea: area) == .historySearch(reverse: true))
        #expect(pane.update(.ctrl("x"), ring: &ring, transcriptArea: area) == .ctrlXPrefix)
        for c in "abc def" { _ = pane.update(.char(c), ring: &ring, transcriptArea: area) }
        _ = pane.update(.ctrl("w"), ring: &ring, transcriptArea: area)
        #expect(pane.input.text == "abc ")
        pane.apply(.busy(depth: 2))
        #expect(pane.status == .busy(depth: 2))
        pane.apply(.terminated(.exited(1)))
        #expect(pane.status == .dead(exit: "exit status 1"))
    }
}

@Suite struct PromptModelTests {
    @Test func aSelectedDefaultIsReplacedAndEnterSubmits() {
        var p = Prompt(kind: .refName(code: "[1]"), label: "ref name", input: InputEditor("r1"), pane: 1)
        var history = History()
        var ring = KillRing()
        #expect(p.update(.char("n"), action: nil, history: &history, ring: &ring) { _ in [] } == .editing)
        #expect(p.update(.char("s"), action: nil, history: &history, ring: &ring) { _ in [] } == .editing)
        #expect(p.input.text == "ns")
        #expect(p.update(.enter, action: nil, history: &history, ring: &ring) { _ in [] } == .submitted("ns"))
        #expect(p.update(.tab, action: nil, history: &history, ring: &ring) { _ in [] } == .nothingToComplete)
        #expect(p.update(.ctrl("q"), action: .quit, history: &history, ring: &ring) { _ in [] } == .quit(.ctrl("q")))
        #expect(p.update(.escape, action: nil, history: &history, ring: &ring) { _ in [] } == .cancelled)
    }

    @Test(arguments: [80, 160])
    func rendersIntoTheStatusLine(width: Int) {
        let p = Prompt(kind: .command, label: "command", input: InputEditor("log zoom"), pane: nil)
        let height = width == 80 ? 24 : 48
        let area = Rect(x: 0, y: height - 1, width: width, height: 1)
        var buffer = CellBuffer(width: width, height: height)
        let cursor = p.render(into: &buffer, area: area)
        #expect(drawnOutside(buffer, area).isEmpty)
        #expect(rows(buffer, area) == ["command: log zoom"])
        #expect(cursor?.x == 17 && cursor?.y == height - 1)
    }

    @Test func historySearchAnswersOutcomes() {
        var s = HistorySearch(pane: 1, original: InputEditor("draft"))
        let entries = ["x = 1", "print(x)", "y = 2"]
        #expect(s.update(.char("x"), entries: entries, lastQuery: nil) == .searching(InputEditor("print(x)").withCursor(6)))
        #expect(s.update(.ctrl("r"), entries: entries, lastQuery: nil) == .searching(InputEditor("x = 1").withCursor(0)))
        #expect(s.update(.escape, entries: entries, lastQuery: nil) == .cancelled(InputEditor("draft")))
        #expect(s.update(.enter, entries: entries, lastQuery: nil) == .accepted(InputEditor("x = 1").withCursor(0), query: "x"))
        var buffer = CellBuffer(width: 80, height: 24)
        let area = Rect(x: 0, y: 23, width: 80, height: 1)
        s.render(into: &buffer, area: area, input: InputEditor("x = 1"))
        #expect(rows(buffer, area) == ["(reverse-i-search)`x': x = 1"])
    }
}

@Suite struct OverlayTests {
    static func help() -> HelpOverlay {
        HelpOverlay(lines: (1...60).map { HelpLine("F\($0)", "what key \($0) does") })
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func helpFitsAndScrolls(width: Int, height: Int) {
        var help = Self.help()
        let screen = Rect(x: 0, y: 0, width: width, height: height)
        var buffer = CellBuffer(width: width, height: height)
        help.render(into: &buffer, area: screen)
        var shown = buffer.trimmedLines()
        let rows = height - 2
        #expect(shown[0].contains("bond-workbench keys · 1-\(rows) of 60"))
        #expect(shown[1].contains("F1") && shown[1].contains("what key 1 does"))
        #expect(help.update(.end, action: nil, screenHeight: height) == .stay)
        buffer = CellBuffer(width: width, height: height)
        help.render(into: &buffer, area: screen)
        shown = buffer.trimmedLines()
        #expect(shown[height - 2].contains("what key 60 does"))
        #expect(help.update(.char("x"), action: nil, screenHeight: height) == .close)
        #expect(help.update(.ctrl("q"), action: .quit, screenHeight: height) == .quit(.ctrl("q")))
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func viewerScrollsInItsRect(width: Int, height: Int) {
        var viewer = ValueViewer(title: "python: the last value, whole", text: (1...100).map { "row \($0)" }.joined(separator: "\n"))
        let area = Rect(x: 0, y: 0, width: width, height: height - 1)
        #expect(viewer.update(.pageDown, action: nil, area: area) == .stay)
        var buffer = CellBuffer(width: width, height: height)
        viewer.render(into: &buffer, area: area)
        #expect(drawnOutside(buffer, area).isEmpty)
        #expect(rows(buffer, area)[1] == "row \(height - 2)")
        #expect(viewer.update(.escape, action: nil, area: area) == .close)
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func wiringTableAndUnwire(width: Int, height: Int) {
        var view = WiringView()
        let table = [WiringView.Row(source: "python", function: "sq", target: "js", name: "sq", calls: 3)]
        let area = Rect(x: 0, y: 0, width: width, height: height - 1)
        var buffer = CellBuffer(width: width, height: height)
        view.render(into: &buffer, area: area, rows: table)
        #expect(drawnOutside(buffer, area).isEmpty)
        #expect(buffer.trimmedLines().contains { $0.contains("1  python  sq        → js      sq") && $0.hasSuffix("3  │") })
        #expect(view.update(.down, action: nil, rowCount: 1) == .overlay(.stay) && view.selected == 0)
        #expect(view.update(.char("d"), action: nil, rowCount: 1) == .unwire(0))
        #expect(view.update(.function(2), action: .wiring, rowCount: 1) == .overlay(.close))
    }

    @Test func confirmationSaysYesToYOrTheSameKey() {
        let c = Confirmation(action: .close(pane: 1), question: "close python? y/N", key: .alt("k"))
        #expect(c.update(.char("y")) && c.update(.alt("k")) && !c.update(.char("n")) && !c.update(.enter))
        var buffer = CellBuffer(width: 80, height: 24)
        let area = Rect(x: 0, y: 23, width: 80, height: 1)
        #expect(c.render(into: &buffer, area: area) == (17, 23))
        #expect(rows(buffer, area) == ["close python? y/N"])
    }

    @Test(arguments: [(80, 24, Rect(x: 0, y: 0, width: 40, height: 18)), (160, 48, Rect(x: 81, y: 0, width: 79, height: 36))])
    func completionMenuAboveTheInput(width: Int, height: Int, pane: Rect) {
        var menu = CompletionState(pane: 1, start: 0, prefix: "ma", object: nil,
                                   items: ["map", "math", "max"].map { CompletionItem(text: $0, isHistory: false) }, waiting: false)
        let inputY = pane.bottom - 1
        var buffer = CellBuffer(width: width, height: height)
        menu.render(into: &buffer, paneArea: pane, inputY: inputY)
        #expect(drawnOutside(buffer, Rect(x: pane.x, y: inputY - 3, width: pane.width, height: 3)).isEmpty)
        #expect(rows(buffer, Rect(x: pane.x, y: inputY - 3, width: pane.width, height: 3)) == ["    map", "    math", "    max"])
        #expect(buffer[pane.x + 2, inputY - 3].style.bg == .cyan, "the selected choice is marked")
        #expect(menu.update(.down, action: nil) == .stay && menu.selected == 1)
        #expect(menu.update(.enter, action: nil) == .apply(CompletionItem(text: "math", isHistory: false)))
        #expect(menu.update(.char("x"), action: nil) == .passThrough)
    }
}
