import Bond
import Testing

@Test func pythonSmoke() throws {
    let py = try Bond(language: "Python")
    defer { py.close() }
    #expect(try py.eval("1 + 1") == 2)
    try py.evalBlock("def inc(x):\n    return x + 1\n")
    #expect(try py.callable("inc")(41) == 42)
    #expect(try py.call("max", [3, 9, 4]) == 9)
    try py.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
    #expect(try py.eval("twice(21)") == 42)
}
