import Bond
import Foundation
import OrderedCollections
import Testing

/// [ext] Keyword arguments (docs/protocol.md, `KEYWORDS`): Python `**kwargs` and PHP 8 named
/// arguments both ways; a clear `.usage` error elsewhere.
@Suite(.timeLimit(.minutes(3))) struct KeywordTests {
    @Test(arguments: places)
    func pythonCallsTakeKeywordArguments(_ place: Place) throws {
        let (py, _) = try makeBond("Python", place)
        defer { py.close() }
        #expect(try py.call("sorted", [3, 1, 2], keywords: ["reverse": true]) == [3, 2, 1])
        try py.evalBlock("def shape(a, b=0, *rest, **named):\n    return [a, b, list(rest), sorted(named.items())]\n")
        #expect(try py.call("shape", 1, keywords: ["b": 2, "z": "last", "y": nil]) == [1, 2, [], [["y", nil], ["z", "last"]]])
        #expect(try py.call("shape", 1, 2, 3, keywords: ["k": ["x": [1.5]]]) == [1, 2, [3], [["k", ["x": [1.5]]]]])
        #expect(try py.call("shape", values: [7], keywords: [:]) == [7, 0, [], []])
        // With a ref among the positional arguments (an XCALL).
        #expect(try py.call("shape", py.ref("40 + 2"), keywords: ["b": 1]) == [42, 1, [], []])
        // Python's own errors stay Python's.
        guard case .remote(_, let message, _) = bondError({ _ = try py.call("sorted", [1], keywords: ["nope": 1]) }) else {
            Issue.record("expected a remote error"); return
        }
        #expect(message.contains("nope"))
        // A ref is no keyword value; a keyword given twice is a mistake: nothing is sent.
        guard case .usage = bondError({ _ = try py.call("shape", 1, keywords: ["b": py.ref("1")]) }) else {
            Issue.record("expected a usage error for a ref keyword"); return
        }
        guard case .usage(_, let twice) = bondError({ _ = try py.call("shape", 1, keywords: ["b": 1, "b": 2]) }) else {
            Issue.record("expected a usage error for a keyword given twice"); return
        }
        #expect(twice.contains("twice"))
        #expect(try py.eval("1 + 1") == 2)
    }

    @Test(arguments: places)
    func pythonCallsSwiftFunctionsWithKeywords(_ place: Place) throws {
        let (py, _) = try makeBond("Python", place)
        defer { py.close() }
        let seen = Collected()
        try py.export("describe", withKeywords: { arguments, keywords in
            seen.add(.stdout, "\(arguments.count)")
            return ["arguments": .array(arguments), "keywords": .object(keywords)]
        })
        #expect(try py.eval("describe(1, 'a', b=True, a=None)") == ["arguments": [1, "a"], "keywords": ["b": true, "a": nil]])
        #expect(try py.eval("describe()") == ["arguments": [], "keywords": [:]])
        // Nested: Swift calls back into Python with keywords, from inside the exported function.
        try py.export("twice_sorted", withKeywords: { arguments, keywords in
            try py.call("sorted", values: arguments, keywords: ["reverse": keywords["reverse"] ?? false])
        })
        #expect(try py.eval("twice_sorted([2, 3, 1], reverse=True)") == [3, 2, 1])
        // A function exported without keywords takes none (Python says so itself).
        try py.export("plain") { arguments in .int(arguments.count) }
        #expect(try py.eval("plain(1, 2)") == 2)
        guard case .remote(_, let message, _) = bondError({ _ = try py.eval("plain(1, x=2)") }) else {
            Issue.record("expected a remote error"); return
        }
        #expect(message.contains("TypeError"))
        #expect(seen.stdout == "20")
    }

    @Test(arguments: places)
    func phpCallsTakeNamedArguments(_ place: Place) throws {
        let (php, _) = try makeBond("PHP", place)
        defer { php.close() }
        #expect(try php.call("array_slice", [1, 2, 3, 4], 1, keywords: ["preserve_keys": false, "length": 2]) == [2, 3])
        try php.evalBlock("function shape($a, $b = 0, ...$rest) { return [$a, $b, $rest]; }")
        #expect(try php.call("shape", 1, keywords: ["b": 2]) == [1, 2, []])
        #expect(try php.call("shape", 1, 2, 3, keywords: ["z": "last"]) == [1, 2, ["0": 3, "z": "last"]])
        #expect(try php.call("shape", 1, keywords: ["z": "last", "b": nil]) == [1, nil, ["z": "last"]])
        // A callable expression (compiled, not called by name), and a ref among the arguments.
        #expect(try php.call("(fn($a, $b = 0) => [$a, $b])", 1, keywords: ["b": 5]) == [1, 5])
        #expect(try php.call("(fn($a, $b = 0) => [$a, $b])", php.ref("40 + 2"), keywords: ["b": 5]) == [42, 5])
        guard case .remote(_, let message, _) = bondError({ _ = try php.call("shape", 1, keywords: ["a": 2]) }) else {
            Issue.record("expected a remote error"); return
        }
        #expect(message.contains("a"))
        #expect(try php.eval("1 + 1") == 2)
    }

    @Test(arguments: places)
    func phpCallsSwiftFunctionsWithNamedArguments(_ place: Place) throws {
        let (php, _) = try makeBond("PHP", place)
        defer { php.close() }
        try php.export("describe", withKeywords: { arguments, keywords in
            ["arguments": .array(arguments), "keywords": .object(keywords)]
        })
        #expect(try php.eval("describe(1, 'a', b: true, a: null)") == ["arguments": [1, "a"], "keywords": ["b": true, "a": nil]])
        #expect(try php.eval("describe(2)") == ["arguments": [2], "keywords": []])  // (PHP reads {} as an empty array)
        try php.export("plain") { arguments in .int(arguments.count) }
        #expect(try php.eval("plain(1, 2)") == 2)
        guard case .remote = bondError({ _ = try php.eval("plain(1, x: 2)") }) else {
            Issue.record("expected a remote error"); return
        }
    }

    /// Ruby's keyword arguments and R's named arguments, both ways (issue 21).
    @Test(arguments: ["Ruby", "R"].flatMap { l in places.map { (l, $0) } })
    func rubyAndRTakeNamedArguments(_ language: String, _ place: Place) throws {
        let (bond, _) = try makeBond(language, place)
        defer { bond.close() }
        if language == "Ruby" {
            try bond.evalBlock("def shape(a, b = 0, *rest, z: nil, **named) = [a, b, rest, z, named]")
            #expect(try bond.call("shape", 1, keywords: ["z": "last"]) == [1, 0, [], "last", [:]])
            #expect(try bond.call("shape", 1, 2, 3, keywords: ["k": ["x": [1.5]], "z": nil]) == [1, 2, [3], nil, ["k": ["x": [1.5]]]])
            #expect(try bond.call("->(a, times: 1) { a * times }", 3, keywords: ["times": 4]) == 12)
            #expect(try bond.call("shape", bond.ref("40 + 2"), keywords: ["z": 1]) == [42, 0, [], 1, [:]])  // (an XCALL)
            #expect(try bond.call("[3, 1, 2].sum", keywords: [:]) == 6)
            guard case .remote(_, let message, _) = bondError({ _ = try bond.call("->(a) { a }", 1, keywords: ["nope": 1]) }) else {
                Issue.record("expected a remote error"); return
            }
            #expect(message.contains("ArgumentError"), "\(message)")  // (a lambda takes an unknown keyword as one more argument)
        } else {
            try bond.evalBlock("shape <- function(a, b = 0, ...) list(a = a, b = b, rest = list(...))")
            #expect(try bond.call("shape", 1, keywords: ["b": 2]) == ["a": 1, "b": 2, "rest": []])
            #expect(try bond.call("shape", 1, keywords: ["z": "last", "b": 5]) == ["a": 1, "b": 5, "rest": ["z": "last"]])
            #expect(try bond.call("shape", keywords: ["b": 7, "a": 6]) == ["a": 6, "b": 7, "rest": []])
            #expect(try bond.call("shape", bond.ref("40L + 2L"), keywords: ["b": 1]) == ["a": 42, "b": 1, "rest": []])  // (an XCALL)
            #expect(try bond.call("paste", "a", "b", keywords: ["sep": "-"]) == "a-b")
            #expect(try bond.call("function(x, times = 1) x * times", 3, keywords: ["times": 4]) == 12)
            guard case .remote = bondError({ _ = try bond.call("function(a) a", 1, keywords: ["nope": 1]) }) else {
                Issue.record("expected a remote error"); return
            }
        }
        try bond.export("describe", withKeywords: { arguments, keywords in
            ["arguments": .array(arguments), "keywords": .object(keywords)]
        })
        // (R's 1 is a double: 1L an integer.)
        let call = language == "Ruby" ? "describe(1, 'a', b: true, a: nil)" : "describe(1L, 'a', b = TRUE, a = NULL)"
        #expect(try bond.eval(call) == ["arguments": [1, "a"], "keywords": ["b": true, "a": nil]])
        #expect(try bond.eval(language == "Ruby" ? "describe(2)" : "describe(2L)") == ["arguments": [2], "keywords": [:]])
        #expect(try bond.eval(language == "Ruby" ? "1 + 1" : "1L + 1L") == 2)
    }

    /// A handle's methods take keyword arguments too (`OCALL`'s fifth element).
    @Test(arguments: ["Python", "PHP"].flatMap { l in places.map { (l, $0) } })
    func handleMethodsTakeKeywordArguments(_ language: String, _ place: Place) throws {
        let (bond, _) = try makeBond(language, place)
        defer { bond.close() }
        let account: BondHandle
        if language == "Python" {
            try bond.evalBlock("""
                class Account:
                    def __init__(self): self.balance = 0
                    def deposit(self, n, times=1, note=None): self.balance += n * times; return [self.balance, note]
                """)
            account = try bond.object("Account()")
        } else {
            try bond.evalBlock("""
                class Account {
                    public $balance = 0;
                    function deposit($n, $times = 1, $note = null) { $this->balance += $n * $times; return [$this->balance, $note]; }
                }
                """)
            account = try bond.object("new Account()")
        }
        #expect(try account.call("deposit", 5, keywords: ["times": 2]) == [10, nil])
        #expect(try account.call("deposit", 1, keywords: ["note": "x", "times": 3]) == [13, "x"])
        #expect(try account.call("deposit", keywords: ["n": 2]) == [15, nil])
        #expect(try account.call("deposit", 1, keywords: [:]) == [16, nil])
        // The language's own error for a keyword the method does not take.
        guard case .remote = bondError({ _ = try account.call("deposit", 1, keywords: ["nope": 1]) }) else {
            Issue.record("expected a remote error"); return
        }
        guard case .usage = bondError({ _ = try account.call("deposit", 1, keywords: ["times": 1, "times": 2]) }) else {
            Issue.record("expected a usage error for a keyword given twice"); return
        }
        #expect(try account.attribute("balance") == 16)
    }

    /// An `Account` whose `deposit(n, times = 1, note = null)` returns `[balance, note]`.
    static let keywordAccount = [
        "Python": """
            class Account:
                def __init__(self): self.balance = 0
                def deposit(self, n, times=1, note=None): self.balance += n * times; return [self.balance, note]
            """,
        "PHP": """
            class Account {
                public $balance = 0;
                function deposit($n, $times = 1, $note = null) { $this->balance += $n * $times; return [$this->balance, $note]; }
            }
            """,
        "JavaScript": """
            globalThis.Account = class Account {
              constructor() { this.balance = 0; }
              deposit(n, times = 1, note = null) { this.balance += n * times; return [this.balance, note]; }
            };
            """,
        "Perl": """
            package Account;
            sub new { return bless {balance => 0}, shift }
            sub deposit { my ($self, $n, $times) = @_; $self->{balance} += $n * ($times // 1); return [$self->{balance}, undef] }
            package main;
            """,
    ]
    static let newKeywordAccount = ["Python": "Account()", "PHP": "new Account()", "JavaScript": "new Account()", "Perl": "Account->new"]

    /// A proxy's methods take keyword arguments (Python `a.deposit(n=5)`, PHP 8 `$a->deposit(n: 5)`):
    /// the proxy's `OCALL` carries them to the host, which passes them on to the owning bond.
    @Test(arguments: [("PHP", "Python"), ("Python", "PHP")].flatMap { pair in places.map { (pair.0, pair.1, $0) } })
    func proxyMethodsTakeKeywordArguments(owner: String, user: String, place: Place) throws {
        let (home, _) = try makeBond(owner)
        defer { home.close() }
        let (away, _) = try makeBond(user, place)
        defer { away.close() }
        try home.evalBlock(Self.keywordAccount[owner]!)
        let account = try home.object(Self.newKeywordAccount[owner]!)
        let use = user == "Python"
            ? "lambda a: [a.deposit(n=5), a.deposit(1, times=3, note='x'), a.deposit(**{'n': 2}), a.balance]"
            : "(function ($a) { return [$a->deposit(n: 5), $a->deposit(1, times: 3, note: 'x'), $a->deposit(...['n' => 2]), $a->balance]; })"
        #expect(try away.call(use, account) == [[5, nil], [8, "x"], [10, nil], 10])
        // The owner's own error for a keyword its method does not take, raised where the proxy was called.
        let wrong = user == "Python" ? "lambda a: a.deposit(1, nope=2)" : "(function ($a) { return $a->deposit(1, nope: 2); })"
        guard case .remote(_, let message, _) = bondError({ _ = try away.call(wrong, account) }) else {
            Issue.record("expected a remote error"); return
        }
        #expect(message.contains("nope"), "\(message)")
        #expect(try account.attribute("balance") == 10)
        #expect(try away.call(user == "Python" ? "lambda a: a.deposit(1)" : "(function ($a) { return $a->deposit(1); })", account) == [11, nil])
    }

    /// A proxy of an object of a language without keyword arguments, called with some: the error
    /// says so, raised where the proxy was called, and both bonds go on.
    @Test(arguments: [("JavaScript", "Python"), ("Perl", "Python"), ("JavaScript", "PHP"), ("Perl", "PHP")].flatMap { pair in
        places.map { (pair.0, pair.1, $0) }
    })
    func proxiesOfLanguagesWithoutKeywordArgumentsSaySo(owner: String, user: String, place: Place) throws {
        let (home, _) = try makeBond(owner)
        defer { home.close() }
        let (away, _) = try makeBond(user, place)
        defer { away.close() }
        try home.evalBlock(Self.keywordAccount[owner]!)
        let account = try home.object(Self.newKeywordAccount[owner]!)
        let keywords = user == "Python" ? "lambda a: a.deposit(n=5)" : "(function ($a) { return $a->deposit(n: 5); })"
        guard case .remote(_, let message, _) = bondError({ _ = try away.call(keywords, account) }) else {
            Issue.record("expected a remote error"); return
        }
        #expect(message.contains("\(owner) has no keyword arguments"), "\(message)")
        let positional = user == "Python" ? "lambda a: a.deposit(5)" : "(function ($a) { return $a->deposit(5); })"
        #expect(try away.call(positional, account) == [5, nil])
        #expect(try home.eval("1 + 1") == 2)
    }

    /// A function proxied to a bond that takes keyword arguments takes them too, and passes
    /// them on (python-bond's `proxy`, `Bond.proxy(_:to:as:)`).
    @Test(arguments: places)
    func proxiedFunctionsTakeKeywordArguments(_ place: Place) throws {
        let (php, _) = try makeBond("PHP", place)
        defer { php.close() }
        let (py, _) = try makeBond("Python", place)
        defer { py.close() }
        let (js, _) = try makeBond("JavaScript")
        defer { js.close() }
        try php.evalBlock("function greet($name, $greeting = 'hello') { return \"$greeting $name\"; }")
        try php.proxy("greet", to: py)
        #expect(try py.eval("greet('ada', greeting='hi')") == "hi ada")
        #expect(try py.eval("greet('ada')") == "hello ada")
        try py.evalBlock("def shape(a, b=0, **rest):\n    return [a, b, sorted(rest)]\n")
        try py.proxy("shape", to: php)
        #expect(try php.eval("shape(1, b: 2, z: 3)") == [1, 2, ["z"]])
        #expect(try php.eval("shape(1)") == [1, 0, []])
        // To a language without keyword arguments: a plain export (JavaScript has no syntax for them).
        try py.proxy("shape", to: js)
        #expect(try js.eval("shape(4, 5)") == [4, 5, []])
        // From one: its error, raised in Python.
        try js.evalBlock("function add(a, b) { return a + b; }")
        try js.proxy("add", to: py)
        #expect(try py.eval("add(1, 2)") == 3)
        guard case .remote(_, let message, _) = bondError({ _ = try py.eval("add(1, b=2)") }) else {
            Issue.record("expected a remote error"); return
        }
        #expect(message.contains("JavaScript has no keyword arguments"), "\(message)")
    }

    @Test(arguments: ["JavaScript", "Perl"])
    func handlesWithoutKeywordArgumentsSaySo(_ language: String) throws {
        let (bond, _) = try makeBond(language)
        defer { bond.close() }
        let list = try bond.object(language == "Perl" ? "[1, 2]" : "[1, 2]")
        guard case .usage(_, let message) = bondError({ _ = try list.call("push", 3, keywords: ["x": 1]) }) else {
            Issue.record("expected a usage error"); return
        }
        #expect(message.contains("\(language) has no keyword arguments"), "\(message)")
    }

    @Test(arguments: ["JavaScript", "Perl"])
    func languagesWithoutKeywordArgumentsSaySo(_ language: String) throws {
        let (bond, _) = try makeBond(language)
        defer { bond.close() }
        guard case .usage(_, let message) = bondError({ _ = try bond.call("f", 1, keywords: ["x": 1]) }) else {
            Issue.record("expected a usage error"); return
        }
        #expect(message.contains("\(language) has no keyword arguments"), "\(message)")
        guard case .usage = bondError({ try bond.export("f", withKeywords: { _, _ in nil }) }) else {
            Issue.record("expected a usage error"); return
        }
        #expect(bond.exportedNames.isEmpty)
        #expect(try bond.call(language == "Perl" ? "abs" : "Math.abs", -3, keywords: [:]) == 3)
    }

    @Test func aDriverWithoutTheExtensionIsNamed() throws {
        // Our Python driver with a manifest that does not offer KEYWORDS (as python-bond's own).
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bond-no-keywords-\(getpid())")
        let python = folder.appendingPathComponent("Python")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: python, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ours = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Resources/drivers/Python")
        for file in ["stage1.py", "stage2.py"] {
            try FileManager.default.copyItem(at: ours.appendingPathComponent(file), to: python.appendingPathComponent(file))
        }
        let manifest = try String(contentsOf: ours.appendingPathComponent("bond.json"), encoding: .utf8)
            .replacingOccurrences(of: ", \"KEYWORDS\"", with: "")
        try manifest.write(to: python.appendingPathComponent("bond.json"), atomically: true, encoding: .utf8)
        let (py, _) = try makeBond("Python") { $0.driverDirectories = [folder] }
        defer { py.close() }
        guard case .usage(let language, let message) = bondError({ _ = try py.call("sorted", [2, 1], keywords: ["reverse": true]) }) else {
            Issue.record("expected a usage error"); return
        }
        #expect(language == "Python")
        #expect(message.contains("KEYWORDS") && message.contains("Python driver"), "\(message)")
        #expect(try py.call("sorted", [2, 1]) == [1, 2])
    }
}
