import Bond
import Foundation
import Testing

/// RELIABILITY.md, "Process life" and "Time": interrupts, kills, stubborn interpreters, ssh drops.
@Suite(.timeLimit(.minutes(3))) struct LifecycleTests {
    @Test(arguments: LanguageTests.cases)
    func interruptALongCallLocallyAndOverSSH(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        if place == .ssh { #expect(bond.remoteProcessID != nil) }
        after(0.7) { bond.interrupt() }
        let start = Date()
        let error = bondError { try bond.evalBlock(s.busyLoop) }
        guard case .remote(_, let message, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("KeyboardInterrupt") || message.contains("SIGINT"), "\(message)")
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(bond.state == .idle)
        #expect(try bond.eval("6 * 7") == 42)
    }

    @Test(arguments: CrossLanguageTests.all)
    func interruptWhileInsideACallbackIntoSwift(_ s: Snippets) throws {
        let (bond, _) = try makeBond(s.language)
        defer { bond.close() }
        try bond.export("slow") { _ in
            bond.interrupt()  // arrives while the interpreter waits for this callback
            Thread.sleep(forTimeInterval: 0.2)
            return 1
        }
        try bond.evalBlock(s.defineSpinAfterSlow)
        after(1.5) { bond.interrupt() }
        let error = bondError { _ = try bond.call("spin") }
        guard case .remote = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(bond.state == .idle)
        #expect(try bond.eval("1 + 1").intValue == 2)  // (2.0 in R)
    }

    /// A child forked by evaluated code returns from the request as the parent does: it must
    /// end there without a frame, its output going to the interpreter's stderr as plain text,
    /// and it may not call the host (it would read the driver's requests).
    @Test(arguments: ["PHP", "Perl", "Python", "Ruby"])
    func aForkedChildNeverSpeaksTheProtocol(_ language: String) throws {
        let (bond, collected) = try makeBond(language)
        defer { bond.close() }
        if language == "PHP", try bond.eval("function_exists('pcntl_fork')") != true { return }
        try bond.export("host_twice") { args in .int((args.first?.intValue ?? 0) * 2) }
        try bond.evalBlock(Self.forkers[language]!)
        for _ in 0..<3 {  // (PHP answers a function called again, and in a row, by shorter ways)
            #expect(try bond.call("forker", "call") == "parent")
        }
        for _ in 0..<2 {  // a child that throws must not answer either (in PHP, another way out)
            #expect(try bond.call("forker", "throw") == "parent")
        }
        #expect(try bond.eval("forker('eval')") == "parent")
        #expect(try bond.call("fork_and_call") == 42)
        #expect(try bond.eval("1 + 1") == 2)
        let deadline = Date().addingTimeInterval(5)
        while !collected.stderr.contains("child caught"), Date() < deadline { usleep(20_000) }
        #expect(collected.stderr.contains("child says call"))
        #expect(collected.stderr.contains("child says eval"))
        #expect(collected.stderr.contains("child says throw"))
        #expect(collected.stderr.contains("child caught: host_twice cannot be called from a child process"))
        #expect(!collected.stdout.contains("child"))
    }

    static let forkers = [
        "PHP": """
            function forker($how) {
                $pid = pcntl_fork();
                if ($pid === 0) { echo "child says $how\n"; if ($how === 'throw') { throw new Exception('child'); } return 'child'; }
                pcntl_waitpid($pid, $status);
                return 'parent';
            }
            function fork_and_call() {
                $pid = pcntl_fork();
                if ($pid === 0) {
                    try { host_twice(1); } catch (Exception $e) { echo "child caught: ", $e->getMessage(), "\n"; }
                    return 'child';
                }
                pcntl_waitpid($pid, $status);
                return host_twice(21);
            }
            """,
        "Perl": """
            sub forker { my $how = shift; my $pid = fork(); if ($pid == 0) { print "child says $how\n"; die "child\n" if $how eq 'throw'; return 'child'; } waitpid($pid, 0); return 'parent'; }
            sub fork_and_call {
                my $pid = fork();
                if ($pid == 0) { eval { host_twice(1) }; print "child caught: $@"; return 'child'; }
                waitpid($pid, 0);
                return host_twice(21);
            }
            """,
        "Ruby": """
            def forker(how)
              pid = fork
              if pid.nil?
                puts "child says #{how}"
                raise 'child' if how == 'throw'
                return 'child'
              end
              Process.waitpid(pid)
              'parent'
            end
            def fork_and_call
              pid = fork
              if pid.nil?
                begin
                  host_twice(1)
                rescue => e
                  puts "child caught: #{e.message}"
                end
                return 'child'
              end
              Process.waitpid(pid)
              host_twice(21)
            end
            """,
        "Python": """
            import os
            def forker(how):
                pid = os.fork()
                if pid == 0:
                    print("child says " + how)
                    if how == 'throw':
                        raise Exception('child')
                    return 'child'
                os.waitpid(pid, 0)
                return 'parent'
            def fork_and_call():
                pid = os.fork()
                if pid == 0:
                    try:
                        host_twice(1)
                    except Exception as e:
                        print("child caught: " + str(e))
                    return 'child'
                os.waitpid(pid, 0)
                return host_twice(21)
            """,
    ]

    @Test func killedDuringANestedCallbackFailsEveryLevelAtOnce() throws {
        for s in Snippets.engine {
            let (bond, _) = try makeBond(s.language)
            let pid = bond.processID
            try bond.export("die") { _ in
                kill(pid, SIGKILL)
                Thread.sleep(forTimeInterval: 0.3)
                return 1
            }
            let start = Date()
            let error = bondError { _ = try bond.eval("die()") }
            guard case .terminated(_, let exit, _) = error else { Issue.record("\(s.language): got \(String(describing: error))"); continue }
            #expect(exit == .signaled(SIGKILL))
            #expect(Date().timeIntervalSince(start) < 5)
            bond.close()
        }
    }

    @Test func idleKillIsSeenByTheNextCall() throws {
        let (bond, _) = try makeBond("Python")
        kill(bond.processID, SIGKILL)
        #expect(bondError { _ = try bond.eval("1") }.map { if case .terminated = $0 { true } else { false } } == true)
        bond.close()
    }

    @Test func stubbornInterpreterIsKilledAfterTheGracePeriods() throws {
        let (bond, _) = try makeBond("Python") { $0.closeGracePeriod = .milliseconds(300) }
        try bond.evalBlock("import signal\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n    signal.signal(s, signal.SIG_IGN)\nimport os\nos.system('sleep 1000 &')")
        let pid = bond.processID
        let start = Date()
        Thread.detachNewThread { _ = try? bond.evalBlock("while True:\n    pass\n") }
        Thread.sleep(forTimeInterval: 0.3)
        bond.close()
        let elapsed = Date().timeIntervalSince(start)
        #expect(!processExists(pid))
        #expect(elapsed < 5, "close took \(elapsed) s")
    }

    @Test(.enabled(if: testSSH != nil))
    func droppedSSHConnectionIsTerminatedAndLeavesNothingRemote() throws {
        for s in Snippets.engine {
            let (bond, _) = try makeBond(s.language, .ssh)
            let remote = try #require(bond.remoteProcessID)
            #expect(processExists(remote))  // the "remote" machine is this one
            let ssh = bond.processID
            after(0.5) { kill(ssh, SIGKILL) }
            let start = Date()
            let error = bondError { try bond.evalBlock(s.busyLoop) }
            guard case .terminated = error else { Issue.record("\(s.language): got \(String(describing: error))"); continue }
            #expect(Date().timeIntervalSince(start) < 5)
            let deadline = Date().addingTimeInterval(10)
            while processExists(remote), Date() < deadline { usleep(50_000) }
            #expect(!processExists(remote), "\(s.language): the remote interpreter is still running")
            bond.close()
        }
    }

    /// The other end goes: the sshd process that serves the connection dies (as when the
    /// remote machine's sshd is stopped or restarted with its sessions), idle and busy.
    @Test(.enabled(if: testSSH != nil))
    func serverSideDropIsTerminatedAndLeavesNothingRemote() throws {
        for s in CrossLanguageTests.all {
            for busy in [false, true] {
                let (bond, _) = try makeBond(s.language, .ssh) { $0.closeGracePeriod = .milliseconds(300) }
                let remote = try #require(bond.remoteProcessID)
                let server = try #require(parentProcess(of: remote))
                #expect(server.name == "sshd", "\(s.language): the remote interpreter's parent is \(server.name)")
                let start = Date()
                let error: BondError?
                if busy {
                    after(0.5) { kill(server.pid, SIGKILL) }
                    error = bondError { try bond.evalBlock(s.busyLoop) }
                } else {
                    kill(server.pid, SIGKILL)
                    Thread.sleep(forTimeInterval: 0.2)
                    error = bondError { _ = try bond.eval("1") }
                }
                guard case .terminated = error else {
                    Issue.record("\(s.language), busy \(busy): got \(String(describing: error))"); bond.close(); continue
                }
                #expect(Date().timeIntervalSince(start) < 5)
                bond.close()
                let deadline = Date().addingTimeInterval(10)
                while processExists(remote), Date() < deadline { usleep(50_000) }
                #expect(!processExists(remote), "\(s.language), busy \(busy): the remote interpreter is still running")
            }
        }
    }

    @Test(.enabled(if: testSSH != nil))
    func closingABusyRemoteBondLeavesNothingRemote() throws {
        let (bond, _) = try makeBond("Python", .ssh) { $0.closeGracePeriod = .milliseconds(300) }
        let remote = try #require(bond.remoteProcessID)
        Thread.detachNewThread { _ = try? bond.evalBlock("while True:\n    pass\n") }
        Thread.sleep(forTimeInterval: 0.3)
        bond.close()
        let deadline = Date().addingTimeInterval(10)
        while processExists(remote), Date() < deadline { usleep(50_000) }
        #expect(!processExists(remote))
    }
}

/// RELIABILITY.md 5: when the host process itself is killed, its interpreters see the end of
/// their input and exit on their own. The host here is this test binary, run again as a child.
@Suite(.timeLimit(.minutes(2))) struct HostDeathTests {
    static let childEnvironment = "BOND_TEST_HOST_CHILD_PIDFILE"

    /// Only runs inside the child: starts bonds, reports their pids, and waits to be killed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[childEnvironment] != nil))
    func childHostWaitingToBeKilled() throws {
        let path = ProcessInfo.processInfo.environment[Self.childEnvironment]!
        let bonds = try ["Python", "JavaScript", "Perl", "PHP", "Ruby", "R"].map { try Bond(language: $0, options: .with { $0.output = .discard }) }
        try bonds.map { String($0.processID) }.joined(separator: " ").write(toFile: path + ".tmp", atomically: true, encoding: .utf8)
        rename(path + ".tmp", path)
        Thread.sleep(forTimeInterval: 60)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment[childEnvironment] == nil))
    func interpretersExitWhenTheHostIsKilled() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("bond-host-\(getpid())").path
        // The child host: this test binary again, running only childHostWaitingToBeKilled.
        let argv = [CommandLine.arguments[0], "--testing-library", "swift-testing", "--filter", "childHostWaitingToBeKilled"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childEnvironment] = pidFile
        let env = environment.map { "\($0.key)=\($0.value)" }
        var cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var child: pid_t = 0
        #expect(posix_spawn(&child, cArgv[0]!, &actions, nil, &cArgv, &cEnv) == 0)
        posix_spawn_file_actions_destroy(&actions)
        defer { kill(child, SIGKILL); var status: Int32 = 0; waitpid(child, &status, 0); try? FileManager.default.removeItem(atPath: pidFile) }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: pidFile), Date() < deadline { usleep(20_000) }
        let pids = try String(contentsOfFile: pidFile, encoding: .utf8).split(separator: " ").compactMap { Int32($0) }
        #expect(pids.count == 6)
        #expect(pids.allSatisfy(processExists))
        kill(child, SIGKILL)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let gone = Date().addingTimeInterval(5)
        while pids.contains(where: processExists), Date() < gone { usleep(20_000) }
        #expect(!pids.contains(where: processExists), "interpreters left after the host died")
        for pid in pids where processExists(pid) { kill(pid, SIGKILL) }
    }
}

/// RELIABILITY.md 12: a driver that cannot start fails within the timeout, with the
/// interpreter's own words in the error.
@Suite(.timeLimit(.minutes(2))) struct BrokenDriverTests {
    /// A copy of the Python driver, changed by `edit`, in a folder of its own.
    func brokenPython(_ edit: (inout String, inout String) -> Void) throws -> URL {
        let source = DriverFolders.python
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bond-broken-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: dir.appendingPathComponent("Python"))
        let stage1 = dir.appendingPathComponent("Python/stage1.py"), stage2 = dir.appendingPathComponent("Python/stage2.py")
        var one = try String(contentsOf: stage1, encoding: .utf8), two = try String(contentsOf: stage2, encoding: .utf8)
        edit(&one, &two)
        try one.write(to: stage1, atomically: true, encoding: .utf8)
        try two.write(to: stage2, atomically: true, encoding: .utf8)
        return dir
    }

    func startFailure(_ dir: URL) -> (message: String, output: String, seconds: Double)? {
        let start = Date()
        let error = bondError {
            _ = try Bond(language: "Python", options: .with { $0.driverDirectories = [dir]; $0.timeout = .seconds(5) })
        }
        guard case .startup(_, let message, let output)? = error else { Issue.record("got \(String(describing: error))"); return nil }
        return (message, output, Date().timeIntervalSince(start))
    }

    @Test func syntaxErrorInTheDriver() throws {
        let dir = try brokenPython { _, two in two += "\ndef oops(:\n" }
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let failure = startFailure(dir) else { return }
        #expect(failure.output.contains("SyntaxError"), "\(failure.output)")
        #expect(failure.seconds < 10)
    }

    @Test func missingModuleInTheDriver() throws {
        let dir = try brokenPython { _, two in two = "import bond_module_that_does_not_exist\n" + two }
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let failure = startFailure(dir) else { return }
        #expect(failure.output.contains("bond_module_that_does_not_exist"), "\(failure.output)")
        #expect(failure.seconds < 10)
    }

    @Test func stageOneThatNeverAnswersTimesOut() throws {
        let dir = try brokenPython { one, _ in one = "import time; time.sleep(60)\n" }
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let failure = startFailure(dir) else { return }
        #expect(failure.message.contains("within 5 s"), "\(failure.message)")
        #expect(failure.seconds < 12)
    }
}

enum DriverFolders {
    /// Our own Python driver folder, in the source tree.
    static let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Resources/drivers/Python")
}
