import Foundation
import Workbench

/// Messages from worker, reader and signal threads to the UI loop. Posting wakes the loop through
/// a pipe that it polls together with the terminal, so nothing waits on a timer.
final class MessageQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Message] = []
    /// Messages waiting per pane: a flood from one pane holds back only that pane's threads.
    private var waiting: [Int: Int] = [:]
    let readFD: Int32
    private let writeFD: Int32
    /// Above this many waiting messages of one pane, that pane's posting threads (never the UI
    /// thread) wait: a flooding interpreter is slowed down rather than memory growing.
    private let highWater = 5_000

    init() {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    func post(_ message: Message) {
        condition.lock()
        let pane = Self.pane(of: message)
        if let pane, !Thread.isMainThread {
            while waiting[pane, default: 0] >= highWater { condition.wait() }
        }
        if let pane { waiting[pane, default: 0] += 1 }
        let wasEmpty = items.isEmpty
        // Streamed output of one pane and channel arriving back to back becomes one message.
        if case .output(let pane, let gen, let channel, let text) = message,
           case .output(let p, let g, let c, let previous)? = items.last, p == pane, g == gen, c == channel,
           previous.utf8.count < 1 << 16 {
            items[items.count - 1] = .output(pane: pane, generation: gen, channel: channel, text: previous + text)
        } else {
            items.append(message)
        }
        condition.unlock()
        if wasEmpty {
            var byte: UInt8 = 1
            _ = write(writeFD, &byte, 1)
        }
    }

    private static func pane(of message: Message) -> Int? {
        switch message {
        case .output(let pane, _, _, _), .traffic(let pane, _, _), .state(let pane, _, _): pane
        default: nil
        }
    }

    /// Everything waiting, oldest first.
    func drain() -> [Message] {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(readFD, &buffer, buffer.count) > 0 {}
        condition.lock()
        let taken = items
        items.removeAll(keepingCapacity: true)
        waiting.removeAll(keepingCapacity: true)
        condition.broadcast()
        condition.unlock()
        return taken
    }
}
