import Bond
import Foundation
import Testing

@testable import Workbench

/// Runs the model's requests against real bonds, one per pane, as bond-workbench's executor
/// does (through the same helpers: `Outcome.run`, `ObjectRequest.perform`), and feeds each
/// result back to the model, with the requests that result makes in turn.
final class PaneBonds {
    var bonds: [Int: Bond] = [:]

    /// Each pane's bond, local, or `overSSH` through the test sshd (`BOND_TEST_SSH`).
    init(_ state: AppState, overSSH: Bool = false) throws {
        for pane in state.panes {
            bonds[pane.id] = try Bond(language: pane.language, command: overSSH ? Self.sshCommand(pane.language) : nil)
        }
    }

    /// The ssh command reaching the test sshd (set by scripts/test.sh), e.g. `ssh -F cfg bondtest`.
    static let testSSH = ProcessInfo.processInfo.environment["BOND_TEST_SSH"]

    static func sshCommand(_ language: String) -> String? {
        let program = ["Python": "python3", "JavaScript": "node", "Perl": "perl", "PHP": "php"][language]
        return testSSH.flatMap { ssh in program.map { "\(ssh) \($0)" } }
    }

    deinit { for bond in bonds.values { bond.close() } }

    func run(_ effects: [Effect], _ state: inout AppState) {
        var waiting = effects
        while !waiting.isEmpty {
            guard case .request(let pane, let generation, let request) = waiting.removeFirst(), let bond = bonds[pane] else { continue }
            let outcome: Outcome
            do {
                switch request {
                case .run(let code): outcome = try .run(code, on: bond)
                case .block(let code): try bond.evalBlock(code); outcome = .done
                case .object(let object): outcome = try object.perform()
                case .call(let name, let arguments):
                    outcome = .value(try bond.call(name, arguments: arguments.map { argument -> (any BondArgument)? in
                        switch argument {
                        case .value(let v): v
                        case .ref(let code): bond.ref(code)
                        }
                    }))
                case .complete(let expression):
                    outcome = .completions((try bond.eval(expression).arrayValue ?? []).compactMap(\.stringValue))
                default:
                    Issue.record("a request these tests do not expect: \(request)")
                    continue
                }
            } catch {
                outcome = .failure(String(describing: error))
            }
            waiting += state.update(.result(pane: pane, generation: generation, request: request, outcome: outcome))
        }
    }

    /// Types `text` in the focused pane and presses `key`, running what it asks.
    func enter(_ text: String, _ key: Key = .enter, _ state: inout AppState) {
        for c in text { _ = state.update(.key(.char(c))) }
        run(state.update(.key(key)), &state)
    }

    /// How many objects the pane's driver holds (the drivers' own counts, as bond-bench reads them).
    func tableSize(_ pane: Int) throws -> Int {
        let bond = bonds[pane]!
        let expression = [
            "Python": "len(_BOND_TABLE)", "JavaScript": "__BOND.objectCount()", "Perl": "__BOND::object_count()",
            "PHP": "_BOND_object_count()",
        ][bond.language]!
        return try bond.eval(expression).intValue ?? -1
    }
}

extension AppState {
    func lines(of i: Int) -> [String] { panes[i].transcript.lines.map(\.text) }
}

/// Handle refs: live objects of a pane's bond that the user names, sees, calls, completes and
/// drops (issue 18's workbench part), against real interpreters.
@Suite(.timeLimit(.minutes(3))) struct HandleRefTests {
    /// A class per language with a method `add(k)` that adds to `n` and returns it; an instance.
    static let counter: [String: (define: String, make: String)] = [
        "Python": ("class Counter:\n    def __init__(self, n): self.n = n\n    def add(self, k):\n        self.n += k\n        return self.n",
                   "Counter(1)"),
        "JavaScript": ("globalThis.Counter = class Counter { constructor(n) { this.n = n; } add(k) { this.n += k; return this.n; } }",
                       "new Counter(1)"),
        "Perl": ("package Counter; sub new { bless {n => $_[1]}, $_[0] } sub add { $_[0]{n} += $_[1]; $_[0]{n} } package main;",
                 "Counter->new(1)"),
        "PHP": ("class Counter { public $n; function __construct($n) { $this->n = $n; } function add($k) { $this->n += $k; return $this->n; } }",
                "new Counter(1)"),
    ]

    /// A pane for `language`, its bond started, `Counter` defined, and an instance made and
    /// named `c` (the input empty, the ref key names the last handle).
    func paneWithCounter(_ language: String, also others: [String] = [], overSSH: Bool = false) throws -> (AppState, PaneBonds) {
        var (state, _) = makeState([language] + others, width: 160, height: 40)
        let bonds = try PaneBonds(state, overSSH: overSSH)
        let i = 0
        state.focus = .pane(state.panes[i].id)
        bonds.enter(Self.counter[language]!.define, .function(3), &state)
        bonds.enter(Self.counter[language]!.make, .enter, &state)
        #expect(state.panes[i].lastHandle?.ref.typeName == "Counter", "\(state.lines(of: i).suffix(4))")
        _ = state.update(.key(.function(7)))
        #expect(state.front != nil)
        bonds.enter("c", .enter, &state)  // (typing replaces the default name)
        return (state, bonds)
    }

    /// The four languages, locally and (with the test sshd) over ssh.
    static let places = ["Python", "JavaScript", "Perl", "PHP"].flatMap { language in
        [(language, false)] + (PaneBonds.testSSH == nil ? [] : [(language, true)])
    }

    @Test(arguments: places)
    func aHandleIsNamedCalledCompletedAndDropped(language: String, overSSH: Bool) throws {
        var (state, bonds) = try paneWithCounter(language, overSSH: overSSH)
        let pane = state.panes[0].id
        // 1. The result stays in the interpreter, shown with its type; the ref key named it.
        #expect(state.lines(of: 0).contains { $0.hasSuffix("‹Counter · handle›") }, "\(state.lines(of: 0))")
        #expect(state.panes[0].handleRefs["c"]?.typeName == "Counter")
        #expect(state.panes[0].lastHandle == nil)
        let held = try bonds.tableSize(pane)
        #expect(held >= 1)
        // 2. The refs line shows it with its type and description.
        let screen = state.render().buffer.trimmedLines()
        #expect(screen.contains { $0.contains("refs: @c (Counter ") }, "\(screen)")
        // 3. A method call through @name (F4), then the object as an argument of a function.
        bonds.enter("@c.add 4", .function(4), &state)
        #expect(state.lines(of: 0).last == "5", "\(state.lines(of: 0).suffix(3))")
        // 4. Its methods complete after @c.
        bonds.enter("@c.ad", .ctrl(" "), &state)
        #expect(state.completion?.items.map(\.text) == ["add", "@c.add 4"])  // (the history's entry too)
        _ = state.update(.key(.enter))
        #expect(state.panes[0].input.text == "@c.add")
        _ = state.update(.key(.ctrl("u")))
        // 5. Dropping the ref releases the object (with the bond's next frame).
        _ = state.runCommand("unref @c")
        #expect(state.panes[0].handleRefs.isEmpty)
        #expect(state.lines(of: 0).last == "ref @c dropped: its Counter is released")
        #expect(try bonds.tableSize(pane) == held - 1)
    }

    @Test func anotherPaneGetsAProxyAndTheInspectorAsksAgain() throws {
        var (state, bonds) = try paneWithCounter("Python", also: ["JavaScript"])
        let python = state.panes[0].id
        let javascript = state.panes[1].id
        // The object as itself in its own bond...
        bonds.enter("def total(c): return c.n", .function(3), &state)
        bonds.enter("total @c", .function(4), &state)
        #expect(state.lines(of: 0).last == "1")
        // ...and a proxy in JavaScript's: its method runs in Python.
        state.focus = .pane(javascript)
        bonds.enter("globalThis.twice = (c) => { c.add(1); return c.add(1); }", .function(3), &state)
        bonds.enter("twice @c", .function(4), &state)
        #expect(state.lines(of: 1).last == "3", "\(state.lines(of: 1).suffix(3))")
        // Another pane's refs line says whose it is; the inspector asks the interpreter now.
        let screen = state.render().buffer.trimmedLines()
        #expect(screen.contains { $0.contains("refs: @c←python") }, "\(screen)")
        run(inspect: "@c", &state, bonds)
        #expect(state.lines(of: 1).suffix(2).first == "inspect @c: Counter · live object of python")
        #expect(state.lines(of: 1).last?.contains("Counter object at 0x") == true)
        // Methods called from JavaScript's pane run in Python, and complete there too.
        bonds.enter("@c.add 10", .function(4), &state)
        #expect(state.lines(of: 1).last == "13")
        bonds.enter("@c.a", .ctrl(" "), &state)
        #expect(state.completion?.items.first?.text == "add")
        _ = state.update(.key(.enter))
        #expect(state.panes[1].input.text == "@c.add")
        _ = state.update(.key(.ctrl("u")))
        // A method's result that is an object: named in JavaScript's pane, held by Python's.
        state.focus = .pane(python)
        bonds.enter("Counter.twin = lambda self: Counter(self.n)", .function(3), &state)
        state.focus = .pane(javascript)
        bonds.enter("@c.twin", .function(4), &state)
        #expect(state.panes[1].lastHandle?.owner == python)
        _ = state.runCommand("ref t")
        #expect(state.panes[0].handleRefs["t"]?.typeName == "Counter" && state.panes[1].handleRefs.isEmpty)
        #expect(state.lines(of: 1).last?.hasSuffix("(a live object of python)") == true)
        bonds.enter("@t.add 1", .function(4), &state)
        #expect(state.lines(of: 1).last == "14")
        // Dropped from the other pane: released in Python (@t never went to JavaScript as a
        // proxy; @c did, and lives on there until JavaScript lets its proxy go).
        let held = try bonds.tableSize(python)
        _ = state.runCommand("unref t")
        #expect(state.lines(of: 0).last == "ref @t dropped: its Counter is released")
        #expect(try bonds.tableSize(python) == held - 1)
        _ = state.runCommand("unref @c")
        #expect(state.panes[0].handleRefs.isEmpty)
    }

    @Test func whatCannotBeDoneIsSaid() throws {
        var (state, bonds) = try paneWithCounter("Python")
        _ = state.runCommand("ref nums [1, 2]")
        bonds.enter("@nums.append 3", .function(4), &state)
        #expect(state.lines(of: 0).last?.hasPrefix("call: @nums is a code ref; only a handle ref has methods") == true)
        bonds.enter("@c.add @nums", .function(4), &state)
        #expect(state.lines(of: 0).last == "call: a code ref cannot be an argument of a method call (a value or a handle ref can)")
        bonds.enter("@gone.add 1", .function(4), &state)
        #expect(state.lines(of: 0).last == "call: no handle ref @gone")
        bonds.enter("@c.nope", .function(4), &state)
        #expect(state.lines(of: 0).last?.contains("AttributeError") == true)
        _ = state.runCommand("ref again")
        #expect(state.flash?.hasPrefix("no handle to name") == true)
        // The steps a transcript keeps hold no object: only refs do.
        #expect(!state.panes[0].steps.contains { "\($0)".contains("BondHandle") })
    }

    /// Handles inside a result are shown as text and not kept: only a ref holds an object.
    @Test func handlesInsideAResultAreShownAndLetGo() throws {
        var (state, bonds) = try paneWithCounter("Python")
        let held = try bonds.tableSize(state.panes[0].id)
        bonds.enter("[Counter(5), 1]", .enter, &state)
        #expect(state.lines(of: 0).last == #"["<Counter handle>", 1]"#)
        #expect(state.panes[0].lastHandle == nil)
        #expect(try bonds.tableSize(state.panes[0].id) == held)  // (released with this very request)
    }

    @Test func handleRefsGoWithTheirBond() throws {
        var (state, bonds) = try paneWithCounter("Python")
        bonds.enter("Counter(7)", .enter, &state)
        _ = state.runCommand("ref d")  // (the command names the last handle as F7 does)
        #expect(state.panes[0].handleRefs.keys.elementsEqual(["c", "d"]))
        #expect(state.lines(of: 0).last?.hasPrefix("ref @d = Counter <__main__.Counter object at 0x") == true)
        let pane = state.panes[0]
        _ = state.update(.closed(pane: pane.id, generation: pane.generation))
        #expect(state.panes[0].handleRefs.isEmpty)
        #expect(state.lines(of: 0).contains("handle refs dropped (the bond is closed): @c @d"))
        _ = bonds
    }

    /// A language whose driver has no `OBJECTS` keeps describing what JSON cannot carry.
    @Test func withoutObjectsResultsAreDescriptions() throws {
        var state = AppState(width: 120, height: 30, knownLanguages: ["Ruby"])
        _ = state.addPanes([try PaneSpec.parse("Ruby")])
        _ = state.update(.started(pane: state.panes[0].id, generation: 0, pid: 1, remoteHost: nil))
        let bonds = try PaneBonds(state)
        bonds.enter("Object.new", .enter, &state)
        #expect(state.panes[0].lastHandle == nil)
        #expect(state.lines(of: 0).last?.hasSuffix("‹Object · description›") == true)
    }

    func run(inspect name: String, _ state: inout AppState, _ bonds: PaneBonds) {
        bonds.run(state.runCommand("inspect \(name)"), &state)
    }
}
