@testable import Bond
import Foundation
import Testing

/// What one REPL input must give.
enum RunExpectation: Sendable {
    /// This value, as data.
    case value(BondValue)
    /// Nothing to show (the input ended with a statement).
    case none
    /// A description of this type whose text contains this.
    case description(type: String, containing: String)
    /// A remote error whose message contains this, once.
    case raises(String)
}

/// `bond.run` (the RUN extension) in every language, locally and over ssh: what a user types
/// into a REPL, the value of a final expression, descriptions of what JSON cannot carry.
@Suite(.timeLimit(.minutes(5))) struct RunTests {
    static let languages = ["Python", "JavaScript", "PHP", "Perl", "Ruby", "R"]
    static let cases: [(String, Place)] = languages.flatMap { l in places.map { (l, $0) } }

    /// Inputs in order (each may use what the ones before defined) and what each gives.
    static let inputs: [String: [(String, RunExpectation)]] = [
        "Python": [
            ("x = 5", .none),
            ("x", .value(5)),
            ("import os", .none),
            ("os.sep", .value("/")),
            ("def g():\n    return x * 2\n", .none),
            ("g()", .value(10)),
            ("def sq(n):\n    return n * n\nsq(7)", .value(49)),
            ("total = 0\nfor i in range(4):\n    total += i\ntotal", .value(6)),
            ("import functools\n@functools.lru_cache()\ndef h(n):\n    return n + 1\nh(1)  # a trailing comment", .value(2)),
            ("y = 3  # a comment\n# another\n", .none),
            ("print('hi')", .none),
            ("None", .none),
            ("2**64", .description(type: "int", containing: "18446744073709551616")),
            ("-(2**63)", .value(.int(Int.min))),
            ("[1, 2**70]", .description(type: "list", containing: "1180591620717411303424")),
            ("object()", .description(type: "object", containing: "<object object at")),
            ("float('inf')", .description(type: "float", containing: "inf")),
            ("float('nan')", .description(type: "float", containing: "nan")),
            ("class Account:\n    def __repr__(self):\n        return 'Account(5)'\nAccount()", .description(type: "Account", containing: "Account(5)")),
            ("(i for i in range(3))", .description(type: "generator", containing: "<generator object")),
            ("'héllo wörld 🎉'", .value("héllo wörld 🎉")),
            ("ü = 'ß'\nü", .value("ß")),
            ("{'a': [1, 2.5, None, True]}", .value(["a": [1, 2.5, nil, true]])),
            ("x = = 1", .raises("SyntaxError")),
            ("1 / 0", .raises("ZeroDivisionError")),
            ("x", .value(5)),
        ],
        "JavaScript": [
            ("let a = 5", .none),
            ("a", .value(5)),
            ("const o = {}", .none),
            ("o", .value([:])),
            ("function sq(x){return x*x}", .none),
            ("sq(3)", .value(9)),
            ("console.log(\"hi\"); 5", .value(5)),
            ("class Account { constructor() { this.balance = 5 } }\nnew Account()", .description(type: "Account", containing: "balance: 5")),
            ("function tri(n) {\n  return n <= 1 ? n : n + tri(n - 1)\n}\ntri(4)", .value(10)),
            ("Symbol()", .description(type: "Symbol", containing: "Symbol()")),
            ("({a: NaN})", .description(type: "Object", containing: "NaN")),
            ("{a: NaN}", .description(type: "Object", containing: "a: NaN")),
            ("10n ** 30n", .description(type: "BigInt", containing: "1000000000000000000000000000000n")),
            ("sq", .description(type: "Function", containing: "sq")),
            ("undefined", .none),
            ("null", .value(nil)),
            ("'héllo wörld 🎉'", .value("héllo wörld 🎉")),
            ("[1, 'two', [3, null]]", .value([1, "two", [3, nil]])),
            ("let = = 1", .raises("SyntaxError")),
            ("throw new Error('boom')", .raises("boom")),
            ("a + 1", .value(6)),
        ],
        "PHP": [
            ("function tri($n) { return $n <= 1 ? $n : $n + tri($n - 1); }", .none),
            ("tri(4)", .value(10)),
            ("echo \"hi\\n\"; 5", .value(5)),
            ("$x = 5;", .value(5)),
            ("$x", .value(5)),
            ("echo $x;", .none),
            ("function sq($n) { return $n * $n; } sq(3)", .value(9)),
            ("$t = 0;\nforeach ([1, 2, 3] as $i) {\n    $t += $i;\n}\n$t", .value(6)),
            ("class Account { public $balance = 5; }\nnew Account()", .description(type: "Account", containing: "balance")),
            ("fopen('php://memory', 'r')", .description(type: "resource (stream)", containing: "Resource id")),
            ("NAN", .description(type: "float", containing: "NAN")),
            ("INF", .description(type: "float", containing: "INF")),
            ("function () { return 1; }", .description(type: "Closure", containing: "Closure")),
            ("if (true) { $y = 1; }", .none),
            ("null", .none),
            ("'héllo wörld 🎉'", .value("héllo wörld 🎉")),
            ("['a' => [1, 2.5, null, true]]", .value(["a": [1, 2.5, nil, true]])),
            ("$x = = 1;", .raises("syntax error")),
            ("throw new Exception('boom');", .raises("boom")),
            ("$x + 1", .value(6)),
        ],
        "Perl": [
            ("sub tri { my $n = shift; return $n <= 1 ? $n : $n + tri($n - 1) }", .none),
            ("tri(4)", .value(10)),
            ("our $x = 5;", .none),
            ("$x", .value(5)),
            ("my $y = 7; $y * 2", .value(14)),
            ("print \"hi\\n\"; 5", .value(5)),
            ("print \"hi\\n\";", .none),
            ("sub sq { $_[0] ** 2 } sq(3)", .value(9)),
            ("my $t = 0;\nfor my $i (1 .. 3) {\n    $t += $i;\n}\n$t", .value(6)),
            ("[1, 'two', [3, undef]]", .value([1, "two", [3, nil]])),
            ("{ package Account; sub new { bless { balance => 5 }, shift } }\nAccount->new", .description(type: "Account", containing: "balance")),
            ("sub { 1 }", .description(type: "CODE", containing: "sub")),
            ("\\*STDOUT", .description(type: "GLOB", containing: "STDOUT")),
            ("9**9**9", .description(type: "SCALAR", containing: "Inf")),
            ("~0", .description(type: "SCALAR", containing: "18446744073709551615")),
            ("[1, ~0]", .description(type: "ARRAY", containing: "18446744073709551615")),
            ("use utf8; 'héllo wörld 🎉'", .value("héllo wörld 🎉")),
            ("$x = = 1;", .raises("syntax error")),
            ("die 'boom'", .raises("boom")),
            ("$x + 1", .value(6)),
        ],
        "Ruby": [
            ("x = 5", .value(5)),
            ("x + 1", .value(6)),
            ("def sq(n)\n  n * n\nend", .value("sq")),
            ("sq(7)", .value(49)),
            ("total = 0\n[1, 2, 3].each { |i| total += i }\ntotal", .value(6)),
            ("puts 'hi'", .none),
            ("nil", .none),
            ("2**64", .description(type: "Integer", containing: "18446744073709551616")),
            ("Object.new", .description(type: "Object", containing: "#<Object:")),
            ("Float::NAN", .description(type: "Float", containing: "NaN")),
            ("class Account\n  def initialize\n    @balance = 5\n  end\nend\nAccount.new", .description(type: "Account", containing: "@balance=5")),
            ("->(v) { v }", .description(type: "Proc", containing: "lambda")),
            ("'héllo wörld 🎉'", .value("héllo wörld 🎉")),
            ("{ a: [1, 2.5, nil, true] }", .value(["a": [1, 2.5, nil, true]])),
            ("x = = 1", .raises("SyntaxError")),
            ("1 / 0", .raises("ZeroDivisionError")),
            ("x", .value(5)),
        ],
        "R": [
            ("x <- 5L", .none),
            ("x", .value(5)),
            ("sq <- function(n) n * n", .none),
            ("sq(3L)", .value(9)),
            ("total <- 0L\nfor (i in 1:3) total <- total + i\ntotal", .value(6)),
            ("cat('hi\\n')", .none),
            ("invisible(7)", .none),
            ("NULL", .value(nil)),
            ("function(v) v", .description(type: "function", containing: "function (v)")),
            ("new.env()", .description(type: "environment", containing: "<environment")),
            ("NaN", .description(type: "numeric", containing: "NaN")),
            ("'héllo wörld 🎉'", .value("héllo wörld 🎉")),
            ("list(a = list(1L, 2.5, NULL, TRUE))", .value(["a": [1, 2.5, nil, true]])),
            ("x <- <- 1", .raises("unexpected assignment")),
            ("stop('boom')", .raises("boom")),
            ("x + 1L", .value(6)),
        ],
    ]

    func check(_ bond: Bond, _ code: String, _ expected: RunExpectation, _ collected: Collected) {
        let context = "\(bond.language): \(code)"
        do {
            let result = try bond.run(code)
            switch (expected, result) {
            case (.none, nil):
                break
            case (.value(let value), .value(let got)?):
                #expect(got == value, "\(context)")
            case (.description(let type, let text), .description(let got)?):
                #expect(got.typeName == type, "\(context): type \(got.typeName)")
                #expect(got.text.contains(text), "\(context): \(got.text)")
            default:
                Issue.record("\(context): expected \(expected), got \(String(describing: result))")
            }
        } catch .remote(_, let message, _) {
            guard case .raises(let text) = expected else { Issue.record("\(context): raised \(message)"); return }
            #expect(message.contains(text), "\(context): \(message)")
            // the interpreter's message, once (no second attempt's error added)
            #expect(message.components(separatedBy: text).count == 2, "\(context): \(message)")
        } catch {
            Issue.record("\(context): \(error)")
        }
    }

    @Test(arguments: cases)
    func replInputRunsAsTheLanguagesREPLRunsIt(_ language: String, _ place: Place) throws {
        let (bond, collected) = try makeBond(language, place)
        defer { bond.close() }
        #expect(bond.offersRun)
        for (code, expected) in Self.inputs[language]! {
            check(bond, code, expected, collected)
        }
        // what the inputs printed came as output
        #expect(collected.waitFor { $0.stdout.contains("hi") }, "\(collected.stdout)")
    }

    /// The modes: an expression is evaluated as EVAL does; "error" gives EVAL's error.
    @Test(arguments: cases)
    func expressionsAndTheErrorMode(_ language: String, _ place: Place) throws {
        let (bond, _) = try makeBond(language, place)
        defer { bond.close() }
        let (nothing, unserializable) = [
            "Python": ("None", "object()"), "JavaScript": ("undefined", "Symbol()"),
            "PHP": ("null", "fopen('php://memory', 'r')"), "Perl": ("undef", "sub { 1 }"),
            "Ruby": ("nil", "Object.new"), "R": ("NULL", "function() 1"),
        ][language]!
        #expect(try bond.eval(language == "R" ? "1L + 2L" : "1 + 2", unserializable: .error) == .value(3))
        #expect(try bond.eval(nothing, unserializable: .describe) == .value(nil))
        guard case .description = try bond.eval(unserializable, unserializable: .describe) else {
            Issue.record("\(language): \(unserializable) not described"); return
        }
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval(unserializable, unserializable: .error) }) else {
            Issue.record("\(language): \(unserializable) with .error must be a remote serialization error"); return
        }
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.run(unserializable, unserializable: .error) }) else {
            Issue.record("\(language): run \(unserializable) with .error must be a remote serialization error"); return
        }
        #expect(try bond.run(language == "R" ? "1L + 1L" : "1 + 1") == .value(2))
    }

    /// Code run by RUN calls exported Swift functions, which call back into the interpreter.
    @Test(arguments: cases)
    func nestedCallbacksDuringRun(_ language: String, _ place: Place) throws {
        let (bond, _) = try makeBond(language, place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        try bond.export("viaHost") { [unowned bond] args in
            // Swift -> interpreter -> Swift -> interpreter
            try bond.run(["Python": "twice(%d) + 1", "JavaScript": "twice(%d) + 1", "PHP": "twice(%d) + 1", "Perl": "twice(%d) + 1",
                      "Ruby": "twice(%d) + 1", "R": "twice(%dL) + 1L"][language]!
                .replacingOccurrences(of: "%d", with: String(args[0].intValue ?? 0)))?.value ?? nil
        }
        let code = [
            "Python": "r = twice(3)\nr + viaHost(5)", "JavaScript": "let r = twice(3)\nr + viaHost(5)",
            "PHP": "$r = twice(3);\n$r + viaHost(5)", "Perl": "my $r = twice(3);\n$r + viaHost(5)",
            "Ruby": "r = twice(3)\nr + viaHost(5)", "R": "r <- twice(3L)\nr + viaHost(5L)",
        ][language]!
        #expect(try bond.run(code) == .value(17))
    }

    /// A failure to read a reply on our side is a local error, not the interpreter's.
    @Test func unreadableRepliesAreLocalErrors() throws {
        let (bond, _) = try makeBond("Python")
        defer { bond.close() }
        // Python's json writes 2**70 as is; this host reads integers of 64 bits
        guard case .serialization(_, .local, let message) = bondError({ _ = try bond.eval("2**70") }) else {
            Issue.record("2**70 must be a local error"); return
        }
        #expect(message.contains("64 bits"))
        #expect(try bond.eval("1") == 1)
    }
}

/// `run` against drivers that do not offer RUN: python-bond's own, or ours with the key taken
/// out of the manifest. The engine falls back to EVAL, then EVAL_BLOCK.
@Suite(.timeLimit(.minutes(3))) struct RunFallbackTests {
    /// A copy of our driver folder of `language` whose manifest offers no extension.
    static func driverWithoutRun(_ language: String) throws -> URL {
        let source = DriverCatalog.searchPath(extra: []).map { $0.appendingPathComponent(language) }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("bond.json").path) }!
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bond-norun-\(getpid())-\(UUID().uuidString)")
        let target = folder.appendingPathComponent(language)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: target)
        let manifest = target.appendingPathComponent("bond.json")
        let text = try String(contentsOf: manifest, encoding: .utf8)
            .replacingOccurrences(of: #""extensions": \[[^\]]*\],"#, with: "", options: .regularExpression)
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        return folder
    }

    @Test(arguments: ["Python", "JavaScript", "PHP", "Perl", "Ruby", "R"])
    func runFallsBackToEvalThenBlock(_ language: String) throws {
        let folder = try Self.driverWithoutRun(language)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (bond, collected) = try makeBond(language) { $0.driverDirectories = [folder] }
        defer { bond.close() }
        #expect(!bond.offersRun)
        let (statement, expression, broken) = [
            "Python": ("x = 5", "x + 1", "x = = 1"), "JavaScript": ("var x = 5", "x + 1", "var = = 1"),
            "PHP": ("function f() { return 5; }", "f() + 1", "$x = = 1;"), "Perl": ("sub f { 5 }", "f() + 1", "$x = = 1;"),
            "Ruby": ("x = 5; nil", "x + 1", "x = = 1"), "R": ("x <- 5L; NULL", "x + 1L", "x <- <- 1"),
        ][language]!
        // (Perl's EVAL of a definition gives undef, Ruby's and R's statements here nil and
        // NULL: no error, so no block either)
        #expect(try bond.run(statement) == (["Perl", "Ruby", "R"].contains(language) ? .value(nil) : nil))
        #expect(try bond.run(expression) == .value(6))
        guard case .remote = bondError({ _ = try bond.run(broken) }) else { Issue.record("\(language): syntax error"); return }
        guard case .usage = bondError({ _ = try bond.eval("1", unserializable: .describe) }) else {
            Issue.record("\(language): describe without RUN must be a usage error"); return
        }
        #expect(try bond.eval(language == "R" ? "1L + 1L" : "1 + 1", unserializable: .error) == .value(2))
        _ = collected
    }
}

/// JavaScript's event loop runs between requests and while a RUN awaits (docs/protocol.md,
/// "The JavaScript event loop"), locally and over ssh.
@Suite(.timeLimit(.minutes(3))) struct JavaScriptEventLoopTests {
    /// Polls `condition` until it holds or `seconds` pass.
    func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(5_000)
        }
        return try condition()
    }

    @Test(arguments: places)
    func promisesSettleAndTimersFireBetweenRequests(_ place: Place) throws {
        let (bond, collected) = try makeBond("JavaScript", place)
        defer { bond.close() }
        try bond.evalBlock("Promise.resolve(7).then(v => console.log(v))")
        #expect(collected.waitFor { $0.stdout == "7\n" }, "\(collected.stdout)")
        try bond.evalBlock("globalThis.flag = 0; setTimeout(() => { globalThis.flag = 1 }, 10)")
        #expect(try eventually { try bond.eval("flag") == 1 })
        // what a timer prints while the bond is idle reaches the output at once
        collected.reset()
        try bond.evalBlock("setTimeout(() => console.log('tick'), 20)")
        #expect(collected.waitFor { $0.stdout == "tick\n" }, "\(collected.stdout)")
        #expect(bond.state == .idle)
    }

    @Test(arguments: places)
    func promiseWorkOfARequestRunsBeforeTheNextRequest(_ place: Place) throws {
        let (bond, _) = try makeBond("JavaScript", place)
        defer { bond.close() }
        for i in 0..<20 {
            try bond.evalBlock("globalThis.m = 0; Promise.resolve().then(() => { globalThis.m = \(i) })")
            #expect(try bond.eval("m") == .int(i))
            try bond.evalBlock("(async () => { await null; await null; globalThis.n = \(i) })()")
            #expect(try bond.eval("n") == .int(i))
            try bond.evalBlock("process.nextTick(() => { globalThis.k = \(i) })")
            #expect(try bond.eval("k") == .int(i))
        }
    }

    @Test(arguments: places)
    func timersFireUnderBackToBackRequests(_ place: Place) throws {
        let (bond, _) = try makeBond("JavaScript", place)
        defer { bond.close() }
        try bond.evalBlock("function ident(x) { return x; } globalThis.t = 0; setTimeout(() => { t = 1 }, 5)")
        let deadline = Date().addingTimeInterval(10)
        var calls = 0
        while Date() < deadline, try bond.call("(function () { return t; })") != 1 {
            _ = try bond.call("ident", calls)
            calls += 1
        }
        #expect(try bond.eval("t") == 1, "after \(calls) calls")
    }

    @Test(arguments: places)
    func anIdleThrowIsReportedAndTheBondGoesOn(_ place: Place) throws {
        let (bond, collected) = try makeBond("JavaScript", place)
        defer { bond.close() }
        try bond.evalBlock("setTimeout(() => { throw new Error('idle boom') }, 10)")
        #expect(collected.waitFor { $0.stderr.contains("Uncaught") && $0.stderr.contains("idle boom") }, "\(collected.stderr)")
        try bond.evalBlock("Promise.reject(new Error('rejected boom'))")
        #expect(collected.waitFor { $0.stderr.contains("rejected boom") }, "\(collected.stderr)")
        // thrown by a callback of code that RUN ran (node's REPL evaluator, for await)
        _ = try bond.run("await null; setTimeout(() => { throw new Error('late boom') }, 10)")
        #expect(collected.waitFor { $0.stderr.contains("late boom") }, "\(collected.stderr)")
        #expect(try bond.eval("1 + 1") == 2)
        #expect(bond.isAlive)
    }

    @Test(arguments: places)
    func runAwaitsPromises(_ place: Place) throws {
        let (bond, collected) = try makeBond("JavaScript", place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.run("Promise.resolve(5)") == .value(5))
        #expect(try bond.run("await Promise.resolve(5)") == .value(5))
        #expect(try bond.run("let b = await Promise.resolve(6)") == nil)
        #expect(try bond.run("b") == .value(6))
        #expect(try bond.run("const c = await new Promise(r => setTimeout(() => r(8), 20)); c + 1") == .value(9))
        #expect(try bond.run("new Promise(r => setTimeout(() => r('late'), 20))") == .value("late"))
        #expect(try bond.eval("Promise.resolve(3)", unserializable: .describe) == .value(3))
        // the event loop calls the host while the request awaits
        #expect(try bond.run("await new Promise(r => setTimeout(() => r(twice(4)), 10))") == .value(8))
        guard case .remote(_, let message, _) = bondError({ _ = try bond.run("Promise.reject(new Error('nope'))") }) else {
            Issue.record("a rejection is an exception"); return
        }
        #expect(message.contains("nope"))
        guard case .remote(_, let awaited, _) = bondError({ _ = try bond.run("await Promise.reject(new Error('nope2'))") }) else {
            Issue.record("a rejection is an exception"); return
        }
        #expect(awaited.contains("nope2"))
        try bond.export("viaHost") { [unowned bond] _ in
            // nested: JavaScript waits for the host, its event loop does not run
            guard case .description(let d)? = try bond.run("Promise.resolve(1)") else { return "not described" }
            return .string(d.typeName)
        }
        #expect(try bond.run("viaHost()") == .value("Promise"))
        #expect(try bond.run("console.log('printed'); await null; 2") == .value(2))
        #expect(collected.waitFor { $0.stdout.contains("printed") })
    }

    @Test(arguments: places)
    func anAwaitIsInterruptedAndTheBondGoesOn(_ place: Place) throws {
        let (bond, _) = try makeBond("JavaScript", place)
        defer { bond.close() }
        after(0.5) { bond.interrupt() }
        guard case .remote(_, let message, _) = bondError({ _ = try bond.run("await new Promise(() => {})") }) else {
            Issue.record("interrupted await"); return
        }
        #expect(message.contains("interrupted"))
        #expect(try bond.run("1 + 1") == .value(2))
        // a busy loop is interrupted as before, after the event loop has run
        after(0.5) { bond.interrupt() }
        guard case .remote = bondError({ try bond.evalBlock("for (;;) {}") }) else { Issue.record("busy loop"); return }
        #expect(try bond.eval("2 + 2") == 4)
    }

    /// Node's own REPL writes its result and a prompt once stage 1 returns: muted, but never
    /// the output of the first request.
    @Test func theFirstRequestsOutputIsKept() throws {
        for _ in 0..<4 {
            let (bond, collected) = try makeBond("JavaScript")
            defer { bond.close() }
            try bond.evalBlock("console.log('first')")
            #expect(try bond.eval("2") == 2)
            #expect(collected.stdout == "first\n", "\(collected.stdout)")
        }
    }

    @Test(arguments: places)
    func theHostCannotBeCalledWhileIdle(_ place: Place) throws {
        let (bond, collected) = try makeBond("JavaScript", place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        try bond.evalBlock("setTimeout(() => { try { twice(1) } catch (e) { console.log('refused: ' + e.message) } }, 10)")
        #expect(collected.waitFor { $0.stdout.contains("refused: twice cannot be called while the bond is idle") }, "\(collected.stdout)")
        #expect(try bond.eval("twice(21)") == 42)
    }
}

/// `run` with python-bond 1.4's own drivers (downloaded by scripts/test.sh into
/// $BOND_COMPAT_DRIVERS), which do not offer RUN: the fallback, EVAL then EVAL_BLOCK.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["BOND_COMPAT_DRIVERS"] != nil), .timeLimit(.minutes(2)))
struct RunWithPythonBondDriversTests {
    @Test(arguments: ["Python", "JavaScript", "PHP"])
    func runFallsBackWithTheOriginalDrivers(_ language: String) throws {
        var options = BondOptions()
        options.driverDirectories = [ForeignDriverTests.folder]
        options.output = .discard
        options.timeout = .seconds(20)
        options.defaultArguments = language != "Python"
        let bond = try Bond(language: language, command: language == "Python" ? "python3 -i" : nil, options: options)
        defer { bond.close() }
        #expect(!bond.offersRun)
        let (statement, expression, broken) = [
            "Python": ("x = 5", "x + 1", "x = = 1"), "JavaScript": ("var x = 5", "x + 1", "var = = 1"),
            "PHP": ("", "5 + 1", ""),
        ][language]!
        // (python-bond's PHP driver catches Exception only: a parse error, which PHP 7 and
        // later raise as an Error, ends its loop, so statements and broken code are not tried)
        if language != "PHP" {
            #expect(try bond.run(statement) == nil)
            guard case .remote = bondError({ _ = try bond.run(broken) }) else { Issue.record("\(language): syntax error"); return }
        }
        #expect(try bond.run(expression) == .value(6))
        guard case .usage = bondError({ _ = try bond.eval("1", unserializable: .describe) }) else {
            Issue.record("\(language): describe without RUN must be a usage error"); return
        }
        #expect(try bond.run(expression, unserializable: .error) == .value(6))
    }
}

/// A JavaScript interpreter whose RUN awaits forever exits when its host dies (docs/reliability.md,
/// "Closing"): the driver looks for the end of its input while it awaits.
@Suite(.timeLimit(.minutes(2))) struct JavaScriptAwaitHostDeathTests {
    @Test func anAwaitingInterpreterExitsWhenItsInputEnds() throws {
        let (bond, _) = try makeBond("JavaScript")
        defer { bond.close() }
        let pid = bond.processID
        Thread.detachNewThread { _ = try? bond.run("await new Promise(() => {})") }
        // the request is in progress, then the host's side of the pipe closes, as when the host dies
        let deadline = Date().addingTimeInterval(10)
        while bond.state == .idle, Date() < deadline { usleep(5_000) }
        usleep(200_000)
        bond.connection.process.closeInput()
        let gone = Date().addingTimeInterval(5)
        while processExists(pid), Date() < gone { usleep(20_000) }
        #expect(!processExists(pid), "the interpreter outlived its input")
    }
}
