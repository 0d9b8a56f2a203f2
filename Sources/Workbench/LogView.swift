import Foundation

/// The traffic inspector: the log pane's frames, paired, filtered, searched, paused, in detail.
extension AppState {
    /// The `seq` of the oldest frame kept.
    var firstSeq: Int { nextSeq - log.count }

    public func entry(_ seq: Int) -> LogEntry? {
        let k = seq - firstSeq
        return k >= 0 && k < log.count ? log[k] : nil
    }

    /// Frames shown are those before this `seq` (all, unless paused).
    var logLimit: Int { logPausedAt ?? nextSeq }

    private static func lowerBound(_ a: [Int], _ v: Int) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private var filteredBounds: (lo: Int, hi: Int) {
        (Self.lowerBound(logFiltered, firstSeq), Self.lowerBound(logFiltered, logLimit))
    }

    /// How many frames the log pane shows (through the filter, up to the pause).
    public var logCount: Int {
        if logFilter.isEmpty { return max(0, min(logLimit, nextSeq) - firstSeq) }
        let b = filteredBounds
        return max(0, b.hi - b.lo)
    }

    /// The `seq` of the frame at a position of the shown list.
    public func logSeq(at position: Int) -> Int {
        if logFilter.isEmpty { return firstSeq + position }
        return logFiltered[filteredBounds.lo + position]
    }

    /// The position of the first shown frame at or after `seq`.
    func logPosition(of seq: Int) -> Int {
        if logFilter.isEmpty { return max(0, min(seq - firstSeq, logCount)) }
        let b = filteredBounds
        return max(0, min(Self.lowerBound(logFiltered, seq), b.hi) - b.lo)
    }

    /// The positions shown in a body of `height` rows.
    func logWindow(height: Int) -> Range<Int> {
        let n = logCount
        guard height > 0, n > 0 else { return 0..<0 }
        guard let selected = logSelected else { return max(0, n - height)..<n }
        let sp = min(logPosition(of: selected), n - 1)
        var top = logTop.map { logPosition(of: $0) } ?? max(0, n - height)
        if sp < top { top = sp }
        if sp >= top + height { top = sp - height + 1 }
        top = max(0, min(top, n - 1))
        return top..<min(n, top + height)
    }

    /// Records a frame: pairs it with its request or reply, indexes it for the filter.
    mutating func appendLog(_ entry: LogEntry) {
        var e = entry
        let stack = openRequests[e.pane] ?? []
        if stack.isEmpty {
            // A conversation starting while another bond's interpreter waits on a CALL: nested in it.
            logBase[e.pane] = openRequests.compactMap { (pane, open) -> Int? in
                guard pane != e.pane, let top = open.last, let r = self.entry(top), !r.sent else { return nil }
                return r.indent + 1
            }.max() ?? 0
        }
        e.indent = (logBase[e.pane] ?? 0) + stack.count
        if e.isRequest {
            openRequests[e.pane, default: []].append(e.seq)
        } else if e.isReply, var stack = openRequests[e.pane], let top = stack.last {
            stack.removeLast()
            openRequests[e.pane] = stack
            let k = top - firstSeq
            if k >= 0 && k < log.count {
                var request = log[k]
                let seconds = e.date.timeIntervalSince(request.date)
                request.pair = e.seq
                request.duration = seconds
                log[k] = request
                e.pair = top
                e.duration = seconds
                e.indent = request.indent
            }
        }
        log.append(e)
        nextSeq = e.seq + 1
        if !logFilter.isEmpty {
            if logFilter.matches(e) { logFiltered.append(e.seq) }
            if logFiltered.count > 4096, let first = logFiltered.first, first < firstSeq {
                logFiltered.removeFirst(Self.lowerBound(logFiltered, firstSeq))
            }
        }
        if let selected = logSelected, selected < firstSeq { logSelected = firstSeq }
    }

    /// How a pane's bond ended, as its log record says.
    enum BondEnd {
        /// The interpreter ended (how): recorded once per start.
        case interpreterEnded(String)
        /// The bond was closed, or restarted: recorded only when it cut requests off.
        case closed, restarted

        var text: String {
            switch self {
            case .interpreterEnded(let how): "interpreter ended: \(how)"
            case .closed: "bond closed"
            case .restarted: "restarted"
            }
        }
    }

    /// The pane's bond ended: a record in the log that closes every request still open on it,
    /// each paired with it and timed, so that none waits ("…") forever.
    mutating func logEnd(_ i: Int, _ end: BondEnd) {
        let id = panes[i].id
        let open = openRequests[id] ?? []
        let what = end.text
        defer { dropOpenRequests(id) }
        if case .interpreterEnded = end {
            guard !panes[i].endLogged else { return }
            panes[i].endLogged = true
        } else if open.isEmpty {
            return
        }
        let cut = open.compactMap { entry($0) }.map { "\($0.verb) #\($0.seq)" }
        let line = "✗ \(what)" + (cut.isEmpty ? "" : " · no reply to " + cut.joined(separator: ", "))
        let date = Swift.max(Date(), log.last?.date ?? .distantPast)
        var e = LogEntry(seq: nextSeq, date: date, pane: id, paneName: panes[i].name, language: panes[i].language,
                         record: TrafficRecord(sent: false, time: date, line: line, depth: 0))
        e.event = true
        e.indent = logBase[id] ?? 0
        for seq in open {
            let k = seq - firstSeq
            guard k >= 0 && k < log.count else { continue }
            var request = log[k]
            request.pair = e.seq
            request.duration = date.timeIntervalSince(request.date)
            log[k] = request
        }
        log.append(e)
        nextSeq = e.seq + 1
        if !logFilter.isEmpty && logFilter.matches(e) { logFiltered.append(e.seq) }
    }

    /// Forgets the open requests of a pane (its bond ended).
    mutating func dropOpenRequests(_ pane: Int) {
        openRequests[pane] = nil
        logBase[pane] = nil
    }

    /// Sets the filter when it holds together; else says what is wrong and keeps the old one.
    public mutating func setLogFilterChecked(_ text: String) {
        let filter = LogFilter(parsing: text)
        if let problem = filter.problem(paneNames: panes.map(\.name)) {
            flash = "filter not set: \(problem)"
            return
        }
        setLogFilter(text)
    }

    public mutating func setLogFilter(_ text: String) {
        logFilter = LogFilter(parsing: text)
        logFiltered = logFilter.isEmpty ? [] : log.filter { logFilter.matches($0) }.map(\.seq)
        logTop = nil
        if let s = logSelected { logSelected = nearestShown(s) }
    }

    /// The shown frame nearest to `seq` (itself when shown), nil when nothing is shown.
    func nearestShown(_ seq: Int) -> Int? {
        let n = logCount
        guard n > 0 else { return nil }
        return logSeq(at: min(logPosition(of: seq), n - 1))
    }

    /// Keeps the window where it is once something is selected.
    mutating func pinLogTop() {
        let w = logWindow(height: logBody.height)
        logTop = w.isEmpty ? nil : logSeq(at: w.lowerBound)
    }

    mutating func selectLog(position: Int) {
        let n = logCount
        guard n > 0 else { logSelected = nil; return }
        logSelected = logSeq(at: max(0, min(position, n - 1)))
        pinLogTop()
    }

    /// Finds `text` (case-insensitive, in the line or the pane name) from `seq`, towards older
    /// frames (`older`) or newer ones, wrapping around; `inclusive` looks at `seq` itself first.
    public func searchLog(_ text: String, from seq: Int?, older: Bool, inclusive: Bool) -> Int? {
        let n = logCount
        guard n > 0, !text.isEmpty else { return nil }
        let start = seq.map { min(logPosition(of: $0), n - 1) } ?? (older ? n - 1 : 0)
        let needle = text.lowercased()
        for step in 0..<n {
            if step == 0 && !inclusive && seq != nil { continue }
            let offset = older ? -step : step
            let pos = ((start + offset) % n + n) % n
            let s = logSeq(at: pos)
            guard let e = entry(s) else { continue }
            if e.raw.range(of: needle, options: .caseInsensitive) != nil || e.paneName.lowercased().contains(needle) {
                return s
            }
        }
        return nil
    }

    mutating func logKey(_ key: Key) -> [Effect] {
        let n = logCount
        let page = max(1, logBody.height - 1)
        let current = logSelected.map { min(logPosition(of: $0), max(0, n - 1)) }
        switch key {
        case .up:
            selectLog(position: current.map { $0 - 1 } ?? n - 1)
        case .down:
            if let c = current { selectLog(position: c + 1) }
        case .pageUp:
            selectLog(position: (current ?? n - 1) - page)
        case .pageDown:
            if let c = current { selectLog(position: c + page) }
        case .home:
            selectLog(position: 0)
        case .end, .char("F"):
            logSelected = nil
            logTop = nil
            logPausedAt = nil
        case .char("p"), .char(" "):
            logPausedAt = logPausedAt == nil ? nextSeq : nil
            flash = logPausedAt == nil ? "log follows again" : "log paused (p resumes)"
        case .enter:
            guard n > 0 else { return [] }
            logDetail = LogDetail(seq: logSelected ?? logSeq(at: n - 1), following: logSelected == nil)
        case .char("/"):
            openPrompt(Prompt(kind: .logSearch(origin: logSelected), label: "search log", input: InputEditor(logSearch), pane: nil))
        case .char("n"), .char("N"):
            guard !logSearch.isEmpty else { flash = "/ searches the log"; return [] }
            if let s = searchLog(logSearch, from: logSelected, older: key == .char("n"), inclusive: false) {
                logSelected = s
                pinLogTop()
            } else {
                flash = "not found: \(logSearch)"
            }
        case .char("f"):
            openPrompt(Prompt(kind: .logFilter, label: "filter (pane:NAME verb:VERB dir:sent depth:N text)",
                              input: InputEditor(logFilter.text), pane: nil))
        case .char("c"):
            setLogFilter("")
        case .char("s"):
            openPrompt(Prompt(kind: .logSave(shown: true), label: "save the frames shown (JSON lines) to file",
                              input: InputEditor(), pane: nil))
        default: break
        }
        return []
    }

    /// Keys of the detail view.
    mutating func detailKey(_ key: Key) -> [Effect] {
        guard var d = logDetail else { return [] }
        switch key {
        case .escape, .enter, .char("q"), .ctrl("c"), .ctrl("g"):
            logDetail = nil
            if d.following {
                // It followed before: it follows again (the frame looked at is not kept selected).
                logSelected = nil
                logTop = nil
            }
            return []
        case .char("r"): d.raw.toggle(); d.scroll = 0
        case .up: d.scroll = max(0, d.scroll - 1)
        case .down: d.scroll += 1
        case .pageUp: d.scroll = max(0, d.scroll - max(1, height - 4))
        case .pageDown: d.scroll += max(1, height - 4)
        case .home: d.scroll = 0
        case .left, .right:
            let n = logCount
            guard n > 0 else { break }
            let p = logPosition(of: d.seq) + (key == .left ? -1 : 1)
            if p >= 0 && p < n { d.seq = logSeq(at: p); d.scroll = 0 }
        case .char("p"):
            if let pair = entry(d.seq)?.pair, entry(pair) != nil { d.seq = pair; d.scroll = 0 }
        case .ctrl("q"), .function(10):
            logDetail = nil
            return quit(key: key)
        default: break
        }
        logDetail = d
        logSelected = d.seq
        pinLogTop()
        return []
    }

    /// The lines of the detail view of a frame, wrapped to `width`.
    public func detailLines(_ d: LogDetail, width: Int) -> [(text: String, style: Style)] {
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
        out.append((role, Style(fg: color(of: e.pane))))
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

    func renderDetail(into buffer: inout CellBuffer) {
        guard let d = logDetail else { return }
        let area = Rect(x: 0, y: 0, width: width, height: max(0, height - 1))
        guard area.height > 2, area.width > 4 else { return }
        buffer.fill(area)
        let title = Rect(x: 0, y: 0, width: width, height: 1)
        buffer.fill(title, style: Style(fg: .black, bg: .white, bold: true))
        buffer.put(" frame detail · ←/→ frames · p pair · r raw/JSON · ↑/↓ scroll · Esc closes", x: 0, y: 0,
                   maxWidth: width, style: Style(fg: .black, bg: .white, bold: true), ellipsis: true)
        let lines = detailLines(d, width: width)
        let rows = area.height - 1
        let skip = max(0, min(d.scroll, lines.count - rows))
        for (r, line) in lines.dropFirst(skip).prefix(rows).enumerated() {
            buffer.put(line.text, x: 0, y: 1 + r, maxWidth: width, style: line.style, ellipsis: true)
        }
    }

    func renderLog(_ area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0 else { return }
        let focused = focus == .log
        let titleStyle = focused ? Style(fg: .black, bg: .white, bold: true) : Style(underline: true)
        let title = Rect(x: area.x, y: area.y, width: area.width, height: 1)
        buffer.fill(title, style: titleStyle)
        var text = (focused ? "▶ " : "  ") + "log · \(log.count) frames"
        if !logFilter.isEmpty { text += " · filter \(logFilter.text) · \(logCount) shown" }
        if let p = logPausedAt { text += " · paused · \(nextSeq - p) new" } else if logSelected != nil { text += " · not following (End)" }
        if !logSearch.isEmpty { text += " · /\(logSearch)" }
        buffer.put(text, x: area.x, y: area.y, maxWidth: area.width, style: titleStyle, ellipsis: true)
        let body = logBody
        guard body.height > 0 else { return }
        let window = logWindow(height: body.height)
        let nameWidth = min(12, panes.map { TextWidth.of($0.name) }.max() ?? 6)
        let selectedPair = logSelected.flatMap { entry($0)?.pair }
        let wide = body.width >= 100
        for (r, position) in window.enumerated() {
            guard let entry = entry(logSeq(at: position)) else { continue }
            let y = body.y + r
            var x = body.x
            let limit = body.right
            let selected = entry.seq == logSelected
            let marked = selected || entry.seq == selectedPair
            if marked { buffer.fill(Rect(x: body.x, y: y, width: body.width, height: 1), style: Style(reverse: selected, underline: !selected)) }
            func style(_ s: Style) -> Style {
                var s = s
                if selected { s.reverse = true }
                if marked && !selected { s.underline = true }
                return s
            }
            if wide { x += buffer.put(String(format: "%6d ", entry.seq), x: x, y: y, maxWidth: limit - x, style: style(Style(dim: true))) }
            x += buffer.put(entry.time + " ", x: x, y: y, maxWidth: limit - x, style: style(Style(dim: true)))
            var name = entry.paneName
            let nw = TextWidth.of(name)
            if nw < nameWidth { name += String(repeating: " ", count: nameWidth - nw) }
            x += buffer.put(name + " ", x: x, y: y, maxWidth: limit - x, style: style(Style(fg: color(of: entry.pane), bold: true)))
            x += buffer.put("\(entry.sent ? ">" : "<")\(entry.depth) ", x: x, y: y, maxWidth: limit - x,
                            style: style(Style(fg: color(of: entry.pane))))
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
            let verbColor: TermColor = entry.verb == "EXCEPT" || entry.verb == "ERROR" ? .red : color(of: entry.pane)
            let verb = String(entry.text.prefix { $0 != " " })
            x += buffer.put(verb, x: x, y: y, maxWidth: limit - x, style: style(Style(fg: verbColor, bold: entry.isRequest)))
            let payload = entry.text.dropFirst(verb.count)
            buffer.put(String(payload), x: x, y: y, maxWidth: limit - x, style: style(Style()), ellipsis: true)
        }
    }
}
