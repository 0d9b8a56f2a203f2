import Bond
import Foundation
import Testing

extension Snippets {
    static let ruby = Snippets(
        language: "Ruby",
        defineIdent: "def ident(x)\n  x\nend",
        defineInc: "def inc(x)\n  x + 1\nend",
        printHello: "puts 'hello'",
        printError: "$stderr.puts 'oops'",
        raiseBoom: "raise ArgumentError, 'boom'",
        unserializable: "Object.new",
        setGlobal: "g = 5",
        hideLocal: "def f\n  hidden = 1\n  hidden\nend\nf\n",
        multiply: "->(a, b) { a * b }",
        catchFail: "caught = begin\n  fail()\nrescue => e\n  e.message\nend",
        defineDown: "def down_remote(n)\n  n == 0 ? 0 : 1 + down(n - 1)\nend",
        strayOutput: "system('echo RETURN 42')",
        readStdin: "system('cat')",
        exit3: "exit 3",
        sleep5: "sleep 5",
        busyLoop: "i = 0\nwhile true\n  i += 1\nend",
        defineSpinAfterSlow: "def spin\n  slow\n  i = 0\n  i += 1 while true\nend",
        sixtyFourMebibytesOfZ: "'z' * (64 << 20)"
    )
}

/// The Ruby driver (issue 21), locally and over ssh.
/// (Its tests one after another: each starts interpreters and waits on them, and a full run
/// on a small machine has many others.)
@Suite(.serialized, .timeLimit(.minutes(5))) struct RubyDriverTests {
    static let s = Snippets.ruby

    @Test(arguments: places)
    func marshalsValuesBothWays(_ place: Place) throws {
        let (bond, _) = try makeBond("Ruby", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.defineIdent)
        let values: [BondValue] = [
            true, false, 0, 1, -42, 1.5, "", "text", "héllo wörld 🎉 \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} e\u{301}",
            "quotes \" and \\ and \n newlines \t tabs \u{1} nul \u{0} \u{2028}", [], [1, [2, [3, []]]], [:],
            ["b": 1, "a": [true, nil], "nested": ["x": "y"]], nil, .int(Int(Int32.max) * 4), .int(Int.max), .int(Int.min),
            -0.5, 2.5e-8, 1e300, 0.30000000000000004, "42", "1.0", 1.0,
        ]
        for value in values {
            #expect(try bond.call("ident", value) == value, "round trip of \(value)")
        }
        // A Hash keeps its order; symbols become strings; nil is null.
        #expect(try bond.eval("{ z: 1, a: :sym, 'm' => nil, 3 => [:x] }") == ["z": 1, "a": "sym", "m": nil, "3": ["x"]])
        #expect(try bond.eval("{ z: 1, a: 2 }").objectValue.map { Array($0.keys) } == ["z", "a"])
        #expect(try bond.eval("1 + 1") == 2)
        #expect(try bond.eval("2 ** 62") == .int(1 << 62))
        #expect(try bond.eval("10 / 4.0") == 2.5)
        #expect(try bond.eval("3.0") == 3.0)
        #expect(try bond.eval("\"caf\\xC3\\xA9\".b") == "café")
        #expect(try bond.eval("'é'.encode('ISO-8859-1')") == "é")
    }

    @Test func toJSONAndAsJSONAreHonouredAndOtherObjectsAreErrors() throws {
        let (bond, _) = try makeBond("Ruby")
        defer { bond.close() }
        try bond.evalBlock(
            """
            class Point
              def initialize(x, y); @x, @y = x, y; end
              def to_json(*a) = { "x" => @x, "y" => @y }.to_json(*a)
            end
            class Money
              def initialize(c); @c = c; end
              def as_json(*) = { "cents" => @c }
            end
            Pair = Struct.new(:a, :b)
            """)
        #expect(try bond.eval("Point.new(1, 2)") == ["x": 1, "y": 2])
        #expect(try bond.eval("[Money.new(5), { m: Money.new(6) }]") == [["cents": 5], ["m": ["cents": 6]]])
        for bad in ["Object.new", "Pair.new(1, 2)", "1..3", "method(:puts)", "-> {}", "2 ** 64", "-(2 ** 63) - 1",
                    "Float::NAN", "Float::INFINITY", "\"\\xFF\".b", "\"\\xFF\".force_encoding('UTF-8')", "a = []; a << a; a", "$stdout", "Time.now"] {
            guard case .serialization(_, .remote, let message) = bondError({ _ = try bond.eval(bad) }) else {
                Issue.record("\(bad) must be a remote serialization error"); continue
            }
            #expect(!message.isEmpty)
            #expect(try bond.eval("1") == 1)
        }
    }

    @Test(arguments: places)
    func scopesOfEvalAndBlock(_ place: Place) throws {
        let (bond, _) = try makeBond("Ruby", place)
        defer { bond.close() }
        try bond.evalBlock(
            """
            def greet(name) = "hi #{name}"
            class Counter
              def initialize(n)
                @n = n
              end
              def add(k) = @n + k
            end
            module Util
              def self.twice(x) = 2 * x
              LIMIT = 10
            end
            ANSWER = 42
            $global = 'g'
            local = 'persists, as in irb'
            """)
        #expect(try bond.eval("greet('bo')") == "hi bo")
        #expect(try bond.eval("Counter.new(40).add(2)") == 42)
        #expect(try bond.eval("Util::LIMIT + ANSWER") == 52)
        #expect(try bond.eval("$global") == "g")
        #expect(try bond.eval("local") == "persists, as in irb")
        // A method's locals stay inside it; the driver's names are out of the way.
        try bond.evalBlock(Self.s.hideLocal)
        guard case .remote(_, let message, _) = bondError({ _ = try bond.eval("hidden") }) else {
            Issue.record("a method's local leaked"); return
        }
        #expect(message.hasPrefix("NameError: "))
        #expect(try bond.eval("local_variables.map(&:to_s).grep(/BOND/)") == [])
        #expect(try bond.eval("self.to_s") == "main")
    }

    @Test(arguments: places)
    func callsOfEveryForm(_ place: Place) throws {
        let (bond, collected) = try makeBond("Ruby", place)
        defer { bond.close() }
        try bond.evalBlock(
            """
            def add(a, b) = a + b
            def ready? = true
            class Counter
              def initialize(n)
                @n = n
              end
              def add(k) = @n + k
              def self.make(n) = new(n)
            end
            module Util
              def self.twice(x) = 2 * x
            end
            counter = Counter.new(40)
            triple = ->(x) { x * 3 }
            NOTHING = nil
            """)
        #expect(try bond.call("add", 40, 2) == 42)
        #expect(try bond.call("ready?") == true)
        #expect(try bond.call("counter.add", 2) == 42)
        #expect(try bond.call("Counter.make(1).add", 2) == 3)
        #expect(try bond.call("Util.twice", 21) == 42)
        #expect(try bond.call("Util::twice", 4) == 8)
        #expect(try bond.call("Math.sqrt", 16) == 4.0)
        #expect(try bond.call("Integer", "42") == 42)
        #expect(try bond.call("triple", 5) == 15)
        #expect(try bond.call("->(a, *rest) { [a, rest] }", 1, 2, 3) == [1, [2, 3]])
        #expect(try bond.call("proc { |x| x.upcase }", "ab") == "AB")
        #expect(try bond.call("method(:add)", 1, 2) == 3)
        #expect(try bond.call("NOTHING&.length") == nil)
        #expect(try bond.call("[1, 2, 3].sum") == 6)
        #expect(try bond.call("format", "%s-%03d", "x", 7) == "x-007")
        #expect(try bond.call("print", "printed by print") == nil)
        #expect(collected.stdout == "printed by print")
        // Arguments that are code (refs) are evaluated first.
        #expect(try bond.call("add", bond.ref("counter.add(0)"), 2) == 42)
        #expect(try bond.call("->(h) { h.keys }", ["k": 1, "j": 2] as BondValue) == ["k", "j"])
        for bad in ["no_such_method", "Counter.no_such", "42", "Nope::thing", "add("] {
            guard case .remote = bondError({ _ = try bond.call(bad, 1) }) else { Issue.record("\(bad)"); continue }
        }
        guard case .remote(_, let arity, _) = bondError({ _ = try bond.call("add", 1) }) else { Issue.record("arity"); return }
        #expect(arity.hasPrefix("ArgumentError: wrong number of arguments"))
        #expect(try bond.eval("1") == 1)
    }

    @Test(arguments: places)
    func exceptionsWithClassAndMessage(_ place: Place) throws {
        let (plain, _) = try makeBond("Ruby", place)
        defer { plain.close() }
        try plain.evalBlock(
            """
            class BankError < StandardError
              def initialize(msg = 'insufficient funds', code: 7)
                super(msg)
                @code = code
              end
              def as_json(*) = { 'error' => message, 'code' => @code }
            end
            class Silent < StandardError; end
            """)
        let cases: [(String, String)] = [
            ("raise 'boom'", "RuntimeError: boom"), ("raise ArgumentError, 'bad'", "ArgumentError: bad"),
            ("raise BankError", "BankError: insufficient funds"), ("raise Silent", "Silent"),
            ("1 / 0", "ZeroDivisionError: divided by 0"), ("nil.upcase", "NoMethodError: undefined method `upcase' for nil:NilClass"),
            ("throw :out", "UncaughtThrowError: uncaught throw :out"), ("raise 42", "TypeError: exception class/object expected"),
        ]
        for (code, text) in cases {
            guard case .remote(_, let message, let data) = bondError({ _ = try plain.eval(code) }) else {
                Issue.record("\(code)"); continue
            }
            #expect(message == text)
            #expect(data == .string(text))
        }
        guard case .remote(_, let syntax, _) = bondError({ try plain.evalBlock("def (") }) else { Issue.record("syntax"); return }
        #expect(syntax.hasPrefix("SyntaxError: "))

        let (trans, _) = try makeBond("Ruby", place) { $0.transparentExceptions = true }
        defer { trans.close() }
        try trans.evalBlock("class BankError < StandardError\n  def as_json(*) = { 'error' => message, 'code' => 7 }\nend")
        guard case .remote(_, _, let object) = bondError({ _ = try trans.eval("raise BankError, 'no money'") }) else {
            Issue.record("transparent as_json"); return
        }
        #expect(object == ["error": "no money", "code": 7])
        guard case .remote(_, _, let plainObject) = bondError({ _ = try trans.eval("raise KeyError, 'k'") }) else {
            Issue.record("transparent"); return
        }
        #expect(plainObject == ["type": "KeyError", "message": "KeyError: k"])
        #expect(try trans.eval("1") == 1)
    }

    @Test(arguments: places)
    func outputWarningsAndStderrAreStreamed(_ place: Place) throws {
        let (bond, collected) = try makeBond("Ruby", place)
        defer { bond.close() }
        try bond.evalBlock("puts 'hello', [1, [2]], nil; print 'a', 'b'; printf(\"%03d\\n\", 7); $stdout << 'x' << \"\\n\"; p :sym")
        #expect(collected.stdout == "hello\n1\n2\n\nab007\nx\n:sym\n")
        try bond.evalBlock("warn 'careful'; $stderr.puts 'oops'; $stderr.write('raw')")
        #expect(collected.stderr.contains("careful\noops\nraw"))
        try bond.evalBlock("$VERBOSE = true; def twice_defined; end; def twice_defined; end; $VERBOSE = false")
        #expect(collected.waitFor { $0.stderr.contains("warning: method redefined") })
        try bond.evalBlock("puts 'é☺'.encode('UTF-8')")
        #expect(collected.stdout.hasSuffix("é☺\n"))
        // Streamed: the first line arrives while the block still runs.
        collected.reset()
        let started = Date()
        Thread.detachNewThread { try? bond.evalBlock("puts 'first'; sleep 2; puts 'second'") }
        #expect(collected.waitFor(seconds: 1.5) { $0.stdout == "first\n" })
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(collected.waitFor(seconds: 5) { $0.stdout == "first\nsecond\n" })
        let verbs = collected.traffic.filter { $0.direction == .received }.map(\.verb)
        #expect(verbs.contains("OUTPUT"))
    }

    @Test(arguments: places)
    func strayOutputAndStdinNeverBreakTheProtocol(_ place: Place) throws {
        let (bond, collected) = try makeBond("Ruby", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.strayOutput)
        #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 42") })
        try bond.evalBlock("system('printf partial-line'); STDOUT.write(\"RETURN 7\\n\"); STDOUT.flush")
        #expect(collected.waitFor { $0.stderr.contains("RETURN 7") })
        try bond.evalBlock(Self.s.readStdin)
        #expect(try bond.eval("`cat`.length") == 0)
        #expect(try bond.eval("$stdin.gets") == nil)
        #expect(try bond.eval("40 + 2") == 42)
    }

    @Test(arguments: places)
    func exportsRecursionAndCatchableSwiftErrors(_ place: Place) throws {
        struct Refusal: Error, CustomStringConvertible { var description: String { "swift says no" } }
        let (bond, collected) = try makeBond("Ruby", place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 42)
        #expect(try bond.eval("twice(twice(2)) + 1") == 9)
        try bond.export("echo") { args in .array(args) }
        #expect(try bond.eval("echo(:a, { k: [1, nil] }, key: 'word')") == ["a", ["k": [1, nil]], ["key": "word"]])
        try bond.evalBlock(Self.s.defineDown)
        try bond.export("down") { [unowned bond] args in
            let n = args[0].intValue ?? 0
            return .int(n == 0 ? 0 : 1 + (try bond.call("down_remote", n - 1).intValue ?? 0))
        }
        #expect(try bond.call("down_remote", 10) == 10)
        #expect((collected.traffic.map(\.depth).max() ?? 0) >= 6)
        try bond.export("fail") { _ in throw Refusal() }
        try bond.evalBlock(Self.s.catchFail)
        #expect(try bond.eval("caught").stringValue?.contains("swift says no") == true)
        #expect(try bond.eval("begin; fail(); rescue BOND_Driver::RemoteError => e; e.class.name; end") == "BOND_Driver::RemoteError")
        guard case .remote(_, let message, _) = bondError({ _ = try bond.eval("fail()") }) else {
            Issue.record("uncaught Swift error"); return
        }
        #expect(message.contains("swift says no"))
        try bond.export("bad") { _ in .double(.nan) }
        guard case .serialization = bondError({ _ = try bond.eval("bad()") }) else { Issue.record("bad value"); return }
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval("twice(Object.new)") }) else {
            Issue.record("unserializable argument of an exported function"); return
        }
        #expect(try bond.eval("begin; twice(Object.new); rescue TypeError => e; e.class.name; end") == "BOND_Driver::SerializationError")
        collected.reset()
        #expect(try bond.eval("1 + 1") == 2)
        #expect(collected.traffic.allSatisfy { $0.depth == 1 })
        #expect(bond.state == .idle)
    }

    @Test(arguments: places)
    func interruptIsAnOrdinaryInterrupt(_ place: Place) throws {
        let (bond, _) = try makeBond("Ruby", place)
        defer { bond.close() }
        if place == .ssh { #expect(bond.remoteProcessID != nil) }
        for code in [Self.s.busyLoop, "sleep 30", "system('sleep 30')"] {
            after(0.5) { bond.interrupt() }
            let started = Date()
            guard case .remote(_, let message, _) = bondError({ try bond.evalBlock(code) }) else {
                Issue.record("interrupt of \(code)"); continue
            }
            #expect(message == "Interrupt: interrupted by SIGINT" || code.hasPrefix("system"), "\(message)")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(bond.state == .idle)
            #expect(try bond.eval("6 * 7") == 42)
        }
        // Code can rescue it, as any Interrupt (not a StandardError).
        after(0.5) { bond.interrupt() }
        #expect(try bond.eval("begin; sleep 30; rescue Interrupt => e; \"caught: #{e.message}\"; end") == "caught: interrupted by SIGINT")
        // Output written while the interrupt comes is whole frames only.
        after(0.5) { bond.interrupt() }
        guard case .remote = bondError({ try bond.evalBlock("loop { $stdout.write('x' * 1000 + \"\\n\") }") }) else {
            Issue.record("interrupt of a printing loop"); return
        }
        #expect(try bond.eval("'still' + ' here'") == "still here")
    }
}
