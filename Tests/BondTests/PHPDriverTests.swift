import Bond
import Foundation
import Testing

extension Snippets {
    static let php = Snippets(
        language: "PHP",
        defineIdent: "function ident($x) { return $x; }",
        defineInc: "function inc($x) { return $x + 1; }",
        printHello: "echo \"hello\\n\";",
        printError: "fwrite(STDERR, \"oops\\n\");",
        raiseBoom: "throw new Exception('boom');",
        unserializable: "function () {}",
        setGlobal: "$g = 5;",
        hideLocal: "function f() { $hidden = 1; return $hidden; } f();",
        multiply: "(function ($a, $b) { return $a * $b; })",
        catchFail: "try { fail(); } catch (Exception $e) { $caught = $e->getMessage(); }",
        defineDown: "function down_remote($n) { return $n == 0 ? 0 : 1 + down($n - 1); }",
        strayOutput: "passthru('echo RETURN 42'); $p = proc_open('echo RETURN 43', [], $pipes); proc_close($p);",
        readStdin: "system('cat');",
        exit3: "exit(3);",
        sleep5: "sleep(5);",
        busyLoop: "while (true) {}",
        defineSpinAfterSlow: "function spin() { slow(); while (true) {} }",
        sixtyFourMebibytesOfZ: "str_repeat('z', 64 << 20)"
    )
}

/// The PHP driver: the semantics of python-bond's PHP bond, locally and over ssh.
@Suite struct PHPDriverTests {
    static let s = Snippets.php

    @Test(arguments: places)
    func marshalsValuesBothWays(_ place: Place) throws {
        let (bond, _) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.defineIdent)
        let values: [BondValue] = [
            true, false, 0, 1, -42, 1.5, 1.0, "", "text", "héllo wörld 🎉 \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} e\u{301}",
            "quotes \" and \\ and \n newlines \t tabs \u{1} nul \u{0}", [], [1, [2, [3, []]]],
            ["b": 1, "a": [true, nil], "nested": ["x": "y"]], nil, .int(Int(Int32.max) * 4), .int(Int.max), .int(Int.min),
        ]
        for value in values {
            #expect(try bond.call("ident", value) == value, "round trip of \(value)")
        }
        // PHP has one array type: an empty map comes back as an empty list.
        #expect(try bond.call("ident", [:] as BondValue) == [])
        #expect(try bond.eval("0.1 + 0.2") == 0.30000000000000004)
        #expect(try bond.eval("['a' => 1, 'b' => [true]]") == ["a": 1, "b": [true]])
    }

    @Test(arguments: places)
    func globalsFunctionsClosuresAndMethods(_ place: Place) throws {
        let (bond, _) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.evalBlock(
            """
            $x = 1;
            function getx() { global $x; return $x; }
            class Counter { public $n = 40; function add($a) { return $this->n + $a; } static function twice($a) { return 2 * $a; } }
            $counter = new Counter();
            $negate = function ($a) { return -$a; };
            """)
        #expect(try bond.eval("$x") == 1)
        try bond.evalBlock("$x = 2; $created = 3;")
        #expect(try bond.call("getx") == 2)
        #expect(try bond.eval("$GLOBALS['created']") == 3)
        try bond.evalBlock("unset($x);")
        #expect(try bond.eval("isset($x)") == false)
        try bond.evalBlock("$a = 1; $b = &$a; $b = 5;")
        #expect(try bond.eval("$a") == 5)
        #expect(try bond.call("$counter->add", 2) == 42)
        #expect(try bond.call("Counter::twice", 21) == 42)
        #expect(try bond.call("$negate", 3) == -3)
        #expect(try bond.call(Self.s.multiply, 6, 7) == 42)
        #expect(try bond.call("sprintf", "%s-%03d", "x", 7) == "x-007")
        #expect(try bond.call("explode", " ", "Hello world splitted by PHP!") == ["Hello", "world", "splitted", "by", "PHP!"])
        #expect(try bond.call("str_repeat", bond.ref("strtoupper('ab')"), 2) == "ABAB")
        #expect(try bond.call("is_callable", bond.ref("$negate")) == true)
        // The driver's own variables are not in the global scope.
        #expect(try bond.eval("count(preg_grep('/BOND/', array_keys(get_defined_vars())))") == 0)
        #expect(try bond.eval("isset($SENTINEL)") == false)
        try bond.evalBlock(Self.s.hideLocal)
        #expect(try bond.eval("isset($hidden)") == false)
    }

    /// The driver answers calls of the function it called last by a shorter way (one
    /// comparison with the start of that call's frame): the answers are those of the first call.
    @Test(arguments: places)
    func callsInARowAnswerAsTheFirstOne(_ place: Place) throws {
        let (bond, collected) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.evalBlock(
            """
            function f($x = 'none') { return "f:" . json_encode($x); }
            function ff(...$xs) { return count($xs); }
            function boom($x) { throw new Exception("boom $x"); }
            """)
        // Three rounds: the first call of a function finds its name, the second keeps the
        // start of its frame, the third and later ones use it; names that start alike and
        // calls of other functions come in between.
        for round in 0..<3 {
            #expect(try bond.call("f", round) == .string("f:\(round)"))
            #expect(try bond.call("f", [.int(round), "a"] as BondValue) == .string("f:[\(round),\"a\"]"))
            #expect(try bond.call("f") == "f:\"none\"")
            #expect(try bond.call("ff", 1, 2, 3) == 3)
            #expect(try bond.call("ff") == 0)
            guard case .remote(_, let message, _) = bondError({ _ = try bond.call("boom", round) }) else {
                Issue.record("boom answered"); continue
            }
            #expect(message.contains("boom \(round)"))
        }
        #expect(try bond.call("f", ["k": 1] as BondValue) == "f:{\"k\":1}")
        #expect(try bond.call("strtoupper", "a") == "A")
        #expect(try bond.call("f", 7) == "f:7")
        #expect(collected.stderr == "")
    }

    @Test func undefinedFunctionsAndTypeErrorsAreExceptions() throws {
        let (bond, _) = try makeBond("PHP")
        defer { bond.close() }
        for attempt in [
            { _ = try bond.call("no_such_function", 1) }, { try bond.evalBlock("no_such_function();") },
            { _ = try bond.call("strlen", [1] as BondValue) }, { _ = try bond.eval("\"") }, { _ = try bond.eval("1 / 0") },
            { _ = try bond.call("$undefined_closure", 1) },
        ] as [() throws -> Void] {
            guard case .remote = bondError(attempt) else { Issue.record("expected a remote error"); continue }
            #expect(bond.state == .idle)
        }
        guard case .remote(_, let message, _) = bondError({ _ = try bond.call("no_such_function") }) else { return }
        #expect(message.contains("undefined function"))
        #expect(try bond.eval("1") == 1)
    }

    @Test(arguments: places)
    func errorsAndWarningsHonourTheLevelAndDisplayErrors(_ place: Place) throws {
        let (bond, collected) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.evalBlock("echo $undefined1;")
        #expect(collected.stderr == "PHP[E_WARNING]: Undefined variable $undefined1\n")
        try bond.evalBlock("echo @$undefined2; trigger_error('note');")
        #expect(collected.stderr.hasSuffix("PHP[E_USER_NOTICE]: note\n"))
        #expect(try bond.call("_BOND_error_reporting").intValue != 0)
        _ = try bond.call("_BOND_error_reporting", 0)
        #expect(try bond.call("_BOND_error_reporting") == 0)
        collected.reset()
        try bond.evalBlock("echo $undefined3;")
        #expect(collected.stderr == "")
        _ = try bond.call("_BOND_error_reporting", 32767)
        try bond.evalBlock("ini_set('display_errors', '0'); echo $undefined4;")
        #expect(collected.stderr == "")
        try bond.evalBlock("ini_set('display_errors', '1'); trigger_error('shown');")
        #expect(collected.stderr == "PHP[E_USER_NOTICE]: shown\n")
        guard case .remote(_, let message, _) = bondError({ try bond.evalBlock("trigger_error('fatal', E_USER_ERROR);") }) else {
            Issue.record("E_USER_ERROR"); return
        }
        #expect(message == "fatal")
    }

    @Test(arguments: places)
    func outputOfEveryKindIsCapturedAndStreamed(_ place: Place) throws {
        let (bond, collected) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.evalBlock(
            "echo 'a'; print 'b'; fwrite(STDOUT, 'c'); file_put_contents('php://stdout', 'd'); file_put_contents('php://output', \"e\\n\");")
        #expect(collected.stdout == "abcde\n")
        try bond.evalBlock("fwrite(STDERR, \"x\\n\"); file_put_contents('php://stderr', \"y\\n\");")
        #expect(collected.stderr == "x\ny\n")
        try bond.evalBlock("ob_start(); echo 'kept'; $kept = ob_get_clean(); @ob_end_clean(); echo \"after\\n\";")
        #expect(try bond.eval("$kept") == "kept")
        #expect(collected.stdout.hasSuffix("after\n"))
        try bond.evalBlock("$m = fopen('php://memory', 'w+'); fwrite($m, 'mem'); rewind($m); $t = new SplTempFileObject(); $t->fwrite('tmp'); $t->rewind();")
        #expect(try bond.eval("[stream_get_contents($m), $t->fgets()]") == ["mem", "tmp"])
        collected.reset()
        let started = Date()
        Thread.detachNewThread { try? bond.evalBlock("echo \"first\\n\"; sleep(2); echo \"second\\n\";") }
        #expect(collected.waitFor(seconds: 1.5) { $0.stdout == "first\n" })
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(collected.waitFor(seconds: 5) { $0.stdout == "first\nsecond\n" })
    }

    /// A big call's argument, result and reply are let go when it has been answered, not kept
    /// until the next call (the driver answers calls in a loop, whose variables would hold them).
    @Test func aBigCallLeavesNoMemoryBehind() throws {
        let (bond, _) = try makeBond("PHP", .local)
        defer { bond.close() }
        try bond.evalBlock(Self.s.defineIdent)
        let before = try bond.call("memory_get_usage").intValue ?? 0
        let big = String(repeating: "0123456789abcdef", count: 2 << 20)  // 32 MiB
        #expect(try bond.call("ident", big).stringValue?.utf8.count == big.utf8.count)
        let after = try bond.call("memory_get_usage").intValue ?? Int.max
        #expect(after - before < 8 << 20, "\(after - before) bytes more after the call")
    }

    @Test(arguments: places)
    func strayOutputAndStdin(_ place: Place) throws {
        let (bond, collected) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.strayOutput)
        #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 42") })
        #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 43") })
        try bond.evalBlock(Self.s.readStdin)
        #expect(try bond.eval("[fgets(STDIN), file_get_contents('php://stdin'), shell_exec('cat')]") == [false, "", nil])
        #expect(try bond.eval("40 + 2") == 42)
    }

    @Test func serializationErrorsAndJsonSerializable() throws {
        let (bond, _) = try makeBond("PHP")
        defer { bond.close() }
        try bond.evalBlock("class P implements JsonSerializable { function jsonSerialize(): mixed { return ['p' => 1]; } }")
        #expect(try bond.eval("new P()") == ["p": 1])
        // A string that is not UTF-8 is bytes ([ext] BYTES), no error.
        #expect(try bond.eval("\"\\xff\"") == .bytes([0xFF]))
        for (code, words) in [
            ("NAN", "NaN"), ("INF", "Inf"), ("function () {}", "Closure"),
            ("[1, function () {}]", "Closure"), ("fopen('php://memory', 'r')", "not supported"),
        ] {
            guard case .serialization(_, .remote, let message) = bondError({ _ = try bond.eval(code) }) else {
                Issue.record("\(code) must be a remote serialization error"); continue
            }
            #expect(message.lowercased().contains(words.lowercased()), "\(message)")
        }
        #expect(try bond.eval("1") == 1)
    }

    @Test func transparentExceptions() throws {
        let code = """
            class MyException extends Exception implements JsonSerializable {
                function jsonSerialize(): mixed { return ['error' => $this->getMessage()]; }
            }
            """
        let (trans, _) = try makeBond("PHP") { $0.transparentExceptions = true }
        defer { trans.close() }
        try trans.evalBlock(code)
        guard case .remote(_, _, let data) = bondError({ try trans.evalBlock("throw new MyException('mine');") }) else {
            Issue.record("transparent"); return
        }
        #expect(data == ["error": "mine"])
        guard case .remote(_, _, let plain) = bondError({ try trans.evalBlock("throw new Exception('plain');") }) else { return }
        #expect(plain == "plain")
        let (bond, _) = try makeBond("PHP")
        defer { bond.close() }
        try bond.evalBlock(code)
        guard case .remote(_, let message, let text) = bondError({ try bond.evalBlock("throw new MyException('mine');") }) else { return }
        #expect(message == "mine")
        #expect(text == "mine")
    }

    @Test(arguments: places)
    func exportsRecursionAndCatchableSwiftErrors(_ place: Place) throws {
        struct Refusal: Error, CustomStringConvertible { var description: String { "swift says no" } }
        let (bond, collected) = try makeBond("PHP", place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 42)
        try bond.export("twice") { args in .int(3 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 63)
        guard case .remote = bondError({ try bond.export("strlen") { _ in nil } }) else {
            Issue.record("exporting over a PHP function must fail"); return
        }
        try bond.evalBlock(Self.s.defineDown)
        try bond.export("down") { [unowned bond] args in
            let n = args[0].intValue ?? 0
            return .int(n == 0 ? 0 : 1 + (try bond.call("down_remote", n - 1).intValue ?? 0))
        }
        #expect(try bond.call("down_remote", 10) == 10)
        #expect((collected.traffic.map(\.depth).max() ?? 0) >= 6)
        try bond.export("fail") { _ in throw Refusal() }
        try bond.evalBlock(Self.s.catchFail)
        #expect(try bond.eval("$caught") == "swift says no")
        guard case .remote(_, let message, _) = bondError({ _ = try bond.eval("fail()") }) else {
            Issue.record("uncaught Swift error"); return
        }
        #expect(message.contains("swift says no"))
        try bond.export("bad") { _ in .double(.nan) }
        guard case .serialization = bondError({ _ = try bond.eval("bad()") }) else { Issue.record("bad value"); return }
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval("twice(fopen('php://memory', 'r'))") }) else {
            Issue.record("unserializable argument of an exported function"); return
        }
        collected.reset()
        #expect(try bond.eval("1 + 1") == 2)
        #expect(collected.traffic.allSatisfy { $0.depth == 1 })
    }

    @Test(arguments: places)
    func interruptIsAnExceptionOfItsOwn(_ place: Place) throws {
        let (bond, _) = try makeBond("PHP", place)
        defer { bond.close() }
        if place == .ssh { #expect(bond.remoteProcessID != nil) }
        for code in [Self.s.busyLoop, "sleep(30);"] {
            after(0.5) { bond.interrupt() }
            let started = Date()
            guard case .remote(_, let message, _) = bondError({ try bond.evalBlock(code) }) else {
                Issue.record("interrupt of \(code)"); continue
            }
            #expect(message == "interrupted by SIGINT")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(try bond.eval("6 * 7") == 42)
        }
        // "catch (Exception $e)" does not swallow it; "catch (Throwable $t)" can.
        after(0.5) { bond.interrupt() }
        guard case .remote = bondError({ try bond.evalBlock("try { sleep(30); } catch (Exception $e) {}") }) else { return }
        after(0.5) { bond.interrupt() }
        try bond.evalBlock("try { sleep(30); } catch (Throwable $t) { $why = get_class($t); }")
        #expect(try bond.eval("$why") == "_BOND_Interrupt")
    }

    @Test func startingBondsLeavesNothingInTheShellHistory() throws {
        let (bond, _) = try makeBond("PHP")
        defer { bond.close() }
        guard try bond.eval("function_exists('readline_list_history') && function_exists('posix_getpwuid')") == true,
            let home = try bond.eval("posix_getpwuid(posix_getuid())['dir']").stringValue
        else { return }
        for _ in 0..<3 { try makeBond("PHP").0.close() }
        // Other tests start PHP bonds at the same time, each of whose lines stays in the file for
        // a moment: the file must be free of start-up lines at some point (without the clean-up
        // they pile up for good).
        let history = URL(fileURLWithPath: home).appendingPathComponent(".php_history")
        let deadline = Date().addingTimeInterval(20)
        var text = ""
        repeat {
            text = (try? String(contentsOf: history, encoding: .utf8)) ?? ""
            if !text.contains("$_BOND_") && !text.contains("strtoupper(\"stage1") { break }
            usleep(2_000)
        } while Date() < deadline
        #expect(!text.contains("$_BOND_"), "bond start-up lines left in \(history.path)")
        #expect(!text.contains("strtoupper(\"stage1"), "the bond probe left in \(history.path)")
    }

    @Test func fatalErrorsAndExitTerminateTheBond() throws {
        let (bond, collected) = try makeBond("PHP")
        guard case .terminated(_, let exit, _) = bondError({ try bond.evalBlock("echo 'last words'; exit(3);") }) else {
            Issue.record("exit(3)"); return
        }
        #expect(exit == .exited(3))
        #expect(collected.stdout == "last words")
        bond.close()
        let (fatal, _) = try makeBond("PHP")
        defer { fatal.close() }
        guard case .terminated(_, _, let stderr) = bondError({
            try fatal.evalBlock("ini_set('memory_limit', '16M'); $s = str_repeat('x', 64 << 20);")
        }) else { Issue.record("memory limit"); return }
        #expect(stderr.contains("Allowed memory size"))
    }
}
