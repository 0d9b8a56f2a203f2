import CBondSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads lines as the engine waits for them: with a processor to spare, a non-blocking read
/// for up to 50 µs, then a sleep in `poll`; with one processor, the sleep at once. Used by
/// both sides of the bare pipe loops (the peer and the limit loop's driver), so that they
/// wait the same way as the engine and its drivers.
struct SpinningLineReader {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0    // where the next line starts
    private var scanned = 0  // bytes from `start` known to hold no end of line
    private var end = 0      // the end of what was read
    private var lineStart = 0  // where the last line returned starts
    private let spareProcessor = cbond_available_cpus() > 1

    /// Reads from `fd`, which it makes non-blocking.
    init(fd: Int32) {
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// The bytes of the last line returned by `nextLine`, `length` long (valid until the next call).
    func lastLine(length: Int) -> ArraySlice<UInt8> { buffer[lineStart..<lineStart + length] }

    /// The length of the next line (without its end), or `nil` at the end of input.
    mutating func nextLine() -> Int? {
        while true {
            if let newline = buffer[(start + scanned)..<end].firstIndex(of: 0x0A) {
                let length = newline - start
                lineStart = start
                start = newline + 1
                scanned = 0
                return length
            }
            scanned = end - start
            if start == end {
                start = 0
                end = 0
            } else if end == buffer.count {
                // A long line: keep its start, and make room (doubling, so linear in its size).
                buffer.replaceSubrange(0..<start, with: EmptyCollection())
                end -= start
                start = 0
                buffer.append(contentsOf: repeatElement(0, count: max(1 << 20, buffer.count)))
            }
            guard readSpinningFirst() else { return nil }
        }
    }

    private mutating func readSpinningFirst() -> Bool {
        let spinUntil = DispatchTime.now().uptimeNanoseconds + (spareProcessor ? 50_000 : 0)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, $0.count - end) }
            if n > 0 {
                end += n
                return true
            }
            if n == 0 || (errno != EAGAIN && errno != EINTR) { return false }
            if DispatchTime.now().uptimeNanoseconds > spinUntil {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, -1)
            }
        }
    }
}
