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
