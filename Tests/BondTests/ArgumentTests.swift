import Bond
import Foundation
import Testing

/// Arguments write themselves into the call's frame (`BondArgument`): literals of any shape,
/// values of the common types, optionals, collections, `Encodable` types and refs, through
/// every form of `call`.
@Suite(.timeLimit(.minutes(5))) struct ArgumentTests {
    @Test func heterogeneousLiteralsNeedNoAnnotation() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        try py.evalBlock("def f(*a):\n    return list(a)\n")
        // (This line is the test that it compiles: no `as BondValue` anywhere.)
        let back = try py.call("f", ["k": ["x", 2, nil]], 1, "a", nil)
        #expect(back == [["k": ["x", 2, nil]], 1, "a", nil])
        #expect(try py.call("f", [1, "two", 3.5, true, nil], ["a": 1, "b": [nil]]) == [[1, "two", 3.5, true, nil], ["a": 1, "b": [nil]]])
        #expect(try py.call("f") == [])
    }

    @Test func typedValuesCollectionsAndOptionalsGoAsTheyAre() throws {
        struct Point: Codable, BondArgument { var x: Int }
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        try py.evalBlock("def f(*a):\n    return list(a)\n")
        let numbers = [3, 1, 2], words: [String: Int] = ["b": 2, "a": 1], maybe: [Int?] = [1, nil]
        let none: String? = nil
        #expect(try py.call("f", numbers, words, maybe, none, Point(x: 1), [Point(x: 3)])
            == [[3, 1, 2], ["a": 1, "b": 2], [1, nil], nil, ["x": 1], [["x": 3]]])
        // Dictionaries are written in the order of their keys.
        #expect(try py.call("lambda d: list(d.keys())", ["z": 1, "m": 2, "a": 3]) == ["a", "m", "z"])
        // A value JSON cannot carry fails before anything is sent, and the bond goes on.
        guard case .serialization(_, .local, _) = bondError({ _ = try py.call("f", Double.nan) }) else {
            Issue.record("NaN was sent"); return
        }
        #expect(try py.call("f", 1) == [1])
    }

    @Test func refsAreImmediateArgumentsOfTheirOwnBondOnly() throws {
        let (py, _) = try makeBond("Python")
        defer { py.close() }
        let (other, _) = try makeBond("Python")
        defer { other.close() }
        try py.evalBlock("def f(*a):\n    return list(a)\n")
        // A ref among typed arguments, literals and nil: the call goes as an XCALL.
        #expect(try py.call("f", 1, py.ref("6 * 7"), "s") == [1, 42, "s"])
        #expect(try py.call("f", py.ref("[1]"), nil, [1, "x"] as BondValue) == [[1], nil, [1, "x"]])
        let optionalRef: BondRef? = py.ref("2 + 2")
        #expect(try py.call("f", optionalRef) == [4])
        #expect(try py.call("f", arguments: [py.ref("'r'"), 5, nil]) == ["r", 5, nil])
        guard case .usage(_, let nested) = bondError({ _ = try py.call("f", [py.ref("1")]) }) else {
            Issue.record("a nested ref was sent"); return
        }
        #expect(nested.contains("immediate argument"))
        guard case .usage(_, let foreign) = bondError({ _ = try py.call("f", other.ref("1")) }) else {
            Issue.record("a ref of another bond was sent"); return
        }
        #expect(foreign.contains("another bond"))
        #expect(try py.call("f", 7) == [7])
    }
}
