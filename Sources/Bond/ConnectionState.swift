import DequeModule

/// [async] Where the async face has the connection's events go while it holds it (one object
/// for the bond's life: taking the connection allocates nothing).
protocol AsyncSink: AnyObject, Sendable {
    /// An event read by the connection's background reader (in order, on its thread).
    func handle(_ event: Connection.Event)
    /// The blocking face's conversation ended: the async face may take the connection again.
    /// Called with the connection's state locked.
    func connectionIdle()
    /// Whether a reply or a `CALL` is still to come from the interpreter (a request is on top).
    func awaitsTheInterpreter() -> Bool
}

/// Everything about a connection that changes, in one value behind one lock
/// (`Connection.state`). Each change is one of the methods below, named for what happens.
struct ConnectionState {
    /// Who reads the interpreter's output now.
    enum Turn: Equatable {
        /// The background reader: the bond starts, or is idle.
        case background
        /// The thread that made the request, for itself, while its conversation runs (a reply
        /// wakes it directly, with no hand-off between threads).
        case caller
        /// The background reader, while the caller writes a payload too big for the pipe (so
        /// that an interpreter writing at the same time can never block the writer).
        case backgroundDuringBigWrite
    }

    /// How far the end of the connection has come.
    enum Lifecycle: Equatable {
        case running
        /// The interpreter's output ended; its exit status and last stderr are awaited.
        case outputEnded
        /// The termination is known (or was waited for long enough): `.closed` is queued.
        case finished
    }

    private(set) var turn = Turn.background
    /// The frame reader, here while nobody reads (see `takeReader`).
    private var reader: FrameReader?
    /// Callers waiting for the reader to be put back.
    private var readerWaiters = 0
    /// Whether the background reader sits in `poll`, not yet woken to give up its turn.
    private var backgroundPolling = false
    /// [async] A task of the async face reads for itself (`Connection.readBriefly`): the
    /// background reader parks meanwhile, as through a blocking conversation, rather than
    /// being woken by every reply that task takes.
    var asyncTaskReads = false
    /// [async] A task read the last reply itself, and nothing more was awaited: the background
    /// reader pauses before it polls again (taken when it looks; see `Connection.readInBackground`).
    var asyncTaskReadLast = false
    /// Whether the driver has said `READY`.
    private(set) var isReady = false
    /// The conversation's nesting depth (0 when idle).
    private(set) var depth = 0
    /// Events read but not yet taken by the conversation.
    private var events = Deque<Connection.Event>()
    private(set) var lifecycle = Lifecycle.running
    private(set) var exit: BondExit?
    private(set) var errorsEnded = false
    var startup = StartupScanner()
    private(set) var errorTail = ErrorTail()
    var terminationHandler: (@Sendable () -> Void)?
    /// [async] Where the frames read go while the async face holds the conversation
    /// (`AsyncConversation`): the background reader reads, and hands each event to it.
    private(set) var asyncSink: (any AsyncSink)?
    /// [async] Async requests waiting for the blocking face's conversation to end.
    private var idleWaiters: [any AsyncSink] = []

    init(reader: FrameReader) { self.reader = reader }

    var isClosed: Bool { lifecycle != .running }
    var hasEvents: Bool { !events.isEmpty }

    // MARK: The conversation

    /// A request begins; the first level makes the caller the reader. Returns the new depth
    /// and whether the background reader must be woken out of `poll` to give up its turn,
    /// or `nil` (and nothing begins) once the output has ended.
    mutating func beginRequest() -> (depth: Int, wakeBackground: Bool)? {
        guard lifecycle == .running, asyncSink == nil else { return nil }
        depth += 1
        guard depth == 1 else { return (depth, false) }
        turn = .caller
        return (depth, wakesBackgroundOutOfPoll())
    }

    /// Whether the background reader sits in `poll` and must be woken out of it (with the
    /// wake pipe). True once per stay in `poll`: a reader woken but not yet running (no
    /// processor free) is not written to again at each request.
    private mutating func wakesBackgroundOutOfPoll() -> Bool {
        defer { backgroundPolling = false }
        return backgroundPolling
    }

    /// A request ends; the last level gives the reading back to the background reader and
    /// drops the replies still queued (they answer nothing). Returns the new depth and how
    /// many replies were dropped.
    mutating func endRequest() -> (depth: Int, droppedReplies: Int) {
        depth -= 1
        guard depth == 0 else { return (depth, 0) }
        turn = .background
        if !idleWaiters.isEmpty { wakeIdleWaiters() }
        let before = events.count
        if before > 0 {
            events.removeAll { event in
                if case .frame(let frame) = event { return frame.verb.isReply }
                return false
            }
        }
        return (0, before - events.count)
    }

    /// A payload too big for the pipe is about to be written: the background reader drains
    /// the interpreter's output meanwhile. Returns whether the caller was reading.
    mutating func beginBigWrite() -> Bool {
        guard turn == .caller else { return false }
        turn = .backgroundDuringBigWrite
        return true
    }

    /// The big payload is written: the caller reads again.
    mutating func endBigWrite() {
        if turn == .backgroundDuringBigWrite { turn = .caller }
    }

    // MARK: The async face

    /// What `beginAsync` found.
    enum AsyncClaim { case claimed, busy, closed }

    /// The async face takes the conversation (depth 1), its events going to `sink`; the
    /// background reader keeps reading. `.busy` while a blocking conversation runs (then
    /// `sink.connectionIdle()` is called once it ends).
    mutating func beginAsync(_ sink: any AsyncSink) -> AsyncClaim {
        guard lifecycle == .running else { return .closed }
        guard depth == 0 else {
            idleWaiters.append(sink)
            return .busy
        }
        asyncSink = sink
        depth = 1
        return .claimed
    }

    /// The async face's stack changed depth.
    mutating func asyncDepth(_ newDepth: Int) { if asyncSink != nil { depth = newDepth } }

    /// The async face lets the conversation go (a blocking request waiting may begin).
    mutating func endAsync() {
        guard asyncSink != nil else { return }
        asyncSink = nil
        depth = 0
    }

    private mutating func wakeIdleWaiters() {
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.connectionIdle() }
    }

    // MARK: Reading

    /// Who asks for the reader.
    enum Reader { case background, caller }

    /// Takes the frame reader for `who`, if it is there and it is `who`'s turn.
    mutating func takeReader(for who: Reader) -> FrameReader? {
        switch (who, turn) {
        case (.caller, .caller), (.background, .background), (.background, .backgroundDuringBigWrite):
            return reader.take()
        default:
            return nil
        }
    }

    /// Whether the frame reader is here (nobody reads).
    var readerIsThere: Bool { reader != nil }

    /// Takes the frame reader whoever's turn it is (the background reader, to close it).
    mutating func takeReaderToClose() -> FrameReader? { reader.take() }

    /// Puts the reader back. Returns whether a caller waits for it (and must be woken).
    mutating func putBack(_ taken: FrameReader) -> Bool {
        reader = taken
        return readerWaiters > 0
    }

    /// [async] A task of the async face takes the frame reader to read briefly for itself
    /// (`Connection.readBriefly`). Returns it, and whether the background reader sits in `poll`
    /// and must be woken out of it to park, as `beginRequest` does for a caller.
    mutating func beginTaskRead() -> (reader: FrameReader, wakeBackground: Bool)? {
        guard let taken = takeReader(for: .background) else { return nil }
        asyncTaskReads = true
        return (taken, wakesBackgroundOutOfPoll())
    }

    /// A caller begins or ends waiting for the reader.
    mutating func waitsForReader(_ waiting: Bool) { readerWaiters += waiting ? 1 : -1 }

    /// What the background reader does next (`backgroundLooks`).
    enum BackgroundStep { case park, poll, stop }

    /// The background reader looks what to do: it parks while a caller or a task of the async
    /// face reads for itself, or a task read the last reply itself (a mark taken as it looks);
    /// it stops once the output has ended; else it enters `poll`, marked in the same step, so
    /// that whoever takes the reader from now on knows to wake it out of `poll`.
    mutating func backgroundLooks() -> BackgroundStep {
        guard lifecycle == .running else { return .stop }
        defer { asyncTaskReadLast = false }
        if turn == .caller || asyncTaskReads || asyncTaskReadLast { return .park }
        backgroundPolling = true
        return .poll
    }

    /// The background reader left `poll`.
    mutating func backgroundLeftPoll() { backgroundPolling = false }

    /// An event read, for the conversation; while the async face holds it, its sink is
    /// returned instead (to be called without the lock).
    mutating func enqueue(_ event: Connection.Event) -> (any AsyncSink)? {
        if let asyncSink { return asyncSink }
        events.append(event)
        return nil
    }

    /// Where a reply read by the background reader goes.
    enum ReplyRoute { case queued, dropped, async(any AsyncSink) }

    /// A reply read by the background reader: queued if a request waits for it.
    mutating func enqueueReply(_ event: Connection.Event) -> ReplyRoute {
        if let asyncSink { return .async(asyncSink) }
        guard depth > 0 else { return .dropped }
        events.append(event)
        return .queued
    }

    /// The next event read, if any. `.closed` stays queued, so that every later wait sees it.
    mutating func takeEvent() -> Connection.Event? {
        guard let event = events.popFirst() else { return nil }
        if case .closed = event { events.append(.closed) }
        return event
    }

    // MARK: Start-up

    /// The driver said `READY`: frames follow.
    mutating func becomeReady() { isReady = true }

    // MARK: The end

    /// The interpreter's standard error gave `chunk`. Returns whether it is start-up noise
    /// (kept for a start-up error, not delivered).
    mutating func errorsGave(_ chunk: UnsafeRawBufferPointer) -> Bool {
        errorTail.append(chunk)
        if !isReady { startup.takeErrors(chunk) }
        return !isReady
    }

    /// The interpreter's standard error ended.
    mutating func errorsEnd() { errorsEnded = true }

    /// The process was reaped.
    mutating func reaped(_ status: BondExit) { exit = status }

    /// The interpreter's output ended.
    mutating func outputEnds() { lifecycle = .outputEnded }

    /// The termination is known (or waited for long enough): every waiting request learns
    /// it. Returns the termination handler, to be called once, without the lock.
    mutating func finish() -> (@Sendable () -> Void)? {
        events.append(.closed)
        lifecycle = .finished
        wakeIdleWaiters()
        defer { terminationHandler = nil }
        return terminationHandler
    }
}
