import Bond
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

    /// This program: as started when that names a file (so that under valgrind, whose
    /// /proc/self/exe is valgrind's own, the peer is still this program), else /proc/self/exe.
    private static var executablePath: String {
        let started = CommandLine.arguments[0]
        if started.contains("/") { return URL(fileURLWithPath: started).standardizedFileURL.path }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? started
    }
}
