/// A terminal colour: the default, or one of the eight basic colours.
public enum TermColor: Int, Sendable, Hashable, CaseIterable {
    case `default` = -1
    case black = 0, red, green, yellow, blue, magenta, cyan, white
}

/// How a cell looks.
public struct Style: Sendable, Hashable {
    public var fg: TermColor = .default
    public var bg: TermColor = .default
    public var bold = false
    public var dim = false
    public var reverse = false
    public var underline = false

    public init(fg: TermColor = .default, bg: TermColor = .default, bold: Bool = false, dim: Bool = false,
                reverse: Bool = false, underline: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.dim = dim
        self.reverse = reverse
        self.underline = underline
    }

    public static let plain = Style()
}

/// One cell: the text of a glyph, or `""` for the right half of a wide glyph.
public struct Cell: Sendable, Hashable {
    public var symbol: String
    public var style: Style

    public init(_ symbol: String = " ", style: Style = .plain) {
        self.symbol = symbol
        self.style = style
    }

    public var isContinuation: Bool { symbol.isEmpty }
    public static let blank = Cell()
}

/// A rectangle of cells.
public struct Rect: Sendable, Hashable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var right: Int { x + width }
    public var bottom: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var description: String { "(\(x),\(y) \(width)x\(height))" }

    /// The row `i` of the rectangle, one line high.
    public func row(_ i: Int) -> Rect { Rect(x: x, y: y + i, width: width, height: i < height ? 1 : 0) }
}

/// The frame in memory (ratatui's `Buffer`): widgets render into it, the backend draws the diff.
public struct CellBuffer: Sendable, Equatable {
    public private(set) var width: Int
    public private(set) var height: Int
    public var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Fills `area` with `symbol` (one column wide) in `style`.
    /// No colours: what had a background is shown reversed instead (NO_COLOR, monochrome).
    public mutating func makeMonochrome() {
        for k in cells.indices {
            var style = cells[k].style
            if style.bg != .default { style.reverse.toggle() }
            style.fg = .default
            style.bg = .default
            cells[k].style = style
        }
    }

    /// Clears `box` and draws a frame of box-drawing lines around its edge.
    public mutating func drawBox(_ box: Rect, style: Style) {
        fill(box)
        let line = (horizontal: Glyph(text: "─", width: 1), vertical: Glyph(text: "│", width: 1))
        for x in box.x..<box.right {
            _ = put(line.horizontal, x: x, y: box.y, style: style)
            _ = put(line.horizontal, x: x, y: box.bottom - 1, style: style)
        }
        for y in box.y..<box.bottom {
            _ = put(line.vertical, x: box.x, y: y, style: style)
            _ = put(line.vertical, x: box.right - 1, y: y, style: style)
        }
        _ = put(Glyph(text: "┌", width: 1), x: box.x, y: box.y, style: style)
        _ = put(Glyph(text: "┐", width: 1), x: box.right - 1, y: box.y, style: style)
        _ = put(Glyph(text: "└", width: 1), x: box.x, y: box.bottom - 1, style: style)
        _ = put(Glyph(text: "┘", width: 1), x: box.right - 1, y: box.bottom - 1, style: style)
    }

    public mutating func fill(_ area: Rect, symbol: String = " ", style: Style = .plain) {
        let a = clip(area)
        guard !a.isEmpty else { return }
        for y in a.y..<a.bottom {
            for x in a.x..<a.right { put(Glyph(text: symbol, width: 1), x: x, y: y, style: style, limit: a.right) }
        }
    }

    /// Sets the style of every cell in `area`, keeping the symbols.
    public mutating func restyle(_ area: Rect, _ change: (inout Style) -> Void) {
        let a = clip(area)
        guard !a.isEmpty else { return }
        for y in a.y..<a.bottom {
            for x in a.x..<a.right { change(&cells[y * width + x].style) }
        }
    }

    func clip(_ r: Rect) -> Rect {
        let x0 = max(0, r.x), y0 = max(0, r.y)
        let x1 = min(width, r.right), y1 = min(height, r.bottom)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Puts one glyph at (x, y); a wide glyph that would cross `limit` becomes a space.
    /// Returns the columns used.
    @discardableResult
    public mutating func put(_ glyph: Glyph, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let limit = min(limit ?? width, width)
        guard y >= 0, y < height, x >= 0, x < limit else { return 0 }
        var g = glyph
        if g.width == 2 && x + 1 >= limit { g = Glyph(text: " ", width: 1) }
        // Breaking into the middle of a wide glyph: blank its other half.
        let i = y * width + x
        if cells[i].isContinuation && x > 0 { cells[i - 1].symbol = " " }
        let end = x + g.width
        if end < width && cells[y * width + end].isContinuation { cells[y * width + end].symbol = " " }
        cells[i] = Cell(g.text, style: style)
        if g.width == 2 { cells[i + 1] = Cell("", style: style) }
        return g.width
    }

    /// Writes glyphs from (x, y) up to `maxWidth` columns; returns the columns used.
    @discardableResult
    public mutating func put(glyphs: [Glyph], x: Int, y: Int, maxWidth: Int, style: Style) -> Int {
        var used = 0
        let limit = x + maxWidth
        for glyph in glyphs {
            if x + used + glyph.width > limit { break }
            used += put(glyph, x: x + used, y: y, style: style, limit: limit)
        }
        return used
    }

    /// Writes (sanitized) text cut to `maxWidth` columns; returns the columns used.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, maxWidth: Int, style: Style, ellipsis: Bool = false) -> Int {
        guard maxWidth > 0 else { return 0 }
        let text = Sanitizer.line(text)
        let glyphs = ellipsis ? Wrap.truncate(text, width: maxWidth) : Sanitizer.clusters(text).flatMap { $0 }
        return put(glyphs: glyphs, x: x, y: y, maxWidth: maxWidth, style: style)
    }

    /// Each row as plain text (wide glyphs once, their right halves skipped).
    public func lines() -> [String] {
        (0..<height).map { y in
            var s = ""
            for x in 0..<width where !self[x, y].isContinuation { s += self[x, y].symbol }
            return s
        }
    }

    /// `lines()` with trailing spaces removed.
    public func trimmedLines() -> [String] {
        lines().map { line in
            var s = Substring(line)
            while s.last == " " { s = s.dropLast() }
            return String(s)
        }
    }
}
