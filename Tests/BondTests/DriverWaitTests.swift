import Bond
import CBondSystem
import Foundation
import Testing

/// How the drivers wait for requests (docs/performance.md, "Why it is fast"): each reads for
/// up to 50 µs without blocking, then sleeps; Node.js looks through WASI's fd_read when it
/// has it, and through a throwing read when it has not.
@Suite(.timeLimit(.minutes(3))) struct DriverWaitTests {
    @Test(arguments: CrossLanguageTests.all)
    func startsAndServesWithoutANoiseAndAcrossPauses(_ s: Snippets) throws {
        let (bond, collected) = try makeBond(s.language)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        for pause in [0, 0.000_02, 0.000_2, 0.02, 0.2] {
            if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            #expect(try bond.call("ident", "after \(pause) s") == .string("after \(pause) s"))
        }
        // Nothing but the answers: no warning of the interpreter (Node's "WASI is an
        // experimental feature", say) reaches the output.
        #expect(collected.stdout == "")
        #expect(collected.stderr == "")
    }

    /// An interrupt that comes after its request has ended (the host sent it a moment before
    /// the reply reached it) finds the driver waiting for the next request, which is still
    /// served. On one processor Node.js's interrupt watchdog runs only once the driver sleeps
    /// in its read: the interrupt cut off the read that brought the next request, which was lost.
    @Test(arguments: CrossLanguageTests.all)
    func aLateInterruptLosesNoRequest(_ s: Snippets) throws {
        let (bond, _) = try onOneProcessor { try makeBond(s.language) }
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        for i in 0..<3 {
            #expect(kill(bond.processID, SIGINT) == 0)
            Thread.sleep(forTimeInterval: 0.3)  // (the interrupt lands)
            let answered = Locked(false)
            after(10) { if !answered.get() { bond.close() } }  // (a lost request would wait for ever)
            #expect(try bond.call("ident", i) == .int(i))
            answered.set(true)
        }
    }

    /// Pinned to one processor (taskset, a container's cpuset), a driver reads without looking
    /// again first: the look would only keep the host from answering. The bond is started from
    /// a thread pinned to one processor, which the interpreter inherits.
    /// (Not R: its driver always blocks, base R has no read that returns at once.)
    @Test(.enabled(if: ProcessInfo.processInfo.activeProcessorCount > 1),
          arguments: CrossLanguageTests.all.filter { $0.language != "R" })
    func onOneProcessorTheDriversBlockAtOnce(_ s: Snippets) throws {
        let decision = [
            "Python": "_BOND_spare_cpu()", "Perl": "__BOND::spare_cpu() ? \\1 : \\0",
            "PHP": "_BOND_spare_cpu()", "JavaScript": "require('os').availableParallelism() > 1",
            "Ruby": "BOND_Driver.spare_cpu?",
        ][s.language]!
        let (spread, _) = try makeBond(s.language)
        defer { spread.close() }
        #expect(try spread.eval(decision) == true)
        let (pinned, collected) = try onOneProcessor { try makeBond(s.language) }
        defer { pinned.close() }
        #expect(try pinned.eval(decision) == false)
        try pinned.evalBlock(s.defineIdent)
        for i in 0..<50 { #expect(try pinned.call("ident", i) == .int(i)) }
        let big = String(repeating: "x", count: 1 << 20)
        #expect(try pinned.call("ident", big) == .string(big))
        #expect(collected.stderr == "")
    }

    /// Runs `body` on a thread of its own that may only run on the first processor it may run on now.
    private func onOneProcessor<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = Locked<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            precondition(cbond_pin_thread_to_one_cpu() == 0, "cannot pin the thread")
            result.set(Result { try body() })
            done.signal()
        }
        done.wait()
        return try result.get()!.get()
    }

    @Test func nodeWithoutWASIServesThroughAThrowingRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bond-nowasi-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let preload = dir.appendingPathComponent("no-wasi.js")
        try """
            const Module = require("module");
            const load = Module._load;
            Module._load = function (request, ...rest) {
              if (request === "wasi" || request === "node:wasi") throw new Error("no WASI here");
              return load.call(this, request, ...rest);
            };
            """.write(to: preload, atomically: true, encoding: .utf8)
        let collected = Collected()
        let bond = try Bond(language: "JavaScript", command: "node -r '\(preload.path)'", options: .with {
            $0.output = .handler { collected.add($0, $1) }
        })
        defer { bond.close() }
        #expect(try bond.eval("(function () { try { require('wasi'); return 'wasi'; } catch (e) { return 'none'; } })()") == "none")
        try bond.evalBlock(Snippets.javaScript.defineIdent)
        for i in 0..<200 { #expect(try bond.call("ident", i) == .int(i)) }
        Thread.sleep(forTimeInterval: 0.05)
        let big = String(repeating: "0123456789abcdef", count: (4 << 20) / 16)
        #expect(try bond.call("ident", big) == .string(big))
        after(0.5) { bond.interrupt() }
        guard case .remote = bondError({ try bond.evalBlock(Snippets.javaScript.busyLoop) }) else {
            Issue.record("interrupt"); return
        }
        #expect(try bond.eval("6 * 7") == 42)
        #expect(collected.stderr == "")
    }
}
