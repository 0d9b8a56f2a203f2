import Bond
import Foundation
import Testing

extension Snippets {
    static let perl = Snippets(
        language: "Perl",
        defineIdent: "sub ident { $_[0] }",
        defineInc: "sub inc { $_[0] + 1 }",
        printHello: "print \"hello\\n\";",
        printError: "print STDERR \"oops\\n\";",
        raiseBoom: "die 'boom';",
        unserializable: "sub { 1 }",
        setGlobal: "$g = 5;",
        hideLocal: "my $hidden = 1;",
        multiply: "sub { $_[0] * $_[1] }",
        catchFail: "eval { fail() }; our $caught = \"$@\";",
        defineDown: "sub down_remote { my $n = shift; $n == 0 ? 0 : 1 + down($n - 1) }",
        strayOutput: "system('echo RETURN 42');",
        readStdin: "system('cat');",
        exit3: "exit 3;",
        sleep5: "sleep 5;",
        busyLoop: "my $i = 0; while (1) { $i++ }",
        defineSpinAfterSlow: "sub spin { my $r = slow(); my $i = 0; while (1) { $i++ } }",
        sixtyFourMebibytesOfZ: "'z' x (64 << 20)"
    )
}

/// The Perl driver: the semantics of python-bond's Perl bond, locally and over ssh.
@Suite struct PerlDriverTests {
    static let s = Snippets.perl

    @Test(arguments: places)
    func marshalsValuesBothWays(_ place: Place) throws {
        let (bond, _) = try makeBond("Perl", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.defineIdent)
        let values: [BondValue] = [
            true, false, 0, 1, -42, 1.5, "", "text", "héllo wörld 🎉 \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} e\u{301}",
            "quotes \" and \\ and \n newlines \t tabs \u{1} nul \u{0}", [], [1, [2, [3, []]]], [:],
            ["a": [true, nil], "b": 1, "nested": ["x": "y"]], nil, .int(Int(Int32.max) * 4), .int(Int.max), .int(Int.min),
            .int(999_999_999_999_999), .int(1_000_000_000_000_001), -0.5, 2.5e-8, 1e300, 0.30000000000000004, "42", "1.0",
        ]
        for value in values {
            #expect(try bond.call("ident", value) == value, "round trip of \(value)")
        }
        // A Perl hash has no order: keys come back sorted.
        #expect(try bond.call("ident", ["b": 1, "a": [true, nil], "c": ["y": 1, "x": 2]] as BondValue)
            == ["a": [true, nil], "b": 1, "c": ["x": 2, "y": 1]])
        #expect(try bond.eval("0.1 + 0.2") == 0.30000000000000004)
        #expect(try bond.eval("\"42\"") == "42")
        #expect(try bond.eval("42") == 42)
        // Numbers made by arithmetic, numbers that were strings, strings that were numbers.
        #expect(try bond.eval("[2 ** 53, 1e15 + 1, 2.0 * 1.5, 10 / 4, \"7\" + 0, 7 . \"\", -(0.5)]")
            == [.int(1 << 53), .int(1_000_000_000_000_001), 3, 2.5, 7, "7", -0.5])
    }

    @Test func listContextAndScalar() throws {
        let (bond, _) = try makeBond("Perl")
        defer { bond.close() }
        #expect(try bond.eval("(1, 2, 3)") == [1, 2, 3])
        #expect(try bond.eval("my @a = (4, 5, 6); @a") == [4, 5, 6])
        #expect(try bond.eval("my @a = (4, 5, 6); scalar(@a)") == 3)
        #expect(try bond.eval("(7)") == 7)
        #expect(try bond.eval("()") == nil)
        #expect(try bond.eval("undef") == nil)
        #expect(try bond.eval("{ a => [1, undef] }") == ["a": [1, nil]])
        #expect(try bond.call("split", " ", "a b c") == ["a", "b", "c"])
        #expect(try bond.call("scalar split", " ", "a b c") == 3)
    }

    @Test func callsAnyFunctionLikeStatement() throws {
        let (bond, collected) = try makeBond("Perl")
        defer { bond.close() }
        try bond.evalBlock(
            """
            sub ident { $_[0] }
            sub name_only() { 'no arguments' }
            our $code_ref = sub { $_[0] * 2 };
            package Counter; sub new { bless { n => $_[1] }, $_[0] } sub add { $_[0]{n} + $_[1] }
            package main; our $counter = Counter->new(40);
            """)
        #expect(try bond.call("map { $_ + 1 }", 1, 2, 3) == [2, 3, 4])
        #expect(try bond.call("&$code_ref", 21) == 42)
        #expect(try bond.call("&{ \\&ident }", "through a ref") == "through a ref")
        #expect(try bond.call("&ident", "bypassing the prototype") == "bypassing the prototype")
        #expect(try bond.call("$counter->add", 2) == 42)
        #expect(try bond.call("Counter->new(1)->add", 2) == 3)
        #expect(try bond.call("sprintf", "%s-%03d", "x", 7) == "x-007")
        #expect(try bond.call("sub { join '+', @_ }", 1, 2) == "1+2")
        #expect(try bond.call("$code_ref", 5) == 10)
        #expect(try bond.call("print", "printed by print") == 1)
        #expect(collected.stdout == "printed by print")
        // Prototypes are honoured: "()" takes no argument.
        #expect(try bond.call("name_only") == "no arguments")
        guard case .remote(_, let message, _) = bondError({ _ = try bond.call("name_only", 1) }) else {
            Issue.record("a () prototype called with an argument must fail"); return
        }
        #expect(message.contains("Too many arguments"))
        guard case .remote = bondError({ _ = try bond.call("no_such_sub", 1) }) else { Issue.record("undefined sub"); return }
        #expect(try bond.eval("1") == 1)
    }

    @Test func fileHandlesThroughRefs() throws {
        let (bond, _) = try makeBond("Perl")
        defer { bond.close() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bond-perl-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try bond.evalBlock("open($fd, '>', '\(path)') or die \"$!\";")
        #expect(try bond.call("syswrite", bond.ref("$fd"), "Hello world!") == 12)
        let closed = try bond.call("close", bond.ref("$fd"))
        #expect(closed == true || closed == 1)  // a boolean from Perl 5.36 on
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "Hello world!")
        #expect(try bond.call("ref", bond.ref("sub {}")) == "CODE")
        #expect(try bond.call("sub { $_[0] + $_[1] }", bond.ref("20 + 1"), 21) == 42)
    }

    @Test(arguments: places)
    func scopesAndTheDriversOwnNames(_ place: Place) throws {
        let (bond, _) = try makeBond("Perl", place)
        defer { bond.close() }
        try bond.evalBlock("$x = 1; my $y = 2; our $z = 3;")
        #expect(try bond.eval("$x // -1") == 1)
        #expect(try bond.eval("$y // -1") == -1)
        #expect(try bond.eval("$z // -1") == 3)
        #expect(try bond.eval("$main::z") == 3)
        // The driver's lexicals are out of reach, and no strict is imposed.
        for name in ["$IN", "$OUT", "$TRANS", "$RBUF", "%TIED", "$J", "$SENTINEL"] {
            guard case .remote = bondError({ _ = try bond.eval("use strict; \(name)") }) else {
                Issue.record("\(name) is visible to evaluated code"); continue
            }
        }
        #expect(try bond.eval("$SENTINEL") == nil)
        // Changing the interpreter's globals does not break the driver.
        try bond.evalBlock("$/ = undef; $, = '-'; $\\ = '';")
        #expect(try bond.eval("'still' . ' here'") == "still here")
        guard case .remote = bondError({ try bond.evalBlock("last;") }) else { Issue.record("last outside a loop"); return }
        #expect(try bond.eval("2") == 2)
    }

    @Test func errorsWithStringsObjectsAndCode() throws {
        let (plain, _) = try makeBond("Perl")
        defer { plain.close() }
        guard case .remote(_, let message, let data) = bondError({ try plain.evalBlock("die 'boom';") }) else {
            Issue.record("die"); return
        }
        #expect(message.hasPrefix("boom at "))
        #expect(data.stringValue == message)
        guard case .remote(_, let text, _) = bondError({ _ = try plain.eval("die { code => 7 }") }) else {
            Issue.record("die with a hash"); return
        }
        #expect(text.hasPrefix("HASH("))

        let (trans, _) = try makeBond("Perl") { $0.transparentExceptions = true }
        defer { trans.close() }
        guard case .remote(_, _, let object) = bondError({ _ = try trans.eval("die { code => 7 }") }) else {
            Issue.record("transparent die with a hash"); return
        }
        #expect(object == ["code": 7])
        try trans.evalBlock("package MyError; sub new { bless { m => $_[1] }, $_[0] } sub TO_JSON { { error => $_[0]{m} } }")
        guard case .remote(_, _, let custom) = bondError({ _ = try trans.eval("die MyError->new('custom')") }) else {
            Issue.record("transparent die with TO_JSON"); return
        }
        #expect(custom == ["error": "custom"])
        // A code ref cannot cross: a remote serialization error, and the bond goes on.
        guard case .serialization(_, .remote, _) = bondError({ _ = try trans.eval("die sub { 1 }") }) else {
            Issue.record("die with a code ref"); return
        }
        guard case .remote = bondError({ _ = try plain.eval("die sub { 1 }") }) else { Issue.record("plain code ref"); return }
        #expect(try trans.eval("1") == 1)
    }

    @Test func serializationToJSONAndByteStrings() throws {
        let (bond, _) = try makeBond("Perl")
        defer { bond.close() }
        try bond.evalBlock("package Point; sub new { bless { x => $_[1] }, $_[0] } sub TO_JSON { [$_[0]{x}, 'pt'] }")
        #expect(try bond.eval("Point->new(3)") == [3, "pt"])
        #expect(try bond.eval("JSON::PP::true") == true)
        for bad in ["use IO::File; IO::File->new", "sub { 1 }", "\\*STDOUT", "bless {}, 'NoJson'", "9**9**9",
                    "my $a = []; push @$a, $a; $a"] {
            guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval(bad) }) else {
                Issue.record("\(bad) must be a remote serialization error"); continue
            }
        }
        // Byte strings: UTF-8 text when they decode as such, bytes otherwise ([ext] BYTES);
        // a character string (utf8::upgrade) is text.
        #expect(try bond.eval("\"caf\\xc3\\xa9\"") == "café")
        #expect(try bond.eval("chr(233)") == .bytes([0xE9]))
        #expect(try bond.eval("do { my $s = chr(233); utf8::upgrade($s); $s }") == "é")
        #expect(try bond.eval("\"\\xff\\xfe\"") == .bytes([0xFF, 0xFE]))
        #expect(try bond.eval("length('é🎉')") == 2)
        #expect(try bond.eval("'é🎉'") == "é🎉")
    }

    @Test(arguments: places)
    func warningsAndOutputAreStreamed(_ place: Place) throws {
        let (bond, collected) = try makeBond("Perl", place)
        defer { bond.close() }
        try bond.evalBlock("print \"hello\\n\"; printf(\"%03d\\n\", 7); syswrite(STDOUT, \"sys\\n\");")
        #expect(collected.stdout == "hello\n007\nsys\n")
        try bond.evalBlock("use warnings; my $u; my $s = \"$u\"; warn \"careful\\n\"; print STDERR \"oops\\n\";")
        #expect(collected.stderr.contains("uninitialized"))
        #expect(collected.stderr.contains("careful\noops\n"))
        try bond.evalBlock("binmode(STDOUT, ':utf8'); print chr(0x263a), \"\\n\"; binmode(STDOUT); print \"é\\n\";")
        #expect(collected.stdout.hasSuffix("☺\né\n"))
        // Streamed: the first line arrives while the block still runs.
        collected.reset()
        let started = Date()
        Thread.detachNewThread { try? bond.evalBlock("$| = 1; print \"first\\n\"; sleep 2; print \"second\\n\";") }
        #expect(collected.waitFor(seconds: 1.5) { $0.stdout == "first\n" })
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(collected.waitFor(seconds: 5) { $0.stdout == "first\nsecond\n" })
    }

    @Test(arguments: places)
    func strayOutputAndStdin(_ place: Place) throws {
        let (bond, collected) = try makeBond("Perl", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.strayOutput)
        #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 42") })
        try bond.evalBlock("system('printf partial-line');")
        try bond.evalBlock(Self.s.readStdin)
        #expect(try bond.eval("my $x = `cat`; length($x)") == 0)
        #expect(try bond.eval("defined(scalar <STDIN>) ? 1 : 0") == 0)
        #expect(try bond.eval("40 + 2") == 42)
    }

    @Test(arguments: places)
    func exportsRecursionAndCatchableSwiftErrors(_ place: Place) throws {
        struct Refusal: Error, CustomStringConvertible { var description: String { "swift says no" } }
        let (bond, collected) = try makeBond("Perl", place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 42)
        #expect(try bond.eval("twice(twice(2)) + 1") == 9)
        try bond.evalBlock(Self.s.defineDown)
        try bond.export("down") { [unowned bond] args in
            let n = args[0].intValue ?? 0
            return .int(n == 0 ? 0 : 1 + (try bond.call("down_remote", n - 1).intValue ?? 0))
        }
        #expect(try bond.call("down_remote", 10) == 10)
        #expect((collected.traffic.map(\.depth).max() ?? 0) >= 6)
        try bond.export("fail") { _ in throw Refusal() }
        try bond.evalBlock(Self.s.catchFail)
        #expect(try bond.eval("$caught").stringValue?.contains("swift says no") == true)
        guard case .remote(_, let message, _) = bondError({ _ = try bond.eval("fail()") }) else {
            Issue.record("uncaught Swift error"); return
        }
        #expect(message.contains("swift says no"))
        try bond.export("bad") { _ in .double(.nan) }
        guard case .serialization = bondError({ _ = try bond.eval("bad()") }) else { Issue.record("bad value"); return }
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval("twice(sub {})") }) else {
            Issue.record("unserializable argument of an exported function"); return
        }
        collected.reset()
        #expect(try bond.eval("1 + 1") == 2)
        #expect(collected.traffic.allSatisfy { $0.depth == 1 })
        #expect(bond.state == .idle)
    }

    @Test(arguments: places)
    func interruptIsAnOrdinaryDie(_ place: Place) throws {
        let (bond, _) = try makeBond("Perl", place)
        defer { bond.close() }
        if place == .ssh { #expect(bond.remoteProcessID != nil) }
        for code in [Self.s.busyLoop, "sleep 30;"] {
            after(0.5) { bond.interrupt() }
            let started = Date()
            guard case .remote(_, let message, _) = bondError({ try bond.evalBlock(code) }) else {
                Issue.record("interrupt of \(code)"); continue
            }
            #expect(message.contains("interrupted"))
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(bond.state == .idle)
            #expect(try bond.eval("6 * 7") == 42)
        }
        // Code can catch it, as any die.
        after(0.5) { bond.interrupt() }
        #expect(try bond.eval("eval { sleep 30 }; \"caught: $@\"") == "caught: interrupted by SIGINT\n")
    }

    @Test func proxyToAndFromPHP() throws {
        let (perl, _) = try makeBond("Perl")
        defer { perl.close() }
        let (php, _) = try makeBond("PHP")
        defer { php.close() }
        try perl.evalBlock("sub func_perl { $_[0] + 1 }")
        try perl.proxy("func_perl", to: php)
        #expect(try php.call("func_perl", 0) == 1)
        try php.evalBlock("function func_php($x) { return func_perl($x) * 10; }")
        try php.proxy("func_php", to: perl)
        #expect(try perl.eval("func_php(1)") == 20)
    }
}
