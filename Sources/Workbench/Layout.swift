import Foundation

/// Where everything goes on the screen.
public struct ScreenLayout: Sendable, Equatable {
    /// One rectangle per pane, in pane order (title line included).
    public var panes: [Rect]
    /// Columns between panes in the same row that hold a vertical rule.
    public var separators: [Rect]
    /// The log pane across the bottom (title line included), empty when the screen is too small.
    public var log: Rect
    /// The status line (last row).
    public var status: Rect
}

public enum Layout {
    /// Rows of panes and panes per row for `count` panes in `width` x `height`.
    public static func grid(count: Int, width: Int, height: Int) -> [Int] {
        guard count > 0 else { return [] }
        // Prefer side by side while every pane keeps 30 columns, else a near-square grid.
        if count <= 3 && width / count >= 30 { return [count] }
        var best: [Int] = [count]
        var bestScore = Double.infinity
        for rows in 1...count {
            let columns = (count + rows - 1) / rows
            let w = Double(width) / Double(columns)
            let h = Double(height) / Double(rows)
            guard h >= 4 || rows == 1 else { continue }
            // Aim for panes about 3 columns wide per row (terminal cells are tall).
            let score = abs(log(w / (h * 2.5))) + Double(rows * columns - count) * 0.3
            if score < bestScore {
                bestScore = score
                var perRow = Array(repeating: count / rows, count: rows)
                for i in 0..<(count % rows) { perRow[i] += 1 }
                best = perRow
            }
        }
        return best
    }

    /// The layout of `paneCount` panes, the log pane and the status line on a `width` x `height` screen.
    /// `logZoomed` gives the log the whole screen; `logResize` rows are added to its usual
    /// height (taken away when negative), leaving the panes at least 4 rows.
    public static func screen(width: Int, height: Int, paneCount: Int, logZoomed: Bool = false, logResize: Int = 0) -> ScreenLayout {
        let status = Rect(x: 0, y: max(0, height - 1), width: width, height: height > 0 ? 1 : 0)
        let usable = max(0, height - 1)
        var logHeight = 0
        if usable >= 12 { logHeight = max(4, min(usable / 4, 16)) } else if usable >= 8 { logHeight = 3 }
        if logResize != 0 && logHeight > 0 { logHeight = max(2, min(usable - 4, logHeight + logResize)) }
        if paneCount == 0 || logZoomed { logHeight = usable }
        let log = Rect(x: 0, y: usable - logHeight, width: width, height: logHeight)
        let paneHeight = usable - logHeight
        var panes: [Rect] = []
        var separators: [Rect] = []
        let rows = grid(count: paneCount, width: width, height: paneHeight)
        var y = 0
        for (r, n) in rows.enumerated() {
            let h = paneHeight / rows.count + (r < paneHeight % rows.count ? 1 : 0)
            let available = width - (n - 1)
            var x = 0
            for i in 0..<n {
                let w = available / n + (i < available % n ? 1 : 0)
                panes.append(Rect(x: x, y: y, width: w, height: h))
                x += w
                if i < n - 1 {
                    separators.append(Rect(x: x, y: y, width: 1, height: h))
                    x += 1
                }
            }
            y += h
        }
        return ScreenLayout(panes: panes, separators: separators, log: log, status: status)
    }
}
