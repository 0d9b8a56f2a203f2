import Foundation

/// The group view (Alt-h, the `group` command), an overlay as the others (Overlays.swift): each
/// host of a group with its answer to the group's last broadcast input, side by side (a column
/// per host, or a row per host when the screen is too narrow), failures marked, the hosts still
/// busy said so. Its keys answer an outcome; it draws the `Content` the app state gives it.
public struct GroupView: Sendable, Equatable {
    /// The group shown (its name).
    public var group: String
    /// The host selected (an index of the content's cells).
    public var selected = 0

    public init(group: String, selected: Int = 0) {
        self.group = group
        self.selected = selected
    }

    /// What the view shows for one host.
    public struct Cell: Sendable, Equatable {
        public enum Mark: Sendable, Equatable { case ok, failed, busy, none }
        public var pane: Int
        public var name: String
        /// The pane's state (`idle`, `dead (exit status 255)`).
        public var status: String
        public var mark: Mark
        /// The answer as shown: what the host printed, then `= "h1"`, `✗ ZeroDivisionError…`, `… running`.
        public var text: String
    }

    /// Everything drawn, made by the app state (`AppState.groupViewContent`).
    public struct Content: Sendable, Equatable {
        /// `group h1,h2,h3 · Python · broadcast on · 2 of 3 answered, 1 failed`
        public var title: String
        /// The last broadcast input's first line, or what to do when there was none.
        public var input: String
        public var hasInput: Bool
        /// The group's start-up entries (their first lines).
        public var entries: [String]
        public var cells: [Cell]
        public var footer: String
    }

    /// What a key in the group view asks for.
    public enum Outcome: Sendable, Equatable {
        case overlay(OverlayOutcome)
        /// Close the view and focus the pane of the host selected.
        case focus(pane: Int)
        case toggleBroadcast
        /// Interrupt every busy host of the group.
        case interruptBusy
    }

    public mutating func update(_ key: Key, action: Action?, cells: [Cell]) -> Outcome {
        if action == .quit { return .overlay(.quit(key)) }
        if action == .groupView { return .overlay(.close) }
        if action == .broadcast { return .toggleBroadcast }
        if action == .interrupt { return .interruptBusy }
        switch key {
        case .escape, .char("q"), .ctrl("g"):
            return .overlay(.close)
        case .left, .up:
            selected = max(0, selected - 1)
        case .right, .down, .tab:
            selected = min(max(0, cells.count - 1), selected + 1)
        case .enter:
            return selected < cells.count ? .focus(pane: cells[selected].pane) : .overlay(.close)
        default:
            break
        }
        return .overlay(.stay)
    }

    /// Columns narrower than this become rows (one host under the other).
    static let columnMinimum = 20

    /// Draws the view over `area` (the screen but its status line).
    public func render(into buffer: inout CellBuffer, area box: Rect, content: Content, theme: Theme) {
        guard box.width > 12, box.height > 5 else { return }
        let frame = Style(fg: .cyan, bold: true)
        buffer.fill(box)
        buffer.drawBox(box, style: frame)
        buffer.put(" " + content.title + " ", x: box.x + 2, y: box.y, maxWidth: box.width - 4, style: frame, ellipsis: true)
        let inner = Rect(x: box.x + 1, y: box.y + 1, width: box.width - 2, height: box.height - 2)
        var y = inner.y
        buffer.put(content.input, x: inner.x, y: y, maxWidth: inner.width, style: Style(bold: content.hasInput, dim: !content.hasInput),
                   ellipsis: true)
        y += 1
        if !content.entries.isEmpty {
            buffer.put("start-up of every host: " + content.entries.joined(separator: " · "), x: inner.x, y: y, maxWidth: inner.width,
                       style: Style(dim: true), ellipsis: true)
            y += 1
        }
        buffer.put(content.footer, x: inner.x, y: inner.bottom - 1, maxWidth: inner.width, style: Style(dim: true), ellipsis: true)
        let area = Rect(x: inner.x, y: y, width: inner.width, height: max(0, inner.bottom - 1 - y))
        let cells = content.cells
        guard !cells.isEmpty, area.height > 0 else { return }
        let columnWidth = (area.width - (cells.count - 1)) / cells.count
        if columnWidth >= Self.columnMinimum {
            for (k, cell) in cells.enumerated() {
                let x = area.x + k * (columnWidth + 1)
                let w = k == cells.count - 1 ? area.right - x : columnWidth
                Self.render(cell, in: Rect(x: x, y: area.y, width: w, height: area.height), selected: k == selected, theme: theme,
                            into: &buffer)
                if k > 0 {
                    for row in area.y..<area.bottom { buffer.put(Glyph(text: "│", width: 1), x: x - 1, y: row, style: Style(dim: true)) }
                }
            }
        } else {
            // A row per host: each gets an equal share of the height (a header and its answer),
            // at least two rows; when they do not all fit, the selected host is kept in sight.
            let share = max(2, area.height / cells.count)
            let fitting = max(1, area.height / share)
            let first = max(0, min(selected - fitting + 1, cells.count - fitting))
            for (k, cell) in cells.enumerated() where k >= first {
                let top = area.y + (k - first) * share
                guard top < area.bottom else { break }
                let h = k == cells.count - 1 || k - first == fitting - 1 ? area.bottom - top : min(share, area.bottom - top)
                Self.render(cell, in: Rect(x: area.x, y: top, width: area.width, height: h), selected: k == selected, theme: theme,
                            into: &buffer)
            }
        }
    }

    static func render(_ cell: Cell, in area: Rect, selected: Bool, theme: Theme, into buffer: inout CellBuffer) {
        guard area.height > 0, area.width > 2 else { return }
        let color: TermColor = switch cell.mark {
        case .ok: theme.value
        case .failed: theme.error
        case .busy: .yellow
        case .none: .default
        }
        let mark = switch cell.mark {
        case .ok: "✓ "
        case .failed: "✗ "
        case .busy: "… "
        case .none: "  "
        }
        let header = Style(fg: color, bold: true, reverse: selected, underline: !selected)
        buffer.fill(area.row(0), style: header)
        buffer.put(mark + cell.name + " · " + cell.status, x: area.x, y: area.y, maxWidth: area.width, style: header, ellipsis: true)
        let body = Style(fg: cell.mark == .none ? .default : color, bold: cell.mark == .failed, dim: cell.mark == .none)
        var rows: [[Glyph]] = []
        for line in cell.text.split(separator: "\n", omittingEmptySubsequences: false) {
            rows += Wrap.rows(Sanitizer.line(line), width: area.width)
        }
        let room = area.height - 1
        for (r, row) in rows.prefix(room).enumerated() {
            let cut = r == room - 1 && rows.count > room
            buffer.put(glyphs: cut ? Array(row.dropLast()) + [Glyph(text: "…", width: 1)] : row, x: area.x, y: area.y + 1 + r,
                       maxWidth: area.width, style: body)
        }
    }
}

extension AppState {
    /// The cells of a group's hosts, in screen order.
    public func groupCells(_ group: String) -> [GroupView.Cell] {
        let round = hostGroups.rounds[group]
        return members(of: group).map { j in
            let p = panes[j]
            var cell = GroupView.Cell(pane: p.id, name: p.name, status: p.status.label, mark: .none, text: "")
            switch round?.answers[p.id] {
            case nil:
                cell.text = round == nil ? "no broadcast input yet" : "not in the group when it was sent"
            case .waiting(let generation)?:
                if generation != p.generation {
                    (cell.mark, cell.text) = (.failed, "✗ restarted before it answered")
                } else if p.status.isLive || p.status == .starting {
                    (cell.mark, cell.text) = (.busy, p.status == .starting ? "… waits for the start" : "… running")
                } else {
                    (cell.mark, cell.text) = (.failed, "✗ no answer: \(p.status.label)")
                }
            case .notSent(let reason)?:
                (cell.mark, cell.text) = (.failed, "✗ not sent: " + reason)
            case .value(let v)?:
                (cell.mark, cell.text) = (.ok, "= " + v)
            case .description(let text, let type)?:
                (cell.mark, cell.text) = (.ok, "≈ \(text)   ‹\(type)›")
            case .done?:
                (cell.mark, cell.text) = (.ok, "✓ ran (no value)")
            case .failure(let text)?, .terminated(let text)?:
                (cell.mark, cell.text) = (.failed, "✗ " + text)
            }
            // What the host printed comes first; "ran (no value)" is left out when it printed.
            if var printed = round?.output[p.id], !printed.isEmpty {
                while printed.hasSuffix("\n") { printed.removeLast() }
                cell.text = round?.answers[p.id] == .done ? printed : printed + "\n" + cell.text
            }
            return cell
        }
    }

    /// What the group view of `group` draws.
    public func groupViewContent(_ group: String) -> GroupView.Content {
        let cells = groupCells(group)
        let record = hostGroups.record(named: group)
        let round = hostGroups.rounds[group]
        let answered = cells.filter { $0.mark != .busy && $0.mark != .none }.count
        let failed = cells.filter { $0.mark == .failed }.count
        var title = ["group \(group)", record?.language ?? panes.first { $0.group == group }?.language ?? "",
                     hostGroups.broadcasting.contains(group) ? "broadcast on" : "broadcast off"]
        if round != nil { title.append("\(answered) of \(cells.count) answered" + (failed > 0 ? ", \(failed) failed" : "")) }
        let b = config.bindings
        let input = round.map { r in
            let lines = r.input.split(separator: "\n", omittingEmptySubsequences: false)
            return "› " + lines[0] + (lines.count > 1 ? " … (\(lines.count) lines)" : "")
        } ?? "no broadcast input yet: \(b.long(.broadcast)) turns broadcast on, then Enter sends the input to every host"
        return GroupView.Content(
            title: title.filter { !$0.isEmpty }.joined(separator: " · "), input: input, hasInput: round != nil,
            entries: (record?.entries ?? []).map { $0.code.split(separator: "\n").first.map(String.init) ?? $0.code },
            cells: cells,
            footer: "←/→ select  Enter focus the host  \(b.short(.interrupt)) interrupt the busy hosts  "
                + "\(b.short(.broadcast)) broadcast on/off  Esc close")
    }

    /// Opens the view on the focused pane's group (or the first group).
    mutating func openGroupView() {
        let focusedGroup = focusedIndex.flatMap { panes[$0].group }
        guard let group = focusedGroup ?? hostGroups.records.map(\.name).first(where: { !members(of: $0).isEmpty })
            ?? panes.compactMap(\.group).first
        else {
            flash = "no host group (bond-workbench --hosts h1,h2 LANGUAGE opens one)"
            return
        }
        let selected = focusedIndex.flatMap { i in members(of: group).firstIndex(of: i) } ?? 0
        groupView = GroupView(group: group, selected: selected)
    }

    /// `group [broadcast]`: the group view, or broadcast on/off for the focused pane's group.
    mutating func groupCommand(_ rest: String) -> [Effect] {
        switch rest {
        case "":
            openGroupView()
        case "broadcast":
            guard let i = focusedIndex else { flash = "group broadcast: focus a pane of the group first"; return [] }
            toggleBroadcast(i)
        default:
            flash = "usage: " + (Command.named("group")?.usage ?? "group")
        }
        return []
    }

    mutating func groupViewKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var view = groupView else { return [] }
        let cells = groupCells(view.group)
        let outcome = view.update(key, action: action, cells: cells)
        groupView = view
        switch outcome {
        case .overlay(.stay):
            return []
        case .overlay(let o):
            groupView = nil
            return after(o)
        case .focus(let pane):
            groupView = nil
            focus = .pane(pane)
            return []
        case .toggleBroadcast:
            if let first = members(of: view.group).first { toggleBroadcast(first) }
            return []
        case .interruptBusy:
            let busy = members(of: view.group).filter { panes[$0].status.isBusyOrPending(panes[$0].pending) }
            guard !busy.isEmpty else { flash = "no host of the group is busy"; return [] }
            flash = "interrupting \(busy.map { panes[$0].name }.joined(separator: ", "))"
            return busy.map { j in
                let t = waitChain(j).last!
                append(j, .info, "interrupt (group view)")
                return .interrupt(pane: panes[t].id, generation: panes[t].generation)
            }
        }
    }

    func renderGroupView(into buffer: inout CellBuffer) {
        guard let view = groupView else { return }
        view.render(into: &buffer, area: overlayArea, content: groupViewContent(view.group), theme: config.theme)
    }
}
