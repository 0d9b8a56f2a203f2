import Foundation

/// The jobs of one generation of a pane (one start of its bond), run in order by one task.
/// Once the lane is finished it takes no more jobs; its task runs those already queued, then
/// ends and calls `ended`, so nothing is kept for a generation that is over.
final class JobLane: Sendable {
    typealias Job = @Sendable () async -> Void

    private let jobs: AsyncStream<Job>.Continuation

    init(ended: @escaping @Sendable () -> Void) {
        let (stream, jobs) = AsyncStream.makeStream(of: Job.self)
        self.jobs = jobs
        Task {
            for await job in stream { await job() }
            ended()
        }
    }

    /// Queues `job` after those already queued; false once the lane is finished (not queued).
    func submit(_ job: @escaping Job) -> Bool {
        if case .enqueued = jobs.yield(job) { return true }
        return false
    }

    /// No more jobs: the lane's task ends once the queued ones are done.
    func finish() { jobs.finish() }
}

/// Which panes a call through a wire waits for: a pane whose bond is starting, or whose
/// start-up block is queued and not yet on its bond's stack (a call sent before it would run
/// before the definitions it may need). Once the block's request is on the stack, a call goes
/// after it (the bond queues it) or, when the block itself calls out through a wire that calls
/// back, inside it as a nested request: so no call waits on the block it serves.
/// Owned by the executor's state (behind its lock).
struct PaneSettling {
    /// Starts not yet settled, per pane (see `Executor.settled(pane:)`).
    private var starting: [Int: Int] = [:]
    /// Start-up blocks queued and not yet on their bond's stack, per pane.
    private var startups: [Int: Int] = [:]
    /// The start-up jobs running, by ticket, until their request is seen on their bond's stack.
    private var running: [UInt64: (pane: Int, generation: Int)] = [:]
    private var nextTicket: UInt64 = 0
    /// Calls through wires waiting for a pane, by pane and waiter.
    private var waiters: [Int: [UInt64: CheckedContinuation<Void, Never>]] = [:]

    typealias Ready = [CheckedContinuation<Void, Never>]

    func isSettling(_ pane: Int) -> Bool { starting[pane] != nil || startups[pane] != nil }

    mutating func startBegins(_ pane: Int) { starting[pane, default: 0] += 1 }

    mutating func startSettled(_ pane: Int) -> Ready {
        starting[pane] = Self.decrement(starting[pane])
        return wake(pane)
    }

    /// A start-up block is queued; its ticket goes with its job.
    mutating func startupQueued(_ pane: Int) -> UInt64 {
        startups[pane, default: 0] += 1
        nextTicket += 1
        return nextTicket
    }

    /// The start-up job `ticket` begins: the next time its bond says busy, its request is on
    /// the bond's stack (nothing else is sent to the bond meanwhile: the pane's other jobs
    /// wait their turn in its lane, and calls through wires wait here).
    mutating func startupRuns(_ ticket: UInt64, pane: Int, generation: Int) { running[ticket] = (pane, generation) }

    /// Generation `generation` of the pane's bond says it is busy.
    mutating func bondBusy(_ pane: Int, generation: Int) -> Ready {
        let onStack = running.filter { $0.value.pane == pane && $0.value.generation == generation }.keys
        guard !onStack.isEmpty else { return [] }
        for ticket in onStack { leavesTheQueue(ticket) }
        return wake(pane)
    }

    /// The start-up job `ticket` ended (its request may never have been sent).
    mutating func startupEnded(_ ticket: UInt64, pane: Int) -> Ready {
        leavesTheQueue(ticket)
        return wake(pane)
    }

    /// The start-up block of `ticket` is on its bond's stack, or its job is over: calls need
    /// not wait for it any more.
    private mutating func leavesTheQueue(_ ticket: UInt64) {
        guard let (pane, _) = running.removeValue(forKey: ticket) else { return }
        startups[pane] = Self.decrement(startups[pane])
    }

    mutating func wait(_ pane: Int, _ id: UInt64, _ continuation: CheckedContinuation<Void, Never>) {
        waiters[pane, default: [:]][id] = continuation
    }

    /// The waiter `id`, taken out (its time is up, or its task was cancelled).
    mutating func stopWaiting(_ pane: Int, _ id: UInt64) -> CheckedContinuation<Void, Never>? {
        let continuation = waiters[pane]?.removeValue(forKey: id)
        if waiters[pane]?.isEmpty == true { waiters[pane] = nil }
        return continuation
    }

    /// Every waiter, taken out (quitting).
    mutating func wakeAll() -> Ready {
        defer { waiters = [:] }
        return waiters.values.flatMap(\.values)
    }

    private mutating func wake(_ pane: Int) -> Ready {
        guard !isSettling(pane), let ready = waiters.removeValue(forKey: pane) else { return [] }
        return Array(ready.values)
    }

    private static func decrement(_ count: Int?) -> Int? {
        let left = (count ?? 1) - 1
        return left > 0 ? left : nil
    }
}

/// A value reachable only under its lock. (An `NSLock` rather than a `Mutex`: on Linux a
/// contended `Mutex` hands over through the kernel, which ThreadSanitizer cannot see.)
final class Locked<Value: Sendable>: @unchecked Sendable {
    // (@unchecked: `value` is read and written only inside `withLock`, under `lock`.)
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
