/// The overlays: views over the screen that take every key while open (help, the value viewer,
/// the wiring view, a confirmation). Each has its own `update` (a key in, an outcome out) and
/// its own `render` into a `Rect` of the cell buffer; `AppState` opens them and acts on what
/// they answer.

/// What a key did to an overlay.
public enum OverlayOutcome: Sendable, Equatable {
    /// Handled; the overlay stays open.
    case stay
    /// The overlay closes; the key is spent.
    case close
    /// The overlay closes and the quit key takes effect.
    case quit(Key)
}

// MARK: - Help

/// One row of the help: a key (as bound) or a command's usage, and what it does.
public struct HelpLine: Sendable, Equatable {
    public var key: String
    public var text: String
    public init(_ key: String, _ text: String) {
        self.key = key
        self.text = text
    }
}

/// The help overlay (F1): the keys as bound, the editing keys, the commands; it scrolls.
public struct HelpOverlay: Sendable, Equatable {
    public var lines: [HelpLine]
    /// Rows scrolled.
    public var scroll = 0

    /// Columns of the key column.
    static let keyWidth = 20

    public init(lines: [HelpLine]) { self.lines = lines }

    /// Rows of the body on a screen `screenHeight` rows high.
    func rows(screenHeight: Int) -> Int { max(1, min(screenHeight, lines.count + 2) - 2) }

    /// ↑/↓ PgUp/PgDn Home/End scroll; any other key closes (the quit key quits).
    public mutating func update(_ key: Key, action: Action?, screenHeight: Int) -> OverlayOutcome {
        let page = rows(screenHeight: screenHeight)
        switch key {
        case .up: scroll = max(0, scroll - 1)
        case .down: scroll += 1
        case .pageUp: scroll = max(0, scroll - page)
        case .pageDown, .char(" "): scroll += page
        case .home: scroll = 0
        case .end: scroll = Int.max / 2
        default:
            return action == .quit ? .quit(key) : .close
        }
        scroll = min(scroll, max(0, lines.count - page))
        return .stay
    }

    /// Draws the help as a box centred in `area` (the screen).
    public func render(into buffer: inout CellBuffer, area: Rect) {
        let keyWidth = Self.keyWidth
        let contentWidth = min(area.width - 4, 86)
        let boxHeight = min(area.height, lines.count + 2)
        guard contentWidth > 10, boxHeight > 2 else { return }
        let box = Rect(x: area.x + max(0, (area.width - contentWidth - 2) / 2), y: area.y + max(0, (area.height - boxHeight) / 2),
                       width: contentWidth + 2, height: boxHeight)
        let frame = Style(fg: .cyan, bold: true)
        buffer.fill(box)
        buffer.drawBox(box, style: frame)
        let rows = boxHeight - 2
        let skip = max(0, min(scroll, lines.count - rows))
        var title = " bond-workbench keys "
        if lines.count > rows { title += "· \(skip + 1)-\(skip + rows) of \(lines.count) · ↑/↓ scroll " }
        buffer.put(title, x: box.x + 2, y: box.y, maxWidth: contentWidth - 2, style: frame)
        for (r, line) in lines.dropFirst(skip).prefix(rows).enumerated() {
            let y = box.y + 1 + r
            var x = box.x + 1
            if !line.key.isEmpty {
                x += buffer.put(line.key, x: x, y: y, maxWidth: box.right - 1 - x, style: Style(bold: true), ellipsis: true)
                x = max(x + 1, box.x + 1 + keyWidth)
            } else if line.text.hasPrefix("  ") {
                x += keyWidth
            }
            buffer.put(line.text, x: x, y: y, maxWidth: box.right - 1 - x, style: Style(), ellipsis: true)
        }
    }
}

// MARK: - Value viewer

/// The whole of a big value over the screen (Alt-v), scrolled with the arrows and the pages.
public struct ValueViewer: Sendable, Equatable {
    public var title: String
    public var text: String
    public var scroll = 0

    /// The value's lines wrapped to `width`.
    func rows(width: Int) -> [String] {
        Sanitizer.lines(text).flatMap { line in Wrap.rows(line, width: max(1, width)).map { $0.map(\.text).joined() } }
    }

    /// Scroll keys scroll; any other key closes (the quit key quits). `area` is where it shows.
    public mutating func update(_ key: Key, action: Action?, area: Rect) -> OverlayOutcome {
        let page = max(1, area.height - 2)
        let last = max(0, rows(width: area.width).count - page)
        switch key {
        case .up: scroll -= 1
        case .down: scroll += 1
        case .pageUp: scroll -= page
        case .pageDown, .char(" "): scroll += page
        case .home, .char("g"): scroll = 0
        case .end, .char("G"): scroll = last
        default:
            return action == .quit ? .quit(key) : .close
        }
        scroll = max(0, min(scroll, last))
        return .stay
    }

    /// Draws a title line and the value's rows over `area`.
    public func render(into buffer: inout CellBuffer, area: Rect) {
        guard area.height > 2 else { return }
        buffer.fill(area)
        let rows = rows(width: area.width)
        let body = area.height - 1
        let style = Style(fg: .black, bg: .white, bold: true)
        buffer.fill(Rect(x: area.x, y: area.y, width: area.width, height: 1), style: style)
        buffer.put(" \(title) · lines \(min(rows.count, scroll + 1))-\(min(rows.count, scroll + body)) of \(rows.count) · ↑/↓ PgUp/PgDn scroll · Esc closes",
                   x: area.x, y: area.y, maxWidth: area.width, style: style, ellipsis: true)
        for (r, row) in rows.dropFirst(scroll).prefix(body).enumerated() {
            buffer.put(row, x: area.x, y: area.y + 1 + r, maxWidth: area.width, style: Style())
        }
    }
}

// MARK: - Wiring view

/// The wiring view (F2): the proxies between panes with their call counts; `d` unwires one.
public struct WiringView: Sendable, Equatable {
    /// The selected row.
    public var selected = 0

    /// One proxy as the view shows it.
    public struct Row: Sendable, Equatable {
        public var source: String
        public var function: String
        public var target: String
        public var name: String
        public var calls: Int
    }

    /// What a key in the wiring view asks for.
    public enum Outcome: Sendable, Equatable {
        case overlay(OverlayOutcome)
        /// Remove the wire of this row.
        case unwire(Int)
    }

    public mutating func update(_ key: Key, action: Action?, rowCount: Int) -> Outcome {
        if action == .wiring { return .overlay(.close) }
        if action == .quit { return .overlay(.quit(key)) }
        switch key {
        case .escape, .char("q"), .enter, .ctrl("g"), .ctrl("c"):
            return .overlay(.close)
        case .up: selected = max(0, selected - 1)
        case .down: selected = max(0, min(rowCount - 1, selected + 1))
        case .char("d"), .delete, .char("u"):
            return .unwire(selected)
        default: break
        }
        return .overlay(.stay)
    }

    /// Keeps the selection on a row after rows went away.
    mutating func clamp(rowCount: Int) { selected = rowCount == 0 ? 0 : min(selected, rowCount - 1) }

    /// Draws the table of `rows` as a box centred in `area` (the screen but its status line).
    public func render(into buffer: inout CellBuffer, area: Rect, rows: [Row]) {
        let header = ["#", "source", "function", "→ target", "name there", "calls"]
        var table: [[String]] = [header]
        for (k, r) in rows.enumerated() {
            table.append(["\(k + 1)", r.source, r.function, "→ " + r.target, r.name, "\(r.calls)"])
        }
        var widths = header.map { _ in 0 }
        for row in table { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], TextWidth.of(cell)) } }
        let contentWidth = min(area.width - 2, max(50, widths.reduce(0, +) + 2 * (widths.count - 1)))
        let lines = table.count + (rows.isEmpty ? 1 : 0) + 2
        let boxHeight = min(area.height, lines + 2)
        guard contentWidth > 10, boxHeight > 3 else { return }
        let box = Rect(x: area.x + max(0, (area.width - contentWidth - 2) / 2), y: area.y + max(0, (area.height - boxHeight) / 2),
                       width: contentWidth + 2, height: boxHeight)
        let frame = Style(fg: .cyan, bold: true)
        buffer.drawBox(box, style: frame)
        buffer.put(" wiring · \(rows.count) proxies ", x: box.x + 2, y: box.y, maxWidth: contentWidth - 2, style: frame)
        var y = box.y + 1
        for (r, row) in table.enumerated() where y < box.bottom - 2 {
            var x = box.x + 1
            let isSelected = r > 0 && r - 1 == selected
            let style = r == 0 ? Style(bold: true, underline: true) : Style(reverse: isSelected)
            if isSelected { buffer.fill(Rect(x: box.x + 1, y: y, width: contentWidth, height: 1), style: style) }
            for (c, cell) in row.enumerated() {
                let padded = c == row.count - 1
                    ? String(repeating: " ", count: max(0, widths[c] - TextWidth.of(cell))) + cell
                    : cell + String(repeating: " ", count: max(0, widths[c] - TextWidth.of(cell)))
                x += buffer.put(padded + "  ", x: x, y: y, maxWidth: box.right - 1 - x, style: style)
            }
            y += 1
        }
        if rows.isEmpty {
            buffer.put("no proxies: Ctrl-P or the proxy command wires a function into another pane", x: box.x + 1, y: y,
                       maxWidth: contentWidth, style: Style(dim: true), ellipsis: true)
        }
        buffer.put("↑/↓ select  d unwire  Esc close", x: box.x + 1, y: box.bottom - 2, maxWidth: contentWidth,
                   style: Style(dim: true))
    }
}

// MARK: - Confirmation

/// An action that waits for a yes (y, or the same key again).
public enum ConfirmAction: Sendable, Equatable {
    case close(pane: Int)
    case restart(pane: Int)
    case remove(pane: Int)
    case quit
    /// Write over an existing file.
    case overwrite(path: String, lines: [String])
}

/// A y/N question on the status line.
public struct Confirmation: Sendable, Equatable {
    public var action: ConfirmAction
    public var question: String
    /// Pressing this key again also says yes.
    public var key: Key?

    /// y (or the same key again) says yes; anything else says no.
    public func update(_ pressed: Key) -> Bool {
        pressed == .char("y") || pressed == .char("Y") || (key != nil && pressed == key)
    }

    /// Draws the question in `area` (the status line); returns where the cursor goes.
    public func render(into buffer: inout CellBuffer, area: Rect) -> (x: Int, y: Int) {
        buffer.put(question, x: area.x, y: area.y, maxWidth: area.width, style: Style(fg: .yellow, bold: true, reverse: true),
                   ellipsis: true)
        return (min(area.right - 1, area.x + TextWidth.of(question)), area.y)
    }
}
