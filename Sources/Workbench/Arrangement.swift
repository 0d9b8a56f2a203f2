/// What the screen shows where: its size, which pane (or the log) has the focus, and the log's
/// zoom and extra rows. `AppState.screenLayout` cuts the screen from it.
public struct Arrangement: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var focus: Focus = .log
    /// The log pane over the whole screen.
    public var logZoomed = false
    /// Rows added to (or taken from) the log pane's usual height.
    public var logResize = 0

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// The rectangles of `paneCount` panes, the log and the status line.
    public func layout(paneCount: Int) -> ScreenLayout {
        Layout.screen(width: width, height: height, paneCount: paneCount, logZoomed: logZoomed, logResize: logResize)
    }

    /// Zooms the log (and focuses it), or unzooms it.
    mutating func toggleLogZoom() {
        logZoomed.toggle()
        if logZoomed { focus = .log }
    }

    /// Grows (or shrinks) the log by `rows`, unzoomed, keeping two rows of it and five of panes.
    mutating func resizeLog(by rows: Int, paneCount: Int) {
        logZoomed = false
        logResize += rows
        let usual = Layout.screen(width: width, height: height, paneCount: paneCount).log.height
        logResize = max(2 - usual, min(max(0, height - 5) - usual, logResize))
    }

    /// Moves the focus; a zoomed log unzooms when the focus leaves it.
    mutating func move(focus to: Focus) {
        focus = to
        if logZoomed && to != .log { logZoomed = false }
    }
}
