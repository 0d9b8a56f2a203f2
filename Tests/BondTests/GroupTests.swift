import Bond
import Foundation
import Testing

extension TestHostTests {
    /// BondGroup over the three test hosts: start, call, map, failures as values, restart.
    @Suite(.timeLimit(.minutes(3)))
    struct GroupTests {
        /// The contract of the issue, as written (the group reaches h1..h3 through `$BOND_SSH`).
        @Test(.enabled(if: ProcessInfo.processInfo.environment["BOND_SSH"] != nil, "needs BOND_SSH=\"$BOND_TEST_HOSTS\" (scripts/test.sh sets it)"))
        func theIssuesExample() throws {
            let hosts = ["h1", "h2", "h3"]                       // ssh destinations
            let group = try BondGroup(language: "Python", hosts: hosts)   // started in parallel
            try group.evalBlock("import socket\ndef who(x): return [socket.gethostname(), x * x]")
            let answers = group.call("who", 7)                   // [host: Result<BondValue, BondError>], all hosts in parallel
            let squares = try group.map("who", over: Array(0..<100))     // items spread over the hosts as they free up;
                                                                 // results in input order; a failed host's items go to the others
            print(answers, squares.count)
            group.close()

            for host in hosts { #expect(try answers[host]?.get() == [.string(host), 49]) }
            #expect(squares.count == 100)
            #expect(squares.enumerated().allSatisfy { $0.element[1]?.intValue == $0.offset * $0.offset })
            #expect(Set(squares.compactMap { $0[0]?.stringValue }).count > 1, "the items went to one host only")
            TestHosts.expectNothingLeft()
        }

        @Test func startingIsParallel() throws {
            // Each host takes 2 s to start: one after the other would take 6 s.
            let started = Date()
            let group = try BondGroup(
                language: "Python", hosts: TestHosts.names,
                command: { "\(TestHosts.ssh!) \($0) 'sleep 2; exec python3'" }, options: TestHosts.options())
            defer { group.close() }
            let seconds = Date().timeIntervalSince(started)
            #expect(group.liveHosts == TestHosts.names)
            #expect(seconds < 5, "three starts of 2 s took \(seconds) s")
        }

        @Test func aHostThatDoesNotStartIsItsOwnErrorAndTheOthersAnswer() throws {
            // h3 through a port where nothing listens: refused at once.
            let group = try BondGroup(
                language: "Python", hosts: TestHosts.names,
                command: { $0 == "h3" ? "\(TestHosts.ssh!) -p 2 h3 python3" : TestHosts.command($0) },
                options: TestHosts.options())
            defer { group.close() }
            #expect(group.liveHosts == ["h1", "h2"])
            guard case .startup(_, _, let output)? = group.failures["h3"] else {
                Issue.record("h3: \(String(describing: group.failures["h3"]))")
                return
            }
            #expect(output.contains("Connection refused"))
            try group.evalBlock("def twice(x): return 2 * x")
            let answers = group.call("twice", 21)
            #expect(try answers["h1"]?.get() == 42)
            #expect(try answers["h2"]?.get() == 42)
            guard case .failure(.startup)? = answers["h3"] else {
                Issue.record("h3 answered \(String(describing: answers["h3"]))")
                return
            }
            let doubled = try group.map("twice", over: Array(0..<20))
            #expect(doubled == (0..<20).map { BondValue.int(2 * $0) })
        }

        @Test func noHostStartsIsAStartupError() throws {
            let error = bondError {
                _ = try BondGroup(
                    language: "Python", hosts: ["h1", "h2"], command: { "\(TestHosts.ssh!) -p 2 \($0) python3" },
                    options: TestHosts.options())
            }
            guard case .startup(_, let message, let output)? = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(message.contains("no host"))
            #expect(output.contains("h1:") && output.contains("h2:"))
        }

        @Test func errorsOfTheCodeAreThrownAndTheGroupGoesOn() throws {
            let group = try BondGroup(language: "Python", hosts: TestHosts.names, command: { TestHosts.command($0) }, options: TestHosts.options())
            defer { group.close() }
            guard case .remote? = bondError({ try group.evalBlock("raise ValueError('boom')") }) else {
                Issue.record("no remote error")
                return
            }
            let answers = group.eval("1 + 1")
            #expect(answers.values.allSatisfy { (try? $0.get()) == 2 })
            // A call that raises on one host only is that host's error.
            try group.evalBlock("import socket\ndef picky(x):\n    if socket.gethostname() == 'h2': raise ValueError('not here')\n    return x\n")
            let results = group.call("picky", 1)
            guard case .failure(.remote(_, let message, _))? = results["h2"] else {
                Issue.record("h2: \(String(describing: results["h2"]))")
                return
            }
            #expect(message.contains("not here"))
            #expect(try results["h1"]?.get() == 1)
            #expect(group.liveHosts == TestHosts.names)
        }

        @Test func mapGivesALostHostsItemsToTheOthersOnce() throws {
            let group = try BondGroup(language: "Python", hosts: TestHosts.names, command: { TestHosts.command($0) }, options: TestHosts.options())
            defer { group.close() }
            // Item 7 kills every interpreter it reaches: its host is lost, the items are done
            // by the others, and item 7 is tried once more, on another host, and fails.
            try group.evalBlock("""
                import os, socket, time
                def work(x):
                    time.sleep(0.05)
                    if x == 7:
                        os._exit(9)
                    return [socket.gethostname(), x]
                """)
            let results = group.mapResults("work", over: Array(0..<40))
            #expect(results.count == 40)
            for (index, result) in results.enumerated() where index != 7 {
                #expect((try? result.get())?[1] == .int(index), "item \(index): \(result)")
            }
            guard case .failure(.terminated) = results[7] else {
                Issue.record("item 7: \(results[7])")
                return
            }
            // Two hosts went down (the one item 7 reached first, and the one it was retried on).
            #expect(group.failures.count == 2, "\(group.failures)")
            #expect(group.liveHosts.count == 1)
            // With the last host: what was done before it was lost, and what could not be.
            let error = #expect(throws: BondMapError.self) { try group.map("work", over: [8, 7, 9]) }
            #expect(error?.failures.map(\.index) == [1, 2])
            #expect(try error?.results[0].get()[1] == 8)
            #expect(group.liveHosts.isEmpty)
            TestHosts.expectNothingLeft()
        }

        @Test func restartBringsAHostBackWithItsBlocksAndExports() throws {
            let group = try BondGroup(language: "Python", hosts: TestHosts.names, command: { TestHosts.command($0) }, options: TestHosts.options())
            defer { group.close() }
            try group.export("tag") { arguments in .string("tag:\(arguments[0].stringValue ?? "")") }
            try group.evalBlock("import os, socket\ndef hello(): return tag(socket.gethostname())")
            _ = try? group["h2"]?.evalBlock("os._exit(1)")
            let answers = group.call("hello")
            guard case .failure(.terminated)? = answers["h2"] else {
                Issue.record("h2: \(String(describing: answers["h2"]))")
                return
            }
            #expect(try answers["h1"]?.get() == "tag:h1")
            #expect(group.liveHosts == ["h1", "h3"])
            try group.restart(host: "h2")
            #expect(group.liveHosts == TestHosts.names)
            let again = group.call("hello")
            for host in TestHosts.names { #expect(try again[host]?.get() == .string("tag:\(host)")) }
            group.close()
            #expect(group.liveHosts.isEmpty)
            TestHosts.expectNothingLeft()
        }
    }
}
