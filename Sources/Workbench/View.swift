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
    /// What each action does, for the help overlay (its keys come from the bindings).
    public static let actions: [(Action, String)] = [
        (.help, "this help (↑/↓ PgUp/PgDn scroll it)"),
        (.quit, "quit: closes every bond (asks first when one is busy)"),
        (.eval, "run the input as the language's REPL does; show a final value"),
        (.expression, "evaluate the input as one expression (python-bond's eval)"),
        (.newline, "new line in the input"),
        (.block, "run the input as a block (statements)"),
        (.call, "call: input is NAME ARG ...; ARG is JSON or @ref"),
        (.ref, "make a ref from the input (asks its name); the input empty: name the last handle"),
        (.inspect, "inspect a ref: value, or type and description"),
        (.proxy, "proxy a function of this pane into another pane"),
        (.interrupt, "interrupt the running request; when idle, clear input"),
        (.complete, "complete a name (asks the interpreter) or a history entry"),
        (.nextPane, "next pane (the log pane included)"),
        (.previousPane, "previous pane"),
        (.new, "new pane: [NAME:]LANGUAGE[=COMMAND]"),
        (.close, "close this pane's bond (asks); again removes the pane"),
        (.restart, "restart this pane's bond (asks when it is live)"),
        (.wiring, "wiring: the proxies, their calls; d unwires"),
        (.command, "command prompt (commands below; Tab completes)"),
        (.zoomLog, "the log over the whole screen, and back"),
        (.growLog, "a taller log pane"),
        (.shrinkLog, "a shorter log pane"),
        (.openValue, "the last value, whole, in a scrollable viewer"),
        (.broadcast, "a host group's input to every pane of it, on/off"),
        (.groupView, "group view: each host's answer to the last broadcast"),
    ]

    /// The editing keys of the input (GNU readline's emacs mode), fixed.
    public static let editing: [(String, String)] = [
        ("Ctrl-A/E", "start / end of line (also Home / End)"),
        ("Ctrl-B/F", "back / forward a character (also ←/→)"),
        ("Alt-B/F", "back / forward a word (also Ctrl-←/→)"),
        ("Ctrl-K/U", "kill to end / start of line"),
        ("Ctrl-W", "kill the word before the cursor (to white space)"),
        ("Alt-D/Bksp", "kill the word after / before the cursor"),
        ("Ctrl-Y, Alt-Y", "yank the last kill, then older ones"),
        ("Ctrl-T", "transpose characters; Alt-U/L/C: word case"),
        ("Ctrl-_", "undo"),
        ("Ctrl-R/S", "incremental history search, older / newer"),
        ("Ctrl-X Ctrl-E", "edit the input in $EDITOR"),
        ("Up/Down", "lines of the input, then the pane's history"),
        ("PgUp/PgDn", "scroll the transcript (Ctrl-↑/↓ by a line)"),
        ("log pane", "↑/↓ select, Enter detail, / search, f filter, p pause, s save"),
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
        log.render(into: &buffer, area: layout.log, context: logRenderContext)
        if log.detail != nil {
            log.renderDetail(into: &buffer, area: overlayArea,
                             color: { color(of: $0) })
            cursor = nil
        }
        // What is in front: a view over the panes (the status line stays), or the help over all.
        switch front {
        case .completion?: renderCompletion(into: &buffer)
        case .wiring(let view)?: view.render(into: &buffer, area: overlayArea, rows: wireRows)
        case .groupView?: renderGroupView(into: &buffer)
        case .viewer(let viewer)?: viewer.render(into: &buffer, area: overlayArea)
        case .help?, .prompt?, .confirmation?, .historySearch?, nil: break
        }
        switch front {
        case .wiring?, .groupView?, .viewer?: cursor = nil
        default: break
        }
        if let c = renderStatus(layout.status, into: &buffer) { cursor = c }
        if let help {
            help.render(into: &buffer, area: Rect(x: 0, y: 0, width: width, height: height))
            cursor = nil
        }
        if config.monochrome { buffer.makeMonochrome() }
        return Frame(buffer: buffer, cursor: cursor)
    }

    /// The title of a pane, as its title line shows it in `width` columns.
    func titleText(_ pane: PaneModel, width: Int = .max) -> String {
        pane.titleText(width: width, broadcasting: pane.group.map { hostGroups.broadcasting.contains($0) } ?? false)
    }

    func renderPane(_ i: Int, into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        let pane = panes[i]
        let context = PaneModel.RenderContext(
            focused: focusedIndex == i, color: palette[pane.colorIndex % palette.count], theme: config.theme,
            info: infoText(pane), broadcasting: pane.group.map { hostGroups.broadcasting.contains($0) } ?? false)
        return pane.render(into: &buffer, geometry: geometry(of: i), context: context)
    }

    /// The hints of the status line, most important first: help and quit always lead.
    func statusHints() -> [String] {
        let b = config.bindings
        func k(_ a: Action, _ what: String) -> String { b.short(a) + " " + what }
        let lead = [k(.help, "help"), k(.quit, "quit")]
        if wiringView != nil { return lead + ["↑/↓ select", "d unwire", "Esc close"] }
        if groupView != nil { return lead + ["←/→ select", "Enter focus", k(.broadcast, "broadcast"), "Esc close"] }
        if log.detail != nil { return lead + ["←/→ frames", "p pair", "r raw/JSON", "↑/↓ scroll", "Esc close"] }
        if focus == .log {
            return lead + ["↑/↓ select", "Enter detail", "/ search", "n/N next", "f filter", "c clear", "p pause", "End follow",
                           "s save", k(.zoomLog, arrangement.logZoomed ? "unzoom" : "zoom"), k(.nextPane, "next pane")]
        }
        guard let i = focusedIndex else { return lead }
        let busy = panes[i].status.isBusyOrPending(panes[i].pending)
        let group = panes[i].group.map { [k(.broadcast, hostGroups.broadcasting.contains($0) ? "broadcast off" : "broadcast"), k(.groupView, "group")] } ?? []
        return lead + (busy ? [k(.interrupt, "interrupt")] : []) + group + [
            k(.eval, "run"), k(.block, "block"), k(.call, "call"), k(.complete, "complete"), k(.nextPane, "next"),
            k(.command, "cmd"), k(.newline, "newline"), k(.ref, "ref"), k(.inspect, "inspect"), k(.proxy, "proxy"),
            k(.wiring, "wires"), k(.new, "new"), k(.close, "close"), k(.restart, "restart"), k(.expression, "expression"),
            k(.openValue, "value"), k(.zoomLog, "zoom log"),
        ]
    }

    /// Hints joined, as many whole ones as fit in `width` (none is ever cut in the middle).
    static func fit(_ hints: [String], width: Int) -> String {
        var text = ""
        for h in hints {
            let next = text.isEmpty ? h : text + "  " + h
            if TextWidth.of(next) > width { break }
            text = next
        }
        return text
    }

    func renderStatus(_ area: Rect, into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        guard area.height > 0 else { return nil }
        let style = Style(reverse: true)
        buffer.fill(area, style: style)
        if let prompt { return prompt.render(into: &buffer, area: area) }
        if let confirm { return confirm.render(into: &buffer, area: area) }
        if let historySearch {
            historySearch.render(into: &buffer, area: area, input: index(of: historySearch.pane).map { panes[$0].input })
            return nil
        }
        if let flash {
            buffer.put(flash, x: area.x, y: area.y, maxWidth: area.width, style: Style(bold: true, reverse: true), ellipsis: true)
            return nil
        }
        buffer.put(Self.fit(statusHints(), width: area.width), x: area.x, y: area.y, maxWidth: area.width, style: style)
        return nil
    }

    /// The help's lines: key (as bound) and what it does; then the commands (from the table).
    func helpLines() -> [HelpLine] {
        let b = config.bindings
        var lines = KeyHelp.actions.map { HelpLine(b.long($0.0), $0.1) }
        lines += [HelpLine("", ""), HelpLine("", "Editing the input (GNU readline, emacs mode):")]
        lines += KeyHelp.editing.map { HelpLine($0.0, $0.1) }
        lines += [HelpLine("", ""), HelpLine("", "Commands (\(b.long(.command).split(separator: ",").first ?? "")):")]
        for c in Command.all {
            if c.usage.count < HelpOverlay.keyWidth {
                lines.append(HelpLine(c.usage, c.summary))
            } else {
                lines += [HelpLine(c.usage, ""), HelpLine("", "  " + c.summary)]
            }
        }
        lines += [HelpLine("", ""), HelpLine("", "↑/↓ PgUp/PgDn scroll; any other key closes this help.")]
        return lines
    }
}

extension InputEditor {
    /// Draws an input editor wrapped in `area` (prompt marks in the first two columns), scrolled
    /// so the cursor shows; returns the cursor position.
    public func render(into buffer: inout CellBuffer, area: Rect, color: TermColor, focused: Bool) -> (x: Int, y: Int)? {
        let input = self
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

    func withCursor(_ c: Int) -> InputEditor {
        var copy = self
        copy.moveCursor(to: c)
        return copy
    }
}
