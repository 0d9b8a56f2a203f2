import Bond
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A peer that costs nothing: this program itself, started with `--echo-peer`, answers the
/// bond start-up (STAGE1, STAGE2, READY) and then every line with `RETURN 1`, waiting for
/// input the way the engine does; but a call of `_bond_bench_loop` with a count n it answers
/// as a driver running that loop does: n calls of the host's `cb` (`CALL ["cb",[i]]`, each
/// waiting for its reply), then `RETURN null`. Measured against it, the engine's round trips
/// show what the engine adds to a bare pipe round trip between the same two processes, with
/// no interpreter in the way.
enum EchoPeer {
    static let flag = "--echo-peer"

    /// The language name of the peer's driver.
    static let language = "EchoPeer"

    /// Serves standard input until it ends.
    static func serve() -> Never {
        var reader = SpinningLineReader(fd: 0)
        var answered = 0
        while let length = reader.nextLine() {
            if answered >= 3, let count = loopCount(reader.lastLine(length: length)) {
                var call: [UInt8] = []
                for i in 0..<count {
                    call.removeAll(keepingCapacity: true)
                    call.append(contentsOf: "CALL [\"cb\",[".utf8)
                    call.append(contentsOf: String(i).utf8)  // (a small string: no allocation)
                    call.append(contentsOf: "]]\n".utf8)
                    _ = write(1, call, call.count)
                    guard reader.nextLine() != nil else { exit(0) }
                }
                send("RETURN null\n")
                continue
            }
            send(answered == 0 ? "STAGE1\n" : answered == 1 ? "STAGE2\n" : answered == 2 ? "READY\n" : "RETURN 1\n")
            answered += 1
        }
        exit(0)
    }

    private static func send(_ line: StaticString) {
        _ = write(1, line.utf8Start, line.utf8CodeUnitCount)
    }

    /// n, when `line` is `CALL ["_bond_bench_loop",[n]]`.
    private static func loopCount(_ line: ArraySlice<UInt8>) -> Int? {
        let head = Array("CALL [\"_bond_bench_loop\",[".utf8)
        guard line.starts(with: head), line.last == UInt8(ascii: "]") else { return nil }
        return Int(String(decoding: line.dropFirst(head.count).dropLast(2), as: UTF8.self))
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

    /// This program: as started when that names a file (so that under valgrind, whose
    /// /proc/self/exe is valgrind's own, the peer is still this program), else /proc/self/exe.
    private static var executablePath: String {
        let started = CommandLine.arguments[0]
        if started.contains("/") { return URL(fileURLWithPath: started).standardizedFileURL.path }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? started
    }
}
