#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines with a size limit, copying only the lines that span
/// chunks (a line wholly within a chunk is handed out in place).
struct LineSplitter {
    let maximumLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = 0
    /// [ext] Whether a `BYTES <length>` line starts a raw block (`BytesBlocks`): only with a
    /// driver that offers the extension.
    var readsBlocks = false
    /// The raw block being read, and how many of its bytes (its final `\n` included) are to come.
    private var block: [UInt8] = []
    private var blockRemaining = 0
    private var blockIsOversized = false
    private var blockSize = 0

    init(maximumLineBytes: Int) { self.maximumLineBytes = maximumLineBytes }

    enum Piece {
        /// A line, valid only during the call that hands it out.
        case line(UnsafeRawBufferPointer)
        /// A line longer than the limit was dropped; its length.
        case oversized(Int)
        /// [ext] A raw block of bytes (`BytesBlocks`), for the frame that follows.
        case block([UInt8])
    }

    /// Feeds a chunk; calls `emit` for each complete line (without `\n` or `\r\n`).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (Piece) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            if blockRemaining > 0 {
                start += takeBlock(UnsafeRawBufferPointer(rebasing: chunk[start...]), emit: emit)
                continue
            }
            let rest = chunk.count - start
            guard let nl = memchr(base + start, 0x0A, rest) else {
                append(base + start, count: rest)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(nl))
            if pending.isEmpty && discarding == 0 && end - start <= maximumLineBytes {
                // the whole line is in this chunk: handed out in place
                let length = end > start && chunk[end - 1] == 0x0D ? end - start - 1 : end - start
                let line = UnsafeRawBufferPointer(start: base + start, count: length)
                if readsBlocks, let size = BytesBlocks.length(inHeader: line) {
                    startBlock(size)
                } else {
                    emit(.line(line))
                }
                start = end + 1
                continue
            }
            append(base + start, count: end - start)
            if discarding > 0 {
                emit(.oversized(discarding))
                discarding = 0
            } else {
                if pending.last == 0x0D { pending.removeLast() }
                if readsBlocks, let size = pending.withUnsafeBytes({ BytesBlocks.length(inHeader: $0) }) {
                    startBlock(size)
                } else {
                    pending.withUnsafeBytes { emit(.line($0)) }
                }
            }
            // A small line's buffer serves the next one (no allocation per frame); a big one goes.
            if pending.capacity <= 1 << 16 { pending.removeAll(keepingCapacity: true) } else { pending = [] }
            start = end + 1
        }
    }

    /// A block of `size` bytes begins (its `\n` after it).
    private mutating func startBlock(_ size: Int) {
        blockRemaining = size + 1
        blockSize = size
        blockIsOversized = size > maximumLineBytes
        block = []
        if !blockIsOversized { block.reserveCapacity(size + 1) }
    }

    /// Takes what `bytes` holds of the block being read; returns how many bytes it took.
    private mutating func takeBlock(_ bytes: UnsafeRawBufferPointer, emit: (Piece) -> Void) -> Int {
        let count = min(blockRemaining, bytes.count)
        if !blockIsOversized { block.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[..<count])) }
        blockRemaining -= count
        if blockRemaining == 0 {
            if blockIsOversized {
                emit(.oversized(blockSize))
            } else {
                block.removeLast()  // its "\n"
                emit(.block(block))
            }
            block = []
        }
        return count
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
