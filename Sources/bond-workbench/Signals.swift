import CNcurses
import Foundation

/// Signals reach the loop as bytes on a pipe (the handler only writes one byte).
nonisolated(unsafe) var signalPipeWrite: Int32 = -1
/// Process groups of the interpreters, for the crash handler (a fixed C array, safe to read there).
nonisolated(unsafe) let childGroups = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
nonisolated(unsafe) var cursesActive: Int32 = 0
/// The handlers that were there before ours (the Swift runtime's backtracer), by signal number.
nonisolated(unsafe) let previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)

enum Signals {
    /// Installs the handlers before curses starts, so that ncurses keeps its hands off
    /// SIGWINCH, SIGTERM and SIGINT (it only catches signals left at their default).
    static func install() -> Int32 {
        childGroups.initialize(repeating: 0, count: 256)
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        signalPipeWrite = fds[1]
        for sig in [SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                var byte = UInt8(truncatingIfNeeded: sig)
                _ = write(signalPipeWrite, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
        signal(SIGPIPE, SIG_IGN)
        // A crash: give the terminal back and end the interpreters, then die as we would have.
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                if cursesActive != 0 {
                    cursesActive = 0
                    endwin()
                }
                for i in 0..<256 where childGroups[i] > 0 { kill(-childGroups[i], SIGKILL) }
                // Back to the previous handler; the fault happens again on return and reaches it.
                sigaction(sig, previousActions + Int(sig), nil)
                if sig == SIGABRT { raise(sig) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, previousActions + Int(sig))
        }
        return fds[0]
    }

    private static let lock = NSLock()

    static func remember(pid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        for i in 0..<256 where childGroups[i] == 0 || childGroups[i] == pid {
            childGroups[i] = pid
            return
        }
    }

    static func forget(pid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        for i in 0..<256 where childGroups[i] == pid { childGroups[i] = 0 }
    }

    static func killAll() {
        for i in 0..<256 where childGroups[i] > 0 { kill(-childGroups[i], SIGKILL) }
    }
}
