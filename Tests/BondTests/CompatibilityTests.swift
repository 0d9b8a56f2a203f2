@testable import Bond
import Foundation
import Testing

/// Our host runs driver folders written for another bond host, unchanged: python-bond 1.4's
/// own drivers (downloaded from PyPI by scripts/test.sh into $BOND_COMPAT_DRIVERS).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["BOND_COMPAT_DRIVERS"] != nil), .timeLimit(.minutes(2)))
struct ForeignDriverTests {
    static let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["BOND_COMPAT_DRIVERS"] ?? "/nonexistent")

    @Test(arguments: ["Python", "JavaScript", "PHP"])
    func pythonBondsOwnDriversWorkWithOurHost(_ language: String) throws {
        let collected = Collected()
        var options = BondOptions()
        options.driverDirectories = [Self.folder]
        options.output = .handler { collected.add($0, $1) }
        options.timeout = .seconds(20)
        let command: String? = language == "Python" ? "python3 -i" : nil
        let bond = try Bond(language: language, command: command, options: options.with { $0.defaultArguments = language != "Python" })
        defer { bond.close() }
        let ident = ["Python": "def ident(x):\n    return x\n", "JavaScript": "function ident(x) { return x; }",
                     "PHP": "function ident($x) { return $x; }"][language]!
        try bond.evalBlock(ident)
        // python-bond's own JavaScript driver garbles non-ASCII text (a bug of that driver,
        // with its own host too), so the text here is ASCII for it.
        let text: BondValue = language == "JavaScript" ? "e" : "é"
        let back = try bond.call("ident", ["a": [1, 2.5, text, nil, true]] as BondValue)
        #expect(back == ["a": [1, 2.5, text, nil, true]], "\(back)")
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21)") == 42)
        guard case .remote = bondError({ try bond.evalBlock(language == "PHP" ? "throw new Exception('boom');" : language == "Python" ? "raise ValueError('boom')" : "throw new Error('boom')") }) else {
            Issue.record("remote exception"); return
        }
        #expect(try bond.eval("1 + 1") == 2)
    }
}

extension BondOptions {
    func with(_ change: (inout BondOptions) -> Void) -> BondOptions {
        var copy = self
        change(&copy)
        return copy
    }
}

@Suite struct ManifestDialectTests {
    @Test func stageOneSubstitutionsFollowPythonReplacementRules() throws {
        // python-bond's own Python manifest replaces comment blocks by "\n" (a newline).
        let regex = try NSRegularExpression(pattern: "(\\s*###.*\\n)+")
        let text = "### a\n### b\ndef f():\n    ### c\n    return 1\n"
        let out = regex.stringByReplacingMatches(
            in: text, range: NSRange(text.startIndex..., in: text), withTemplate: Driver.template(fromPythonReplacement: "\\n"))
        #expect(out == "\ndef f():\n    return 1\n")
        #expect(Driver.template(fromPythonReplacement: "a$b\\\\c\\1\\g<2>\\t") == "a\\$b\\\\c$1$2\t")
    }
}

/// What python-bond 1.4's drivers do that a host may rely on (docs/protocol.md, "Serving
/// python-bond hosts"), for each of our drivers, locally and over ssh: frames written raw.
@Suite(.timeLimit(.minutes(5))) struct PythonBondDriverFactsTests {
    static let cases: [(Snippets, Place)] = [Snippets.python, .javaScript, .perl, .php, .ruby, .r].flatMap { s in
        places.map { (s, $0) }
    }

    /// Sends a bare `RETURN` to the driver at its top level, as python-bond's tests do to
    /// measure the nesting depth; returns whether the driver left (depth one) within 10 s.
    func replyAtTheTopLevelEndsTheDriver(_ bond: Bond) -> Bool {
        _ = bond.connection.send("RETURN", Array("null".utf8))
        let deadline = Date().addingTimeInterval(10)
        while bond.isAlive, Date() < deadline { usleep(10_000) }
        return !bond.isAlive
    }

    @Test(arguments: cases)
    func aReplyAtTheTopLevelEndsTheDriverAndTheInterpreter(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        #expect(try bond.eval(s.language == "R" ? "1L + 1L" : "1 + 1") == 2)
        #expect(replyAtTheTopLevelEndsTheDriver(bond))
        guard case .terminated = bondError({ _ = try bond.eval("1") }) else {
            Issue.record("expected the bond terminated"); return
        }
    }

    @Test(arguments: cases)
    func anArgumentThatCannotBeSentFailsTheRequestThatMadeTheCall(_ s: Snippets, _ place: Place) throws {
        let (bond, _) = try makeBond(s.language, place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        let error = bondError { _ = try bond.eval("twice(\(s.unserializable))") }
        guard case .serialization(_, .remote, let message) = error else {
            Issue.record("expected a remote serialization error, got \(String(describing: error))"); return
        }
        #expect(message.contains("twice"), "\(message)")
        #expect(try bond.eval("twice(21)") == 42)
        let exception = bondError { try bond.evalBlock(s.raiseBoom) }
        guard case .remote = exception else { Issue.record("expected a remote error, got \(String(describing: exception))"); return }
        #expect(replyAtTheTopLevelEndsTheDriver(bond), "the depth is one after the errors")
    }
}
