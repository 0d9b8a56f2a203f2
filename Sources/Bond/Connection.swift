#if canImport(Glibc)
import Glibc
#endif
import CBondSystem
import DequeModule
import Foundation

/// The live link to one interpreter: its process, the threads that read its output,
/// and the queue of frames waiting for the conversation to take them.
///
/// All mutable state is guarded by `condition`; reader threads only append to it.
final class Connection: @unchecked Sendable {
    enum Event: Sendable {
        case frame(Frame)
        /// A frame longer than the limit was dropped; its length in bytes.
        case oversized(Int)
        /// The interpreter's output ended.
        case closed
    }

    enum Phase { case startup, ready }

    let language: String
    let name: String
    let process: InterpreterProcess
    private let output: BondOutputSink
    private let log: BondLogSink?
    private let maximumFrameBytes: Int
    private let stateChanged: (@Sendable (BondState) -> Void)?

    // Every stored `var` of this class is guarded by a lock (`condition`, or `readLock` where
    // marked), which already makes each access exclusive: Swift's own run-time exclusivity
    // check is turned off for them (`@exclusivity(unchecked)`), as it cost about 800
    // instructions per call.

    /// Called once when the output ends (the interpreter or its link is gone).
    var onTermination: (@Sendable () -> Void)? {
        get { locked { terminationHandler } }
        set { locked { terminationHandler = newValue } }
    }
    @exclusivity(unchecked) private var terminationHandler: (@Sendable () -> Void)?

    private let condition = NSCondition()
    @exclusivity(unchecked) private var events = Deque<Event>()
    @exclusivity(unchecked) private var phase = Phase.startup  // changed with readLock held too
    @exclusivity(unchecked) private var startupOutput: [UInt8] = []
    @exclusivity(unchecked) private var startupErrors: [UInt8] = []
    @exclusivity(unchecked) private var readySearchStart: Int?
    @exclusivity(unchecked) private var outputClosed = false
    @exclusivity(unchecked) private var errorsClosed = false
    @exclusivity(unchecked) private var finished = false
    @exclusivity(unchecked) private var exitStatus: BondExit?
    @exclusivity(unchecked) private var errorTail: [UInt8] = []
    @exclusivity(unchecked) private var depthValue = 0
    private static let errorTailBytes = 4096

    // Reading the interpreter's output. One thread at a time reads and decodes (`readLock`):
    // the background reader while the bond is starting or idle, and the calling thread itself
    // while a conversation runs, so that a reply wakes the caller directly, with no hand-off
    // between threads. `callerReads` (guarded by `condition`) says which.
    private let readLock = NSLock()
    @exclusivity(unchecked) private var callerReads = false
    @exclusivity(unchecked) private var backgroundPolling = false  // guarded by condition: the background reader is in poll
    /// Where the parked background reader sleeps: apart from `condition`, so that the frames a
    /// conversation queues (each a broadcast on `condition`) do not wake it.
    private let parking = NSCondition()
    @exclusivity(unchecked) private var outputEnded = false  // guarded by readLock
    /// While the calling thread reads for itself, the first event it reads is handed to it
    /// here rather than through `events` (no lock, no wake-up, no queue): nobody else takes
    /// events meanwhile, and `events` is empty when it starts reading. Guarded by readLock.
    @exclusivity(unchecked) private var callerIsReading = false
    @exclusivity(unchecked) private var handoff: Event?
    @exclusivity(unchecked) private var splitter: LineSplitter  // guarded by readLock
    @exclusivity(unchecked) private var startupLines = LineSplitter(maximumLineBytes: 1 << 16)  // guarded by readLock
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
    /// A pipe that wakes the background reader out of `poll`.
    private let wake: (read: Int32, write: Int32)

    init(language: String, name: String, process: InterpreterProcess, options: BondOptions,
         stateChanged: (@Sendable (BondState) -> Void)?)
    {
        self.language = language
        self.name = name
        self.process = process
        self.output = options.output
        self.log = options.log
        self.maximumFrameBytes = options.maximumFrameBytes
        self.stateChanged = stateChanged
        self.splitter = LineSplitter(maximumLineBytes: options.maximumFrameBytes)
        var fds: [Int32] = [-1, -1]
        _ = cbond_pipe_cloexec(&fds)
        wake = (fds[0], fds[1])
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(process.outputFD, F_SETFL, fcntl(process.outputFD, F_GETFL) | O_NONBLOCK)
        startThread(name: "bond \(name) stdout") { [self] in readInBackground() }
        startThread(name: "bond \(name) stderr") { [self] in readErrors() }
        startThread(name: "bond \(name) reaper") { [self] in
            let status = process.waitForExit()
            changing { exitStatus = status }
        }
    }

    /// Runs `body` with the state locked.
    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// Runs `body` with the state locked, then wakes every thread waiting for a change.
    private func changing<R>(_ body: () throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        return try body()
    }

    // MARK: Conversation depth

    /// The nesting depth of the conversation (0 when idle).
    var depth: Int { locked { depthValue } }

    /// A request begins; the first level also makes the calling thread the reader. Returns
    /// `false` (and begins nothing) if the output has ended.
    func enter() -> Bool {
        let (d, wake) = locked { () -> (Int?, Bool) in
            if outputClosed { return (nil, false) }
            depthValue += 1
            if depthValue == 1 { callerReads = true }
            return (depthValue, depthValue == 1 && backgroundPolling)
        }
        guard let d else { return false }
        if wake { wakeBackgroundReader() }
        stateChanged?(.busy(depth: d))
        return true
    }

    func leave() {
        var stale = 0
        // No broadcast: the background reader resumes on its own (see `readInBackground`), so a
        // stream of calls does not wake it twice per call.
        let d = locked { () -> Int in
            depthValue -= 1
            if depthValue == 0 {
                callerReads = false
                // Replies still queued when the conversation ends answer nothing: drop them.
                let before = events.count
                if before > 0 { events.removeAll { event in
                    if case .frame(let frame) = event { return frame.verb.isReply }
                    return false
                } }
                stale = before - events.count
            }
            return depthValue
        }
        if stale > 0 {
            deliver(.stderr, "[bond: \(language) sent \(stale) reply frame(s) with no request waiting; dropped]\n")
        }
        stateChanged?(d == 0 ? .idle : .busy(depth: d))
    }

    // MARK: Start-up

    /// Waits until the interpreter's output before READY matches `pattern` after `offset`.
    /// Returns the end of the match, or `nil` if the output ended or the deadline passed.
    func waitForStartupText(_ pattern: NSRegularExpression, after offset: Int, deadline: Date) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if startupOutput.count > offset {
                let text = String(decoding: startupOutput[offset...], as: UTF8.self)
                if let match = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                    let range = Range(match.range, in: text)
                {
                    return offset + text[..<range.upperBound].utf8.count
                }
            }
            if outputClosed || !condition.wait(until: deadline) { return nil }
        }
    }

    /// Tells the reader that `READY` may come after `offset`, before stage 2 is sent.
    func expectReady(after offset: Int) {
        locked { readySearchStart = offset }
    }

    /// Waits for `READY`. Returns `false` if the output ended or the deadline passed.
    func waitForReady(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while phase != .ready {
            if outputClosed || !condition.wait(until: deadline) { return phase == .ready }
        }
        return true
    }

    /// What the interpreter printed before READY, both channels, for start-up errors.
    var startupNoise: String {
        locked {
            let out = String(decoding: startupOutput, as: UTF8.self).trimmingWhitespace()
            let err = String(decoding: startupErrors, as: UTF8.self).trimmingWhitespace()
            return [out, err].filter { !$0.isEmpty }.joined(separator: "\n")
        }
    }

    // MARK: Events

    /// The next event, or `nil` if `deadline` passes first. During a conversation the calling
    /// thread reads the interpreter's output itself.
    func nextEvent(deadline: Date?) -> Event? {
        while true {
            condition.lock()
            if let event = events.popFirst() {
                if case .closed = event { events.append(.closed) }  // every later wait sees it too
                condition.unlock()
                return event
            }
            if !callerReads || outputClosed {
                // The background reader is reading (start-up, or a request made without enter()).
                let woke = deadline.map { condition.wait(until: $0) } ?? { condition.wait(); return true }()
                condition.unlock()
                if !woke && deadline.map({ Date() >= $0 }) == true && !hasEvents { return nil }
                continue
            }
            // Become the reader. Every frame is queued by a thread holding `readLock`: taken
            // while the queue is seen empty (a `try`, as the lock order is `readLock` first),
            // nothing can have come in between; else look again once it is held.
            let tookReaderAtOnce = readLock.try()
            condition.unlock()
            if !tookReaderAtOnce { readLock.lock() }
            if outputEnded || (!tookReaderAtOnce && hasEvents) {
                readLock.unlock()
                continue
            }
            // A fast interpreter answers within microseconds: look for the reply for a short
            // while before going to sleep, since a sleep and a wake-up across processors cost
            // more than the round trip itself (only with a processor to spare).
            callerIsReading = true
            if Self.spinsBeforeSleeping, spinForOutput() {
                if let event = takeHandoff() { return event }
                continue
            }
            var fd = pollfd(fd: process.outputFD, events: Int16(POLLIN), revents: 0)
            let timeout = deadline.map { Int32(clamping: max(0, Int(($0.timeIntervalSinceNow * 1000).rounded(.up)))) } ?? -1
            let ready = poll(&fd, 1, timeout)
            if ready == 0 {
                callerIsReading = false
                readLock.unlock()
                if hasEvents { continue }
                return nil
            }
            readAvailableLocked()
            if let event = takeHandoff() { return event }
        }
    }

    /// Ends the calling thread's read, releasing `readLock`; returns the event handed to it.
    private func takeHandoff() -> Event? {
        let event = handoff.take()
        callerIsReading = false
        readLock.unlock()
        return event
    }

    /// Queues an event for the conversation (see `handoff`). Needs `readLock`.
    private func enqueue(_ event: Event) {
        if callerIsReading && handoff == nil {
            handoff = event
        } else {
            changing { events.append(event) }
        }
    }

    private var hasEvents: Bool { locked { !events.isEmpty } }

    /// Whether waiting callers spin briefly before sleeping: only with a processor to spare,
    /// that is when this process may run on more than one (its affinity: a host pinned to one
    /// processor, by `taskset` or a container's cpuset, would otherwise spin away the time the
    /// interpreter needs to answer).
    private static let spinsBeforeSleeping = cbond_available_cpus() > 1
    /// How long a waiting caller spins, in nanoseconds.
    private static let spinNanoseconds: UInt64 = 50_000

    /// Reads what arrives within `spinNanoseconds`; returns whether anything was read. Needs `readLock`.
    private func spinForOutput() -> Bool {
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            let n = read(process.outputFD, readBuffer.baseAddress, readBuffer.count)
            if n > 0 {
                process(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                if n == readBuffer.count { readAvailableLocked() }  // a full buffer: more may wait
                return true
            }
            if n == 0 {
                outputEnded = true
                finishOutput()
                return true
            }
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return false }
        } while DispatchTime.now().uptimeNanoseconds - start < Self.spinNanoseconds
        return false
    }

    /// Whether the process has exited (or its output ended).
    var isClosed: Bool { locked { outputClosed } }

    /// The exit status (once known) and the last lines of standard error.
    var termination: (exit: BondExit, stderr: String) {
        locked {
            let text = String(decoding: errorTail, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(10)
            return (exitStatus ?? .unknown, lines.joined(separator: "\n"))
        }
    }

    /// Waits until the output has ended and the termination is known (status and the last
    /// of stderr), up to `deadline`. Returns whether it has.
    func waitUntilFinished(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !finished {
            if !condition.wait(until: deadline) { return finished }
        }
        return true
    }

    /// Waits until the process has been reaped, up to `deadline`. Returns whether it was.
    func waitForExit(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while exitStatus == nil {
            if !condition.wait(until: deadline) { return exitStatus != nil }
        }
        return true
    }

    // MARK: Sending

    /// Sends one frame line. Returns `false` if the interpreter's input is closed.
    func send(_ verb: String, _ payload: [UInt8]?) -> Bool {
        guard let payload else { return send(line: Array(verb.utf8) + [0x0A]) }
        guard payload.count > 1 << 16 else { return send(line: frameLine(verb) { $0.append(contentsOf: payload) }) }
        let head = Array((verb + " ").utf8)
        if log != nil { record(.sent, head + payload) }
        return writingBig { process.write(head, payload, [0x0A]) }
    }

    /// Sends a whole frame line, its end of line included, with one write.
    func send(line: [UInt8]) -> Bool {
        if log != nil { record(.sent, line.dropLast()) }
        guard line.count > 1 << 16 else { return process.write(line) }
        return writingBig { process.write(line) }
    }

    /// Writes a big frame. While it is written the interpreter may write too: the background
    /// reader drains its output meanwhile, so neither side can block the other.
    private func writingBig(_ write: () -> Bool) -> Bool {
        let callerWasReading = changing { () -> Bool in
            defer { callerReads = false }
            return callerReads
        }
        defer {
            if callerWasReading {
                locked { callerReads = true }
                wakeBackgroundReader()
            }
        }
        return write()
    }

    /// Sends a raw start-up line (probe, stage 1, stage 2).
    func sendRaw(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        record(.sent, bytes)
        return process.write(bytes + [0x0A])
    }

    // MARK: Reader threads

    private func wakeBackgroundReader() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// The background reader: reads while the bond starts or is idle, and parks while a
    /// conversation's calling thread reads for itself. Parked, it looks again after 1 ms, then
    /// after twice as long each time up to 50 ms: a stream of calls costs it a few wake-ups in
    /// all rather than two per call, and output that arrives while the bond is idle waits at most
    /// that long. Requests never wait for it.
    private func readInBackground() {
        var fds = [pollfd(fd: process.outputFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
        var scratch = [UInt8](repeating: 0, count: 64)
        while true {
            var pause = 0.001
            while locked({ callerReads && !outputClosed }) {
                parking.lock()
                _ = parking.wait(until: Date().addingTimeInterval(pause))
                parking.unlock()
                pause = min(pause * 2, 0.05)
            }
            let closed = locked { () -> Bool in
                backgroundPolling = !outputClosed
                return outputClosed
            }
            if closed { break }
            fds[0].revents = 0
            fds[1].revents = 0
            let polled = poll(&fds, 2, -1)
            locked { backgroundPolling = false }
            if polled < 0 && errno != EINTR { break }
            if fds[1].revents != 0 { while read(wake.read, &scratch, scratch.count) > 0 {} }
            if locked({ callerReads }) { continue }
            if fds[0].revents != 0 {
                readLock.lock()
                readAvailableLocked()
                readLock.unlock()
            }
        }
        readLock.lock()
        close(process.outputFD)
        readLock.unlock()
        close(wake.read)
        close(wake.write)
        readBuffer.deallocate()
    }

    /// Reads and decodes everything available now; handles the end of the output. Needs `readLock`.
    private func readAvailableLocked() {
        guard !outputEnded else { return }
        while true {
            let n = read(process.outputFD, readBuffer.baseAddress, readBuffer.count)
            if n > 0 {
                process(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                if n < readBuffer.count { return }
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if n < 0 && errno == EINTR { continue }
            outputEnded = true
            finishOutput()
            return
        }
    }

    /// Decodes one chunk of the interpreter's output. Needs `readLock`.
    private func process(_ chunk: UnsafeRawBufferPointer) {
        // `phase` changes only here, with `readLock` held: reading it needs no other lock.
        guard phase == .startup else {
            splitter.feed(chunk, emit: handle)
            return
        }
        var remainder: [UInt8]?
        condition.lock()
        startupOutput.append(contentsOf: chunk)
        if let start = readySearchStart, let end = Self.findReady(in: startupOutput, from: start) {
            remainder = Array(startupOutput[end...])
            startupOutput.removeSubrange(end...)
        } else {
            condition.broadcast()
        }
        condition.unlock()
        if log != nil {
            // Start-up noise reaches the log too (up to READY, line by line), before the
            // bond is declared ready so that it precedes every frame in the log.
            let noise = remainder.map { UnsafeRawBufferPointer(rebasing: chunk[..<max(0, chunk.count - $0.count)]) } ?? chunk
            startupLines.feed(noise) { if case .line(let line) = $0 { record(.received, line) } }
        }
        guard let remainder else { return }
        changing { phase = .ready }
        remainder.withUnsafeBytes { splitter.feed($0, emit: handle) }
    }

    /// The output ended: the interpreter (or its link) is gone. Needs `readLock`.
    private func finishOutput() {
        if !splitter.remainder.isEmpty {
            // A truncated last line is never a frame: show it as output.
            let tail = splitter.remainder
            record(.received, tail)
            deliver(.stdout, String(decoding: tail, as: UTF8.self) + "\n")
        }
        condition.lock()
        outputClosed = true
        condition.broadcast()
        // Give the reaper and the error reader a moment, so the error carries the status and stderr.
        let exitDeadline = Date().addingTimeInterval(1)
        while exitStatus == nil, condition.wait(until: exitDeadline) {}
        let errorDeadline = Date().addingTimeInterval(0.2)
        while !errorsClosed, condition.wait(until: errorDeadline) {}
        events.append(.closed)
        finished = true
        condition.broadcast()
        let handler = terminationHandler
        condition.unlock()
        parking.lock()
        parking.broadcast()
        parking.unlock()
        wakeBackgroundReader()
        handler?()
        stateChanged?(.terminated(termination.exit))
    }

    private static func findReady(in bytes: [UInt8], from start: Int) -> Int? {
        let marker = Array("READY".utf8)
        var i = start
        while i + marker.count < bytes.count {
            if bytes[i] == 0x52, Array(bytes[i..<i + marker.count]) == marker {
                var j = i + marker.count
                if j < bytes.count, bytes[j] == 0x0D { j += 1 }
                if j < bytes.count, bytes[j] == 0x0A { return j + 1 }
            }
            i += 1
        }
        return nil
    }

    private func handle(_ piece: LineSplitter.Piece) {
        switch piece {
        case .oversized(let size):
            record(.received, Array("<frame of \(size) bytes dropped: over the limit of \(maximumFrameBytes)>".utf8))
            enqueue(.oversized(size))
        case .line(let line):
            record(.received, line)
            guard let frame = FrameParser.parse(line) else {
                // [ext] Not a frame: stray output that bypassed the driver.
                deliver(.stdout, String(decoding: line, as: UTF8.self) + "\n")
                return
            }
            switch frame.verb {
            case .output:
                deliverOutputFrame(frame)
            case .reply, .except, .error:
                // A reply with no request waiting can only be stale: never let a later request take
                // it. (The calling thread reads only while its request waits.)
                if callerIsReading { return enqueue(.frame(frame)) }
                let waiting = changing { () -> Bool in
                    if depthValue > 0 { events.append(.frame(frame)) }
                    return depthValue > 0
                }
                if !waiting {
                    deliver(.stderr, "[bond: \(language) sent \(frame.verb.rawValue) with no request waiting; dropped]\n")
                }
            default:
                enqueue(.frame(frame))
            }
        }
    }

    private func deliverOutputFrame(_ frame: Frame) {
        guard case .value(let payload) = frame.content, case .array(let parts) = payload, parts.count == 2,
            case .string(let text) = parts[1]
        else {
            deliver(.stderr, "[bond: malformed OUTPUT frame from \(language)]\n")
            return
        }
        let channel = parts[0].stringValue.flatMap(BondOutputChannel.init(rawValue:)) ?? .stdout
        deliver(channel, text)
    }

    private func readErrors() {
        var decoder = UTF8ChunkDecoder()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let n = read(process.errorFD, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            let starting: Bool = changing {
                errorTail.append(contentsOf: chunk)
                if errorTail.count > Self.errorTailBytes * 2 {
                    errorTail.removeFirst(errorTail.count - Self.errorTailBytes)
                }
                if phase == .startup { startupErrors.append(contentsOf: chunk) }
                return phase == .startup
            }
            let text = decoder.decode(chunk)
            if !starting, !text.isEmpty { deliver(.stderr, text) }
        }
        close(process.errorFD)
        changing { errorsClosed = true }
    }

    // MARK: Output and traffic

    func deliver(_ channel: BondOutputChannel, _ text: String) {
        switch output {
        case .standard:
            let handle = channel == .stdout ? FileHandle.standardOutput : FileHandle.standardError
            handle.write(Data(text.utf8))
        case .discard:
            break
        case .handler(let handler):
            handler(channel, text)
        }
    }

    /// Logs one line; `depth` must be given by callers that hold the lock.
    private func record(_ direction: BondTraffic.Direction, _ line: some Collection<UInt8>, depth known: Int? = nil) {
        guard let log else { return }
        let traffic = BondTraffic(
            bond: name, direction: direction, time: Date(), line: String(decoding: line, as: UTF8.self),
            depth: max(1, known ?? depth))
        switch log {
        case .handler(let handler):
            handler(traffic)
        case .file(let handle):
            let stamp = String(format: "%.6f", traffic.time.timeIntervalSince1970)
            handle.write(Data("\(stamp) \(name) \(direction.rawValue) \(traffic.line)\n".utf8))
        }
    }
}

/// Decodes UTF-8 arriving in chunks, holding back a sequence cut at the end of a chunk.
struct UTF8ChunkDecoder {
    private var carry: [UInt8] = []

    mutating func decode(_ chunk: UnsafeRawBufferPointer) -> String {
        var bytes = carry
        bytes.append(contentsOf: chunk)
        var cut = bytes.count
        // Find the start of a trailing incomplete sequence (at most 3 bytes back).
        var back = 0
        while back < 3, cut - back - 1 >= 0 {
            let byte = bytes[cut - back - 1]
            if byte & 0xC0 == 0x80 { back += 1; continue }
            let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if needed > back + 1 { cut -= back + 1 }
            break
        }
        carry = Array(bytes[cut...])
        return String(decoding: bytes[..<cut], as: UTF8.self)
    }
}
