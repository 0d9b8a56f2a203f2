import Foundation

/// The log pane's model: every protocol frame of every bond, paired with its request or reply
/// and indented by its nesting; the selection, the pause, the filter, the search and the detail
/// view of one frame. Its keys go through `update`, which answers with `LogCommand`s for the
/// composition (`AppState`) to carry out; it draws itself with `render(into:area:context:)`.
public struct LogModel: Sendable {
    /// The frames kept (the newest `capacity`), oldest first.
    public private(set) var frames: RingBuffer<LogEntry>
    /// The selected frame (a `seq`); nil follows the newest frame.
    public var selected: Int?
    /// The first frame shown when not following (a `seq`; a hint, kept so the selection shows).
    var top: Int?
    /// While paused, only frames before this `seq` are shown.
    public var pausedAt: Int?
    public private(set) var filter = LogFilter()
    /// The `seq`s of the frames that the filter lets through, oldest first (when it is set).
    private var filtered: [Int] = []
    /// The last search term (`n`/`N` look for it again).
    public var search = ""
    /// The detail view of one frame, over the screen.
    public var detail: LogDetail?
    /// Per pane, the requests waiting for their reply (`seq`s, innermost last).
    private(set) var openRequests: [Int: [Int]] = [:]
    /// The `seq` the next frame gets.
    public private(set) var nextSeq = 1

    public init(capacity: Int = 100_000) {
        frames = RingBuffer(capacity: capacity)
    }

    // MARK: The frames shown

    /// The `seq` of the oldest frame kept.
    var firstSeq: Int { nextSeq - frames.count }

    public func entry(_ seq: Int) -> LogEntry? {
        let k = seq - firstSeq
        return k >= 0 && k < frames.count ? frames[k] : nil
    }

    /// Frames shown are those before this `seq` (all, unless paused).
    var limit: Int { pausedAt ?? nextSeq }

    private static func lowerBound(_ a: [Int], _ v: Int) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private var filteredBounds: (lo: Int, hi: Int) {
        (Self.lowerBound(filtered, firstSeq), Self.lowerBound(filtered, limit))
    }

    /// How many frames the log pane shows (through the filter, up to the pause).
    public var count: Int {
        if filter.isEmpty { return max(0, min(limit, nextSeq) - firstSeq) }
        let b = filteredBounds
        return max(0, b.hi - b.lo)
    }

    /// The `seq` of the frame at a position of the shown list.
    public func seq(at position: Int) -> Int {
        if filter.isEmpty { return firstSeq + position }
        return filtered[filteredBounds.lo + position]
    }

    /// The position of the first shown frame at or after `seq`.
    func position(of seq: Int) -> Int {
        if filter.isEmpty { return max(0, min(seq - firstSeq, count)) }
        let b = filteredBounds
        return max(0, min(Self.lowerBound(filtered, seq), b.hi) - b.lo)
    }

    /// The positions shown in a body of `height` rows.
    func window(height: Int) -> Range<Int> {
        let n = count
        guard height > 0, n > 0 else { return 0..<0 }
        guard let selected else { return max(0, n - height)..<n }
        let sp = min(position(of: selected), n - 1)
        var top = self.top.map { position(of: $0) } ?? max(0, n - height)
        if sp < top { top = sp }
        if sp >= top + height { top = sp - height + 1 }
        top = max(0, min(top, n - 1))
        return top..<min(n, top + height)
    }

    /// The frames shown, oldest first (`log save --shown`).
    var shownEntries: [LogEntry] { (0..<count).compactMap { entry(seq(at: $0)) } }

    // MARK: Recording

    /// Records a frame: pairs it with its request or reply, indexes it for the filter.
    mutating func append(_ entry: LogEntry) {
        var e = entry
        e.seq = nextSeq
        // Inside the pane's innermost open request when it belongs to the same conversation
        // level (the engine's nest); else at the level's own nest, which counts what encloses
        // it in other bonds and in outer levels of this one.
        let top = openRequests[e.pane]?.last.flatMap { self.entry($0) }
        e.indent = top.map { $0.levelNest == e.levelNest ? $0.indent + 1 : e.levelNest } ?? e.levelNest
        if e.isRequest {
            openRequests[e.pane, default: []].append(e.seq)
        } else if e.isReply, var stack = openRequests[e.pane], let top = stack.last {
            stack.removeLast()
            openRequests[e.pane] = stack
            let k = top - firstSeq
            if k >= 0 && k < frames.count {
                var request = frames[k]
                let seconds = e.date.timeIntervalSince(request.date)
                request.pair = e.seq
                request.duration = seconds
                frames[k] = request
                e.pair = top
                e.duration = seconds
                e.indent = request.indent
            }
        }
        add(e)
        if let selected, selected < firstSeq { self.selected = firstSeq }
    }

    private mutating func add(_ e: LogEntry) {
        frames.append(e)
        nextSeq = e.seq + 1
        guard !filter.isEmpty else { return }
        if filter.matches(e) { filtered.append(e.seq) }
        if filtered.count > 4096, let first = filtered.first, first < firstSeq {
            filtered.removeFirst(Self.lowerBound(filtered, firstSeq))
        }
    }

    /// Whether requests of `pane` wait for their reply.
    func hasOpenRequests(_ pane: Int) -> Bool { !(openRequests[pane] ?? []).isEmpty }

    /// The innermost request of `pane` still waiting for its reply.
    func innermostOpenRequest(_ pane: Int) -> LogEntry? { openRequests[pane]?.last.flatMap { entry($0) } }

    /// The pane's bond ended (`what`: how): a record that closes every request still open on it,
    /// each paired with it and timed, so that none waits ("…") forever.
    mutating func recordEnd(pane: Int, paneName: String, language: String, what: String) {
        let open = openRequests[pane] ?? []
        defer { forget(pane) }
        let cut = open.compactMap { entry($0) }.map { "\($0.verb) #\($0.seq)" }
        let line = "✗ \(what)" + (cut.isEmpty ? "" : " · no reply to " + cut.joined(separator: ", "))
        let date = Swift.max(Date(), frames.last?.date ?? .distantPast)
        var e = LogEntry(seq: nextSeq, date: date, pane: pane, paneName: paneName, language: language,
                         record: TrafficRecord(sent: false, time: date, line: line, depth: 0))
        e.event = true
        e.indent = open.first.flatMap { entry($0) }?.indent ?? 0
        for seq in open {
            let k = seq - firstSeq
            guard k >= 0 && k < frames.count else { continue }
            var request = frames[k]
            request.pair = e.seq
            request.duration = date.timeIntervalSince(request.date)
            frames[k] = request
        }
        add(e)
    }

    /// Forgets the open requests of a pane (its bond ended).
    mutating func forget(_ pane: Int) {
        openRequests[pane] = nil
    }

    // MARK: Filter, selection, search

    public mutating func setFilter(_ text: String) {
        filter = LogFilter(parsing: text)
        filtered = filter.isEmpty ? [] : frames.filter { filter.matches($0) }.map(\.seq)
        top = nil
        if let s = selected { selected = nearestShown(s) }
    }

    /// The shown frame nearest to `seq` (itself when shown), nil when nothing is shown.
    func nearestShown(_ seq: Int) -> Int? {
        let n = count
        guard n > 0 else { return nil }
        return self.seq(at: min(position(of: seq), n - 1))
    }

    /// Keeps the window where it is once something is selected.
    mutating func pinTop(bodyHeight: Int) {
        let w = window(height: bodyHeight)
        top = w.isEmpty ? nil : seq(at: w.lowerBound)
    }

    mutating func select(position: Int, bodyHeight: Int) {
        let n = count
        guard n > 0 else { selected = nil; return }
        selected = seq(at: max(0, min(position, n - 1)))
        pinTop(bodyHeight: bodyHeight)
    }

    /// Selects `seq` (nil follows again) and keeps it in view.
    mutating func select(seq: Int?, bodyHeight: Int) {
        selected = seq
        pinTop(bodyHeight: bodyHeight)
    }

    /// Follows the newest frame again: no selection, no pause.
    mutating func follow() {
        selected = nil
        top = nil
        pausedAt = nil
    }

    mutating func pause() {
        if pausedAt == nil { pausedAt = nextSeq }
    }

    /// Finds `text` (case-insensitive, in the line or the pane name) from `seq`, towards older
    /// frames (`older`) or newer ones, wrapping around; `inclusive` looks at `seq` itself first.
    public func find(_ text: String, from seq: Int?, older: Bool, inclusive: Bool) -> Int? {
        let n = count
        guard n > 0, !text.isEmpty else { return nil }
        let start = seq.map { min(position(of: $0), n - 1) } ?? (older ? n - 1 : 0)
        let needle = text.lowercased()
        for step in 0..<n {
            if step == 0 && !inclusive && seq != nil { continue }
            let offset = older ? -step : step
            let pos = ((start + offset) % n + n) % n
            let s = self.seq(at: pos)
            guard let e = entry(s) else { continue }
            if e.raw.range(of: needle, options: .caseInsensitive) != nil || e.paneName.lowercased().contains(needle) {
                return s
            }
        }
        return nil
    }

    /// Opens the detail view of frame `seq`.
    mutating func show(_ seq: Int) {
        detail = LogDetail(seq: seq, following: selected == nil)
        selected = seq
    }

    // MARK: Update

    /// The sizes the keys page by.
    public struct Viewport: Sendable, Equatable {
        /// Rows of the log pane's body (without its title).
        public var bodyHeight: Int
        /// Rows of the screen (the detail view covers it).
        public var screenHeight: Int
        public init(bodyHeight: Int, screenHeight: Int) {
            self.bodyHeight = bodyHeight
            self.screenHeight = screenHeight
        }
    }

    /// What a key in the log asks of the composition.
    public enum Command: Sendable, Equatable {
        case flash(String)
        case openPrompt(Prompt)
        /// The quit key, pressed in the detail view.
        case quit(Key)
    }

    /// A key pressed in the log pane, or in the detail view while it is open.
    public mutating func update(_ key: Key, viewport: Viewport) -> [Command] {
        if detail != nil { return detailKey(key, viewport: viewport) }
        let n = count
        let page = max(1, viewport.bodyHeight - 1)
        let current = selected.map { min(position(of: $0), max(0, n - 1)) }
        switch key {
        case .up:
            select(position: current.map { $0 - 1 } ?? n - 1, bodyHeight: viewport.bodyHeight)
        case .down:
            if let c = current { select(position: c + 1, bodyHeight: viewport.bodyHeight) }
        case .pageUp:
            select(position: (current ?? n - 1) - page, bodyHeight: viewport.bodyHeight)
        case .pageDown:
            if let c = current { select(position: c + page, bodyHeight: viewport.bodyHeight) }
        case .home:
            select(position: 0, bodyHeight: viewport.bodyHeight)
        case .end, .char("F"):
            follow()
        case .char("p"), .char(" "):
            pausedAt = pausedAt == nil ? nextSeq : nil
            return [.flash(pausedAt == nil ? "log follows again" : "log paused (p resumes)")]
        case .enter:
            guard n > 0 else { return [] }
            detail = LogDetail(seq: selected ?? seq(at: n - 1), following: selected == nil)
        case .char("/"):
            return [.openPrompt(Prompt(kind: .logSearch(origin: selected), label: "search log", input: InputEditor(search), pane: nil))]
        case .char("n"), .char("N"):
            guard !search.isEmpty else { return [.flash("/ searches the log")] }
            guard let s = find(search, from: selected, older: key == .char("n"), inclusive: false) else {
                return [.flash("not found: \(search)")]
            }
            select(seq: s, bodyHeight: viewport.bodyHeight)
        case .char("f"):
            return [.openPrompt(Prompt(kind: .logFilter, label: "filter (pane:NAME verb:VERB dir:sent depth:N text)",
                                       input: InputEditor(filter.text), pane: nil))]
        case .char("c"):
            setFilter("")
        case .char("s"):
            return [.openPrompt(Prompt(kind: .logSave(shown: true), label: "save the frames shown (JSON lines) to file",
                                       input: InputEditor(), pane: nil))]
        default: break
        }
        return []
    }

    /// Keys of the detail view.
    private mutating func detailKey(_ key: Key, viewport: Viewport) -> [Command] {
        guard var d = detail else { return [] }
        let page = max(1, viewport.screenHeight - 4)
        switch key {
        case .escape, .enter, .char("q"), .ctrl("c"), .ctrl("g"):
            detail = nil
            if d.following {
                // It followed before: it follows again (the frame looked at is not kept selected).
                selected = nil
                top = nil
            }
            return []
        case .char("r"): d.raw.toggle(); d.scroll = 0
        case .up: d.scroll = max(0, d.scroll - 1)
        case .down: d.scroll += 1
        case .pageUp: d.scroll = max(0, d.scroll - page)
        case .pageDown: d.scroll += page
        case .home: d.scroll = 0
        case .left, .right:
            let n = count
            guard n > 0 else { break }
            let p = position(of: d.seq) + (key == .left ? -1 : 1)
            if p >= 0 && p < n { d.seq = seq(at: p); d.scroll = 0 }
        case .char("p"):
            if let pair = entry(d.seq)?.pair, entry(pair) != nil { d.seq = pair; d.scroll = 0 }
        case .ctrl("q"), .function(10):
            detail = nil
            return [.quit(key)]
        default: break
        }
        detail = d
        select(seq: d.seq, bodyHeight: viewport.bodyHeight)
        return []
    }

    /// The wheel over the detail view scrolls it; over the log, moves the selection.
    mutating func wheel(up: Bool, rows: Int, bodyHeight: Int) {
        if var d = detail {
            d.scroll = up ? max(0, d.scroll - rows) : d.scroll + rows
            detail = d
            return
        }
        let n = count
        guard n > 0 else { return }
        let current = selected.map { min(position(of: $0), n - 1) }
        if up {
            select(position: (current ?? n - 1) - rows, bodyHeight: bodyHeight)
        } else if let c = current {
            select(position: c + rows, bodyHeight: bodyHeight)
        }
    }

    /// A click on row `row` of the body selects the frame shown there.
    mutating func click(row: Int, bodyHeight: Int) {
        let window = window(height: bodyHeight)
        let position = window.lowerBound + row
        if window.contains(position) { select(position: position, bodyHeight: bodyHeight) }
    }

    // MARK: Render

    /// What the log draws with that belongs to the composition.
    public struct RenderContext {
        /// The log pane has the focus.
        public var focused: Bool
        /// Columns of the pane-name column.
        public var nameWidth: Int
        /// The colour of a pane (by id).
        public var color: (Int) -> TermColor
        public init(focused: Bool, nameWidth: Int, color: @escaping (Int) -> TermColor) {
            self.focused = focused
            self.nameWidth = nameWidth
            self.color = color
        }
    }

    /// Draws the log pane (title line, then one frame a row) in `area`.
    public func render(into buffer: inout CellBuffer, area: Rect, context: RenderContext) {
        guard area.height > 0 else { return }
        let focused = context.focused
        let titleStyle = focused ? Style(fg: .black, bg: .white, bold: true) : Style(underline: true)
        let title = Rect(x: area.x, y: area.y, width: area.width, height: 1)
        buffer.fill(title, style: titleStyle)
        var text = (focused ? "▶ " : "  ") + "log · \(frames.count) frames"
        if !filter.isEmpty { text += " · filter \(filter.text) · \(count) shown" }
        if let p = pausedAt { text += " · paused · \(nextSeq - p) new" } else if selected != nil { text += " · not following (End)" }
        if !search.isEmpty { text += " · /\(search)" }
        buffer.put(text, x: area.x, y: area.y, maxWidth: area.width, style: titleStyle, ellipsis: true)
        let body = Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1)
        guard body.height > 0 else { return }
        let window = window(height: body.height)
        let nameWidth = context.nameWidth
        let selectedPair = selected.flatMap { entry($0)?.pair }
        let wide = body.width >= 100
        for (r, position) in window.enumerated() {
            guard let entry = entry(seq(at: position)) else { continue }
            let y = body.y + r
            var x = body.x
            let limit = body.right
            let isSelected = entry.seq == selected
            let marked = isSelected || entry.seq == selectedPair
            if marked { buffer.fill(Rect(x: body.x, y: y, width: body.width, height: 1), style: Style(reverse: isSelected, underline: !isSelected)) }
            func style(_ s: Style) -> Style {
                var s = s
                if isSelected { s.reverse = true }
                if marked && !isSelected { s.underline = true }
                return s
            }
            let paneColor = context.color(entry.pane)
            if wide { x += buffer.put(String(format: "%6d ", entry.seq), x: x, y: y, maxWidth: limit - x, style: style(Style(dim: true))) }
            x += buffer.put(entry.time + " ", x: x, y: y, maxWidth: limit - x, style: style(Style(dim: true)))
            var name = entry.paneName
            let nw = TextWidth.of(name)
            if nw < nameWidth { name += String(repeating: " ", count: nameWidth - nw) }
            x += buffer.put(name + " ", x: x, y: y, maxWidth: limit - x, style: style(Style(fg: paneColor, bold: true)))
            x += buffer.put("\(entry.sent ? ">" : "<")\(entry.depth) ", x: x, y: y, maxWidth: limit - x,
                            style: style(Style(fg: paneColor)))
            var size = Traffic.size(entry.bytes)
            size = String(repeating: " ", count: max(0, 6 - size.count)) + size + " "
            x += buffer.put(size, x: x, y: y, maxWidth: limit - x, style: style(Style(dim: true)))
            var timing = entry.duration.map { Traffic.duration($0) } ?? (entry.isRequest ? "…" : "")
            timing = String(repeating: " ", count: max(0, 8 - timing.count)) + timing + " "
            x += buffer.put(timing, x: x, y: y, maxWidth: limit - x, style: style(Style(fg: entry.isReply ? .cyan : .default, dim: !entry.isReply)))
            // Nested calls are indented by depth.
            let indent = String(repeating: "  ", count: max(0, min(entry.indent, 10)))
            x += buffer.put(indent, x: x, y: y, maxWidth: limit - x, style: style(Style()))
            if entry.event {
                buffer.put(entry.text, x: x, y: y, maxWidth: limit - x, style: style(Style(fg: .red, bold: true)), ellipsis: true)
                continue
            }
            let verbColor: TermColor = entry.verb == "EXCEPT" || entry.verb == "ERROR" ? .red : paneColor
            let verb = String(entry.text.prefix { $0 != " " })
            x += buffer.put(verb, x: x, y: y, maxWidth: limit - x, style: style(Style(fg: verbColor, bold: entry.isRequest)))
            let payload = entry.text.dropFirst(verb.count)
            buffer.put(String(payload), x: x, y: y, maxWidth: limit - x, style: style(Style()), ellipsis: true)
        }
    }

    /// The lines of the detail view of a frame, wrapped to `width`.
    public func detailLines(_ d: LogDetail, width: Int, color: (Int) -> TermColor) -> [(text: String, style: Style)] {
        guard let e = entry(d.seq) else { return [("frame #\(d.seq) is no longer kept", Style(dim: true))] }
        var out: [(String, Style)] = []
        let dir = e.sent ? "sent to the interpreter (>)" : "received from the interpreter (<)"
        out.append(("frame #\(e.seq) · \(e.paneName) (\(e.language)) · \(dir) · depth \(e.depth)", Style(bold: true)))
        out.append(("time \(Traffic.iso8601(e.date)) (\(e.time)) · \(e.bytes) bytes", Style()))
        var role = e.verb.isEmpty ? "not a frame (driver bootstrap)" : e.verb
        if e.isRequest {
            role += e.pair.map { p in " · request, answered by #\(p)" + (entry(p).map { " \($0.verb)" } ?? "") } ?? " · request, not answered yet"
        } else if e.isReply {
            role += e.pair.map { p in " · reply to #\(p)" + (entry(p).map { " \($0.verb)" } ?? "") } ?? " · reply"
        }
        if let t = e.duration { role += " after \(Traffic.duration(t))" }
        out.append((role, Style(fg: color(e.pane))))
        if e.truncated { out.append(("only the first \(e.raw.utf8.count) of \(e.bytes) bytes are kept", Style(fg: .yellow))) }
        out.append((d.raw ? "exact bytes, with the end of line (r: payload as JSON)" : "payload as JSON (r: exact bytes)", Style(dim: true)))
        let body: [String]
        if d.raw {
            body = ["line: " + Sanitizer.line(e.raw)] + Traffic.hexDump(e.raw)
        } else {
            body = Sanitizer.lines(Traffic.prettyJSON(e.payload))
        }
        for line in body {
            for row in Wrap.rows(line, width: max(1, width)) {
                out.append((row.map(\.text).joined(), Style()))
            }
        }
        return out
    }

    /// Draws the detail view of the open frame over `area` (the screen but its status line).
    public func renderDetail(into buffer: inout CellBuffer, area: Rect, color: (Int) -> TermColor) {
        guard let d = detail, area.height > 2, area.width > 4 else { return }
        buffer.fill(area)
        let titleStyle = Style(fg: .black, bg: .white, bold: true)
        buffer.fill(Rect(x: area.x, y: area.y, width: area.width, height: 1), style: titleStyle)
        buffer.put(" frame detail · ←/→ frames · p pair · r raw/JSON · ↑/↓ scroll · Esc closes", x: area.x, y: area.y,
                   maxWidth: area.width, style: titleStyle, ellipsis: true)
        let lines = detailLines(d, width: area.width, color: color)
        let rows = area.height - 1
        let skip = max(0, min(d.scroll, lines.count - rows))
        for (r, line) in lines.dropFirst(skip).prefix(rows).enumerated() {
            buffer.put(line.text, x: area.x, y: area.y + 1 + r, maxWidth: area.width, style: line.style, ellipsis: true)
        }
    }
}
