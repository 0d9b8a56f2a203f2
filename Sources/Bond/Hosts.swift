import Foundation
import Synchronization

/// Where an interpreter runs, and how its process is reached there: this machine
/// (`LocalHost`) or another one through ssh (`SSHHost`). The bond asks its host, never
/// which kind it is: another kind (a container exec, a jump host) is one more type.
protocol InterpreterHost: Sendable {
    /// The remote machine, as the command names it (`nil` for this one).
    var remoteDestination: String? { get }
    /// The interpreter's process id on the remote machine, once known.
    var remoteProcessID: Int32? { get }

    /// Starts the interpreter's command: a process on this machine either way (for a remote
    /// host, the ssh client).
    func spawn(_ argv: [String], environment: [String: String]?, workingDirectory: String?)
        throws(SpawnError) -> InterpreterProcess

    /// The driver is ready: learns what the host needs from the interpreter (`evaluate` runs
    /// an expression in it).
    func started(driver: Driver, evaluate: (String) throws(BondError) -> BondValue) throws(BondError)

    /// Interrupts the request the interpreter is running (it raises its own interrupt error).
    func interrupt(_ process: InterpreterProcess)

    /// The interpreter did not end on end of input within `grace` seconds: asks it to end,
    /// where its process is out of reach of a signal to the local process group.
    func terminate(_ process: InterpreterProcess, grace: Double)

    /// The link to the interpreter died (the bond was not closed): kills the remote
    /// interpreter, as far as its machine can be reached, so that it does not linger.
    func killRemoteProcess()
}

/// An interpreter on this machine: every signal goes to its process group.
struct LocalHost: InterpreterHost {
    var remoteDestination: String? { nil }
    var remoteProcessID: Int32? { nil }

    func spawn(_ argv: [String], environment: [String: String]?, workingDirectory: String?)
        throws(SpawnError) -> InterpreterProcess
    {
        try InterpreterProcess.spawn(argv: argv, environment: environment, workingDirectory: workingDirectory)
    }

    func started(driver: Driver, evaluate: (String) throws(BondError) -> BondValue) throws(BondError) {}

    func interrupt(_ process: InterpreterProcess) { process.signalGroup(SIGINT) }

    func terminate(_ process: InterpreterProcess, grace: Double) {}  // the group's SIGTERM reaches it

    func killRemoteProcess() {}
}

/// An interpreter on another machine, through an ssh command line. Signals cannot cross ssh:
/// they are sent by a second ssh connection, with `kill`, to the interpreter's remote
/// process id (which the driver tells, see the manifest's `pid`).
final class SSHHost: InterpreterHost {
    /// The ssh command up to its destination (`ssh -F cfg host`), to run more commands there.
    let prefix: [String]
    let remoteDestination: String?
    private let pid = Mutex<Int32?>(nil)

    init(prefix: [String]) {
        self.prefix = prefix
        self.remoteDestination = prefix.last
    }

    var remoteProcessID: Int32? { pid.withLock { $0 } }

    func spawn(_ argv: [String], environment: [String: String]?, workingDirectory: String?)
        throws(SpawnError) -> InterpreterProcess
    {
        try InterpreterProcess.spawn(argv: argv, environment: environment, workingDirectory: workingDirectory)
    }

    func started(driver: Driver, evaluate: (String) throws(BondError) -> BondValue) throws(BondError) {
        guard let expression = driver.manifest.pid else { return }
        let value = try evaluate(expression).intValue.map(Int32.init)
        pid.withLock { $0 = value }
    }

    func interrupt(_ process: InterpreterProcess) {
        guard let pid = remoteProcessID else { return }
        run(["kill", "-INT", String(pid)])
    }

    func terminate(_ process: InterpreterProcess, grace: Double) {
        guard let pid = remoteProcessID else { return }
        run(["kill", "-TERM", String(pid), ";", "sleep", String(grace), ";", "kill", "-KILL", String(pid)],
            wait: grace * 2 + 5)
    }

    func killRemoteProcess() {
        guard let pid = remoteProcessID else { return }
        run(["kill", "-KILL", String(pid)])
    }

    /// Runs `command` on the remote machine, through a second ssh connection, without a local
    /// shell; waits up to `wait` seconds if given.
    private func run(_ command: [String], wait: Double? = nil) {
        guard let process = try? InterpreterProcess.spawn(argv: prefix + command, environment: nil, workingDirectory: nil)
        else { return }
        process.closeInput()
        let done = DispatchSemaphore(value: 0)
        startThread(name: "bond remote command") {
            _ = process.waitForExit()
            close(process.outputFD)
            close(process.errorFD)
            done.signal()
        }
        if let wait { _ = done.wait(timeout: .now() + wait) }
    }
}
