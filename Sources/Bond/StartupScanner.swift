import Foundation

/// What the interpreter printed before the driver said `READY`: the start-up handshake is
/// matched against it (the prompt, `STAGE1`, `STAGE2`), and a failed start shows it.
struct StartupScanner {
    private var output: [UInt8] = []
    private var errors: [UInt8] = []
    /// Where `READY` may start, once stage 2 is about to be sent.
    private var readySearchStart: Int?

    /// The end of the first match of `pattern` in the output after `offset`, if any.
    func match(_ pattern: NSRegularExpression, after offset: Int) -> Int? {
        guard output.count > offset else { return nil }
        let text = String(decoding: output[offset...], as: UTF8.self)
        guard let match = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range, in: text)
        else { return nil }
        return offset + text[..<range.upperBound].utf8.count
    }

    /// `READY` may come after `offset`.
    mutating func expectReady(after offset: Int) {
        readySearchStart = offset
    }

    /// Takes a chunk of output. Returns what follows `READY` (the first frames) once it has
    /// come, else `nil`.
    mutating func takeOutput(_ chunk: UnsafeRawBufferPointer) -> [UInt8]? {
        output.append(contentsOf: chunk)
        guard let start = readySearchStart, let end = Self.findReady(in: output, from: start) else { return nil }
        let remainder = Array(output[end...])
        output.removeSubrange(end...)
        return remainder
    }

    mutating func takeErrors(_ chunk: UnsafeRawBufferPointer) {
        errors.append(contentsOf: chunk)
    }

    /// Both channels, for the message of a failed start.
    var noise: String {
        let out = String(decoding: output, as: UTF8.self).trimmingWhitespace()
        let err = String(decoding: errors, as: UTF8.self).trimmingWhitespace()
        return [out, err].filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// The end of the `READY` line (`READY\n` or `READY\r\n`) at or after `start`.
    private static func findReady(in bytes: [UInt8], from start: Int) -> Int? {
        let marker = Array("READY".utf8)
        var i = start
        while i + marker.count < bytes.count {
            if bytes[i] == 0x52, Array(bytes[i..<i + marker.count]) == marker {
                var j = i + marker.count
                if j < bytes.count, bytes[j] == 0x0D { j += 1 }
                if j < bytes.count, bytes[j] == 0x0A { return j + 1 }
            }
            i += 1
        }
        return nil
    }
}
