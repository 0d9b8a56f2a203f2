@testable import Bond
import Foundation
import Synchronization
import Testing

/// Live remote objects (the OBJECTS extension): handles, their methods and attributes, handles
/// as arguments, releases, proxies in other bonds; locally and over ssh.
@Suite(.timeLimit(.minutes(5))) struct ObjectTests {
    static let accountPython = """
        import io
        class Account:
            def __init__(self, owner): self.owner, self.balance = owner, 0
            def deposit(self, n): self.balance += n; return self.balance
        """

    /// The issue's contract block, the handle lines, as written (with the JavaScript line).
    @Test(arguments: places) func contract(place: Place) throws {
        let (py, _) = try makeBond("Python", place)
        defer { py.close() }
        try py.evalBlock(Self.accountPython)
        let account = try py.object("Account('ada')")
        #expect(account.typeName == "Account")
        #expect(account.description.hasPrefix("<__main__.Account object at 0x"))
        #expect(try account.call("deposit", 5) == 5)
        #expect(try account.attribute("owner") == "ada")
        #expect(try py.call("lambda a: a.balance", account) == 5)
        #expect(try py.call("lambda xs: xs[0]['a'].owner", [["a": account]]) == "ada")
        let file = try py.eval("io.BytesIO(b'x')", unserializable: .handle)
        guard case .value(.handle(let handle)) = file else {
            Issue.record("not a handle: \(file)")
            return
        }
        #expect(handle.typeName == "BytesIO")
        // (With BYTES switched on as well, bytes are data, even where handles are asked for.)
        #expect(try handle.call("getvalue", unserializable: .handle) == .bytes(Array("x".utf8)))
        let (js, _) = try makeBond("JavaScript", place)
        defer { js.close() }
        #expect(try js.call("(a) => a.deposit(10)", account) == 15)
        #expect(try account.attribute("balance") == 15)
    }

    /// Releases ride on the next frame: the driver's table is empty once the handles are gone.
    @Test(arguments: places) func releasesRideOnTheNextFrame(place: Place) throws {
        let (py, collected) = try makeBond("Python", place)
        defer { py.close() }
        let before = try py.eval("len(_BOND_TABLE)")
        do {
            let handles = try (0..<5).map { (i: Int) throws(BondError) in try py.object("object()") }
            #expect(handles.count == 5)
            #expect(try py.eval("len(_BOND_TABLE)") == .int(before.intValue! + 5))
        }
        collected.reset()
        #expect(try py.eval("len(_BOND_TABLE)") == before)
        let sent = collected.traffic.filter { $0.direction == .sent }.map(\.line)
        #expect(sent.count == 2 && sent[0].hasPrefix("RELEASE [") && sent[1].hasPrefix("EVAL "), "\(sent)")
    }

    /// Markers are never taken for data: a user map with a `$bond` member goes both ways as it is.
    @Test func userDataThatLooksLikeAMarker() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        let tricky: BondValue = ["$bond": "handle", "id": 1, "nested": [["$bond": "proxy", "id": 2]]]
        #expect(try py.call("lambda x: x", tricky) == tricky)
        #expect(try py.call("lambda x: [x['$bond'], x['nested'][0]['$bond']]", tricky) == ["handle", "proxy"])
        #expect(try py.eval("{'$bond': 'map', 'items': []}") == ["$bond": "map", "items": []])
        #expect(try py.call("lambda x: x", ["k": ["$bond": "x"]] as [String: [String: String]]) == ["k": ["$bond": "x"]])
    }

    @Test func methodResultsAreDataOrHandles() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        try py.evalBlock("class Box:\n    def make(self): return [object(), 1, {'k': object()}]\n    def plain(self): return [1, 'a']")
        let box = try py.object("Box()")
        #expect(try box.call("plain") == [1, "a"])
        guard case .serialization(_, .remote, _)? = bondError({ _ = try box.call("make") }) else {
            Issue.record("an unserializable method result is a remote serialization error")
            return
        }
        let made = try box.call("make", unserializable: .handle)
        #expect(made[0]?.handleValue?.typeName == "object")
        #expect(made[1] == 1)
        #expect(made["k"] == nil && made[2]?["k"]?.handleValue?.typeName == "object")
        let method = try box.attribute("plain", unserializable: .handle)
        #expect(try method.handleValue?() == [1, "a"])
        #expect(try py.object("3").call("__add__", 4) == 7)
    }

    /// An integer beyond 64 bits is no data for the host (JSON writes it, the host cannot read
    /// it): asked for handles, Python keeps it as one, at any depth.
    @Test func bigIntegersAreHandles() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        guard case .value(.handle(let big))? = try py.run("2 ** 64", unserializable: .handle) else {
            Issue.record("2 ** 64 with .handle is a handle")
            return
        }
        #expect(big.typeName == "int" && big.description == "18446744073709551616")
        #expect(try big.call("bit_length") == 65)
        let nested = try py.eval("[1, {'k': -2 ** 70}, 2 ** 63 - 1, (3, 2 ** 64)]", unserializable: .handle).value
        #expect(nested?[0] == 1 && nested?[2] == .int(Int.max))
        #expect(nested?[1]?["k"]?.handleValue?.description == "-1180591620717411303424")
        #expect(nested?[3]?[1]?.handleValue?.typeName == "int")
        if case .description(let d)? = try py.run("2 ** 64") { #expect(d.text == "18446744073709551616") } else {
            Issue.record("described when not asked for handles")
        }
        let floats = try py.eval("[float('inf'), 1.5, {'n': float('nan')}]", unserializable: .handle).value
        #expect(floats?[0]?.handleValue?.description == "inf" && floats?[1] == 1.5)
        #expect(floats?[2]?["n"]?.handleValue?.typeName == "float")
    }

    /// PHP's and Perl's NaN and infinities are handles when asked for, at any depth.
    @Test(arguments: [("PHP", "[1, INF, ['n' => NAN]]"), ("Perl", "[1, 9**9**9, {n => -sin(9**9**9)}]")])
    func phpAndPerlFloatsThatAreNoDataAreHandles(language: String, code: String) throws {
        let (bond, _) = try makeBond(language)
        defer { bond.close() }
        let value = try bond.eval(code, unserializable: .handle).value
        #expect(value?[0] == 1)
        #expect(value?[1]?.handleValue?.description.uppercased().contains("INF") == true)
        #expect(value?[2]?["n"]?.handleValue != nil)
        guard case .serialization? = bondError({ _ = try bond.eval(code) }) else {
            Issue.record("without .handle, a serialization error")
            return
        }
    }

    /// JavaScript's values that are no objects and no data (symbols, BigInts, NaN, infinities)
    /// are handles too when asked for, at any depth.
    @Test func javaScriptScalarsThatAreNoDataAreHandles() throws {
        let (js, _) = try makeBond("JavaScript")
        defer { js.close() }
        guard case .value(.handle(let symbol))? = try js.run("Symbol('s')", unserializable: .handle) else {
            Issue.record("a symbol with .handle is a handle")
            return
        }
        #expect(symbol.typeName == "Symbol" && symbol.description == "Symbol(s)")
        let nested = try js.eval("[2n ** 70n, NaN, { i: -Infinity }, 3]", unserializable: .handle).value
        #expect(nested?[0]?.handleValue?.typeName == "BigInt")
        #expect(try js.call("(b) => String(b)", nested?[0] ?? .null) == "1180591620717411303424")
        #expect(nested?[1]?.handleValue?.description == "NaN" && nested?[3] == 3)
        #expect(nested?[2]?["i"]?.handleValue?.typeName == "number")
        guard case .serialization? = bondError({ _ = try js.eval("Symbol('s')") }) else {
            Issue.record("without .handle a symbol is still a serialization error")
            return
        }
    }

    /// Handles are Sendable: used and dropped from several threads at once.
    @Test func handlesFromManyThreads() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        try py.evalBlock(Self.accountPython)
        let account = try py.object("Account('ada')")
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<25 {
                do {
                    let spare = try py.object("object()")  // (made and dropped on this thread)
                    _ = try account.call("deposit", 1)
                    _ = spare
                } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try account.attribute("balance") == 100)
        #expect(try py.eval("len(_BOND_TABLE)") == 1)  // (the spares' releases rode on that request)
    }

    @Test func errors() throws {
        let (py, _) = try makeBond("Python")
        let account = try py.object("[]")
        guard case .remote(_, let message, _)? = bondError({ _ = try account.call("nope") }) else {
            Issue.record("a missing method is a remote error")
            return
        }
        #expect(message.contains("AttributeError"))
        py.close()
        guard case .usage? = bondError({ _ = try account.call("append", 1) }) else {
            Issue.record("a handle of a closed bond is a usage error")
            return
        }
        #expect(account.description.contains("closed"))
    }

    @Test func deadBond() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        let list = try py.object("[]")
        _ = try? py.evalBlock("import os; os._exit(3)")
        guard case .terminated? = bondError({ _ = try list.call("append", 1) }) else {
            Issue.record("a handle of a dead bond is a terminated error")
            return
        }
    }

    /// Our drivers, not switched on (as python-bond's host starts them, with two start values):
    /// the 1.4 protocol, a user map with a `$bond` member is data as it is, no OBJECT verb.
    @Test(arguments: ["Python", "JavaScript", "Perl"]) func driversNotSwitchedOn(_ language: String) throws {
        let folder = try RunFallbackTests.driverWithoutRun(language)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (bond, _) = try makeBond(language) { $0.driverDirectories = [folder] }
        defer { bond.close() }
        #expect(!bond.offersObjects)
        let marker: BondValue = ["$bond": "handle", "id": 1, "type": "x"]
        let identity = ["Python": "lambda x: x", "JavaScript": "(x) => x", "Perl": "sub { $_[0] }"][language]!
        #expect(try bond.call(identity, marker) == marker)
        #expect(try bond.call(identity, [["$bond": "map", "items": [["a", 1]]]] as BondValue) == [["$bond": "map", "items": [["a", 1]]]])
        // (an unknown request: EXCEPT, or ERROR from Perl)
        switch bondError({ _ = try bond.request("OBJECT", "1") }) {
        case .remote?, .serialization(_, .remote, _)?: break
        default: Issue.record("\(language): OBJECT is no verb of the 1.4 protocol")
        }
        #expect(try bond.eval("1") == 1)
    }

    /// python-bond's own drivers lack the extension: a usage error that names it and the driver.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["BOND_COMPAT_DRIVERS"] != nil))
    func driverWithoutTheExtension() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["BOND_COMPAT_DRIVERS"]!)
        var options = BondOptions()
        options.driverDirectories = [folder]
        let old = try Bond(language: "Python", options: options)
        defer { old.close() }
        #expect(!old.offersObjects)
        guard case .usage(_, let message)? = bondError({ _ = try old.object("object()") }) else {
            Issue.record("no OBJECTS: a usage error")
            return
        }
        #expect(message.contains("OBJECTS") && message.contains("Python driver"))
        #expect(try old.call("lambda x: x", ["$bond": "handle", "id": 1] as BondValue) == ["$bond": "handle", "id": 1])
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        let mine = try py.object("object()")
        guard case .usage? = bondError({ _ = try old.call("lambda x: x", mine) }) else {
            Issue.record("a handle passed to a bond without OBJECTS is a usage error")
            return
        }
    }

    /// The async face writes handles as markers, reads markers back (an escaped user map
    /// among them), and serves a proxy's requests from the interpreter.
    @Test func asyncFace() async throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        try await py.evalBlock(Self.accountPython)
        let account = try py.object("Account('ada')")
        #expect(try await py.call("lambda a: a.deposit(3)", values: [.handle(account)]) == 3)
        let looksLikeAMarker: BondValue = ["$bond": "handle", "id": 1]
        #expect(try await py.call("lambda v: v", values: [looksLikeAMarker]) == looksLikeAMarker)
        let (js, _) = try makeBond("JavaScript")
        defer { js.close() }
        #expect(try await js.call("(a) => a.deposit(4)", values: [.handle(account)]) == 7)
    }

    /// [ext] OBJECTS and BYTES at once: handles, escaped user maps and byte strings in one
    /// frame, both ways, and bytes through a proxy's call into the owning bond.
    @Test(arguments: ["Python", "JavaScript", "Perl", "PHP"]) func handlesAndBytesTogether(language: String) throws {
        let pair = [
            "Python": "lambda o, b: [o, b[::-1]]", "JavaScript": "(o, b) => [o, Buffer.from(b).reverse()]",
            "Perl": "sub { return [$_[0], scalar reverse $_[1]] }", "PHP": "(fn($o, $b) => [$o, strrev($b)])",
        ][language]!
        let echo = ["Python": "lambda v: v", "JavaScript": "(v) => v", "Perl": "sub { $_[0] }", "PHP": "(fn($v) => $v)"][language]!
        let (bond, collected) = try makeBond(language)
        defer { bond.close() }
        let kept = try bond.object("'k'")
        #expect(try bond.call(pair, kept, BondValue.bytes([0, 255, 10])) == ["k", .bytes([10, 255, 0])])
        let looksLikeAMarker: BondValue = ["$bond": "handle", "b": .bytes([1, 0xFF]), "c": [.bytes([0xFE])]]
        let echoed = try bond.call(echo, looksLikeAMarker)
        #expect(echoed == looksLikeAMarker, "\(echoed); \(collected.traffic.map(\.line).suffix(8))")
        let sent = collected.traffic.filter { $0.direction == .sent }.map(\.line)
        #expect(sent.contains { $0.hasPrefix("BYTES ") }, "the bytes went as blocks: \(sent)")

        let (py, _) = try makeBond(language == "Python" ? "JavaScript" : "Python")
        defer { py.close() }
        let flipper = try py.object(
            language == "Python" ? "{flip: (b) => Buffer.from(b).reverse()}" : "type('F', (), {'flip': lambda self, b: b[::-1]})()")
        let viaProxy = [
            "Python": "lambda f: f.flip(b'\\x00\\xff\\x01')", "JavaScript": "(f) => f.flip(Buffer.from([0, 255, 1]))",
            "Perl": "sub { $_[0]->flip(\"\\x00\\xff\\x01\") }", "PHP": "(fn($f) => $f->flip(\"\\x00\\xff\\x01\"))",
        ][language]!
        let flipped = try bond.call(viaProxy, flipper)
        #expect(flipped == .bytes([1, 255, 0]), "\(flipped); \(collected.traffic.map(\.line).suffix(8))")
    }
}

/// What a handle holds and how it is used, per language (locally and over ssh).
@Suite(.timeLimit(.minutes(5))) struct ObjectLanguageTests {
    @Test(arguments: places) func javaScript(place: Place) throws {
        let (js, _) = try makeBond("JavaScript", place)
        defer { js.close() }
        let counter = try js.object("{ n: 1, add(k) { this.n += k; return this.n; }, get twice() { return this.n * 2; } }")
        #expect(counter.typeName == "Object")
        #expect(try counter.call("add", 4) == 5)
        #expect(try counter.attribute("twice") == 10)
        #expect(counter.description.contains("n: 5"))
        let square = try js.object("(x) => x * x")
        #expect(square.typeName == "Function")
        #expect(try square(7) == 49)
        #expect(try js.call("(f, xs) => xs.map(f)", square, [1, 2, 3]) == [1, 4, 9])
        let add = try counter.attribute("add", unserializable: .handle)
        #expect(try add.handleValue?(1) == 6)  // (a method read as a handle stays bound)
        guard case .value(.handle(let map))? = try js.run("new Map([[1, 'a']])", unserializable: .handle) else {
            Issue.record("run with .handle gives a handle")
            return
        }
        #expect(map.typeName == "Map")
        #expect(try map.call("get", 1) == "a")
        guard case .remote? = bondError({ _ = try counter.call("nope") }) else {
            Issue.record("a missing method is a remote error")
            return
        }
    }

    /// An expression the JavaScript driver was given before (`EVAL`, `OBJECT`: compiled once and
    /// kept by its text, see docs/performance.md) runs anew each time, at the global scope.
    @Test func javaScriptExpressionsRunAnewEachTime() throws {
        let (js, _) = try makeBond("JavaScript")
        defer { js.close() }
        let first = try js.object("({ n: 0 })")
        let second = try js.object("({ n: 0 })")
        try js.call("(o) => { o.n = 1; }", first)
        #expect(try first.attribute("n") == 1)
        #expect(try second.attribute("n") == 0)
        try js.evalBlock("var counter = 0")
        for i in 1...3 { #expect(try js.eval("++counter") == .int(i)) }
        #expect(try js.eval("this === globalThis") == true)
        // `eval` and `arguments` see the global scope, as in a script.
        #expect(try js.eval("(eval('var fromEval = 7'), fromEval)") == 7)
        #expect(try js.eval("typeof fromEval") == "number")
        #expect(try js.eval("typeof arguments") == "undefined")
    }

    @Test(arguments: places) func php(place: Place) throws {
        let (php, _) = try makeBond("PHP", place)
        defer { php.close() }
        try php.evalBlock("class Counter { public $n; function __construct($n) { $this->n = $n; } function add($k) { $this->n += $k; return $this->n; } }")
        let counter = try php.object("new Counter(1)")
        #expect(counter.typeName == "Counter")
        #expect(try counter.call("add", 4) == 5)
        #expect(try counter.attribute("n") == 5)  // a property
        #expect(counter.description.contains("[n] => 5"))
        let closure = try php.object("function ($x) { return $x * 3; }")
        #expect(closure.typeName == "Closure")
        #expect(try closure(5) == 15)
        #expect(try php.call("(function ($c, $f) { return [$c->add(1), $f(2)]; })", counter, closure) == [6, 6])
        let add = try counter.attribute("add", unserializable: .handle)  // a method, bound to its object
        #expect(try add.handleValue?(1) == 7)
        let made = try counter.call("add", 0, unserializable: .handle)
        #expect(made == 7)
        guard case .value(.handle(let stream))? = try php.run("fopen('php://memory', 'r')", unserializable: .handle) else {
            Issue.record("run with .handle gives a handle")
            return
        }
        #expect(stream.typeName.hasPrefix("resource"))
        #expect(try php.call("(function ($x) { return $x; })", ["$bond": "handle", "id": 1] as BondValue) == ["$bond": "handle", "id": 1])
        guard case .remote? = bondError({ _ = try counter.call("nope") }) else {
            Issue.record("a missing method is a remote error")
            return
        }
    }

    @Test(arguments: places) func perl(place: Place) throws {
        let (pl, _) = try makeBond("Perl", place)
        defer { pl.close() }
        try pl.evalBlock("package Counter; sub new { bless {n => $_[1]}, $_[0] } sub add { $_[0]{n} += $_[1]; $_[0]{n} } sub pair { ($_[0]{n}, 'x') } package main;")
        let counter = try pl.object("Counter->new(1)")
        #expect(counter.typeName == "Counter")
        #expect(try counter.call("add", 4) == 5)
        #expect(try counter.attribute("n") == 5)  // a hash field
        #expect(try counter.call("pair") == [5, "x"])  // list context, as CALL
        #expect(counter.description.contains("'n' => 5"))
        let code = try pl.object("sub { $_[0] * 3 }")
        #expect(code.typeName == "CODE")
        #expect(try code(5) == 15)
        #expect(try pl.call("sub { my ($c, $f) = @_; [$c->add(1), $f->(2)] }", counter, code) == [6, 6])
        let add = try counter.attribute("add", unserializable: .handle)  // a method, bound to its object
        #expect(try add.handleValue?(1) == 7)
        let glob = try pl.eval("\\*STDERR", unserializable: .handle)
        #expect(glob.value?.handleValue?.typeName == "GLOB")
    }
}

/// A handle passed to another bond is a proxy there: its methods and fields run in the owning
/// bond, through the host, nested calls included (a callback of the user's language, called
/// by the owner's method). Every ordered pair of languages.
@Suite(.timeLimit(.minutes(5))) struct ObjectProxyTests {
    static let languages = ["Python", "JavaScript", "Perl", "PHP"]
    static let pairs: [(String, String)] = languages.flatMap { owner in languages.map { (owner, $0) } }

    /// An `Account` class: `owner`, `balance`, `deposit(n)`, `visit(f)` (calls `f(balance)`).
    static let accountClass: [String: String] = [
        "Python": """
            class Account:
                def __init__(self, owner): self.owner, self.balance = owner, 0
                def deposit(self, n): self.balance += n; return self.balance
                def visit(self, f): return f(self.balance)
            """,
        "JavaScript": """
            globalThis.Account = class Account {
              constructor(owner) { this.owner = owner; this.balance = 0; }
              deposit(n) { this.balance += n; return this.balance; }
              visit(f) { return f(this.balance); }
            };
            """,
        "Perl": """
            package Account;
            sub new { my ($class, $owner) = @_; return bless {owner => $owner, balance => 0}, $class }
            sub deposit { my ($self, $n) = @_; $self->{balance} += $n; return $self->{balance} }
            sub visit { my ($self, $f) = @_; return $f->($self->{balance}) }
            package main;
            """,
        "PHP": """
            class Account {
                public $owner; public $balance = 0;
                function __construct($owner) { $this->owner = $owner; }
                function deposit($n) { $this->balance += $n; return $this->balance; }
                function visit($f) { return $f($this->balance); }
            }
            """,
    ]
    static let newAccount = [
        "Python": "Account('ada')", "JavaScript": "new Account('ada')", "Perl": "Account->new('ada')", "PHP": "new Account('ada')",
    ]
    /// A function that uses the proxy `a`: a method, a field, a method that calls back.
    static let useProxy = [
        "Python": "lambda a: [a.deposit(10), a.owner, a.visit(lambda b: b * 2)]",
        "JavaScript": "(a) => [a.deposit(10), a.owner, a.visit((b) => b * 2)]",
        "Perl": "sub { my $a = shift; [$a->deposit(10), $a->{owner}, $a->visit(sub { $_[0] * 2 })] }",
        "PHP": "(function ($a) { return [$a->deposit(10), $a->owner, $a->visit(function ($b) { return $b * 2; })]; })",
    ]
    /// A function that gives back what it was given (a proxy goes back as the handle).
    static let identity = ["Python": "lambda a: a", "JavaScript": "(a) => a", "Perl": "sub { $_[0] }", "PHP": "(function ($a) { return $a; })"]

    /// Every ordered pair, the user's bond local and (with the test sshd) remote.
    static let cases: [(String, String, Place)] = pairs.flatMap { pair in places.map { (pair.0, pair.1, $0) } }

    @Test(arguments: cases) func proxy(owner: String, user: String, place: Place) throws {
        let (home, _) = try makeBond(owner)
        defer { home.close() }
        let (away, _) = try makeBond(user, place)
        defer { away.close() }
        try home.evalBlock(Self.accountClass[owner]!)
        let account = try home.object(Self.newAccount[owner]!)
        #expect(try account.call("deposit", 5) == 5)
        #expect(try away.call(Self.useProxy[user]!, account) == [15, "ada", 30])
        #expect(try account.attribute("balance") == 15)
        // A proxy given back is the handle itself.
        #expect(try away.call(Self.identity[user]!, account).handleValue === account)
    }

    /// Proxies collected in the other interpreter are released in the host (with its next frame).
    @Test(arguments: ["Python", "Perl", "PHP"]) func proxiesAreReleased(user: String) throws {
        let (home, _) = try makeBond("Python")
        defer { home.close() }
        let (away, _) = try makeBond(user)
        defer { away.close() }
        let list = try home.object("[1, 2]")
        let append = ["Python": "lambda a: a.append(3)", "Perl": "sub { $_[0]->append(3) }", "PHP": "(function ($a) { $a->append(3); })"][user]!
        for _ in 0..<3 { try away.call(append, list) }
        #expect(try list.call("__len__") == 5)
        _ = try away.eval("1")  // (a RELEASE rides on this request's reply, if one is still due)
        #expect(away.objects.proxyCount == 0)
    }
}
