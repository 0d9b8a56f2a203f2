#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBondSystem
import Foundation
import Synchronization

/// A child process in its own process group, with its three standard streams on pipes.
///
/// Owns the write end of the child's input; the read ends of its output are handed to
/// the reader threads, which close them at end of file.
final class InterpreterProcess: @unchecked Sendable {
    let pid: pid_t
    let outputFD: Int32
    let errorFD: Int32
    /// The write end of the child's input (-1 once closed), locked while a frame is written.
    private let input: Mutex<Int32>

    private init(pid: pid_t, inputFD: Int32, outputFD: Int32, errorFD: Int32) {
        self.pid = pid
        self.input = Mutex(inputFD)
        self.outputFD = outputFD
        self.errorFD = errorFD
    }

    deinit { closeInput() }

    /// Ignore SIGPIPE in this process once: a dead interpreter must give an error, not kill us.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Starts `argv` (the program is looked up in `PATH`). Fails at once if it cannot be executed.
    static func spawn(
        argv: [String], environment: [String: String]?, workingDirectory: String?
    ) throws(SpawnError) -> InterpreterProcess {
        _ = ignoreSIGPIPE
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        var error: [Int32] = [-1, -1]
        guard cbond_pipe_cloexec(&input) == 0 else { throw SpawnError(errno: errno, what: "pipe") }
        guard cbond_pipe_cloexec(&output) == 0 else {
            let e = errno
            close(input[0]); close(input[1])
            throw SpawnError(errno: e, what: "pipe")
        }
        guard cbond_pipe_cloexec(&error) == 0 else {
            let e = errno
            close(input[0]); close(input[1]); close(output[0]); close(output[1])
            throw SpawnError(errno: e, what: "pipe")
        }

        // Bigger pipes: a large payload crosses in fewer, larger steps (best effort).
        _ = cbond_set_pipe_size(input[1], 1 << 20)
        _ = cbond_set_pipe_size(output[1], 1 << 20)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, error[1], 2)
        if let workingDirectory {
            cbond_spawn_addchdir(&actions, workingDirectory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(
            &attributes, Int16(cbond_spawn_setsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))  // (a session: no terminal)

        let environmentLines = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = withCStrings(argv) { cArgv in
            withCStrings(environmentLines) { cEnv in
                posix_spawnp(&pid, cArgv[0]!, &actions, &attributes, cArgv, cEnv)
            }
        }
        close(input[0]); close(output[1]); close(error[1])
        guard status == 0 else {
            close(input[1]); close(output[0]); close(error[0])
            throw SpawnError(errno: status, what: argv[0])
        }
        return InterpreterProcess(pid: pid, inputFD: input[1], outputFD: output[0], errorFD: error[0])
    }

    /// Writes `line` to the interpreter's input. Returns `false` if the input is closed.
    func write(_ line: [UInt8]) -> Bool {
        input.withLock { inputFD in
        guard inputFD >= 0 else { return false }
        return line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(inputFD, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        }
    }

    /// Writes all of `parts`, in order and as one piece, to the interpreter's input (one
    /// `writev` when the pipe takes it all). Returns `false` if the input is closed.
    func write(_ parts: [UInt8]...) -> Bool {
        input.withLock { inputFD in
        guard inputFD >= 0 else { return false }
        var index = 0
        var offset = 0
        while index < parts.count {
            let written: Int = withIOVectors(parts, from: index, offset: offset) { vectors in
                writev(inputFD, vectors.baseAddress, Int32(vectors.count))
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            // Advance past what was written.
            var left = written
            while index < parts.count, left >= parts[index].count - offset {
                left -= parts[index].count - offset
                index += 1
                offset = 0
            }
            offset += left
        }
        return true
        }
    }

    /// Closes the interpreter's input: the driver sees end of file and leaves.
    func closeInput() {
        input.withLock { inputFD in
            if inputFD >= 0 {
                close(inputFD)
                inputFD = -1
            }
        }
    }

    /// Sends `signal` to the interpreter's whole process group.
    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// Whether any process of the group is still running (zombies aside).
    var groupExists: Bool {
        guard kill(-pid, 0) == 0 else { return false }
        // kill succeeds for zombies too: look for a live member.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let member = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(member)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 3, Int32(fields[2]) == pid, fields[0] != "Z" { return true }
        }
        return false
    }

    /// Blocks until the process exits and reaps it.
    func waitForExit() -> BondExit {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, 0)
            if r == pid { break }
            if r < 0 && errno == EINTR { continue }
            return .unknown
        }
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(status & 0x7f)
    }
}

struct SpawnError: Error, CustomStringConvertible {
    let errno: Int32
    let what: String
    var description: String { "\(what): \(String(cString: strerror(errno)))" }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return body(pointers)
}

/// Runs `body` on a new thread with a large stack (deeply nested JSON, user callbacks).
func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.name = name
    thread.stackSize = 8 << 20
    thread.start()
}

/// Calls `body` with I/O vectors over `parts`, starting at `offset` in part `index`.
private func withIOVectors<R>(_ parts: [[UInt8]], from index: Int, offset: Int, _ body: (UnsafeBufferPointer<iovec>) -> R) -> R {
    func build(_ i: Int, _ vectors: inout [iovec]) -> R {
        guard i < parts.count else { return vectors.withUnsafeBufferPointer(body) }
        return parts[i].withUnsafeBytes { raw in
            let skip = i == index ? offset : 0
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress.map { $0 + skip }), iov_len: raw.count - skip))
            return build(i + 1, &vectors)
        }
    }
    var vectors: [iovec] = []
    return build(index, &vectors)
}
