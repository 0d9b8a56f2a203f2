#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines with a size limit, copying only the lines that span
/// chunks (a line wholly within a chunk is handed out in place).
struct LineSplitter {
    let maximumLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = 0

    init(maximumLineBytes: Int) { self.maximumLineBytes = maximumLineBytes }

    enum Piece {
        /// A line, valid only during the call that hands it out.
        case line(UnsafeRawBufferPointer)
        /// A line longer than the limit was dropped; its length.
        case oversized(Int)
    }

    /// Feeds a chunk; calls `emit` for each complete line (without `\n` or `\r\n`).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (Piece) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            let rest = chunk.count - start
            guard let nl = memchr(base + start, 0x0A, rest) else {
                append(base + start, count: rest)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(nl))
            if pending.isEmpty && discarding == 0 && end - start <= maximumLineBytes {
                // the whole line is in this chunk: handed out in place
                let length = end > start && chunk[end - 1] == 0x0D ? end - start - 1 : end - start
                emit(.line(UnsafeRawBufferPointer(start: base + start, count: length)))
                start = end + 1
                continue
            }
            append(base + start, count: end - start)
            if discarding > 0 {
                emit(.oversized(discarding))
                discarding = 0
            } else {
                if pending.last == 0x0D { pending.removeLast() }
                pending.withUnsafeBytes { emit(.line($0)) }
            }
            // A small line's buffer serves the next one (no allocation per frame); a big one goes.
            if pending.capacity <= 1 << 16 { pending.removeAll(keepingCapacity: true) } else { pending = [] }
            start = end + 1
        }
    }

    /// The unterminated tail, if any (at end of file).
    var remainder: [UInt8] { pending }

    private mutating func append(_ pointer: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        if discarding > 0 { discarding += count; return }
        if pending.count + count > maximumLineBytes {
            discarding = pending.count + count
            pending = []
            return
        }
        pending.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
