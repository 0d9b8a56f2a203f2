extension AppState {
    /// Where the value viewer and the frame detail show: the screen but its status line.
    var overlayArea: Rect { Rect(x: 0, y: 0, width: width, height: max(0, height - 1)) }

    mutating func openViewer(_ i: Int) {
        guard let text = panes[i].lastValue else {
            flash = "no value to show yet"
            return
        }
        viewer = ValueViewer(title: "\(panes[i].name): the last value, whole", text: text)
    }

    /// Carries out what a key did to an overlay (`close` is done by the caller).
    mutating func after(_ outcome: OverlayOutcome) -> [Effect] {
        if case .quit(let key) = outcome { return quit(key: key) }
        return []
    }
}
