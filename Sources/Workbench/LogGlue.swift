import Foundation

/// How a pane's bond ended, as the log records it.
enum BondEnd: Sendable, Equatable, CustomStringConvertible {
    /// The interpreter exited, was killed or closed its pipe (the engine's message).
    case interpreterEnded(String)
    case closed
    case restarted

    var description: String {
        switch self {
        case .interpreterEnded(let message): "interpreter ended: \(message)"
        case .closed: "bond closed"
        case .restarted: "restarted"
        }
    }
}

/// The composition's side of the log: what it needs of the panes (names, colours, the end of a
/// bond) and the sizes it pages by.
extension AppState {
    /// The sizes the log pages by, from the layout.
    var logViewport: LogModel.Viewport { LogModel.Viewport(bodyHeight: logBody.height, screenHeight: height) }

    /// Carries out what a key in the log asked for.
    mutating func perform(_ commands: [LogModel.Command]) -> [Effect] {
        var effects: [Effect] = []
        for command in commands {
            switch command {
            case .flash(let text): flash = text
            case .openPrompt(let p): openPrompt(p)
            case .quit(let key): effects += quit(key: key)
            }
        }
        return effects
    }

    /// The pane's bond ended: a record in the log that closes every request still open on it.
    /// An interpreter's end is recorded once per start; a close or restart only when it cut
    /// requests off.
    mutating func logEnd(_ i: Int, _ end: BondEnd) {
        let id = panes[i].id
        if case .interpreterEnded = end {
            guard !panes[i].endLogged else { log.forget(id); return }
            panes[i].endLogged = true
        } else if !log.hasOpenRequests(id) {
            log.forget(id)
            return
        }
        log.recordEnd(pane: id, paneName: panes[i].name, language: panes[i].language, what: end.description)
    }

    /// Sets the filter when it holds together; else says what is wrong and keeps the old one.
    public mutating func setLogFilterChecked(_ text: String) {
        let filter = LogFilter(parsing: text)
        if let problem = filter.problem(paneNames: panes.map(\.name)) {
            flash = "filter not set: \(problem)"
            return
        }
        log.setFilter(text)
    }

    /// What the log draws with that belongs to the panes.
    var logRenderContext: LogModel.RenderContext {
        let colors = Dictionary(uniqueKeysWithValues: panes.map { ($0.id, palette[$0.colorIndex % palette.count]) })
        return LogModel.RenderContext(
            focused: focus == .log, nameWidth: min(12, panes.map { TextWidth.of($0.name) }.max() ?? 6),
            color: { colors[$0] ?? .default })
    }
}
