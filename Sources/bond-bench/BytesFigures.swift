import Bond
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// [ext] BYTES: a big byte string echoed through a bond, next to the limit (a minimal loop in
/// that language that reads and writes the same bytes raw over the same pipes) and to a string
/// of the same size through the same bond (JSON text, as bytes had to travel before).
struct BytesFigure: Codable {
    var language: String
    var mebibytes: Int
    var bytesSeconds: Double
    var limitSeconds: Double
    var stringSeconds: Double
    /// Bytes echo time over the raw loop's (target: at most 2).
    var ratio: Double { bytesSeconds / limitSeconds }
    /// String echo time over bytes echo time (target: at least 5).
    var speedup: Double { stringSeconds / bytesSeconds }

    /// The raw echo loop in each language: reads a line with a length, then that many bytes,
    /// and writes them back (blocking reads and writes, the whole block at once).
    static func rawLoop(for language: String) -> [String]? {
        switch language {
        case "Python":
            return ["python3", "-c", #"""
                import os, sys
                inp, out = sys.stdin.buffer, sys.stdout.buffer
                while True:
                    line = inp.readline()
                    if not line:
                        break
                    data = inp.read(int(line))
                    out.write(data)
                    out.flush()
                """#]
        case "JavaScript":
            return ["node", "-e", #"""
                const fs = require("fs");
                let pending = Buffer.alloc(0);
                const chunk = Buffer.alloc(1 << 20);
                function more() { const n = fs.readSync(0, chunk, 0, chunk.length, null); if (n <= 0) process.exit(0); pending = Buffer.concat([pending, chunk.subarray(0, n)]); }
                for (;;) {
                  let i; while ((i = pending.indexOf(10)) < 0) more();
                  const count = parseInt(pending.subarray(0, i).toString(), 10);
                  const data = Buffer.allocUnsafe(count);
                  let have = Math.min(count, pending.length - i - 1);
                  pending.copy(data, 0, i + 1, i + 1 + have);
                  pending = pending.subarray(i + 1 + have);
                  while (have < count) { const n = fs.readSync(0, data, have, count - have, null); if (n <= 0) process.exit(0); have += n; }
                  let off = 0; while (off < count) off += fs.writeSync(1, data, off, count - off);
                }
                """#]
        case "Perl":
            return ["perl", "-e", #"""
                binmode(STDIN); binmode(STDOUT);
                while (defined(my $line = <STDIN>)) {
                  my ($count, $data) = ($line + 0, '');
                  while (length($data) < $count) { read(STDIN, $data, $count - length($data), length($data)) or exit 0; }
                  my $off = 0; while ($off < $count) { $off += syswrite(STDOUT, $data, $count - $off, $off); }
                }
                """#]
        case "PHP":
            return ["php", "-r", #"""
                $in = fopen("php://stdin", "rb"); $out = fopen("php://stdout", "wb");
                while (($line = fgets($in)) !== false) {
                  $count = (int)$line; $data = "";
                  while (strlen($data) < $count) { $chunk = fread($in, $count - strlen($data)); if ($chunk === false || $chunk === "") exit(0); $data .= $chunk; }
                  for ($off = 0; $off < $count; $off += $n) { $n = fwrite($out, substr($data, $off)); if (!$n) exit(0); }
                  fflush($out);
                }
                """#]
        default:
            return nil
        }
    }

    /// Measures `mebibytes` through a bond of `language` and its raw loop, medians of `runs`.
    static func measure(_ language: String, mebibytes: Int, runs: Int) throws -> BytesFigure? {
        guard let argv = rawLoop(for: language), let loop = PipeLoop(command: argv) else { return nil }
        defer { loop.stop() }
        let bond = try Bond(language: language, options: .with { $0.timeout = nil })
        defer { bond.close() }
        let echo = ["Python": "lambda b: b", "JavaScript": "(b) => b", "Perl": "sub { $_[0] }", "PHP": "(fn($b) => $b)"][language]!
        var data = [UInt8](repeating: 0, count: mebibytes << 20)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        let bytes = BondValue.bytes(data)
        let text = String(repeating: "0123456789abcdef", count: (mebibytes << 20) / 16)
        _ = try bond.call(echo, BondValue.bytes([1]))  // (warm: the first call compiles the callable)
        let limit = median(runs) { () -> Double in
            let t = now()
            let n = rawRoundTrip(loop, data)
            precondition(n == data.count, "raw loop echoed \(n) bytes of \(data.count)")
            return now() - t
        }
        let engine = try medianThrowing(runs) { () throws -> Double in
            let t = now()
            let back = try bond.call(echo, bytes)
            precondition(back.bytesValue?.count == data.count)
            return now() - t
        }
        let string = try medianThrowing(runs) { () throws -> Double in
            let t = now()
            let back = try bond.call(echo, text)
            precondition(back.stringValue?.utf8.count == text.utf8.count)
            return now() - t
        }
        return BytesFigure(language: language, mebibytes: mebibytes, bytesSeconds: engine, limitSeconds: limit, stringSeconds: string)
    }

    /// Writes the length line and the bytes (from another thread) while reading the echo back.
    private static func rawRoundTrip(_ loop: PipeLoop, _ data: [UInt8]) -> Int {
        let fd = loop.input
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            writeAll(Array("\(data.count)\n".utf8), to: fd)
            writeAll(data, to: fd)
            done.signal()
        }
        var back = [UInt8](repeating: 0, count: data.count)
        var have = 0
        back.withUnsafeMutableBytes { buffer in
            while have < data.count {
                let n = read(loop.output, buffer.baseAddress! + have, data.count - have)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN { var p = pollfd(fd: loop.output, events: Int16(POLLIN), revents: 0); _ = poll(&p, 1, -1); continue }
                if n <= 0 { break }
                have += n
            }
        }
        done.wait()
        return have
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
    }

    static func table(_ figures: [BytesFigure]) -> String {
        func f(_ v: Double, _ digits: Int) -> String { v.isNaN ? "-" : String(format: "%.\(digits)f", v) }
        var lines = ["language    payload  bytes s  raw loop s  ratio  as a string s  string/bytes"]
        for b in figures {
            lines.append([
                b.language.padding(toLength: 10, withPad: " ", startingAt: 0), "\(b.mebibytes) MiB".leftPad(8),
                f(b.bytesSeconds, 3).leftPad(8), f(b.limitSeconds, 3).leftPad(11), f(b.ratio, 2).leftPad(6),
                f(b.stringSeconds, 3).leftPad(14), f(b.speedup, 1).leftPad(13),
            ].joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
