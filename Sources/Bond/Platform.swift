#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CBondSystem
import Foundation

// Everything the engine asks of the operating system that is not plain POSIX lives here: the
// engine runs on Linux (glibc 2.29 or later, or musl), and a port starts in this file.

/// A system call that failed, with its `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let errno: Int32
    var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// What a system call on a file descriptor gave.
enum IOResult: Equatable {
    /// It did its work: the count it returned (0 from `read` is the end of the file).
    case processed(Int)
    /// A non-blocking descriptor had nothing to give, or no room to take.
    case wouldBlock
}

/// Runs a system call that returns -1 and sets `errno` on failure, as swift-nio's
/// `syscall(blocking:where:)` does: an interrupted call (EINTR) is made again, EAGAIN /
/// EWOULDBLOCK is `.wouldBlock`, any other failure is thrown.
@inline(__always)
func systemCall(_ name: @autoclosure () -> String, _ body: () -> Int) throws(SystemCallError) -> IOResult {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        switch errno {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        case let code: throw SystemCallError(call: name(), errno: code)
        }
    }
}

enum Platform {
    /// A pipe whose two ends are closed on exec (Linux's `pipe2`).
    static func pipe() throws(SystemCallError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard cbond_pipe_cloexec(&fds) == 0 else { throw SystemCallError(call: "pipe2", errno: errno) }
        return (fds[0], fds[1])
    }

    /// Asks for a pipe buffer of `bytes` (Linux's `F_SETPIPE_SZ`), so that a large payload
    /// crosses in fewer, larger steps. Best effort: the kernel may refuse.
    static func growPipe(_ fd: Int32, to bytes: Int32) {
        _ = cbond_set_pipe_size(fd, bytes)
    }

    /// Makes the child of `actions` start in `directory` (glibc's
    /// `posix_spawn_file_actions_addchdir_np`).
    static func addChangeDirectory(_ actions: inout posix_spawn_file_actions_t, _ directory: String) {
        _ = cbond_spawn_addchdir(&actions, directory)
    }

    /// The `posix_spawn` flag that starts the child in a session of its own (glibc's
    /// `POSIX_SPAWN_SETSID`): a process group of its own, and no controlling terminal.
    static let spawnNewSession = Int16(cbond_spawn_setsid)

    /// Waits until a read of `fd` will not wait (data, its end, or an error); false when `fd`
    /// cannot be polled.
    static func waitReadable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard case .processed? = try? systemCall("poll", { Int(poll(&entry, 1, -1)) }) else { return false }
        return entry.revents & Int16(POLLNVAL) == 0
    }

    /// Whether a read of `fd` would return at once with data or its end.
    static func isReadable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard case .processed(let n)? = try? systemCall("poll", { Int(poll(&entry, 1, 0)) }), n > 0 else { return false }
        return entry.revents & Int16(POLLIN) != 0
    }

    /// Makes reads and writes on `fd` return at once when they would wait.
    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// The processors this process may run on: its affinity mask (taskset, a container's
    /// cpuset), else the online ones.
    static let availableProcessors = Int(cbond_available_cpus())

    /// Whether a process of group `group` other than a zombie is alive (`kill(-group, 0)`
    /// succeeds for zombies too, so Linux's `/proc/<pid>/stat` says which are).
    static func processGroupHasLiveMember(_ group: pid_t) -> Bool {
        guard kill(-group, 0) == 0 else { return false }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let member = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(member)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 3, Int32(fields[2]) == group, fields[0] != "Z" { return true }
        }
        return false
    }
}

/// A pipe that wakes a thread out of `poll`: one end is polled, the other written to.
struct WakePipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws(SystemCallError) {
        (readEnd, writeEnd) = try Platform.pipe()
        Platform.setNonBlocking(readEnd)
        Platform.setNonBlocking(writeEnd)
    }

    /// Wakes the thread polling `readEnd` (a full pipe wakes it as well).
    func wake() {
        var byte: UInt8 = 1
        _ = try? systemCall("write") { Glibc.write(writeEnd, &byte, 1) }
    }

    /// Takes every wake-up written so far.
    func drain() {
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while case .processed(let n)? = try? systemCall("read", {
            withUnsafeMutableBytes(of: &scratch) { Glibc.read(readEnd, $0.baseAddress, $0.count) }
        }), n > 0 {}
    }

    func close() {
        _ = Glibc.close(readEnd)
        _ = Glibc.close(writeEnd)
    }
}

/// Waits until `fd` can be read, or `timeoutMilliseconds` pass (-1: no limit). Returns
/// whether it can.
func waitReadable(_ fd: Int32, timeoutMilliseconds: Int32) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let result = try? systemCall("poll") { Int(poll(&entry, 1, timeoutMilliseconds)) }
    if case .processed(let n)? = result { return n > 0 }
    return true  // a failed poll: let the read say what is wrong
}
