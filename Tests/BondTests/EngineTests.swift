@testable import Bond
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct EngineTests {
    @Test func languagesAreFoundFromAnyDirectory() throws {
        // Every folder searched is absolute: the working directory plays no part.
        #expect(DriverCatalog.searchPath(extra: []).allSatisfy { $0.path.hasPrefix("/") })
        #expect(Set(Bond.languages).isSuperset(of: ["JavaScript", "PHP", "Perl", "Python", "R", "Ruby"]))
        // Folders given by the user come first: a copy of a driver under another name is found.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bond-drivers-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = DriverCatalog.searchPath(extra: []).first { FileManager.default.fileExists(atPath: $0.path + "/Python/bond.json") }!
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("Python"), to: dir.appendingPathComponent("Snake"))
        let manifest = dir.appendingPathComponent("Snake/bond.json")
        try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(of: "\"lang\": \"Python\"", with: "\"lang\": \"Snake\"")
            .write(to: manifest, atomically: true, encoding: .utf8)
        #expect(Bond.languages(searching: [dir]).contains("Snake"))
        let snake = try Bond(language: "snake", options: .with { $0.driverDirectories = [dir]; $0.output = .discard })
        defer { snake.close() }
        #expect(snake.language == "Snake")
        #expect(try snake.eval("1 + 1") == 2)
    }

    @Test func languageNamesIgnoreCase() throws {
        let bond = try Bond(language: "python", options: .with { $0.output = .discard })
        defer { bond.close() }
        #expect(bond.language == "Python")
    }

    @Test func unknownLanguageIsAUsageError() {
        let error = bondError { _ = try Bond(language: "Cobol") }
        guard case .usage(_, let message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("Python"))
    }

    @Test func missingProgramFailsAtOnceWithTheShellsText() {
        let start = Date()
        let error = bondError { _ = try Bond(language: "Python", command: "no-such-interpreter-xyz") }
        guard case .startup(_, _, let output) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(output.contains("not found"))
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func startupNoiseIsSkippedAndFailuresShowTheInterpretersText() throws {
        // A startup file that prints is noise before READY.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bond-startup-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let startup = dir.appendingPathComponent("startup.py")
        try "print('RETURN 99 noise from startup')\n".write(to: startup, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["PYTHONSTARTUP"] = startup.path
        let bond = try Bond(language: "Python", options: .with { $0.environment = env; $0.output = .discard })
        #expect(try bond.eval("1") == 1)
        bond.close()
        // An interpreter that exits at once: the error carries its own words.
        let error = bondError { _ = try Bond(language: "Python", command: "python3 -c 'import sys; sys.stderr.write(\"no module named bondstuff\\n\"); sys.exit(4)'", options: .with { $0.defaultArguments = false }) }
        guard case .startup(_, let message, let output) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(output.contains("no module named bondstuff"))
        #expect(message.contains("exit status 4"))
    }

    @Test func argumentsReachTheInterpreterExactly() throws {
        let tricky = ["-oProxyCommand=touch /tmp/bond-pwned", "a;rm -rf ~", "$(id)", "`id`", "it's \"quoted\"", "sp ace",
                      "new\nline", "ünï", "*", ""]
        for place in places {
            let bond = try Bond(
                language: "Python", command: command("Python", place) ?? "python3", arguments: ["-"] + tricky,
                options: .with { $0.output = .discard })
            defer { bond.close() }
            let argv = try bond.eval("__import__('sys').argv[1:]")
            #expect(argv == .array(tricky.map { .string($0) }), "\(place)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/bond-pwned"))
    }

    @Test func workingDirectoryAndEnvironment() throws {
        var env = ProcessInfo.processInfo.environment
        env["BOND_TEST_VALUE"] = "hello env"
        let before = ProcessInfo.processInfo.environment
        let bond = try Bond(language: "Python", options: .with { $0.workingDirectory = "/tmp"; $0.environment = env })
        defer { bond.close() }
        #expect(try bond.eval("__import__('os').getcwd()") == "/tmp")
        #expect(try bond.eval("__import__('os').environ['BOND_TEST_VALUE']") == "hello env")
        #expect(ProcessInfo.processInfo.environment == before)
    }

    @Test func interpreterExitIsTerminatedWithItsStatus() throws {
        for s in Snippets.engine {
            let (bond, _) = try makeBond(s.language)
            let start = Date()
            let error = bondError { try bond.evalBlock(s.exit3) }
            guard case .terminated(_, let exit, _) = error else { Issue.record("\(s.language): got \(String(describing: error))"); continue }
            #expect(exit == .exited(3))
            #expect(Date().timeIntervalSince(start) < 5)
            guard case .terminated = bondError({ _ = try bond.eval("1") }) else { Issue.record("next call"); continue }
            #expect(!bond.isAlive)
            bond.close()
        }
    }

    @Test func killedInterpreterFailsTheWaitingCallAtOnce() throws {
        for s in Snippets.engine {
            let (bond, _) = try makeBond(s.language)
            let pid = bond.processID
            after(0.3) { kill(pid, SIGKILL) }
            let start = Date()
            let error = bondError { try bond.evalBlock(s.sleep5) }
            guard case .terminated(_, let exit, _) = error else { Issue.record("\(s.language): got \(String(describing: error))"); continue }
            #expect(exit == .signaled(SIGKILL))
            #expect(Date().timeIntervalSince(start) < 3)
            bond.close()
        }
    }

    @Test func timeoutSaysAliveButSlowAndClosesTheBond() throws {
        let (bond, _) = try makeBond("Python") { $0.timeout = .seconds(1) }
        let error = bondError { try bond.evalBlock(Snippets.python.sleep5) }
        guard case .timeout(_, let seconds, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(seconds == 1)
        #expect("\(error!)".contains("alive"))
        #expect(!bond.isAlive || bondError({ _ = try bond.eval("1") }) != nil)
    }

    @Test func interruptStopsALongCallAndTheBondGoesOn() throws {
        for s in Snippets.engine {
            let (bond, _) = try makeBond(s.language)
            defer { bond.close() }
            after(0.5) { bond.interrupt() }
            let error = bondError { try bond.evalBlock(s.busyLoop) }
            guard case .remote = error else { Issue.record("\(s.language): got \(String(describing: error))"); continue }
            #expect(bond.state == .idle)
            #expect(try bond.eval("6 * 7") == 42)
            bond.interrupt()  // while idle: ignored
            #expect(try bond.eval("6 * 7") == 42)
        }
    }

    @Test func closeLeavesNoProcessBehind() throws {
        for s in Snippets.engine {
            let (bond, _) = try makeBond(s.language)
            try bond.evalBlock(s.language == "Python" ? "import os\nos.system('sleep 1000 &')" : "require('child_process').exec('sleep 1000')")
            let pid = bond.processID
            bond.close()
            #expect(!processExists(pid))
            #expect(!childProcesses().contains(pid))
            // The background sleep in the interpreter's process group is gone too.
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let inGroup = leftovers.compactMap(Int32.init).filter { p in
                guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
                return fields.count > 3 && Int32(fields[2]) == pid && fields[0] != "Z"
            }
            #expect(inGroup.isEmpty, "\(s.language): left in the process group: \(inGroup)")
            guard case .terminated = bond.state else { Issue.record("\(s.language): state \(bond.state)"); continue }
        }
    }

    @Test func manyBondsFromManyThreadsAtOnce() throws {
        let (counts, errors) = countInParallel(Snippets.engine, threads: 6, calls: 50)
        #expect(errors == "")
        #expect(counts.allSatisfy { $0.hasSuffix("=50") })
        #expect(counts.count == 6)
    }

    @Test func oneBondSharedByThreadsServesOneConversationAtATime() throws {
        let (bond, _) = try makeBond("Python")
        defer { bond.close() }
        try bond.evalBlock(Snippets.python.defineInc)
        let failures = Collected()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<25 {
                do {
                    let r = try bond.call("inc", i * 1000 + j)
                    if r != .int(i * 1000 + j + 1) { failures.add(.stderr, "wrong \(r)\n") }
                } catch { failures.add(.stderr, "\(error)\n") }
            }
        }
        #expect(failures.stderr == "")
    }

    @Test func codableBridgeBothWays() throws {
        struct Point: Codable, Equatable, BondArgument { var x: Int; var label: String; var tags: [String] }
        let (bond, _) = try makeBond("JavaScript")
        defer { bond.close() }
        try bond.evalBlock(Snippets.javaScript.defineIdent)
        let p = Point(x: 3, label: "p", tags: ["a", "b"])
        #expect(try bond.call("ident", p).decode(Point.self) == p)
        let xs: [Int] = try bond.eval("[1, 2, 3]").decode()
        #expect(xs == [1, 2, 3])
        let wrong = bondError { let _: [String] = try bond.eval("[1]").decode() }
        guard case .serialization(_, .local, _) = wrong else { Issue.record("got \(String(describing: wrong))"); return }
    }

    @Test func callConvertsEveryKindOfArgument() throws {
        struct Point: Codable, BondArgument { var x: Int }
        let (bond, _) = try makeBond("Python")
        defer { bond.close() }
        try bond.evalBlock("def args(*a):\n    return list(a)\n")
        let some: Int? = 7, none: Int? = nil, text: Substring = "sub", small: Int32 = 5, big: Int64 = 1 << 40
        // Common types, optionals, other integer and float types, BondValue, Codable and a ref,
        // through the variadic call and through `arguments:`.
        let expected: BondValue = [1, "s", 2.5, true, nil, 7, nil, "sub", 5, 1_099_511_627_776, 1.5, [1, [2]], ["x": 9], 42]
        let variadic = try bond.call("args", 1, "s", 2.5, true, nil, some, none, text, small, big, Float(1.5),
                                     BondValue.array([1, [2]]), Point(x: 9), bond.ref("6 * 7"))
        #expect(variadic == expected)
        let array = try bond.call("args", arguments: [1, "s", 2.5, true, nil, some, none, text, small, big, Float(1.5),
                                                      BondValue.array([1, [2]]), Point(x: 9), bond.ref("6 * 7")])
        #expect(array == expected)
        // Without a nil literal, the arguments go as a parameter pack: written straight into
        // the frame when all are of the common types, else the general way.
        var packed = expected.arrayValue ?? []
        packed.remove(at: 4)
        let pack = try bond.call("args", 1, "s", 2.5, true, some, none, text, small, big, Float(1.5),
                                 BondValue.array([1, [2]]), Point(x: 9), bond.ref("6 * 7"))
        #expect(pack == .array(packed))
        #expect(try bond.call("args", 1, "s", 2.5, true, -3, "é\n\"", BondValue.array([1, [2]])) == [1, "s", 2.5, true, -3, "é\n\"", [1, [2]]])
        #expect(try bond.call("args") == [])
    }

    @Test func trafficLogRecordsEveryLineWithDirectionAndBond() throws {
        let (bond, collected) = try makeBond("Python") { $0.name = "snake" }
        defer { bond.close() }
        collected.reset()
        #expect(try bond.eval("40 + 2") == 42)
        let lines = collected.traffic
        #expect(lines.map(\.line) == ["EVAL \"40 + 2\"", "RETURN 42"])
        #expect(lines.map(\.direction) == [.sent, .received])
        #expect(lines.allSatisfy { $0.bond == "snake" })
    }

    @Test func logFileIsWrittenLineByLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bond-log-\(getpid()).txt").path
        let sink = try BondLogSink.file(path: path)
        let bond = try Bond(language: "Python", options: .with { $0.log = sink })
        _ = try bond.eval("1")
        bond.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("Python > EVAL \"1\""))
        #expect(text.contains("Python < RETURN 1"))
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func interactRunsBlocksAndEvaluatesBangLines() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        let input = Pipe()
        let output = Pipe()
        input.fileHandleForWriting.write(Data("def f(x):\\\n    return x * 2\nprint(f(21))\n!f(10.5)\n!1/0\n".utf8))
        input.fileHandleForWriting.closeFile()
        bond.interact(prompt: "> ", input: input.fileHandleForReading, output: output.fileHandleForWriting)
        output.fileHandleForWriting.closeFile()
        let shown = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(collected.stdout == "42\n")
        #expect(shown.contains("21"))
        #expect(shown.contains("ZeroDivisionError"))
    }

    @Test(.enabled(if: python2 != nil)) func pythonTwoAndThreeSideBySide() throws {
        let py2 = try Bond(language: "Python", command: python2!, options: .with { $0.output = .discard })
        defer { py2.close() }
        let py3 = try Bond(language: "Python", options: .with { $0.output = .discard })
        defer { py3.close() }
        #expect(try py2.eval("__import__('sys').version_info[0]") == 2)
        #expect(try py3.eval("__import__('sys').version_info[0]") == 3)
        try py2.evalBlock("def inc(x):\n    return x + 1\n")
        try py2.proxy("inc", to: py3)
        #expect(try py3.eval("inc(1)") == 2)
        #expect(try py2.call("lambda s: s + u'!'", "héllo 🎉") == "héllo 🎉!")
        guard case .remote = bondError({ try py2.evalBlock("raise ValueError('boom')") }) else { Issue.record("py2 exception"); return }
        #expect(try py2.eval("1 + 1") == 2)
    }

    @Test(.enabled(if: oldestPython3 != nil)) func oldestSupportedPython3() throws {
        let py = try Bond(language: "Python", command: oldestPython3!, options: .with { $0.output = .discard })
        defer { py.close() }
        #expect(try py.eval("__import__('sys').version_info[:2]") == [3, 6])
        try py.evalBlock(Snippets.python.defineDown)
        try py.export("down") { args in
            let n = args[0].intValue ?? 0
            return .int(n == 0 ? 0 : 1 + (try py.call("down_remote", n - 1).intValue ?? 0))
        }
        #expect(try py.call("down_remote", 6) == 6)
        #expect(try py.call("lambda s: s[::-1]", "héllo 🎉") == "🎉 olléh")
    }

    @Test func sshTestHostIsConfiguredInCI() {
        if ProcessInfo.processInfo.environment["CI"] != nil {
            #expect(testSSH != nil, "CI must run the tests through scripts/test.sh, which starts the test sshd")
        }
    }
}

/// Python 2.7, if this machine has it (pyenv's 2.7.18 here).
let python2: String? = {
    if let explicit = ProcessInfo.processInfo.environment["BOND_TEST_PYTHON2"] { return explicit }
    let root = ProcessInfo.processInfo.environment["PYENV_ROOT"] ?? NSHomeDirectory() + "/.pyenv"
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root + "/versions")) ?? []
    for v in versions.sorted().reversed() where v.hasPrefix("2.7") {
        let path = "\(root)/versions/\(v)/bin/python2.7"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return ExecutableLookup.python2
}()

/// Python 3.6, the oldest Python 3 the driver supports, if this machine has it (pyenv here).
let oldestPython3: String? = {
    let root = ProcessInfo.processInfo.environment["PYENV_ROOT"] ?? NSHomeDirectory() + "/.pyenv"
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: root + "/versions")) ?? []
    return versions.sorted().first { $0.hasPrefix("3.6.") }.map { "\(root)/versions/\($0)/bin/python3.6" }
        .flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
}()

enum ExecutableLookup {
    static var python2: String? {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/python2.7") {
            return dir + "/python2.7"
        }
        return nil
    }
}
