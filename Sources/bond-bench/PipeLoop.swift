import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The physical limit: a minimal JSON echo loop written directly in the language, driven
/// over plain pipes by this process (read a line, decode it, encode it back, write a line).
struct PipeLoop {
    let process: Process
    let input: FileHandle
    let output: FileHandle
    private var buffer: [UInt8] = []
    /// Read into a buffer made once (a fresh 1 MiB buffer per call would keep the CPU busy
    /// while the interpreter answers, and flatter the loop).
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)

    static func program(for language: String) -> [String]? {
        switch language {
        case "Python":
            return ["python3", "-c", """
                import sys, json
                out = sys.stdout.buffer
                for line in sys.stdin.buffer:
                    out.write(json.dumps(json.loads(line), ensure_ascii=False).encode("utf-8") + b"\\n")
                    out.flush()
                """]
        case "JavaScript":
            return ["node", "-e", """
                const fs = require("fs"); let pending = []; const buf = Buffer.alloc(1 << 20);
                const input = fs.openSync("/dev/stdin", "r");  // blocking, as the driver reads
                for (;;) {
                  let last = pending[pending.length - 1], i = last ? last.indexOf(10) : -1;
                  if (i >= 0) {
                    const parts = pending.slice(0, -1); parts.push(last.subarray(0, i)); pending = [last.subarray(i + 1)];
                    const line = Buffer.concat(parts).toString("utf8");
                    fs.writeSync(1, JSON.stringify(JSON.parse(line)) + "\\n"); continue;
                  }
                  const n = fs.readSync(input, buf, 0, buf.length, null);
                  if (n <= 0) break; pending.push(Buffer.from(buf.subarray(0, n)));
                }
                """]
        case "Perl":
            return ["perl", "-e", """
                use JSON::PP; $| = 1; my $j = JSON::PP->new->utf8->allow_nonref;
                while (my $l = <STDIN>) { print $j->encode($j->decode($l)), "\\n"; }
                """]
        case "PHP":
            return ["php", "-r", """
                while (($l = fgets(STDIN)) !== false) { echo json_encode(json_decode($l), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\\n"; fflush(STDOUT); }
                """]
        default:
            return nil
        }
    }

    init?(language: String) {
        guard let argv = Self.program(for: language) else { return nil }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let inPipe = Pipe(), outPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        input = inPipe.fileHandleForWriting
        output = outPipe.fileHandleForReading
    }

    /// Sends one line and reads the answer line; returns its length.
    mutating func roundTrip(_ line: [UInt8]) -> Int {
        var data = line
        data.append(0x0A)
        // Write from another thread for big lines, so reading and writing overlap.
        if data.count > 1 << 16 {
            let handle = input
            let payload = data
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async { handle.write(Data(payload)); done.signal() }
            let n = readLine()
            done.wait()
            return n
        }
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(input.fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
        return readLine()
    }

    private mutating func readLine() -> Int {
        var scanned = 0
        while true {
            if let nl = buffer[scanned...].firstIndex(of: 0x0A) {
                buffer.removeSubrange(...nl)
                return nl
            }
            scanned = buffer.count
            let n = readSpinningFirst()
            if n <= 0 { return -1 }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Reads like the engine waits: a non-blocking read for up to 50 µs, then a sleep in
    /// `poll`, so that both sides of the comparison wait the same way.
    private mutating func readSpinningFirst() -> Int {
        let fd = output.fileDescriptor
        if !nonBlocking {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            nonBlocking = true
        }
        let start = DispatchTime.now().uptimeNanoseconds
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n >= 0 { return n }
            guard errno == EAGAIN || errno == EINTR else { return -1 }
            if DispatchTime.now().uptimeNanoseconds - start > 50_000 {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, -1)
            }
        }
    }

    private var nonBlocking = false

    func stop() {
        try? input.close()
        process.waitUntilExit()
    }
}
