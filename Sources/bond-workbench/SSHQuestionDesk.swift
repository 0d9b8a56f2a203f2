import Foundation

/// The questions of ssh that wait for the user: a bond thread asks and waits; the UI loop
/// answers (or cancels) by the question's number. All state under one lock.
final class SSHQuestionDesk: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 1
    private var waiting: [Int: DispatchSemaphore] = [:]
    private var answers: [Int: String?] = [:]
    private var closed = false

    /// Posts the question (through `post`, with its number) and waits for its answer; nil when
    /// it is cancelled or the program quits.
    func ask(_ post: (Int) -> Void) -> String? {
        let semaphore = DispatchSemaphore(value: 0)
        let id: Int? = lock.withLock {
            guard !closed else { return nil }
            defer { next += 1 }
            waiting[next] = semaphore
            return next
        }
        guard let id else { return nil }
        post(id)
        semaphore.wait()
        return lock.withLock { answers.removeValue(forKey: id) ?? nil }
    }

    func answer(_ id: Int, with answer: String?) {
        let semaphore: DispatchSemaphore? = lock.withLock {
            guard let s = waiting.removeValue(forKey: id) else { return nil }
            answers[id] = .some(answer)
            return s
        }
        semaphore?.signal()
    }

    /// Every waiting question answered nil, and any later one at once (quitting).
    func cancelAll() {
        let all: [DispatchSemaphore] = lock.withLock {
            closed = true
            defer { waiting = [:] }
            return Array(waiting.values)
        }
        all.forEach { $0.signal() }
    }
}
