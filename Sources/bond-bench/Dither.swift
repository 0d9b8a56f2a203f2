import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A short random pause before each round trip, so that requests reach the peer at random
/// moments of its waiting loop; the pauses are timed and taken off the figures.
///
/// Why: both sides wait for a line by reading a non-blocking pipe over and over, and each
/// read costs 0.25 µs (a C loop) to 0.4 µs (PHP's) here. Back to back, one side's request
/// lands at the same moment of the other's loop every time, so that each pair of processes
/// settles into a fixed lag of its own: the PHP limit loop took 1.69 µs a round trip that
/// way and 1.61 µs with the pauses, and a PHP driver made 0.13 µs faster per request was no
/// faster at all back to back (and 0.13 µs faster with the pauses). With them, each figure
/// is the average over every moment, and a saving shows as itself.
final class Dither: Sendable {
    /// The longest pause, in nanoseconds: longer than one read of any waiting loop here.
    static let maximumNanoseconds: UInt64 = 1000

    private let state = Atomic<UInt64>(0x9E37_79B9_7F4A_7C15)
    private let paused = Atomic<UInt64>(0)
    private let enabled = Atomic<Bool>(true)

    /// Whether `pause` pauses (it returns at once when not).
    var isEnabled: Bool {
        get { enabled.load(ordering: .relaxed) }
        set { enabled.store(newValue, ordering: .relaxed) }
    }

    /// Pauses for a random time below `maximumNanoseconds`, counted in `pausedSeconds`.
    func pause() {
        guard enabled.load(ordering: .relaxed) else { return }
        // xorshift64: the same sequence in every run, no lock (one thread pauses at a time)
        var x = state.load(ordering: .relaxed)
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        state.store(x, ordering: .relaxed)
        let start = Self.nanoseconds()
        let until = start + x % Self.maximumNanoseconds
        var now = start
        while now < until { now = Self.nanoseconds() }
        paused.add(now - start, ordering: .relaxed)
    }

    /// The time spent in pauses so far, in seconds.
    var pausedSeconds: Double { Double(paused.load(ordering: .relaxed)) / 1e9 }

    /// Runs `body`; returns the seconds it took, less the pauses made meanwhile.
    func timeWithoutPauses(_ body: () throws -> Void) rethrows -> Double {
        let paused0 = pausedSeconds
        let start = now()
        try body()
        return now() - start - (pausedSeconds - paused0)
    }

    private static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The pauses of every round trip timed.
let dither = Dither()
