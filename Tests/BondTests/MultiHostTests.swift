@testable import Bond
import Foundation
import Testing

extension TestHostTests {
    /// Dead links and dead hosts: a partition during a call and while idle, a host killed
    /// during a call; the other hosts go on, and the host comes back.
    @Suite(.timeLimit(.minutes(3)), .enabled(if: TestHosts.breakable, Comment(rawValue: TestHosts.notRoot)))
    struct DeadHostTests {
        private func makeGroup(states: Collected? = nil) throws -> BondGroup {
            let group = try BondGroup(
                language: "Python", hosts: TestHosts.names, command: { TestHosts.command($0) }, options: TestHosts.options(),
                stateChanged: { host, state in
                    if case .terminated = state { states?.add(.stdout, "\(host) terminated\n") }
                })
            try group.evalBlock("import socket, time\ndef slow(s):\n    time.sleep(s)\n    return socket.gethostname()\n")
            return group
        }

        /// The other hosts answer, `host` gives why it is down (`.terminated`, or `.startup`
        /// after a restart that failed); then it comes back.
        private func expectTheOthersGoOnAndHostComesBack(_ group: BondGroup, _ host: String) throws {
            let answers = group.call("slow", 0)
            for other in TestHosts.names where other != host { #expect(try answers[other]?.get() == .string(other)) }
            switch answers[host] {
            case .failure(.terminated)?, .failure(.startup)?: break
            default:
                Issue.record("\(host): \(String(describing: answers[host]))")
                return
            }
            #expect(group.liveHosts == TestHosts.names.filter { $0 != host })
            try group.restart(host: host)
            #expect(try group.call("slow", 0)[host]?.get() == .string(host))
        }

        @Test func aPartitionDuringACallIsSeenWithinSeconds() throws {
            let group = try makeGroup()
            defer { group.close() }
            let h2 = try #require(group["h2"])
            after(1) { TestHosts.script("partition", "h2") }
            defer { TestHosts.script("heal", "h2") }
            let started = Date()
            let error = bondError { try h2.call("slow", 30) }
            let seen = Date().timeIntervalSince(started)
            guard case .terminated? = error else {
                Issue.record("not terminated: \(String(describing: error))")
                return
            }
            // Keep-alives every second, two unanswered: about 3 s after the partition.
            #expect(seen < 10, "the dead link was seen after \(seen) s")
            TestHosts.script("heal", "h2")
            try expectTheOthersGoOnAndHostComesBack(group, "h2")
            group.close()
            TestHosts.expectNothingLeft()
        }

        /// The async face sees a dead link as soon: the waiting task throws `.terminated`
        /// within seconds (keep-alives), and no thread waited meanwhile.
        @Test func theAsyncFaceSeesAPartitionDuringACallWithinSeconds() async throws {
            let bond = try await Bond.start(language: "Python", command: TestHosts.command("h2"), options: TestHosts.options())
            try await bond.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
            #expect(try await bond.call("slow", 0) == 0)
            after(1) { TestHosts.script("partition", "h2") }
            defer { TestHosts.script("heal", "h2") }
            let started = Date()
            do {
                _ = try await bond.call("slow", 12)   // (on h2 it ends then, and the interpreter with it)
                Issue.record("the call across a dead link returned")
            } catch BondError.terminated {
                // Keep-alives every second, two unanswered: about 3 s after the partition.
                let seen = Date().timeIntervalSince(started)
                #expect(seen < 10, "the dead link was seen after \(seen) s")
            } catch {
                Issue.record("not terminated: \(error)")
            }
            #expect(!bond.isAlive)
            await bond.close()
            TestHosts.script("heal", "h2")
            TestHosts.expectNothingLeft(on: ["h2"])
        }

        @Test func aPartitionWhileIdleIsSeenWithinSeconds() throws {
            let states = Collected()
            let group = try makeGroup(states: states)
            defer { group.close() }
            let h3 = try #require(group["h3"])
            TestHosts.script("partition", "h3")
            defer { TestHosts.script("heal", "h3") }
            let started = Date()
            while h3.isAlive, Date().timeIntervalSince(started) < 20 { usleep(50_000) }
            let seen = Date().timeIntervalSince(started)
            #expect(!h3.isAlive)
            #expect(seen < 10, "the dead link was seen after \(seen) s")
            #expect(states.waitFor(seconds: 5) { $0.stdout == "h3 terminated\n" }, "\(states.stdout)")
            let next = Date()
            guard case .terminated? = bondError({ try h3.call("slow", 0) }) else {
                Issue.record("a call on the dead link did not fail with terminated")
                return
            }
            #expect(Date().timeIntervalSince(next) < 3)
            TestHosts.script("heal", "h3")
            try expectTheOthersGoOnAndHostComesBack(group, "h3")
            group.close()
            TestHosts.expectNothingLeft()
        }

        @Test func aHostKilledDuringACall() throws {
            let group = try makeGroup()
            defer { group.close() }
            let h1 = try #require(group["h1"])
            after(1) { TestHosts.script("kill", "h1") }
            defer { TestHosts.script("start", "h1") }
            let started = Date()
            let error = bondError { try h1.call("slow", 30) }
            guard case .terminated? = error else {
                Issue.record("not terminated: \(String(describing: error))")
                return
            }
            #expect(Date().timeIntervalSince(started) < 8)
            // While h1 is down, restarting it fails with the reason, and it stays down.
            guard case .startup? = bondError({ try group.restart(host: "h1") }) else {
                Issue.record("restart of a dead host did not fail")
                return
            }
            TestHosts.script("start", "h1")
            try expectTheOthersGoOnAndHostComesBack(group, "h1")
            group.close()
            TestHosts.expectNothingLeft()
        }

        /// `map` while a host is partitioned in the middle: every item is done, by the others.
        @Test func mapGoesOnWhenAHostIsPartitioned() throws {
            let group = try makeGroup()
            defer { group.close() }
            try group.evalBlock("def item(x):\n    time.sleep(0.2)\n    return x\n")
            after(1) { TestHosts.script("partition", "h2") }
            defer { TestHosts.script("heal", "h2") }
            let results = try group.map("item", over: Array(0..<40))
            #expect(results == (0..<40).map { BondValue.int($0) })
            #expect(group.liveHosts == ["h1", "h3"])
            TestHosts.script("heal", "h2")
            try group.restart(host: "h2")
            group.close()
            TestHosts.expectNothingLeft()
        }
    }

    /// Proxies across hosts, connection sharing, jump hosts, hosts that ask for a password.
    @Suite(.timeLimit(.minutes(3)))
    struct MultiHostTests {
        /// python-bond's manual: a consumer on one host, a producer on another, wired by a proxy.
        @Test func aConsumerOnH1ProxiedIntoAProducerOnH2() throws {
            let group = try BondGroup(language: "Python", hosts: ["h1", "h2"], command: { TestHosts.command($0) }, options: TestHosts.options())
            defer { group.close() }
            let host1 = try #require(group["h1"]), host2 = try #require(group["h2"])
            try host1.evalBlock("import socket\nreceived = []\ndef consumer(data):\n    received.append([socket.gethostname()] + data)\n")
            try host2.evalBlock("import socket\ndef producer(n):\n    for i in range(n):\n        consumer([socket.gethostname(), i])\n    return n\n")
            try host1.proxy("consumer", to: host2)
            #expect(try host2.call("producer", 50) == 50)
            let received = try host1.eval("received")
            #expect(received.arrayValue?.count == 50)
            #expect(received[49] == ["h1", "h2", 49])
            // And in another language: a JavaScript consumer on h3.
            let js = try Bond(language: "JavaScript", command: TestHosts.command("h3", "node"), options: TestHosts.options())
            defer { js.close() }
            try js.evalBlock("var got = []; function consumer(data) { got.push([require('os').hostname()].concat(data)); }")
            try js.proxy("consumer", to: host2)
            #expect(try host2.call("producer", 3) == 3)
            #expect(try js.eval("got") == [["h3", "h2", 0], ["h3", "h2", 1], ["h3", "h2", 2]])
            group.close()
            js.close()
            TestHosts.expectNothingLeft()
        }

        /// Many bonds on one host over one shared ssh connection (ControlMaster).
        @Test func manyBondsOnOneHostShareOneConnection() throws {
            let control = NSTemporaryDirectory() + "bond-cm-\(getpid())"
            try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: control) }
            let ssh = "\(TestHosts.ssh!) -o ControlMaster=auto -o ControlPath=\(control)/%C -o ControlPersist=60"
            defer { TestHosts.run(["/bin/sh", "-c", "\(ssh) -O exit h1 2>/dev/null"]) }
            // The first bond makes the shared connection; the others go through it.
            let first = try Bond(language: "Python", command: "\(ssh) h1 python3", options: TestHosts.options())
            #expect(TestHosts.run(["/bin/sh", "-c", "\(ssh) -O check h1 2>&1"]).contains("Master running"))
            let names = (1...8).map { "b\($0)" }
            let started = BondGroup.inParallel(names) { _ in
                Result { () throws(BondError) in try Bond(language: "Python", command: "\(ssh) h1 python3", options: TestHosts.options()) }
            }
            let bonds = try names.map { try started[$0]!.get() }
            let pids = Set(try bonds.map { try $0.eval("__import__('os').getpid()").intValue ?? 0 })
            #expect(pids.count == 8)
            if geteuid() == 0 {
                // One connection: one privileged sshd process on h1 (one per connection).
                let sshds = TestHosts.script("procs", "h1").split(separator: "\n").filter { $0.contains("[priv]") }
                #expect(sshds.count == 1, "\(sshds)")
            }
            for bond in bonds { bond.close() }
            first.close()
            TestHosts.run(["/bin/sh", "-c", "\(ssh) -O exit h1 2>/dev/null"])
            TestHosts.expectNothingLeft(on: ["h1"])
        }

        /// Through a jump host: `ssh -J h1 h2`, and a ProxyJump entry of ssh_config.
        @Test func throughAJumpHost() throws {
            for command in ["\(TestHosts.ssh!) -J h1 h2 python3", "\(TestHosts.ssh!) h3-via-h1 python3"] {
                let bond = try Bond(language: "Python", command: command, options: TestHosts.options())
                defer { bond.close() }
                let (name, from) = (try bond.eval("__import__('socket').gethostname()"),
                                    try bond.eval("__import__('os').environ['SSH_CONNECTION'].split()[0]"))
                #expect(name == (command.contains("h3") ? "h3" : "h2"))
                #expect(from == "10.77.0.1", "the connection did not come through h1")
                // Interrupt goes through the jump host too.
                try bond.evalBlock("import time\ndef nap(): time.sleep(20)\n")
                after(1) { bond.interrupt() }
                guard case .remote(_, let message, _)? = bondError({ try bond.call("nap") }) else {
                    Issue.record("not interrupted")
                    return
                }
                #expect(message.contains("KeyboardInterrupt"))
                bond.close()
            }
            TestHosts.expectNothingLeft()
        }

        /// A host that wants a password: nobody can answer, so start-up fails at once, saying so.
        @Test func aHostThatAsksForAPasswordFailsSayingSo() throws {
            let started = Date()
            let error = bondError { _ = try Bond(language: "Python", command: TestHosts.command("ask-h1"), options: TestHosts.options()) }
            guard case .startup(_, let message, _)? = error else {
                Issue.record("not a start-up error: \(String(describing: error))")
                return
            }
            #expect(message.contains("asked for a password"), "\(message)")
            #expect(message.contains("bondask@10.77.0.1's password"), "\(message)")
            #expect(Date().timeIntervalSince(started) < 10)
        }

        /// A host key ssh has never seen: a yes/no question, answered by the program (or refused).
        @Test func anUnknownHostKeyIsAConfirmationQuestion() throws {
            let unknown = "\(TestHosts.ssh!) -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=ask h3 python3"
            let asked = Collected()
            let bond = try Bond(language: "Python", command: unknown, options: TestHosts.options {
                $0.sshAnswer = { question in
                    asked.add(.stdout, question.kind == .confirmation ? "confirm\n" : "secret\n")
                    asked.add(.stderr, question.prompt)
                    return question.kind == .confirmation ? "yes" : nil
                }
            })
            defer { bond.close() }
            #expect(try bond.eval("__import__('socket').gethostname()") == "h3")
            #expect(asked.stdout == "confirm\n")
            #expect(asked.stderr.contains("ED25519 key fingerprint is"), "\(asked.stderr)")
            bond.close()
            let error = bondError { _ = try Bond(language: "Python", command: unknown, options: TestHosts.options()) }
            guard case .startup(_, let message, _)? = error else {
                Issue.record("not a start-up error: \(String(describing: error))")
                return
            }
            #expect(message.contains("the host asked a question"), "\(message)")
            TestHosts.expectNothingLeft(on: ["h3"])
        }

        /// A program answers ssh's questions itself.
        @Test(.enabled(if: FileManager.default.isReadableFile(atPath: TestHosts.folder + "/password"), "the test hosts' password is readable by root only"))
        func aProgramAnswersThePasswordQuestion() throws {
            let password = try String(contentsOfFile: TestHosts.folder + "/password", encoding: .utf8)
            let asked = Collected()
            let bond = try Bond(language: "Python", command: TestHosts.command("ask-h2"), options: TestHosts.options {
                $0.sshAnswer = { question in
                    asked.add(.stdout, "\(question.host) \(question.kind == .secret ? "secret" : "confirm") \(question)\n")
                    return password
                }
            })
            defer { bond.close() }
            #expect(try bond.eval("__import__('getpass').getuser()") == "bondask")
            #expect(try bond.eval("__import__('socket').gethostname()") == "h2")
            #expect(asked.stdout == "ask-h2 secret bondask@10.77.0.2's password:\n")
            bond.close()
            // A wrong answer: refused, and the error says so.
            let error = bondError {
                _ = try Bond(language: "Python", command: TestHosts.command("ask-h2"), options: TestHosts.options { $0.sshAnswer = { _ in "wrong" } })
            }
            guard case .startup(_, let message, _)? = error else {
                Issue.record("not a start-up error: \(String(describing: error))")
                return
            }
            #expect(message.contains("did not let ssh in"), "\(message)")
            TestHosts.expectNothingLeft(on: ["h2"])
        }
    }
}

/// The ssh options the engine adds, and the terminal an interpreter does not have.
@Suite(.timeLimit(.minutes(3)))
struct SSHLinkTests {
    private func commandLine(of bond: Bond) -> [String] {
        let data = FileManager.default.contents(atPath: "/proc/\(bond.processID)/cmdline") ?? Data()
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(.enabled(if: testSSH != nil, "needs the test sshd (BOND_TEST_SSH)"))
    func keepAlivesAreAddedUnlessTheCommandSetsThem() throws {
        let (bond, _) = try makeBond("Python", .ssh)
        defer { bond.close() }
        let argv = commandLine(of: bond)
        #expect(argv.first == "ssh")
        #expect(argv.contains("ServerAliveInterval=3") && argv.contains("ServerAliveCountMax=3") && argv.contains("ConnectTimeout=10"), "\(argv)")
        let own = try Bond(language: "Python", command: "\(testSSH!) -o ServerAliveInterval=7 python3", options: .with { $0.output = .discard })
        defer { own.close() }
        let ownArgv = commandLine(of: own)
        #expect(ownArgv.filter { $0.hasPrefix("ServerAliveInterval") } == ["ServerAliveInterval=7"], "\(ownArgv)")
        #expect(ownArgv.contains("ServerAliveCountMax=3"))
        let none = try Bond(language: "Python", command: "\(testSSH!) python3", options: .with { $0.output = .discard; $0.sshOptions = [:] })
        defer { none.close() }
        #expect(!commandLine(of: none).contains { $0.hasPrefix("ServerAlive") })
    }

    @Test func theInterpreterHasNoTerminal() throws {
        let (bond, _) = try makeBond("Python")
        defer { bond.close() }
        // A session of its own, so no controlling terminal: /dev/tty cannot be opened.
        #expect(try bond.eval("__import__('os').getsid(0) == __import__('os').getpid()") == true)
        try bond.evalBlock("import os\ntry:\n    os.close(os.open('/dev/tty', os.O_RDWR))\n    tty = 'opened'\nexcept OSError as e:\n    tty = e.errno\n")
        #expect(try bond.eval("tty") == .int(Int(ENXIO)))
    }
}
