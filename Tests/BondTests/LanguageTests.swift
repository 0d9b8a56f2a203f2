import Bond
import Foundation
import Testing

/// The behaviour the seed documents, for each language of the engine, locally and over ssh.
@Suite(.timeLimit(.minutes(5))) struct LanguageTests {
    static let cases: [(Snippets, Place)] = Snippets.engine.flatMap { s in places.map { (s, $0) } }

    @Test(arguments: cases)
    func marshalsValuesBothWays(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        let values: [BondValue] = [
            true, false, 0, 1, -42, 1.5, "", "text", "héllo wörld 🎉 \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} e\u{301}",
            "quotes \" and \\ and \n newlines \t tabs \u{1}", [], [1, [2, [3, []]]], [:],
            ["b": 1, "a": [true, nil], "nested": ["x": "y"]], nil, .int(Int(Int32.max) * 4),
        ]
        for value in values {
            #expect(try bond.call("ident", value) == value, "round trip of \(value)")
        }
        #expect(try bond.eval("1 + 1") == 2)
    }

    @Test(arguments: cases)
    func callsWithSeveralArgumentsAndStatements(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        #expect(try bond.call(s.multiply, 6, 7) == 42)
        try bond.evalBlock(s.defineInc)
        let inc = bond.callable("inc")
        #expect(try inc(41) == 42)
        let maxName = s.language == "Python" ? "max" : "Math.max"
        #expect(try bond.call(maxName, 3, 9, 4) == 9)
        #expect(try bond.call(s.language == "Python" ? "len" : "(function (a) { return a.length; })", [1, "a", nil] as BondValue) == 3)
    }

    @Test(arguments: cases)
    func scopesOfEvalAndBlock(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.setGlobal)
        #expect(try bond.eval("g") == 5)
        try bond.evalBlock(s.hideLocal)
        let error = bondError { _ = try bond.eval("hidden") }
        guard case .remote = error else { Issue.record("expected a remote error, got \(String(describing: error))"); return }
    }

    @Test(arguments: cases)
    func remoteExceptionsLeaveTheBondUsable(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        let error = bondError { try bond.evalBlock(s.raiseBoom) }
        guard case .remote(let language, let message, let data) = error else {
            Issue.record("expected a remote error, got \(String(describing: error))"); return
        }
        #expect(language == s.language)
        #expect(message.contains("boom"))
        #expect(data.stringValue?.contains("boom") == true)
        #expect("\(error!)".contains(s.language))
        #expect(bond.state == .idle)
        #expect(try bond.eval("2 * 3") == 6)
    }

    @Test(arguments: cases)
    func transparentExceptionsCarryTheErrorObject(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place) { $0.transparentExceptions = true }
        defer { bond.close() }
        let error = bondError { try bond.evalBlock(s.raiseBoom) }
        guard case .remote(_, let message, let data) = error else {
            Issue.record("expected a remote error, got \(String(describing: error))"); return
        }
        #expect(data.objectValue != nil, "the error object, not its text: \(data)")
        #expect(data["message"]?.stringValue?.contains("boom") == true)
        #expect(message.contains("boom"))
        #expect(try bond.eval("1") == 1)
    }

    @Test(arguments: cases)
    func serializationErrorsOnBothSides(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.defineIdent)
        // Remote: the interpreter cannot encode its result.
        let remote = bondError { _ = try bond.eval(s.unserializable) }
        guard case .serialization(_, .remote, _) = remote else {
            Issue.record("expected a remote serialization error, got \(String(describing: remote))"); return
        }
        #expect(try bond.eval("1 + 2") == 3)
        // Local: nothing is sent.
        // (A type that cannot write itself into a frame is no `BondArgument`: the compiler turns
        // it down in every form of `call`; converted at run time, it is a serialization error.)
        final class Opaque {}
        for bad in [Double.nan, Double.infinity] {
            let local = bondError { _ = try bond.call("ident", bad) }
            guard case .serialization(_, .local, _) = local else {
                Issue.record("expected a local serialization error, got \(String(describing: local))"); return
            }
        }
        let opaque = bondError { _ = try bond.call("ident", arguments: [BondValue(converting: Opaque(), language: s.language)]) }
        guard case .serialization(_, .local, let message) = opaque else {
            Issue.record("expected a local serialization error, got \(String(describing: opaque))"); return
        }
        #expect(message.contains("Opaque"))
        #expect(try bond.call("ident", "still here") == "still here")
    }

    @Test(arguments: cases)
    func exportsReexportsAndInvalidNames(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 42)
        try bond.export("twice") { args in .int(3 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 63)
        try bond.export("joined") { args in .string(args.map(\.description).joined(separator: ",")) }
        #expect(try bond.eval("joined(1, 'a', true, null)".replacingOccurrences(of: "true", with: s.language == "Python" ? "True" : "true").replacingOccurrences(of: "null", with: s.language == "Python" ? "None" : "null")) == "1,\"a\",true,null")
        for bad in ["", "1abc", "a b", "a-b", "x;y", "名前"] {
            let error = bondError { try bond.export(bad) { _ in nil } }
            guard case .usage = error else { Issue.record("\(bad): expected a usage error, got \(String(describing: error))"); continue }
        }
        #expect(bond.exportedNames == ["joined", "twice"])
        #expect(try bond.eval("twice(2)") == 6)
    }

    @Test(arguments: cases)
    func recursionFiveLevelsThroughSwift(_ s: Snippets, _ place: Place) throws {
        let (bond, collected) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.defineDown)
        try bond.export("down") { [unowned bond] args in
            let n = args[0].intValue ?? 0
            return .int(n == 0 ? 0 : 1 + (try bond.call("down_remote", n - 1).intValue ?? 0))
        }
        #expect(try bond.call("down_remote", 10) == 10)
        let deepest = collected.traffic.map(\.depth).max() ?? 0
        #expect(deepest >= 6, "nested to depth \(deepest)")
        #expect(bond.state == .idle)
    }

    @Test(arguments: cases)
    func exportedSwiftErrorsAreCatchableRemotely(_ s: Snippets, _ place: Place) throws {
        struct Refusal: Error, CustomStringConvertible { var description: String { "swift says no" } }
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.export("fail") { _ in throw Refusal() }
        try bond.evalBlock(s.catchFail)
        #expect(try bond.eval("caught").stringValue?.contains("swift says no") == true)
        let uncaught = bondError { _ = try bond.eval("fail()") }
        guard case .remote(_, let message, _) = uncaught else {
            Issue.record("expected a remote error, got \(String(describing: uncaught))"); return
        }
        #expect(message.contains("swift says no"))
        #expect(bond.state == .idle)
        #expect(try bond.eval("1 + 1") == 2)
    }

    @Test(arguments: cases)
    func outputIsRedirectedAndStreamed(_ s: Snippets, _ place: Place) throws {
        let (bond, collected) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.printHello)
        #expect(collected.stdout == "hello\n")
        try bond.evalBlock(s.printError)
        #expect(collected.waitFor { $0.stderr.contains("oops\n") })
        if s.language == "Python" {
            try bond.evalBlock("import warnings\nwarnings.warn('careful')")
            #expect(collected.waitFor { $0.stderr.contains("careful") })
        }
        // Output comes before the reply, as OUTPUT frames.
        let verbs = collected.traffic.filter { $0.direction == .received }.map(\.verb)
        #expect(verbs.contains("OUTPUT"))
    }

    @Test(arguments: cases)
    func outputThatBypassesTheDriverIsOutputNotAFrame(_ s: Snippets, _ place: Place) throws {
        let (bond, collected) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.strayOutput)
        #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 42") })
        try bond.evalBlock(s.readStdin)  // a child cannot eat protocol input
        #expect(try bond.eval("40 + 2") == 42)
    }

    @Test(arguments: cases)
    func refsInEvalBlockAndCall(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.evalBlock(s.setGlobal)
        try bond.evalBlock(s.defineIdent)
        let g = bond.ref("g")
        #expect(try bond.eval(g) == 5)
        #expect(try bond.call("ident", g) == 5)
        #expect(try bond.call(s.multiply, g, 3) == 15)
        try bond.evalBlock(bond.ref(s.language == "Python" ? "g = 7" : "g = 7"))
        #expect(try bond.eval("g") == 7)
        let (other, _) = try makeBond(s.language, .local)
        defer { other.close() }
        let foreign = other.ref("g")
        for attempt in [{ _ = try bond.call("ident", foreign) }, { _ = try bond.eval(foreign) }] as [() throws -> Void] {
            guard case .usage(_, let message) = bondError(attempt) else { Issue.record("expected a usage error"); continue }
            #expect(message.contains("another bond"))
        }
    }

    @Test(arguments: cases)
    func depthIsBackToOneAfterEveryKindOfError(_ s: Snippets, _ place: Place) throws {
        let (bond, collected) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.export("fail") { _ in throw BondError.usage(language: "Swift", message: "nope") }
        try bond.export("bad") { _ in .double(.nan) }
        try bond.evalBlock(s.defineIdent)
        let attempts: [() throws -> Void] = [
            { try bond.evalBlock(s.raiseBoom) },
            { _ = try bond.eval(s.unserializable) },
            { _ = try bond.eval("fail()") },
            { _ = try bond.eval("bad()") },
            { _ = try bond.call("ident", Double.nan) },
            { _ = try bond.call("no_such_function_anywhere", 1) },
        ]
        for attempt in attempts {
            #expect(bondError(attempt) != nil)
            #expect(bond.state == .idle)
            collected.reset()
            #expect(try bond.call("ident", 1) == 1)
            #expect(collected.traffic.allSatisfy { $0.depth == 1 }, "\(collected.traffic.map(\.line))")
        }
    }

    @Test(arguments: cases)
    func proxyBetweenTwoBonds(_ s: Snippets, _ place: Place) throws {
        let (source, _) = try makeBond(s.language, place)
        defer { source.close() }
        let other = s.language == "Python" ? Snippets.javaScript : Snippets.python
        let (target, _) = try makeBond(other.language, place)
        defer { target.close() }
        try source.evalBlock(s.defineInc)
        try source.proxy("inc", to: target)
        #expect(try target.eval("inc(1)") == 2)
        try source.proxy("inc", to: target, as: "plus_one")
        #expect(try target.call("plus_one", 41) == 42)
        // A chain that crosses back: source -> Swift -> target -> Swift -> source.
        try target.evalBlock(other.language == "Python" ? "def via(x):\n    return inc(x) * 10\n" : "function via(x) { return inc(x) * 10; }")
        try target.proxy("via", to: source)
        #expect(try source.eval("via(1)") == 20)
    }
}
