import Bond
import Foundation
import OrderedCollections

/// A pane: one bond's transcript, input, history, refs and state as the title shows it. Its
/// keys (those that are not workbench actions) go through `update`; it draws itself with
/// `render(into:geometry:context:)` in the rectangles `geometry(in:hasInfo:)` gives.
public struct PaneModel: Sendable {
    public let id: Int
    public var name: String
    public var language: String
    public var command: String?
    public var generation = 0
    public var status: PaneStatus = .starting
    public var location: String
    public var pid: Int32?
    public var transcript = Transcript()
    public var input = InputEditor()
    public var history = History()
    /// Ref name -> code.
    public var refs = OrderedDictionary<String, String>()
    /// Ref name -> a live object of the pane's bond (its handle); they go with the bond.
    public var handleRefs = OrderedDictionary<String, HandleRef>()
    /// The last result that was a handle, until it is named or another result comes.
    public var lastHandle: UnnamedHandle?
    /// The hint about naming a handle has been given.
    var handleHintGiven = false
    /// Rows scrolled up from the bottom (0 follows new output).
    public var scroll = 0
    /// Requests handed to the worker and not answered yet.
    public var pending = 0
    public var colorIndex: Int
    /// Whether the death of the current bond has been written to the transcript.
    var deathReported = false
    /// Whether the end of the current bond has been recorded in the log.
    var endLogged = false
    /// Run at each start of the bond, one after the other, before anything else: the
    /// session's entries, then the definitions recorded since (see `StartupEntries`).
    public var startupEntries: [StartupEntry] = []
    /// The start-up entries of the current start still running, and how many failed.
    var startupRunning = 0
    var startupFailed = 0
    /// Requests made while the bond starts: sent once it has started, after the start-up block
    /// and the wires.
    var held: [Request] = []
    /// The requests of the transcript and how they ended (`transcript save`, replay).
    public var steps: [Step] = []
    /// The last value shown (Alt-v opens it whole).
    public var lastValue: String?
    /// The Perl hint about `my` has been given.
    var perlHintGiven = false
    /// Names the interpreter gave for completion last (offered for `proxy SRC.FUNC`).
    public var knownNames: [String] = []

    /// The host group (`--hosts`) of the pane, if any.
    public var group: String?

    public var spec: PaneSpec { PaneSpec(name: name, language: language, command: command) }
}

/// Where the parts of a pane go.
public struct PaneGeometry: Sendable, Equatable {
    public var title: Rect
    public var transcript: Rect
    public var info: Rect
    public var input: Rect

    /// Nothing shown (a pane the layout has no room for).
    init(in empty: Rect) {
        title = empty
        transcript = empty
        info = empty
        input = empty
    }

    init(title: Rect, transcript: Rect, info: Rect, input: Rect) {
        self.title = title
        self.transcript = transcript
        self.info = info
        self.input = input
    }
}

extension PaneModel {
    /// The pane's parts in `area`: the title line, the transcript, the line of refs and proxies
    /// (`hasInfo`, when there is room) and the input, as tall as its text up to a third.
    public func geometry(in area: Rect, hasInfo: Bool) -> PaneGeometry {
        let title = Rect(x: area.x, y: area.y, width: area.width, height: min(1, area.height))
        let body = max(0, area.height - 1)
        let inputWidth = max(1, area.width - 2)
        let inputRows = input.text.split(separator: "\n", omittingEmptySubsequences: false)
            .reduce(0) { $0 + Wrap.rowCount(Sanitizer.line($1), width: inputWidth) }
        let maxInput = max(1, body / 3)
        let inputHeight = min(body, min(max(1, inputRows), maxInput))
        let infoHeight = hasInfo && body - inputHeight >= 3 ? 1 : 0
        let transcriptHeight = max(0, body - inputHeight - infoHeight)
        let transcript = Rect(x: area.x, y: area.y + 1, width: area.width, height: transcriptHeight)
        let info = Rect(x: area.x, y: transcript.bottom, width: area.width, height: infoHeight)
        let input = Rect(x: area.x, y: info.bottom, width: area.width, height: inputHeight)
        return PaneGeometry(title: title, transcript: transcript, info: info, input: input)
    }

    // MARK: Update

    /// Adds a line to the transcript; a scrolled transcript stays where it is.
    mutating func append(_ kind: LineKind, _ text: String, transcriptWidth: Int) {
        let before = scroll > 0 ? transcript.rowCount(width: transcriptWidth) : 0
        transcript.add(kind, text)
        if scroll > 0 { scroll += transcript.rowCount(width: transcriptWidth) - before }
    }

    /// Output of the interpreter; a scrolled transcript stays where it is.
    mutating func stream(_ channel: BondOutputChannel, _ text: String, transcriptWidth: Int) {
        let before = scroll > 0 ? transcript.rowCount(width: transcriptWidth) : 0
        transcript.stream(channel == .stderr ? .stderr : .stdout, text)
        if let k = steps.firstIndex(where: { $0.result == nil }), steps[k].output.utf8.count < Step.maximumOutputBytes {
            steps[k].output += text
        }
        if scroll > 0 { scroll += transcript.rowCount(width: transcriptWidth) - before }
    }

    /// Keeps the scroll inside the transcript shown in `area`.
    mutating func clampScroll(_ area: Rect) {
        let total = transcript.rowCount(width: area.width, limit: scroll + area.height + 1)
        scroll = max(0, min(scroll, total - area.height))
    }

    /// The engine's word on the bond's state.
    mutating func apply(_ state: BondState) {
        switch state {
        case .starting:
            status = .starting
        case .idle:
            if case .starting = status { break }
            if status.isLive { status = .idle }
        case .busy(let depth):
            if status.isLive { status = .busy(depth: depth) }
        case .terminated(let exit):
            switch status {
            case .closing, .closed, .failed: break
            default: status = .dead(exit: exit.description)
            }
        }
    }

    /// What a key that is not a workbench action asks of the composition.
    public enum Outcome: Sendable, Equatable {
        case done
        /// Ctrl-R (`reverse`) or Ctrl-S: an incremental history search.
        case historySearch(reverse: Bool)
        /// Ctrl-X: readline's prefix (Ctrl-X Ctrl-E edits in `$EDITOR`).
        case ctrlXPrefix
    }

    /// The keys of the pane's input and transcript: readline editing, ↑/↓ through the lines
    /// then the history, the pages through the transcript shown in `transcriptArea`.
    public mutating func update(_ key: Key, ring: inout KillRing, transcriptArea: Rect) -> Outcome {
        switch key {
        case .up:
            if !input.lineUp(), let entry = history.previous(current: input.text) { input.text = entry }
        case .down:
            if !input.lineDown(), let entry = history.next() { input.text = entry }
        case .pageUp, .pageDown, .ctrlUp, .ctrlDown, .ctrlHome, .ctrlEnd:
            let page = max(1, transcriptArea.height - 1)
            switch key {
            case .pageUp: scroll += page
            case .pageDown: scroll = max(0, scroll - page)
            case .ctrlUp: scroll += 1
            case .ctrlDown: scroll = max(0, scroll - 1)
            case .ctrlHome: scroll = Int.max / 2
            default: scroll = 0
            }
            clampScroll(transcriptArea)
        case .ctrl("r"), .ctrl("s"):
            return .historySearch(reverse: key == .ctrl("r"))
        case .ctrl("x"):
            return .ctrlXPrefix
        default:
            LineEditing.apply(key, to: &input, ring: &ring)
        }
        return .done
    }

    // MARK: Render

    /// The title: name, language, where, state (and pid, queue, scroll when there is room).
    public func titleText(width: Int = .max, broadcasting: Bool = false) -> String {
        var extra: [String] = []
        let waiting = pending - (status.isBusyOrPending(0) ? 1 : 0)
        if waiting > 0 { extra.append("\(waiting) queued") }
        if scroll > 0 { extra.append("scrolled ↑\(scroll)") }
        if broadcasting { extra.insert("broadcast", at: 0) }
        var pid: [String] = []
        if let p = self.pid, status.isLive { pid = ["pid \(p)"] }
        let candidates: [[String]] = [
            [name, language, location, status.label] + extra + pid,
            [name, language, location, status.label] + extra,
            [name, language, location, status.label],
            [name, location, status.label],
            [name, status.label],
        ]
        for parts in candidates {
            let text = parts.joined(separator: " · ")
            if TextWidth.of(text) <= width { return text }
        }
        return candidates.last!.joined(separator: " · ")
    }

    /// What a pane draws with that belongs to the composition.
    public struct RenderContext: Sendable {
        public var focused: Bool
        public var color: TermColor
        public var theme: Theme
        /// The line of refs and proxies.
        public var info: String?
        /// Its host group's input goes to every pane of the group.
        public var broadcasting: Bool
    }

    /// Draws the title, the transcript, the refs and proxies and the input in `g`; returns
    /// where the cursor goes.
    public func render(into buffer: inout CellBuffer, geometry g: PaneGeometry, context: RenderContext) -> (x: Int, y: Int)? {
        let color = context.color
        let titleStyle = context.focused
            ? Style(fg: .black, bg: color, bold: true)
            : Style(fg: color, bold: false, reverse: false, underline: true)
        buffer.fill(g.title, style: titleStyle)
        let mark = context.focused ? "▶ " : "  "
        buffer.put(mark + titleText(width: g.title.width - 2, broadcasting: context.broadcasting), x: g.title.x, y: g.title.y,
                   maxWidth: g.title.width, style: titleStyle, ellipsis: true)
        let rows = transcript.rows(width: g.transcript.width, count: g.transcript.height, skip: scroll)
        for (r, row) in rows.enumerated() {
            let y = g.transcript.y + r
            let style = Self.style(of: row.line.kind, theme: context.theme)
            let gutter = row.firstRow && row.line.first ? row.line.kind.gutter : "  "
            let gutterStyle = row.line.kind == .input ? Style(fg: color, bold: true) : style
            buffer.put(gutter, x: g.transcript.x, y: y, maxWidth: 2, style: gutterStyle)
            buffer.put(glyphs: row.glyphs, x: g.transcript.x + 2, y: y, maxWidth: g.transcript.width - 2, style: style)
        }
        if g.info.height > 0, let info = context.info {
            buffer.put(info, x: g.info.x, y: g.info.y, maxWidth: g.info.width, style: Style(fg: color, dim: true), ellipsis: true)
        }
        return input.render(into: &buffer, area: g.input, color: color, focused: context.focused)
    }

    static func style(of kind: LineKind, theme: Theme) -> Style {
        switch kind {
        case .input: Style(bold: true)
        case .stdout: Style()
        case .stderr: Style(fg: theme.stderr)
        case .value: Style(fg: theme.value)
        case .error: Style(fg: theme.error, bold: true)
        case .info: Style(dim: true)
        case .nested: Style(fg: theme.nested)
        case .description: Style(fg: theme.value, dim: true)
        }
    }
}
