import Bond
import Foundation
import Testing

/// The six languages together: every ordered pair proxied, chains across three, four and six
/// languages, and the seed's own examples translated to Swift (once more with Ruby and R).
@Suite(.timeLimit(.minutes(3))) struct CrossLanguageTests {
    static let all: [Snippets] = [.python, .javaScript, .perl, .php, .ruby, .r]

    static let defineMix: [String: String] = [
        "Python": "def mix(*a):\n    return list(a)\n",
        "JavaScript": "function mix() { return Array.prototype.slice.call(arguments); }",
        "Perl": "sub mix { return [@_]; }",
        "PHP": "function mix(...$a) { return $a; }",
        "Ruby": "def mix(*a)\n  a\nend",
        "R": "mix <- function(...) list(...)",
    ]
    static let callMix: [String: String] = [
        "Python": "mix(1, 'two', [3, 3.5], {'four': 4}, None, True)",
        "JavaScript": "mix(1, 'two', [3, 3.5], {four: 4}, null, true)",
        "Perl": "mix(1, 'two', [3, 3.5], {four => 4}, undef, JSON::PP::true)",
        "PHP": "mix(1, 'two', [3, 3.5], ['four' => 4], null, true)",
        "Ruby": "mix(1, 'two', [3, 3.5], { four: 4 }, nil, true)",
        "R": "mix(1L, 'two', list(3L, 3.5), list(four = 4L), NULL, TRUE)",
    ]

    static let pairs: [(Snippets, Snippets)] = all.flatMap { a in all.filter { $0.language != a.language }.map { (a, $0) } }

    /// (One pair after another: 30 pairs started at once, 60 interpreters, would starve the
    /// machine for the other tests.)
    @Test(.serialized, arguments: pairs)
    func everyLanguageProxiedToEveryOther(_ source: Snippets, _ target: Snippets) throws {
        let (a, _) = try makeBond(source.language)
        defer { a.close() }
        let (b, _) = try makeBond(target.language)
        defer { b.close() }
        try a.evalBlock(Self.defineMix[source.language]!)
        try a.proxy("mix", to: b)
        let back = try b.eval(Self.callMix[target.language]!)
        #expect(back == [1, "two", [3, 3.5], ["four": 4], nil, true], "\(source.language) -> \(target.language): \(back)")
        // And called from Swift through the target, with Swift values.
        #expect(try b.call("mix", "é", [1, 2], ["k": "v"] as BondValue) == ["é", [1, 2], ["k": "v"]])
    }

    /// Python calls `jsback` (JavaScript), which calls `pyf` (Python): each traffic line says how
    /// many requests and served CALLs of the thread enclose its bond's conversation level.
    @Test func trafficSaysHowDeepAReentrantConversationIsNested() throws {
        let (py, pyLog) = try makeBond("Python")
        let (js, jsLog) = try makeBond("JavaScript")
        defer { py.close(); js.close() }
        try py.evalBlock("def pyf(x):\n    return x + 1\n")
        try py.proxy("pyf", to: js)
        try js.evalBlock("function jsback(x) { return pyf(x) * 10; }")
        try js.proxy("jsback", to: py)
        let before = pyLog.traffic.count
        #expect(try py.eval("jsback(1)") == 20)
        let python = pyLog.traffic.dropFirst(before).map { "\($0.direction.rawValue)\($0.depth) \($0.nest) \($0.line)" }
        #expect(python == [
            #">1 0 EVAL "jsback(1)""#, #"<1 0 CALL ["jsback",[1]]"#,
            #">2 4 CALL ["pyf",[1]]"#, "<2 4 RETURN 2",
            ">1 0 RETURN 20", "<1 0 RETURN 20",
        ])
        #expect(jsLog.traffic.suffix(4).map { "\($0.nest) \($0.line)" } == [
            #"2 CALL ["jsback",[1]]"#, #"2 CALL ["pyf",[1]]"#, "2 RETURN 2", "2 RETURN 20",
        ])
        // Between requests, and from another thread, the level is the top again.
        #expect(try js.eval("1 + 1") == 2)
        #expect(jsLog.traffic.last?.nest == 0)
    }

    @Test func chainsAcrossThreeAndFourLanguages() throws {
        let (py, _) = try makeBond("Python")
        let (js, _) = try makeBond("JavaScript")
        let (pl, _) = try makeBond("Perl")
        let (php, _) = try makeBond("PHP")
        defer { py.close(); js.close(); pl.close(); php.close() }
        try pl.evalBlock("sub inner { return $_[0] + 100; }")
        try pl.proxy("inner", to: js)
        try js.evalBlock("function middle(x) { return inner(x) * 2; }")
        try js.proxy("middle", to: py)
        try py.evalBlock("def outer(x):\n    return middle(x) + 1\n")
        #expect(try py.call("outer", 1) == 203)  // Python -> JavaScript -> Perl, through Swift
        try py.proxy("outer", to: php)
        try php.evalBlock("function top($x) { return outer($x) * 10; }")
        #expect(try php.call("top", 1) == 2030)  // PHP -> Python -> JavaScript -> Perl
        // And back into the first language of the chain.
        try php.proxy("top", to: pl)
        #expect(try pl.eval("top(2)") == 2050)
    }

    @Test func chainsThroughRubyAndR() throws {
        let (rb, _) = try makeBond("Ruby")
        let (r, _) = try makeBond("R")
        let (pl, _) = try makeBond("Perl")
        let (py, _) = try makeBond("Python")
        let (js, _) = try makeBond("JavaScript")
        let (php, _) = try makeBond("PHP")
        defer { [rb, r, pl, py, js, php].forEach { $0.close() } }
        try rb.evalBlock("def inner(x) = x + 100")
        try rb.proxy("inner", to: r)
        try r.evalBlock("middle <- function(x) inner(x) * 2L")
        try r.proxy("middle", to: pl)
        try pl.evalBlock("sub outer { middle($_[0]) + 1 }")
        #expect(try pl.call("outer", 1) == 203)  // Perl -> R -> Ruby, through Swift
        // All six in one chain, and back into the first: JS -> PHP -> Python -> Perl -> R -> Ruby.
        try pl.proxy("outer", to: py)
        try py.evalBlock("def p1(x):\n    return outer(x) * 10\n")
        try py.proxy("p1", to: php)
        try php.evalBlock("function p2($x) { return p1($x) + 5; }")
        try php.proxy("p2", to: js)
        try js.evalBlock("function p3(x) { return [p2(x), 'js']; }")
        #expect(try js.call("p3", 1) == [2035, "js"])
        try js.proxy("p3", to: rb)
        #expect(try rb.eval("p3(2)") == [2055, "js"])
        try js.proxy("p3", to: r)
        #expect(try r.eval("p3(2L)") == [2055, "js"])
        // A Ruby Hash and an R named list cross as objects, through each other.
        try r.evalBlock("shape <- function(h) list(keys = names(h), n = length(h))")
        try r.proxy("shape", to: rb)
        #expect(try rb.eval("shape({ b: 1, a: [1, 2] })") == ["keys": ["b", "a"], "n": 2])
    }

    // MARK: The seed's examples

    @Test func seedOverview() throws {
        let (php, collected) = try makeBond("PHP")
        defer { php.close() }
        try php.evalBlock("echo \"Hello world!\\n\";")
        #expect(collected.stdout == "Hello world!\n")
        let split = php.callable("explode")
        #expect(try split(" ", "Hello world splitted by PHP!") == ["Hello", "world", "splitted", "by", "PHP!"])
        try php.export("call_me") { _ in
            collected.add(.stdout, "Hi, this is Swift talking!\n")
            return nil
        }
        try php.eval("call_me()")
        #expect(collected.stdout.hasSuffix("Hi, this is Swift talking!\n"))
        let (perl, _) = try makeBond("Perl")
        defer { perl.close() }
        try php.proxy("explode", to: perl)
        #expect(try perl.eval("explode(\"=\", \"Mind=blown!\")") == ["Mind", "blown!"])
        if places.contains(.ssh) {
            let (remote, _) = try makeBond("PHP", .ssh)
            defer { remote.close() }
            try remote.evalBlock("function call_me() { return 'Hi from ' . gethostname() . '!'; }")
            #expect(try remote.eval("call_me()").stringValue?.hasPrefix("Hi from ") == true)
        }
    }

    /// The seed's overview once more, with Ruby and R in the roles of PHP and Perl.
    @Test func seedOverviewWithRubyAndR() throws {
        let (rb, collected) = try makeBond("Ruby")
        defer { rb.close() }
        try rb.evalBlock("puts 'Hello world!'")
        #expect(collected.stdout == "Hello world!\n")
        let split = rb.callable("->(sep, s) { s.split(sep) }")
        #expect(try split(" ", "Hello world splitted by Ruby!") == ["Hello", "world", "splitted", "by", "Ruby!"])
        try rb.export("call_me") { _ in
            collected.add(.stdout, "Hi, this is Swift talking!\n")
            return nil
        }
        try rb.eval("call_me()")
        #expect(collected.stdout.hasSuffix("Hi, this is Swift talking!\n"))
        let (r, rOutput) = try makeBond("R")
        defer { r.close() }
        try rb.evalBlock("def explode(sep, s) = s.split(sep)")
        try rb.proxy("explode", to: r)
        #expect(try r.eval("explode(\"=\", \"Mind=blown!\")") == ["Mind", "blown!"])
        try r.evalBlock("cat('Hello from R!\\n')")
        #expect(rOutput.stdout == "Hello from R!\n")
        let strsplit = r.callable("function(s, sep) strsplit(s, sep, fixed = TRUE)[[1]]")
        #expect(try strsplit("a,b,c", ",") == ["a", "b", "c"])
        if places.contains(.ssh) {
            for language in ["Ruby", "R"] {
                let (remote, _) = try makeBond(language, .ssh)
                defer { remote.close() }
                try remote.evalBlock(language == "Ruby"
                    ? "require 'socket'\ndef call_me = \"Hi from #{Socket.gethostname}!\""
                    : "call_me <- function() paste0('Hi from ', Sys.info()[['nodename']], '!')")
                #expect(try remote.eval("call_me()").stringValue?.hasPrefix("Hi from ") == true)
            }
        }
    }

    @Test func seedIncrementalMigration() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bond-migration-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        <?php
        // The original program; function_to_be_replaced() now lives in Swift.
        function helper($x) { return $x * 2; }
        function main($argv) {
            $total = 0;
            foreach ($argv as $arg) { $total += function_to_be_replaced(helper((int)$arg)); }
            echo "total: $total\\n";
            return $total;
        }
        """.write(to: dir.appendingPathComponent("my_original_program.php"), atomically: true, encoding: .utf8)
        let (php, collected) = try makeBond("PHP") { $0.workingDirectory = dir.path }
        defer { php.close() }
        try php.evalBlock("include(\"my_original_program.php\");")
        try php.export("function_to_be_replaced") { args in .int((args[0].intValue ?? 0) + 1) }
        #expect(try php.call("main", ["1", "2", "3"]) == 15)  // (2+1) + (4+1) + (6+1)
        #expect(collected.stdout == "total: 15\n")
    }

    @Test func seedPerlFileHandlesThroughRefs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bond-perlfd-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pl, _) = try makeBond("Perl") { $0.workingDirectory = dir.path }
        defer { pl.close() }
        try pl.evalBlock("open($fd, \">file.txt\");")
        let fd = pl.ref("$fd")
        try pl.call("syswrite", fd, "Hello world!")
        try pl.call("close", fd)
        #expect(try String(contentsOf: dir.appendingPathComponent("file.txt"), encoding: .utf8) == "Hello world!")
        try pl.evalBlock("open($fd, \">file2.txt\");")
        try pl.call("sub { syswrite($fd, shift()); }", "Hello again!")
        try pl.eval("close($fd)")
        #expect(try String(contentsOf: dir.appendingPathComponent("file2.txt"), encoding: .utf8) == "Hello again!")
    }

    @Test func seedParallelWorkersFromThreads() throws {
        let (counts, errors) = countInParallel(Self.all, threads: 8, calls: 100)
        #expect(errors == "")
        #expect(counts.count == 8)
        #expect(counts.allSatisfy { $0.hasSuffix("=100") })
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func seedPrivilegeSeparation() throws {
        let py = try Bond(
            language: "Python", command: "runuser -u nobody -- /usr/bin/python3",
            options: .with { $0.serializationProtocol = "JSON"; $0.transparentExceptions = false; $0.workingDirectory = "/tmp"; $0.output = .discard })
        defer { py.close() }
        let identity = try py.eval("[__import__('os').getuid(), __import__('pwd').getpwuid(__import__('os').getuid()).pw_name]")
        #expect(identity[1] == "nobody")
        #expect(identity[0] != 0)
        let decode = py.callable("lambda s: {'kind': 'decoded', 'length': len(s), 'pickle': \"cos\\nsystem\\n(S'id'\\ntR.\"}")
        let data = try decode("payload")
        #expect(data["length"] == 7)
        #expect(data["pickle"]?.stringValue?.hasPrefix("cos") == true, "a pickle stays a string: nothing is unpickled here")
        guard case .remote = bondError({ try py.evalBlock("open('/root/secret', 'w')") }) else { Issue.record("nobody wrote to /root"); return }
    }
}
