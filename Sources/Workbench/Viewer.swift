/// The whole of a big value over the screen (Alt-v), scrolled with the arrows and the pages.
public struct ValueViewer: Sendable, Equatable {
    public var title: String
    public var text: String
    public var scroll = 0
}

extension AppState {
    mutating func openViewer(_ i: Int) {
        guard let text = panes[i].lastValue else {
            flash = "no value to show yet"
            return
        }
        viewer = ValueViewer(title: "\(panes[i].name): the last value, whole", text: text)
    }

    func viewerRows(_ v: ValueViewer) -> [String] {
        let width = max(1, self.width)
        return Sanitizer.lines(v.text).flatMap { line in Wrap.rows(line, width: width).map { $0.map(\.text).joined() } }
    }

    mutating func viewerKey(_ key: Key, _ action: Action?) -> [Effect] {
        guard var v = viewer else { return [] }
        let page = max(1, height - 3)
        let last = max(0, viewerRows(v).count - page)
        switch key {
        case .up: v.scroll -= 1
        case .down: v.scroll += 1
        case .pageUp: v.scroll -= page
        case .pageDown, .char(" "): v.scroll += page
        case .home, .char("g"): v.scroll = 0
        case .end, .char("G"): v.scroll = last
        default:
            viewer = nil
            if action == .quit { return quit(key: key) }
            return []
        }
        v.scroll = max(0, min(v.scroll, last))
        viewer = v
        return []
    }

    func renderViewer(into buffer: inout CellBuffer) {
        guard let v = viewer else { return }
        let area = Rect(x: 0, y: 0, width: width, height: max(0, height - 1))
        guard area.height > 2 else { return }
        buffer.fill(area)
        let rows = viewerRows(v)
        let body = area.height - 1
        let style = Style(fg: .black, bg: .white, bold: true)
        buffer.fill(Rect(x: 0, y: 0, width: width, height: 1), style: style)
        buffer.put(" \(v.title) · lines \(min(rows.count, v.scroll + 1))-\(min(rows.count, v.scroll + body)) of \(rows.count) · ↑/↓ PgUp/PgDn scroll · Esc closes",
                   x: 0, y: 0, maxWidth: width, style: style, ellipsis: true)
        for (r, row) in rows.dropFirst(v.scroll).prefix(body).enumerated() {
            buffer.put(row, x: 0, y: 1 + r, maxWidth: width, style: Style())
        }
    }
}
