import Foundation

/// The group view (Alt-h, the `group` command): each host of a group with its answer to the
/// group's last broadcast input, side by side (a column per host, or a row per host when the
/// screen is too narrow), failures marked, the hosts still busy said so.
extension AppState {
    /// What the view shows for one host.
    public struct GroupCell: Sendable, Equatable {
        public enum Mark: Sendable, Equatable { case ok, failed, busy, none }
        public var pane: Int
        public var name: String
        /// The pane's state (`idle`, `dead (exit status 255)`).
        public var status: String
        public var mark: Mark
        /// The answer as shown: what the host printed, then `= "h1"`, `✗ ZeroDivisionError…`, `… running`.
        public var text: String
    }

    /// The cells of a group's hosts, in screen order.
    public func groupCells(_ group: String) -> [GroupCell] {
        let round = hostGroups.rounds[group]
        return members(of: group).map { j in
            let p = panes[j]
            var cell = GroupCell(pane: p.id, name: p.name, status: p.status.label, mark: .none, text: "")
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
        hostGroups.view = GroupViewState(group: group, selected: selected)
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
        guard var v = hostGroups.view else { return [] }
        let list = members(of: v.group)
        if action == .quit { hostGroups.view = nil; return quit(key: key) }
        if action == .groupView { hostGroups.view = nil; return [] }
        if action == .broadcast, let first = list.first { toggleBroadcast(first); return [] }
        if action == .interrupt {
            let busy = list.filter { panes[$0].status.isBusyOrPending(panes[$0].pending) }
            guard !busy.isEmpty else { flash = "no host of the group is busy"; return [] }
            flash = "interrupting \(busy.map { panes[$0].name }.joined(separator: ", "))"
            return busy.map { j in
                let t = waitChain(j).last!
                append(j, .info, "interrupt (group view)")
                return .interrupt(pane: panes[t].id, generation: panes[t].generation)
            }
        }
        switch key {
        case .escape, .char("q"), .ctrl("g"):
            hostGroups.view = nil
        case .left, .up:
            v.selected = max(0, v.selected - 1)
            hostGroups.view = v
        case .right, .down, .tab:
            v.selected = min(max(0, list.count - 1), v.selected + 1)
            hostGroups.view = v
        case .enter:
            hostGroups.view = nil
            if v.selected < list.count { focus = .pane(panes[list[v.selected]].id) }
        default:
            break
        }
        return []
    }

    /// Columns narrower than this become rows (one host under the other).
    static let groupColumnMinimum = 20

    func renderGroupView(into buffer: inout CellBuffer) {
        guard let v = hostGroups.view else { return }
        let cells = groupCells(v.group)
        let box = Rect(x: 0, y: 0, width: width, height: max(0, height - 1))
        guard box.width > 12, box.height > 5 else { return }
        let frame = Style(fg: .cyan, bold: true)
        buffer.fill(box)
        buffer.drawBox(box, style: frame)
        let record = hostGroups.record(named: v.group)
        let round = hostGroups.rounds[v.group]
        let answered = cells.filter { $0.mark != .busy && $0.mark != .none }.count
        let failed = cells.filter { $0.mark == .failed }.count
        var title = [" group \(v.group)", record?.language ?? panes.first { $0.group == v.group }?.language ?? "",
                     broadcasting.contains(v.group) ? "broadcast on" : "broadcast off"]
        if round != nil { title.append("\(answered) of \(cells.count) answered" + (failed > 0 ? ", \(failed) failed" : "")) }
        buffer.put(title.filter { !$0.isEmpty }.joined(separator: " · ") + " ", x: box.x + 2, y: box.y,
                   maxWidth: box.width - 4, style: frame, ellipsis: true)
        let inner = Rect(x: box.x + 1, y: box.y + 1, width: box.width - 2, height: box.height - 2)
        var y = inner.y
        let input = round.map { r in
            let lines = r.input.split(separator: "\n", omittingEmptySubsequences: false)
            return "› " + lines[0] + (lines.count > 1 ? " … (\(lines.count) lines)" : "")
        } ?? "no broadcast input yet: \(config.bindings.long(.broadcast)) turns broadcast on, then Enter sends the input to every host"
        buffer.put(input, x: inner.x, y: y, maxWidth: inner.width, style: Style(bold: round != nil, dim: round == nil), ellipsis: true)
        y += 1
        if let entries = record?.entries, !entries.isEmpty {
            let names = entries.map { $0.code.split(separator: "\n").first.map(String.init) ?? $0.code }
            buffer.put("start-up of every host: " + names.joined(separator: " · "), x: inner.x, y: y, maxWidth: inner.width,
                       style: Style(dim: true), ellipsis: true)
            y += 1
        }
        let footer = "←/→ select  Enter focus the host  \(config.bindings.short(.interrupt)) interrupt the busy hosts  "
            + "\(config.bindings.short(.broadcast)) broadcast on/off  Esc close"
        let area = Rect(x: inner.x, y: y, width: inner.width, height: max(0, inner.bottom - 1 - y))
        buffer.put(footer, x: inner.x, y: inner.bottom - 1, maxWidth: inner.width, style: Style(dim: true), ellipsis: true)
        guard !cells.isEmpty, area.height > 0 else { return }
        let columnWidth = (area.width - (cells.count - 1)) / cells.count
        if columnWidth >= Self.groupColumnMinimum {
            for (k, cell) in cells.enumerated() {
                let x = area.x + k * (columnWidth + 1)
                let w = k == cells.count - 1 ? area.right - x : columnWidth
                renderGroupCell(cell, in: Rect(x: x, y: area.y, width: w, height: area.height), selected: k == v.selected, into: &buffer)
                if k > 0 {
                    for row in area.y..<area.bottom { buffer.put(Glyph(text: "│", width: 1), x: x - 1, y: row, style: Style(dim: true)) }
                }
            }
        } else {
            // A row per host: each gets an equal share of the height (a header and its answer),
            // at least two rows; when they do not all fit, the selected host is kept in sight.
            let share = max(2, area.height / cells.count)
            let fitting = max(1, area.height / share)
            let first = max(0, min(v.selected - fitting + 1, cells.count - fitting))
            for (k, cell) in cells.enumerated() where k >= first {
                let top = area.y + (k - first) * share
                guard top < area.bottom else { break }
                let h = k == cells.count - 1 || k - first == fitting - 1 ? area.bottom - top : min(share, area.bottom - top)
                renderGroupCell(cell, in: Rect(x: area.x, y: top, width: area.width, height: h), selected: k == v.selected, into: &buffer)
            }
        }
    }

    func renderGroupCell(_ cell: GroupCell, in area: Rect, selected: Bool, into buffer: inout CellBuffer) {
        guard area.height > 0, area.width > 2 else { return }
        let theme = config.theme
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
