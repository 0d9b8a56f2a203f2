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
    /// The write end of the child's input (-1 once closed), locked while a frame is written
    /// (see `withInput`).
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
        let pipes: [(read: Int32, write: Int32)]
        do {
            pipes = try makePipes(3)
        } catch {
            throw SpawnError(errno: error.errno, what: "pipe")
        }
        let (input, output, error) = (pipes[0], pipes[1], pipes[2])

        // Bigger pipes: a large payload crosses in fewer, larger steps (best effort).
        Platform.growPipe(input.write, to: 1 << 20)
        Platform.growPipe(output.write, to: 1 << 20)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, error.write, 2)
        if let workingDirectory {
            Platform.addChangeDirectory(&actions, workingDirectory)
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
            &attributes, Platform.spawnNewSession | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))  // (a session: no terminal)

        let environmentLines = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = withCStrings(argv) { cArgv in
            withCStrings(environmentLines) { cEnv in
                posix_spawnp(&pid, cArgv[0]!, &actions, &attributes, cArgv, cEnv)
            }
        }
        closeAll(input.read, output.write, error.write)
        guard status == 0 else {
            closeAll(input.write, output.read, error.read)
            throw SpawnError(errno: status, what: argv[0])
        }
        return InterpreterProcess(pid: pid, inputFD: input.write, outputFD: output.read, errorFD: error.read)
    }

    /// Writes `line` to the interpreter's input. Returns `false` if the input is closed.
    func write(_ line: [UInt8]) -> Bool {
        withInput { inputFD in
            guard inputFD >= 0 else { return false }
            return line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let result = try? systemCall("write") { Glibc.write(inputFD, bytes.baseAddress! + offset, bytes.count - offset) }
                    guard case .processed(let written)? = result else { return false }
                    offset += written
                }
                return true
            }
        }
    }

    /// Writes all of `parts`, in order and as one piece, to the interpreter's input (one
    /// `writev` when the pipe takes it all). Returns `false` if the input is closed.
    func write(_ parts: [UInt8]...) -> Bool {
        withInput { inputFD in
            guard inputFD >= 0 else { return false }
            var index = 0
            var offset = 0
            while index < parts.count {
                let result = try? systemCall("writev") {
                    withIOVectors(parts, from: index, offset: offset) { vectors in
                        writev(inputFD, vectors.baseAddress, Int32(vectors.count))
                    }
                }
                guard case .processed(let written)? = result else { return false }
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

    /// Runs `body` with the input locked. (Frames are written from any task of the async face
    /// and the input closed from another thread, ordered by this lock only: ThreadSanitizer,
    /// which does not see `Mutex`'s futex, is told of it; a pthread lock instead cost about 35
    /// host instructions a call, docs/performance.md.)
    private func withInput<R>(_ body: (inout Int32) -> R) -> R {
        input.withLock { inputFD in
            let token = Unmanaged.passUnretained(self).toOpaque()
            cbond_tsan_acquire(token)
            defer { cbond_tsan_release(token) }
            return body(&inputFD)
        }
    }

    /// Closes the interpreter's input: the driver sees end of file and leaves.
    func closeInput() {
        withInput { inputFD in
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
    var groupExists: Bool { Platform.processGroupHasLiveMember(pid) }

    /// Blocks until the process exits and reaps it.
    func waitForExit() -> BondExit {
        var status: Int32 = 0
        guard case .processed(let reaped)? = try? systemCall("waitpid", { Int(waitpid(pid, &status, 0)) }), reaped == pid else {
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

/// `count` pipes, or none (those made are closed again) if one cannot be made.
private func makePipes(_ count: Int) throws(SystemCallError) -> [(read: Int32, write: Int32)] {
    var pipes: [(read: Int32, write: Int32)] = []
    do {
        for _ in 0..<count { pipes.append(try Platform.pipe()) }
    } catch {
        for pipe in pipes { closeAll(pipe.read, pipe.write) }
        throw error
    }
    return pipes
}

private func closeAll(_ fds: Int32...) {
    for fd in fds { close(fd) }
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
