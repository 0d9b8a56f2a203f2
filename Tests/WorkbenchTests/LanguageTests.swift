import Bond
import Testing
@testable import Workbench

/// The expressions the workbench sends on its own (completion, the proxy's function check),
/// run in real Ruby and R interpreters; and the start-up entries of both languages.
@Suite(.serialized) struct RubyAndRTests {
    @Test func namesAndAliases() {
        let known = ["JavaScript", "PHP", "Perl", "Python", "R", "Ruby"]
        #expect(Languages.canonical("rb", known: known) == "Ruby")
        #expect(Languages.canonical("RUBY", known: known) == "Ruby")
        #expect(Languages.canonical("r", known: known) == "R")
        #expect(Languages.canonical("rb", known: []) == "Ruby")
        #expect(Languages.canonical("r", known: []) == "R")
    }

    @Test(arguments: [
        ("Ruby", "def tri(n)\n  n * (n + 1) / 2\nend", "tri", "missing_fn", "tr", "tri(4)", "[1, 2].firs", "first"),
        ("R", "tri <- function(n) {\n  n * (n + 1) / 2\n}", "tri", "missing_fn", "tr", "tri(4)", "list(alpha = 1, beta = 2).al", "alpha"),
    ])
    func completionAndFunctionCheckInARealInterpreter(
        language: String, definition: String, function: String, missing: String, prefix: String, call: String,
        objectWord: String, attribute: String
    ) throws {
        let bond = try Bond(language: language)
        defer { bond.close() }
        _ = try bond.run(definition)
        #expect(try bond.run(call)?.value?.intValue == 10)
        let names = try bond.eval(#require(Languages.completionExpression(language: language, object: nil)))
        let all = (names.arrayValue ?? []).compactMap(\.stringValue)
        #expect(all.contains(function))
        #expect(all.filter { $0.hasPrefix(prefix) }.contains(function))
        let dot = objectWord.lastIndex(of: ".")!
        let object = String(objectWord[..<dot])
        let members = try bond.eval(#require(Languages.completionExpression(language: language, object: object)))
        #expect((members.arrayValue ?? []).compactMap(\.stringValue).contains(attribute))
        let check = try #require(Languages.functionCheck(language: language, name: function))
        #expect(try bond.eval(check) == .bool(true))
        let absent = try #require(Languages.functionCheck(language: language, name: missing))
        #expect(try bond.eval(absent) == .bool(false))
    }

    @Test func rubyEntries() {
        let rb = StartupEntries.definitions(
            in: "require 'set'\ndef tri(n)\n  n * (n + 1) / 2\nend\nputs tri(4)\nx = 5\nclass Point\n  attr_reader :x\nend\ndef ok?(v) = v > 0\n5.times { |i| puts i }",
            language: "Ruby")
        #expect(rb.map(\.key) == ["import:require 'set'", "def:tri", "name:x", "def:Point", "def:ok?"])
        #expect(rb[1].code == "def tri(n)\n  n * (n + 1) / 2\nend")
    }

    @Test func rEntries() {
        let r = StartupEntries.definitions(
            in: "library(stats)\ntri <- function(n) {\n  n * (n + 1) / 2\n}\nprint(tri(4))\nx = 5\ny <<- 6\nfor (i in 1:3) print(i)\nx == 5",
            language: "R")
        #expect(r.map(\.key) == ["import:library(stats)", "def:tri", "name:x", "name:y"])
        #expect(r[1].code == "tri <- function(n) {\n  n * (n + 1) / 2\n}")
    }

    /// Inspect asks the driver to describe what JSON cannot carry (RUN): no expression of the
    /// workbench's own is needed for Ruby and R.
    @Test(arguments: [("Ruby", "Object.new", "Object"), ("R", "environment()", "environment")])
    func describedByTheDriver(language: String, code: String, type: String) throws {
        let bond = try Bond(language: language)
        defer { bond.close() }
        #expect(bond.offersRun)
        guard case .description(let d) = try bond.eval(code, unserializable: .describe) else {
            Issue.record("\(code) was not described"); return
        }
        #expect(d.typeName == type)
    }
}
