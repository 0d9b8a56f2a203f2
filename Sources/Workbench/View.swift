import Foundation

/// A rendered screen: the cells and where the terminal cursor goes (nil hides it).
public struct Frame: Sendable, Equatable {
    public var buffer: CellBuffer
    public var cursor: (x: Int, y: Int)?

    public static func == (a: Frame, b: Frame) -> Bool {
        a.buffer == b.buffer && a.cursor?.x == b.cursor?.x && a.cursor?.y == b.cursor?.y
    }
}

public enum KeyHelp {
    /// Every binding, for the help overlay.
    public static let bindings: [(String, String)] = [
        ("Enter", "evaluate the input as an expression, show its value"),
        ("Alt-Enter", "new line in the input"),
        ("Ctrl-B", "run the input as a block (statements)"),
        ("Ctrl-K", "call: input is NAME ARG ...; ARG is JSON or @ref"),
        ("Ctrl-R", "make a ref from the input (asks its name)"),
        ("Ctrl-T", "inspect a ref: value, or type and description"),
        ("Ctrl-P", "proxy a function of this pane into another pane"),
        ("Ctrl-C", "interrupt the running request; when idle, clear input"),
        ("Ctrl-Space", "complete a name (asks the interpreter) or a history entry"),
        ("Up/Down", "input history of this pane (kept between runs)"),
        ("Tab/S-Tab", "next / previous pane (the log pane included)"),
        ("PgUp/PgDn", "scroll the focused transcript or log"),
        ("Home/End", "top / bottom; End follows new output again"),
        ("Ctrl-A/E/U", "start / end of line, delete to line start"),
        ("Ctrl-N", "new pane: [NAME:]LANGUAGE[=COMMAND]"),
        ("Ctrl-W", "close this pane's bond; again removes the pane"),
        ("F5", "restart this pane's bond"),
        ("F2", "wiring: the proxies, their calls; d unwires"),
        ("Ctrl-X", "command prompt (commands below)"),
        ("log pane", "↑/↓ select, Enter detail, / search, f filter, p pause, s save"),
        ("F1", "this help"),
        ("Ctrl-Q", "quit: closes every bond"),
    ]

    public static let commands: [String] = [
        "eval CODE   block CODE   call NAME ARG...   ref NAME CODE   inspect REF",
        "proxy SRC.FUNC to PANE [as NAME]   new [NAME:]LANG[=CMD]   focus PANE|log",
        "close [PANE]   restart [PANE]   interrupt [PANE]   wires   unwire PANE.NAME",
        "log save [--shown] FILE   log filter EXPR   log search TEXT   log show N",
        "log pause   log follow   session save FILE   transcript save [PANE] FILE",
        "replay FILE [--report OUT]   help   quit",
    ]
}

extension AppState {
    /// Renders the whole screen (the View of Model/Update/View).
    public func render() -> Frame {
        var buffer = CellBuffer(width: width, height: height)
        var cursor: (x: Int, y: Int)?
        let layout = screenLayout
        for (i, _) in panes.enumerated() where i < layout.panes.count {
            if let c = renderPane(i, into: &buffer), focusedIndex == i { cursor = c }
        }
        for sep in layout.separators {
            for y in sep.y..<sep.bottom {
                buffer.put(Glyph(text: "│", width: 1), x: sep.x, y: y, style: Style(dim: true))
            }
        }
        renderLog(layout.log, into: &buffer)
        renderCompletion(into: &buffer)
        if logDetail != nil {
            renderDetail(into: &buffer)
            cursor = nil
        }
        if wiringView != nil {
            renderWiring(into: &buffer)
            cursor = nil
        }
        if let c = renderStatus(layout.status, into: &buffer) { cursor = c }
        if showHelp {
            renderHelp(into: &buffer)
            cursor = nil
        }
        if config.monochrome { buffer.makeMonochrome() }
        return Frame(buffer: buffer, cursor: cursor)
    }

    /// The title: name, language, where, state (and pid, queue, scroll when there is room).
    func titleText(_ pane: PaneState, width: Int = .max) -> String {
        var extra: [String] = []
        let waiting = pane.pending - (pane.status.isBusyOrPending(0) ? 1 : 0)
        if waiting > 0 { extra.append("\(waiting) queued") }
        if pane.scroll > 0 { extra.append("scrolled ↑\(pane.scroll)") }
        var pid: [String] = []
        if let p = pane.pid, pane.status.isLive { pid = ["pid \(p)"] }
        let candidates: [[String]] = [
            [pane.name, pane.language, pane.location, pane.status.label] + extra + pid,
            [pane.name, pane.language, pane.location, pane.status.label] + extra,
            [pane.name, pane.language, pane.location, pane.status.label],
            [pane.name, pane.location, pane.status.label],
            [pane.name, pane.status.label],
        ]
        for parts in candidates {
            let text = parts.joined(separator: " · ")
            if TextWidth.of(text) <= width { return text }
        }
        return candidates.last!.joined(separator: " · ")
    }

    func renderPane(_ i: Int, into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        let pane = panes[i]
        let g = geometry(of: i)
        let focused = focusedIndex == i
        let color = palette[pane.colorIndex % palette.count]
        // Title line.
        let titleStyle = focused
            ? Style(fg: .black, bg: color, bold: true)
            : Style(fg: color, bold: false, reverse: false, underline: true)
        buffer.fill(g.title, style: titleStyle)
        let mark = focused ? "▶ " : "  "
        buffer.put(mark + titleText(pane, width: g.title.width - 2), x: g.title.x, y: g.title.y, maxWidth: g.title.width, style: titleStyle, ellipsis: true)
        // Transcript.
        let rows = pane.transcript.rows(width: g.transcript.width, count: g.transcript.height, skip: pane.scroll)
        let top = g.transcript.y
        for (r, row) in rows.enumerated() {
            let y = top + r
            let style = style(of: row.line.kind, color: color)
            let gutter = row.firstRow && row.line.first ? row.line.kind.gutter : "  "
            let gutterStyle = row.line.kind == .input ? Style(fg: color, bold: true) : style
            buffer.put(gutter, x: g.transcript.x, y: y, maxWidth: 2, style: gutterStyle)
            buffer.put(glyphs: row.glyphs, x: g.transcript.x + 2, y: y, maxWidth: g.transcript.width - 2, style: style)
        }
        // Refs and proxies.
        if g.info.height > 0, let info = infoText(pane) {
            buffer.put(info, x: g.info.x, y: g.info.y, maxWidth: g.info.width, style: Style(fg: color, dim: true), ellipsis: true)
        }
        // Input.
        return renderInput(pane.input, in: g.input, color: color, focused: focused, into: &buffer)
    }

    func style(of kind: LineKind, color: TermColor) -> Style {
        let theme = config.theme
        switch kind {
        case .input: return Style(bold: true)
        case .stdout: return Style()
        case .stderr: return Style(fg: theme.stderr)
        case .value: return Style(fg: theme.value)
        case .error: return Style(fg: theme.error, bold: true)
        case .info: return Style(dim: true)
        case .nested: return Style(fg: theme.nested)
        }
    }

    /// Draws an input editor wrapped in `area` (prompt marks in the first two columns), scrolled
    /// so the cursor shows; returns the cursor position.
    func renderInput(_ input: InputEditor, in area: Rect, color: TermColor, focused: Bool,
                     into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        guard area.height > 0, area.width > 2 else { return nil }
        let width = area.width - 2
        let (cursorLine, cursorColumn) = input.cursorPosition
        var rows: [(mark: String, glyphs: [Glyph])] = []
        var cursorRow = 0, cursorX = 0
        for (l, line) in input.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Wrap the line keeping track of which character starts each row.
            var row: [Glyph] = []
            var used = 0
            var first = true
            let characters = Array(line)
            for (c, character) in characters.enumerated() {
                if l == cursorLine && c == cursorColumn { cursorRow = rows.count; cursorX = used }
                let glyphs = Sanitizer.clusters(Sanitizer.line(String(character))).flatMap { $0 }
                let w = glyphs.reduce(0) { $0 + $1.width }
                if used + w > width && !row.isEmpty {
                    rows.append((first ? (l == 0 ? "› " : "… ") : "  ", row))
                    first = false
                    row = []
                    used = 0
                    if l == cursorLine && c == cursorColumn { cursorRow = rows.count; cursorX = 0 }
                }
                row += glyphs
                used += w
            }
            if l == cursorLine && cursorColumn >= characters.count {
                if used >= width {
                    rows.append((first ? (l == 0 ? "› " : "… ") : "  ", row))
                    first = false
                    row = []
                    used = 0
                }
                cursorRow = rows.count
                cursorX = used
            }
            rows.append((first ? (l == 0 ? "› " : "… ") : "  ", row))
        }
        let firstVisible = max(0, min(cursorRow - area.height + 1, rows.count - area.height))
        let visible = rows.dropFirst(firstVisible).prefix(area.height)
        for (r, row) in visible.enumerated() {
            let y = area.y + r
            buffer.put(row.mark, x: area.x, y: y, maxWidth: 2, style: Style(fg: color, bold: focused))
            buffer.put(glyphs: row.glyphs, x: area.x + 2, y: y, maxWidth: width, style: Style())
        }
        return (area.x + 2 + min(cursorX, width - 1), area.y + cursorRow - firstVisible)
    }

    func statusHints() -> String {
        if wiringView != nil { return "↑/↓ select  d unwire  Esc close" }
        if logDetail != nil { return "←/→ previous/next frame  p its pair  r raw/JSON  ↑/↓ PgUp/PgDn scroll  Esc close" }
        if focus == .log {
            return "↑/↓ select  Enter detail  / search  n/N next  f filter  c clear  p pause  End follow  s save  Tab next pane  F1 help"
        }
        guard let i = focusedIndex else { return "" }
        let busy = panes[i].status.isBusyOrPending(panes[i].pending)
        let b = config.bindings
        func k(_ a: Action, _ what: String) -> String { b.short(a) + " " + what + "  " }
        return (busy ? k(.interrupt, "interrupt") : "")
            + k(.eval, "eval") + k(.newline, "newline") + k(.block, "block") + k(.call, "call") + k(.ref, "ref")
            + k(.inspect, "inspect") + k(.proxy, "proxy") + (busy ? "" : k(.interrupt, "clear")) + k(.complete, "complete")
            + k(.nextPane, "next") + k(.new, "new") + k(.close, "close") + k(.restart, "restart") + k(.wiring, "wires")
            + k(.command, "cmd") + k(.help, "help") + b.short(.quit) + " quit"
    }

    func renderStatus(_ area: Rect, into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        guard area.height > 0 else { return nil }
        let style = Style(reverse: true)
        buffer.fill(area, style: style)
        if let p = prompt {
            let label = p.label + ": "
            let used = buffer.put(label, x: area.x, y: area.y, maxWidth: area.width, style: Style(bold: true, reverse: true))
            let field = Rect(x: area.x + used - 2, y: area.y, width: area.width - used + 2, height: 1)
            // renderInput puts its mark in the first two columns: draw over the label's ": ".
            var copy = buffer
            let c = renderInput(InputEditor(p.input.text.replacingOccurrences(of: "\n", with: " ")).withCursor(p.input.cursor),
                                in: field, color: .default, focused: true, into: &copy)
            for x in field.x + 2..<field.right { copy[x, area.y].style = style }
            for x in field.x..<field.x + 2 { copy[x, area.y] = buffer[x, area.y] }
            buffer = copy
            return c
        }
        let text = flash ?? statusHints()
        buffer.put(text, x: area.x, y: area.y, maxWidth: area.width, style: flash != nil ? Style(bold: true, reverse: true) : style,
                   ellipsis: true)
        return nil
    }

    func renderHelp(into buffer: inout CellBuffer) {
        let keyWidth = 12
        let lines: [(String, String)] = KeyHelp.bindings.map { (config.bindings.rename($0.0), $0.1) } + [("", "")] + KeyHelp.commands.map { ("", $0) }
            + [("", ""), ("", "Any key closes this help.")]
        let contentWidth = min(width - 4, 80)
        let boxHeight = min(height, lines.count + 2)
        guard contentWidth > 10, boxHeight > 2 else { return }
        let x0 = max(0, (width - contentWidth - 2) / 2)
        let y0 = max(0, (height - boxHeight) / 2)
        let box = Rect(x: x0, y: y0, width: contentWidth + 2, height: boxHeight)
        let frame = Style(fg: .cyan, bold: true)
        buffer.drawBox(box, style: frame)
        buffer.put(" bond-workbench keys ", x: box.x + 2, y: box.y, maxWidth: contentWidth - 2, style: frame)
        for (r, line) in lines.prefix(boxHeight - 2).enumerated() {
            let y = box.y + 1 + r
            var x = box.x + 1
            if !line.0.isEmpty {
                buffer.put(line.0, x: x, y: y, maxWidth: keyWidth, style: Style(bold: true))
                x += keyWidth
            }
            buffer.put(line.1, x: x, y: y, maxWidth: box.right - 1 - x, style: Style(), ellipsis: true)
        }
    }
}

extension InputEditor {
    func withCursor(_ c: Int) -> InputEditor {
        var copy = self
        copy.moveCursor(to: c)
        return copy
    }
}
