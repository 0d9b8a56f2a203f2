import Foundation

/// The live link to one interpreter: its process, the threads that read its output, and the
/// events waiting for the conversation to take them.
///
/// Its mutable state is one value, `ConnectionState`, behind one lock (`state`). The
/// interpreter's output is read by one thread at a time, whoever holds the `FrameReader`:
/// the background reader while the bond starts or is idle, the calling thread itself while
/// a conversation runs.
final class Connection: Sendable {
    enum Event: Sendable {
        case frame(ReceivedFrame)
        /// A frame longer than the limit was dropped; its length in bytes.
        case oversized(Int)
        /// The interpreter's output ended.
        case closed
    }

    let language: String
    let process: InterpreterProcess
    let delivery: OutputDelivery
    private let maximumFrameBytes: Int
    let stateChanged: (@Sendable (BondState) -> Void)?
    let state: ConditionLock<ConnectionState>
    /// Where the background reader sleeps during a conversation.
    private let parking = Parking()
    /// Wakes the background reader out of `poll`.
    private let wake: WakePipe

    init(
        language: String, name: String, process: InterpreterProcess, options: BondOptions, readsBlocks: Bool = false,
        stateChanged: (@Sendable (BondState) -> Void)?, streams: BondStreams = BondStreams()
    ) throws(SystemCallError) {
        self.language = language
        self.process = process
        self.delivery = OutputDelivery(
            bond: name, language: language, sink: options.output, log: options.log, streams: streams)
        self.maximumFrameBytes = options.maximumFrameBytes
        self.stateChanged = stateChanged
        self.wake = try WakePipe()
        let reader = FrameReader(fd: process.outputFD, maximumFrameBytes: options.maximumFrameBytes)
        reader.readsBlocks = readsBlocks
        self.state = ConditionLock(ConnectionState(reader: reader))
        startThread(name: "bond \(name) stdout") { [self] in readInBackground() }
        startThread(name: "bond \(name) stderr") { [self] in readErrors() }
        startThread(name: "bond \(name) reaper") { [self] in
            let status = process.waitForExit()
            state.changing { $0.reaped(status) }
        }
    }

    /// Called once when the output ends (the interpreter or its link is gone).
    func onTermination(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.terminationHandler = handler }
    }

    // MARK: Conversation depth

    /// The nesting depth of the conversation (0 when idle).
    var depth: Int { state.withLock { $0.depth } }

    /// A request begins; the first level also makes the calling thread the reader. Returns
    /// `false` (and begins nothing) if the output has ended.
    func enter() -> Bool {
        guard let (depth, wakeBackground) = state.withLock({ $0.beginRequest() }) ?? afterAsyncFace() else { return false }
        if wakeBackground { wake.wake() }
        stateChanged?(.busy(depth: depth))
        return true
    }

    /// Waits while the async face holds the conversation, then begins the request (`nil` if
    /// the output has ended).
    private func afterAsyncFace() -> (depth: Int, wakeBackground: Bool)? {
        state.wait(until: nil) { state -> (Int, Bool)?? in
            if state.isClosed { return .some(nil) }
            if state.asyncSink != nil { return nil }
            return .some(state.beginRequest())
        } ?? nil
    }

    /// A request ends. (No broadcast: the background reader resumes on its own, see
    /// `readInBackground`, so a stream of calls does not wake it twice per call.)
    func leave() {
        let (depth, dropped) = state.withLock { $0.endRequest() }
        if dropped > 0 {
            delivery.warn("\(language) sent \(dropped) reply frame(s) with no request waiting; dropped")
        }
        stateChanged?(depth == 0 ? .idle : .busy(depth: depth))
    }

    // MARK: Start-up

    /// Waits until the interpreter's output before READY matches `pattern` after `offset`.
    /// Returns the end of the match, or `nil` if the output ended or the deadline passed.
    func waitForStartupText(_ pattern: NSRegularExpression, after offset: Int, deadline: Date) -> Int? {
        state.wait(until: deadline) { state -> Int?? in
            if let end = state.startup.match(pattern, after: offset) { return end }
            return state.isClosed ? .some(nil) : nil
        } ?? nil
    }

    /// Tells the reader that `READY` may come after `offset`, before stage 2 is sent.
    func expectReady(after offset: Int) {
        state.withLock { $0.startup.expectReady(after: offset) }
    }

    /// Waits for `READY`. Returns `false` if the output ended or the deadline passed.
    func waitForReady(deadline: Date) -> Bool {
        state.wait(until: deadline) { state -> Bool? in
            state.isReady ? true : state.isClosed ? false : nil
        } ?? false
    }

    /// What the interpreter printed before READY, both channels, for start-up errors.
    var startupNoise: String { state.withLock { $0.startup.noise } }

    // MARK: Events

    /// What the caller does next in `nextEvent`.
    private enum Step {
        /// Take the event queued.
        case take
        /// Read for itself, with the reader taken.
        case read
        /// Wait for the background reader to queue an event.
        case waitForEvent
        /// Wait for the background reader to put the reader back.
        case waitForReader
    }

    /// The next event, or `nil` if `deadline` passes first. During a conversation the calling
    /// thread reads the interpreter's output itself.
    func nextEvent(deadline: Date?) -> Event? {
        while true {
            // Only the reader's holder queues events: seeing the queue empty and taking the
            // reader in one step, nothing can come in between. (The event and the reader come
            // out through locals, which a step with payloads would copy: it moves bond-bench's
            // call round trip.)
            var queued: Event?
            var taken: FrameReader?
            let step = state.withLock { state -> Step in
                queued = state.takeEvent()
                if queued != nil { return .take }
                if state.turn != .caller || state.isClosed { return .waitForEvent }
                taken = state.takeReader(for: .caller)
                return taken == nil ? .waitForReader : .read
            }
            switch step {
            case .take:
                return queued.take()
            case .waitForEvent:
                let woke = state.wait(until: deadline) { state -> Bool? in
                    state.hasEvents || (state.turn == .caller && !state.isClosed) ? true : nil
                }
                if woke == nil { return nil }
            case .waitForReader:
                state.withLock { $0.waitsForReader(true) }
                _ = state.wait(until: deadline) { state -> Bool? in
                    state.hasEvents || state.isClosed || state.turn != .caller || state.readerIsThere ? true : nil
                }
                state.withLock { $0.waitsForReader(false) }
            case .read:
                guard let reader = taken.take() else { continue }
                var handoff: Event?
                let arrival = readForCaller(reader, until: deadline, &handoff)
                if arrival == .ended { finishOutput(reader) }
                let wakeWaiter = state.withLock { $0.putBack(reader) }
                if wakeWaiter { state.broadcast() }
                if let event = handoff.take() { return event }
                if arrival == .timedOut, !state.withLock({ $0.hasEvents }) { return nil }
            }
        }
    }

    /// What a caller's read saw.
    private enum Arrival {
        /// Output was read (and routed).
        case read
        /// The output ended.
        case ended
        /// The deadline passed first.
        case timedOut
    }

    /// The calling thread reads for itself: waits for output until `deadline`, then routes
    /// everything available, the first event into `handoff`. (A loop over the reader's chunks
    /// rather than a closure it calls: see `FrameReader.awaitChunk`.)
    private func readForCaller(_ reader: FrameReader, until deadline: Date?, _ handoff: inout Event?) -> Arrival {
        guard var chunk = reader.awaitChunk(until: deadline) else { return .timedOut }
        while case .bytes(let bytes, let more) = chunk {
            consume(bytes, reader, for: .caller, &handoff)
            guard more else { return .read }
            chunk = reader.readChunk()
        }
        if case .ended = chunk { return .ended }
        return .read
    }

    /// Whether the process has exited (or its output ended).
    var isClosed: Bool { state.withLock { $0.isClosed } }

    /// The exit status (once known) and the last lines of standard error.
    var termination: (exit: BondExit, stderr: String) {
        state.withLock { ($0.exit ?? .unknown, $0.errorTail.lastLines) }
    }

    /// Waits until the output has ended and the termination is known (status and the last
    /// of stderr), up to `deadline`. Returns whether it has.
    func waitUntilFinished(deadline: Date) -> Bool {
        state.wait(until: deadline) { $0.lifecycle == .finished ? true : nil } ?? false
    }

    /// Waits until the process has been reaped, up to `deadline`. Returns whether it was.
    func waitForExit(deadline: Date) -> Bool {
        state.wait(until: deadline) { $0.exit != nil ? true : nil } ?? false
    }

    // MARK: Sending

    /// Sends one frame line. Returns `false` if the interpreter's input is closed.
    func send(_ verb: String, _ payload: [UInt8]?) -> Bool {
        guard let payload else { return send(line: Array(verb.utf8) + [0x0A]) }
        guard payload.count > 1 << 16 else { return send(line: BondFrameWriter.line(verb, payload: payload)) }
        let head = Array((verb + " ").utf8)
        if delivery.logs { delivery.record(.sent, head + payload, depth: depth) }
        return writingBig { process.write(head, payload, [0x0A]) }
    }

    /// Sends a whole frame line, its end of line included, with one write.
    func send(line: [UInt8]) -> Bool {
        if delivery.logs {
            // (A `RELEASE` notice may ride before the frame: each line is a record of its own.)
            for part in line.dropLast().split(separator: 0x0A) { delivery.record(.sent, part, depth: depth) }
        }
        guard line.count > 1 << 16 else { return process.write(line) }
        return writingBig { process.write(line) }
    }

    /// Sends a frame built earlier: its `RELEASE` and its blocks, if any, then its line (a
    /// small frame and its `RELEASE` in one write).
    func send(_ frame: OutgoingFrame) -> Bool {
        if frame.blocks.isEmpty {
            if frame.release.isEmpty { return send(line: frame.line) }
            if frame.line.count <= 1 << 16 { return send(line: frame.release + frame.line) }
        }
        if !frame.release.isEmpty, !send(line: frame.release) { return false }
        return frame.blocks.isEmpty ? send(line: frame.line) : send(blocks: frame.blocks, line: frame.line)
    }

    /// [ext] Sends raw `BYTES` blocks, then the frame line that refers to them (`BytesBlocks`):
    /// each block goes from its own buffer to the pipe, never copied into the line.
    func send(blocks: [[UInt8]], line: [UInt8]) -> Bool {
        writingBig {
            for block in blocks {
                let header = BytesBlocks.header(block.count)
                if delivery.logs { delivery.record(.sent, Array("BYTES \(block.count) <raw block>".utf8), depth: depth) }
                guard process.write(header, block, [0x0A]) else { return false }
            }
            if delivery.logs { delivery.record(.sent, line.dropLast(), depth: depth) }
            return process.write(line)
        }
    }

    /// Writes a big frame while the background reader drains the interpreter's output.
    private func writingBig(_ write: () -> Bool) -> Bool {
        let callerWasReading = state.changing { $0.beginBigWrite() }
        if !callerWasReading { parking.wakeAll() }  // ([async] the background reader drains meanwhile)
        defer {
            if callerWasReading {
                state.withLock { $0.endBigWrite() }
                wake.wake()
            }
        }
        return write()
    }

    /// Sends a raw start-up line (probe, stage 1, stage 2).
    func sendRaw(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        delivery.record(.sent, bytes, depth: 1)
        return process.write(bytes + [0x0A])
    }

    // MARK: Reading

    /// The background reader: reads while the bond starts or is idle, and parks while a
    /// conversation's calling thread reads for itself (or a task of the async face, briefly).
    /// Parked, it looks again after 1 ms, then after twice as long each time up to 50 ms: a
    /// stream of calls costs it a few wake-ups in all rather than two per call, and output that
    /// arrives while the bond is idle waits at most that long. Requests never wait for it.
    private func readInBackground() {
        var fds = [pollfd(fd: process.outputFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
        // Whether it pauses before it polls again: the last poll woke for output that a caller
        // or a task took, or what it read leaves nothing awaited (`pausesAfterReading`); it
        // pauses too while a task of the async face has just read the last reply itself
        // (`asyncTaskReadLast`). Speed trick: else, through a stream of async calls, each reply
        // woke it (one thread switch a call: 105 000 in 100 000 Ruby calls); whoever stops
        // reading with a reply still to come wakes it (`parking`). Whoever takes the reader
        // while it polls wakes it out of `poll` to park (`backgroundLooks` marks the poll in the
        // step that decides it): else each frame wakes it in vain inside `poll`.
        var pausesFirst = false
        while true {
            var pause = 0.001
            var step = pausesFirst ? .park : state.withLock { $0.backgroundLooks() }
            while step == .park {
                parking.sleep(pause)
                pause = min(pause * 2, 0.05)
                step = state.withLock { $0.backgroundLooks() }
            }
            pausesFirst = false
            if step == .stop { break }
            fds[0].revents = 0
            fds[1].revents = 0
            let polled = try? systemCall("poll") { Int(poll(&fds, 2, -1)) }
            state.withLock { $0.backgroundLeftPoll() }
            if polled == nil { break }
            if fds[1].revents != 0 { wake.drain() }
            guard fds[0].revents != 0 else { continue }
            guard let reader = state.withLock({ $0.takeReader(for: .background) }) else {
                pausesFirst = true
                continue
            }
            var unused: Event?
            if reader.readAvailable({ consume($0, reader, for: .background, &unused) }) { finishOutput(reader) }
            let (wakeWaiter, asyncSink) = state.withLock { ($0.putBack(reader), $0.asyncSink) }
            if wakeWaiter { state.broadcast() }
            if pausesAfterReading(for: asyncSink) { pausesFirst = true }
        }
        // The reader is closed once whoever holds it puts it back.
        state.withLock { $0.waitsForReader(true) }
        _ = state.wait(until: nil) { $0.takeReaderToClose() }
        wake.close()
    }

    /// [async] Whether the background reader, having read for the async face, pauses before it
    /// polls again: with a callback on top (it has just handed a `CALL` to a task of its own,
    /// say) the interpreter waits for the host's answer, and the task that sends it reads what
    /// comes next itself, or wakes this reader (`readBriefly`, `wakeBackgroundReader`), as after
    /// a `CALL` that a task caught. Speed trick: else it polled again at once, and the task had
    /// to wake it out of `poll` (a wake and a thread switch more each time the interpreter was
    /// too slow for a brief read: Ruby's garbage collections, several hundred in 100 000 callbacks).
    private func pausesAfterReading(for asyncSink: (any AsyncSink)?) -> Bool {
        guard let asyncSink, FrameReader.spinsBeforeSleeping else { return false }
        return !asyncSink.awaitsTheInterpreter()
    }

    /// [async] Speed trick: right after the async face sends a request, the sending task reads
    /// the interpreter's output itself for up to `FrameReader.spinNanoseconds` (as a blocking
    /// caller does), handing what it reads to the async face on its own thread, until `answered`
    /// says so: a fast reply then resumes the request before it suspends, with no wake-up of
    /// the background reader or of another thread (async call round trip: docs/performance.md).
    /// Does nothing if the background reader reads the whole time, or with no processor to spare.
    ///
    /// Meanwhile the background reader parks (`asyncTaskReads`), so that a stream of requests
    /// whose replies their tasks take does not wake it for each. When the read ends and
    /// `stillAwaited` says a reply or a `CALL` is still to come, it is woken to read it; else
    /// (the bond idle) it comes back within its parking time, as after a blocking conversation.
    func readBriefly(until answered: () -> Bool, stillAwaited: () -> Bool) {
        guard FrameReader.spinsBeforeSleeping else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        guard let reader = takeReaderBriefly(since: start, unless: answered) else { return }
        spinRead(with: reader, since: start, until: answered, stillAwaited: stillAwaited)
    }

    /// [async] `readBriefly`, the reader taken before `send` sends the frame (it returns
    /// whether to read after). Speed trick: no moment between the send and the read in which
    /// the background reader, woken by the answer, takes it (each answer woke it: async
    /// callbacks through PHP made 10 000 thread switches in 100 000; docs/performance.md).
    /// Otherwise the frame is sent first and `readBriefly` follows: a big frame (written while
    /// the background reader drains the output), no processor to spare (nothing is read then),
    /// or the reader held by another task reading briefly. (Sent and left in that last case,
    /// what the frame brings was read by nobody when that task's read ended first, having
    /// found nothing awaited, and the background reader parked: async callback blocks stalled
    /// 10 to 35 ms; docs/performance.md, "Stop 26".)
    func sendThenReadBriefly(small: Bool, _ send: () -> Bool, until answered: () -> Bool, stillAwaited: () -> Bool) {
        let start = DispatchTime.now().uptimeNanoseconds
        guard small, FrameReader.spinsBeforeSleeping, let reader = takeReaderBriefly(since: start, unless: { false }) else {
            if send() { readBriefly(until: answered, stillAwaited: stillAwaited) }
            return
        }
        guard send() else {
            let wakeWaiter = state.withLock { state in
                state.asyncTaskReads = false
                return state.putBack(reader)
            }
            if wakeWaiter { state.broadcast() }
            return
        }
        spinRead(with: reader, since: start, until: answered, stillAwaited: stillAwaited)
    }

    /// The spin of `readBriefly`, with the reader taken.
    private func spinRead(with reader: FrameReader, since start: UInt64, until answered: () -> Bool, stillAwaited: () -> Bool) {
        var unused: Event?
        var ended = false
        repeat {
            var read = false
            if reader.readAvailable({ read = true; consume($0, reader, for: .background, &unused) }) {
                ended = true
                break
            }
            if read, answered() { break }
        } while DispatchTime.now().uptimeNanoseconds - start < FrameReader.spinNanoseconds
        if ended { finishOutput(reader) }
        let awaited = stillAwaited()
        let wakeWaiter = state.withLock { state in
            state.asyncTaskReads = false
            state.asyncTaskReadLast = !awaited
            return state.putBack(reader)
        }
        if wakeWaiter { state.broadcast() }
        if awaited { parking.wakeAll() }
    }

    /// [async] The frame reader for `readBriefly`, waited for within its time while the
    /// background reader holds it: having resumed the request before, from inside its read, it
    /// still reads when the task sends the next one, and a request that gave up here would be
    /// answered through it again, and the next, and so on. Nil if `answered` says meanwhile
    /// that the background reader handed the reply over, or the time is up.
    ///
    /// Speed trick: a background reader sitting in `poll` is woken out of it (once), to park.
    /// Left there, each frame the interpreter writes woke it (the kernel wakes every poller of
    /// the pipe) to find the frame taken by the task, and it slept again inside the same `poll`:
    /// with the sleep, a preemption of the interpreter, whose write woke it onto its processor
    /// (thread switches in 100 000 of Ruby's async calls: 145 000, then 4 100; of its async
    /// callbacks: 9 500, then 4 500; docs/performance.md, "Ruby's async callbacks").
    private func takeReaderBriefly(since start: UInt64, unless answered: () -> Bool) -> FrameReader? {
        while true {
            if let (reader, wakeBackground) = state.withLock({ $0.beginTaskRead() }) {
                if wakeBackground { wake.wake() }
                return reader
            }
            if answered() || isClosed || DispatchTime.now().uptimeNanoseconds - start >= FrameReader.spinNanoseconds {
                return nil
            }
        }
    }

    /// [async] The background reader reads now if it was parked (a frame was sent that no
    /// task reads the answer of).
    func wakeBackgroundReader() { parking.wakeAll() }

    /// Who reads a chunk: a caller (who takes the first event from the hand-off slot) or the
    /// background reader.
    private typealias Recipient = ConnectionState.Reader

    /// Decodes one chunk of the interpreter's output. A caller reading for itself gets the
    /// first event in `handoff`.
    private func consume(
        _ chunk: UnsafeRawBufferPointer, _ reader: FrameReader, for recipient: Recipient, _ handoff: inout Event?
    ) {
        guard reader.awaitingReady else {
            reader.splitLines(chunk) { route($0, reader, recipient, &handoff) }
            return
        }
        let remainder = state.changing { $0.startup.takeOutput(chunk) }
        if delivery.logs {
            // Start-up noise reaches the log too (up to READY, line by line), before the
            // bond is declared ready so that it precedes every frame in the log.
            let noise = remainder.map { UnsafeRawBufferPointer(rebasing: chunk[..<max(0, chunk.count - $0.count)]) } ?? chunk
            reader.splitStartupLines(noise) { if case .line(let line) = $0 { delivery.record(.received, line, depth: 1) } }
        }
        guard let remainder else { return }
        state.changing { state in
            takeStartupErrors(&state)
            state.becomeReady()
        }
        reader.awaitingReady = false
        remainder.withUnsafeBytes { bytes in reader.splitLines(bytes) { route($0, reader, recipient, &handoff) } }
    }

    /// Queues an event for the conversation. Speed trick: a caller reading for itself gets the
    /// first one in the hand-off slot, with no lock, no wake-up and no queue (it moves
    /// bond-bench's call and callback round trips, docs/performance.md).
    private func enqueue(_ event: Event, _ recipient: Recipient, _ handoff: inout Event?) {
        if recipient == .caller && handoff == nil {
            handoff = event
        } else {
            if let asyncSink = state.changing({ $0.enqueue(event) }) { asyncSink.handle(event) }
        }
    }

    private func route(_ piece: LineSplitter.Piece, _ reader: FrameReader, _ recipient: Recipient, _ handoff: inout Event?) {
        switch piece {
        case .block(let block):
            if delivery.logs { delivery.record(.received, Array("BYTES \(block.count) <raw block>".utf8), depth: depth) }
            reader.blocks.append(block)
        case .oversized(let size):
            delivery.record(.received, Array("<frame of \(size) bytes dropped: over the limit of \(maximumFrameBytes)>".utf8), depth: depth)
            enqueue(.oversized(size), recipient, &handoff)
        case .line(let line):
            if delivery.logs { delivery.record(.received, line, depth: depth) }
            guard let frame = reader.blocks.isEmpty ? FrameParser.parse(line) : FrameParser.parse(line, blocks: &reader.blocks) else {
                // [ext] Not a frame: stray output that bypassed the driver.
                delivery.deliver(.stdout, String(decoding: line, as: UTF8.self) + "\n")
                return
            }
            switch frame.verb {
            case .output:
                deliverOutput(frame)
            case .reply, .except, .error:
                // A reply with no request waiting can only be stale: never let a later request take
                // it. (The calling thread reads only while its request waits.)
                if recipient == .caller { return enqueue(.frame(frame), recipient, &handoff) }
                switch state.changing({ $0.enqueueReply(.frame(frame)) }) {
                case .queued: break
                case .async(let asyncSink): asyncSink.handle(.frame(frame))
                case .dropped: delivery.warn("\(language) sent \(frame.verb.rawValue) with no request waiting; dropped")
                }
            default:
                enqueue(.frame(frame), recipient, &handoff)
            }
        }
    }

    private func deliverOutput(_ frame: ReceivedFrame) {
        guard case .value(let payload) = frame.content, case .array(let parts) = payload, parts.count == 2,
            case .string(let text) = parts[1]
        else {
            delivery.warn("malformed OUTPUT frame from \(language)")
            return
        }
        let channel = parts[0].stringValue.flatMap(BondOutputChannel.init(rawValue:)) ?? .stdout
        delivery.deliver(channel, text)
    }

    /// The output ended: the interpreter (or its link) is gone. Called by the reader's holder.
    private func finishOutput(_ reader: FrameReader) {
        let tail = reader.unterminatedTail
        if !tail.isEmpty {
            // A truncated last line is never a frame: show it as output.
            delivery.record(.received, tail, depth: depth)
            delivery.deliver(.stdout, String(decoding: tail, as: UTF8.self) + "\n")
        }
        state.changing { $0.outputEnds() }
        // Give the reaper and the error reader a moment, so the error carries the status and stderr.
        _ = state.wait(until: Date().addingTimeInterval(1)) { $0.exit != nil ? true : nil }
        _ = state.wait(until: Date().addingTimeInterval(0.2)) { $0.errorsEnded ? true : nil }
        let (handler, asyncSink) = state.changing { ($0.finish(), $0.asyncSink) }
        asyncSink?.handle(.closed)
        parking.wakeAll()
        wake.wake()
        handler?()
        stateChanged?(.terminated(termination.exit))
    }

    /// Reads the interpreter's stderr until it ends. Each read is made under the state's lock
    /// once `poll` says it will not wait, so that the start-up's last look at stderr
    /// (`takeStartupErrors`) and this reader never see the same moment differently.
    private func readErrors() {
        var decoder = UTF8ChunkDecoder()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { buffer.deallocate() }
        while Platform.waitReadable(process.errorFD) {
            let (count, startupNoise) = state.changing { state -> (Int, Bool) in
                guard case .processed(let n)? = try? systemCall("read", { read(process.errorFD, buffer.baseAddress, buffer.count) }),
                    n > 0
                else { return (0, true) }
                return (n, state.errorsGave(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
            }
            guard count > 0 else { break }
            let text = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if !startupNoise, !text.isEmpty { delivery.deliver(.stderr, text) }
        }
        state.changing { $0.errorsEnd() }
        close(process.errorFD)
    }

    /// What the interpreter wrote to stderr before `READY` (Python's `>>> ` prompts) is in
    /// the pipe by the time `READY` is read: it is taken here as start-up noise, under the
    /// lock the stderr reader reads under, before the bond is declared ready; else a slow
    /// stderr reader would show it as output after `READY`.
    private func takeStartupErrors(_ state: inout ConnectionState) {
        guard !state.errorsEnded else { return }
        var bytes = [UInt8](repeating: 0, count: 4096)
        while Platform.isReadable(process.errorFD) {
            let n = bytes.withUnsafeMutableBytes { buffer in
                (try? systemCall("read", { read(process.errorFD, buffer.baseAddress, buffer.count) })).flatMap {
                    if case .processed(let n) = $0 { n } else { nil }
                } ?? 0
            }
            guard n > 0 else { return }
            _ = bytes.withUnsafeBytes { state.errorsGave(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
