#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads the interpreter's output and splits it into lines: it owns the read buffer, the
/// line splitter and the wait loop (the hand-off slot is the caller's: see
/// `Connection.nextEvent`).
///
/// Whoever reads holds it: it is taken out of the connection's state to read and put back
/// after (`ConnectionState.takeReader`), so that there is never more than one reader, and
/// nothing in it needs a lock.
final class FrameReader {
    /// The read end of the interpreter's standard output (non-blocking).
    let fd: Int32
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
    /// (At an address of its own, as `ConditionLock`'s value is: the splitter is changed while
    /// the lines it hands out are routed, which made each feed two run-time exclusivity checks.)
    private let splitter: UnsafeMutablePointer<LineSplitter>
    /// Start-up output split into lines for the traffic log, until `READY`.
    private var startupLines = LineSplitter(maximumLineBytes: 1 << 16)
    /// Whether the driver has yet to say `READY` (until then output is start-up noise).
    var awaitingReady = true
    /// Whether the output has ended (nothing is read after).
    private(set) var atEnd = false

    init(fd: Int32, maximumFrameBytes: Int) {
        self.fd = fd
        splitter = .allocate(capacity: 1)
        splitter.initialize(to: LineSplitter(maximumLineBytes: maximumFrameBytes))
        Platform.setNonBlocking(fd)
    }

    deinit {
        _ = close(fd)
        buffer.deallocate()
        splitter.deinitialize(count: 1)
        splitter.deallocate()
    }

    /// [ext] The raw blocks read for the next frame (`BytesBlocks`).
    var blocks: [[UInt8]] = []

    /// [ext] Whether `BYTES` blocks are read (the driver offers the extension).
    var readsBlocks: Bool {
        get { splitter.pointee.readsBlocks }
        set { splitter.pointee.readsBlocks = newValue }
    }

    /// Splits a chunk of frame output into lines.
    func splitLines(_ chunk: UnsafeRawBufferPointer, _ emit: (LineSplitter.Piece) -> Void) {
        splitter.pointee.feed(chunk, emit: emit)
    }

    /// Splits a chunk of start-up noise into lines (for the traffic log).
    func splitStartupLines(_ chunk: UnsafeRawBufferPointer, _ emit: (LineSplitter.Piece) -> Void) {
        startupLines.feed(chunk, emit: emit)
    }

    /// The last line, cut off by the end of the output (never a frame).
    var unterminatedTail: [UInt8] { splitter.pointee.remainder }

    /// Reads everything available now, handing each chunk to `take`. Returns whether the
    /// output ended here.
    func readAvailable(_ take: (UnsafeRawBufferPointer) -> Void) -> Bool {
        while true {
            switch readChunk() {
            case .bytes(let chunk, let more):
                take(chunk)
                if !more { return false }
            case .nothing:
                return false
            case .ended:
                return true
            }
        }
    }

    /// What one read gave.
    enum Chunk {
        /// Bytes read, valid until the next read; `more` when they filled the buffer (more
        /// may wait: read again with `readChunk`).
        case bytes(UnsafeRawBufferPointer, more: Bool)
        /// Nothing is there now.
        case nothing
        /// The output ended.
        case ended
    }

    /// Waits for output until `deadline` (`nil`: no limit), then reads one chunk; `nil` if the
    /// deadline passed first. Speed trick: it returns the chunk rather than handing it to a
    /// closure, so the caller's loop captures nothing (the closure retained the connection and
    /// the reader twice a read: bond-bench's zero-cost peer, 3 158 to 3 121 host instructions
    /// a call, 3 672 to 3 638 a callback, docs/performance.md).
    func awaitChunk(until deadline: Date?) -> Chunk? {
        if Self.spinsBeforeSleeping, let chunk = spin() { return chunk }
        let timeout = deadline.map { Int32(clamping: max(0, Int(($0.timeIntervalSinceNow * 1000).rounded(.up)))) } ?? -1
        guard waitReadable(fd, timeoutMilliseconds: timeout) else { return nil }
        return readChunk()
    }

    /// Reads one chunk of what is available now.
    func readChunk() -> Chunk {
        guard !atEnd else { return .nothing }
        switch try? systemCall("read", { read(fd, buffer.baseAddress, buffer.count) }) {
        case .processed(let n)? where n > 0:
            return .bytes(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), more: n == buffer.count)
        case .wouldBlock?:
            return .nothing
        default:  // the end of the file, or a read that failed: the output is gone either way
            atEnd = true
            return .ended
        }
    }

    // Speed trick: a fast interpreter answers within microseconds, and a sleep and a wake-up
    // across processors cost more than the round trip itself, so a waiting caller first looks
    // for the reply for a short while (only with a processor to spare: a host pinned to one
    // processor, by taskset or a container's cpuset, would spin away the time the interpreter
    // needs to answer). It moves bond-bench's call and callback round trips (docs/performance.md).
    static let spinsBeforeSleeping = Platform.availableProcessors > 1
    static let spinNanoseconds: UInt64 = 50_000

    /// Reads what arrives within `spinNanoseconds`; `nil` if nothing did.
    private func spin() -> Chunk? {
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            switch try? systemCall("read", { read(fd, buffer.baseAddress, buffer.count) }) {
            case .processed(let n)? where n > 0:
                return .bytes(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), more: n == buffer.count)
            case .wouldBlock?:
                continue
            case .processed?:
                atEnd = true
                return .ended
            case nil:
                return nil  // let poll and the next read say what is wrong
            }
        } while DispatchTime.now().uptimeNanoseconds - start < Self.spinNanoseconds
        return nil
    }
}
