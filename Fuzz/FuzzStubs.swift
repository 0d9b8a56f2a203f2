// What the fuzzed files (JSON, frames, values) refer to elsewhere in the engine, reduced to
// what they need: the fuzzer builds them alone, without the rest of the Bond module.

/// Stands in for the engine's `BondHandle` (a live remote object), which the decoder never makes.
public final class BondHandle: Hashable, Sendable, CustomStringConvertible {
    public let id: Int = 0
    public let typeName = "object"
    public var description: String { "handle" }
    public static func == (lhs: BondHandle, rhs: BondHandle) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
