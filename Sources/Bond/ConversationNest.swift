import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How deep a bond's conversation runs in the conversations of its thread, for the traffic log
/// (`BondTraffic.nest`): a `CALL` served on a thread may make requests of other bonds, whose
/// own `CALL`s may come back, to any depth, all on that thread.
///
/// The thread keeps a count of what is open on it: requests waiting for their replies and
/// `CALL`s being served, of every bond that logs traffic. A bond's conversation level takes that
/// count when it begins (`enter`), and every line it logs carries it. Only bonds that log pay:
/// a thread-local read and write and an atomic store per request and per served `CALL`.
final class ConversationNest: Sendable {
    /// The count of the conversation level running now (0 when idle).
    private let level = Atomic<Int>(0)

    /// The count at the current level, read by whichever thread logs a line.
    var current: Int { level.load(ordering: .relaxed) }

    /// A request of this bond begins on the calling thread: its level takes the thread's count,
    /// which counts it from now on. Returns what `leave` restores.
    func enter() -> (level: Int, thread: Int) {
        let thread = Self.thread
        Self.thread = thread + 1
        return (level.exchange(thread, ordering: .relaxed), thread)
    }

    /// The async face's level, that of the request on top of its stack (see `AsyncNest`).
    func set(_ value: Int) { level.store(value, ordering: .relaxed) }

    /// The request ends: the level and the thread's count as they were before it.
    func leave(_ saved: (level: Int, thread: Int)) {
        level.store(saved.level, ordering: .relaxed)
        Self.thread = saved.thread
    }

    /// A `CALL` is served on this thread (the requests its function makes are nested in it).
    /// Returns what `endServing` restores.
    static func beginServing() -> Int {
        let count = thread
        thread = count + 1
        return count
    }

    static func endServing(_ saved: Int) { thread = saved }

    /// The count of the calling thread, in a thread-specific slot.
    private static var thread: Int {
        get { Int(bitPattern: pthread_getspecific(key)) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: newValue)) }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}
