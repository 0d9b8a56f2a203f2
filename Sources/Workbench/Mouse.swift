import Foundation

extension AppState {
    /// Rows a wheel notch scrolls.
    static let wheelRows = 3

    /// A click focuses the pane (or the log) under the pointer, and in the log selects the row;
    /// the wheel scrolls what is under the pointer.
    mutating func mouse(_ m: MouseEvent) -> [Effect] {
        switch front {
        case .completion?, nil: break
        default: return []  // an overlay or prompt in front keeps the mouse out
        }
        if log.detail != nil {
            if m.kind == .wheelUp || m.kind == .wheelDown {
                log.wheel(up: m.kind == .wheelUp, rows: Self.wheelRows, bodyHeight: logBody.height)
            }
            return []
        }
        let layout = screenLayout
        let inLog = layout.log.height > 0 && m.y >= layout.log.y && m.y < layout.log.bottom && m.x >= 0 && m.x < width
        let paneIndex = layout.panes.firstIndex { $0.x <= m.x && m.x < $0.right && $0.y <= m.y && m.y < $0.bottom }
        switch m.kind {
        case .press:
            flash = nil
            if inLog {
                focus = .log
                let body = logBody
                if m.y >= body.y && m.y < body.bottom {
                    log.click(row: m.y - body.y, bodyHeight: body.height)
                }
            } else if let i = paneIndex, i < panes.count {
                focus = .pane(panes[i].id)
            }
        case .wheelUp, .wheelDown:
            let up = m.kind == .wheelUp
            if inLog {
                log.wheel(up: up, rows: Self.wheelRows, bodyHeight: logBody.height)
            } else if let i = paneIndex, i < panes.count {
                panes[i].scroll = up ? panes[i].scroll + Self.wheelRows : max(0, panes[i].scroll - Self.wheelRows)
                clampScroll(i)
            }
        case .release, .other:
            break
        }
        return []
    }
}
