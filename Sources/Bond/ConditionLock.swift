import Foundation

/// A value behind a lock, with a condition to wait for it to change. Every access goes
/// through `withLock` (or a wait), so the compiler sees that the value is never touched
/// without the lock.
final class ConditionLock<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    /// The value, at an address of its own rather than in a stored `var`: with the lock held,
    /// an access needs none of Swift's run-time exclusivity checks (they cost about 800
    /// host instructions a call when the connection's state was twenty variables).
    private let value: UnsafeMutablePointer<Value>

    init(_ initial: Value) {
        value = .allocate(capacity: 1)
        value.initialize(to: initial)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the value locked.
    @inline(__always)
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&value.pointee)
    }

    /// Runs `body` with the value locked, then wakes every thread waiting for a change.
    func changing<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&value.pointee)
    }

    /// Wakes every thread waiting for a change.
    func broadcast() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `body` gives a result, asking it again each time the value changes, or
    /// until `deadline` passes (`nil`: no limit); then `body` is asked once more. Runs with the
    /// value locked.
    func wait<R>(until deadline: Date?, for body: (inout Value) -> R?) -> R? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = body(&value.pointee) { return result }
            if let deadline {
                if !condition.wait(until: deadline) { return body(&value.pointee) }
            } else {
                condition.wait()
            }
        }
    }
}

/// Where a thread sleeps for a while, woken early by `wakeAll`: apart from the state's
/// condition, so that the changes a conversation makes (each a broadcast) do not wake it.
final class Parking: Sendable {
    /// Whether a wake came that no sleep has taken yet (a wake just before a sleep ends it).
    private let woken = ConditionLock(false)

    /// Sleeps up to `seconds`, or until `wakeAll` (or at once if one came since the last sleep).
    func sleep(_ seconds: Double) {
        _ = woken.wait(until: Date().addingTimeInterval(seconds)) { (woken: inout Bool) -> Bool? in
            guard woken else { return nil }
            woken = false
            return true
        }
    }

    func wakeAll() {
        woken.changing { $0 = true }
    }
}
