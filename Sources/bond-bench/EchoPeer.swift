import Bond
import CBondSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A peer that costs nothing: this program itself, started with `--echo-peer`, answers the
/// bond start-up (STAGE1, STAGE2, READY) and then every line with `RETURN 1`, waiting for
/// input the way the engine does. Measured against it, the engine's round trip shows what
/// the engine adds to a bare pipe round trip between the same two processes, with no
/// interpreter in the way.
enum EchoPeer {
    static let flag = "--echo-peer"

    /// The language name of the peer's driver.
    static let language = "EchoPeer"

    /// Serves standard input until it ends.
    static func serve() -> Never {
        _ = fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK)
        var reader = SpinningLineReader(fd: 0)
        var answered = 0
        while reader.nextLine() != nil {
            let answer: StaticString =
                switch answered {
                case 0: "STAGE1\n"
                case 1: "STAGE2\n"
                case 2: "READY\n"
                default: "RETURN 1\n"
                }
            answered += 1
            _ = write(1, answer.utf8Start, answer.utf8CodeUnitCount)
        }
        exit(0)
    }

    /// The command that starts the peer.
    static var command: [String] { [executablePath, flag] }

    /// A driver directory for the peer (a manifest and two stage files), made in a new
    /// temporary directory.
    static func makeDriverDirectory() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bond-bench-\(getpid())")
        let dir = root.appendingPathComponent(language)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let manifest: [String: Any] = [
            "lang": language, "command": [command], "proto": ["JSON"],
            "init": ["probe": "probe", "stage1": ["file": "stage1"], "stage2": ["file": "stage2"]],
        ]
        try JSONSerialization.data(withJSONObject: manifest).write(to: dir.appendingPathComponent("bond.json"))
        try Data("stage 1\n".utf8).write(to: dir.appendingPathComponent("stage1"))
        try Data("stage 2\n".utf8).write(to: dir.appendingPathComponent("stage2"))
        return root
    }

    private static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Reads lines from a non-blocking descriptor like the engine: a read for up to 50 µs, then a
/// sleep in `poll`.
struct SpinningLineReader {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0
    private var end = 0
    private let spareProcessor = cbond_available_cpus() > 1

    init(fd: Int32) { self.fd = fd }

    /// The length of the next line (without its end), or `nil` at the end of input.
    mutating func nextLine() -> Int? {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: 0x0A) {
                let length = newline - start
                start = newline + 1
                return length
            }
            if start == end {
                start = 0
                end = 0
            } else if end == buffer.count {
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
