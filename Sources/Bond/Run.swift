/// What the interpreter gave back, as data where JSON can carry it, else as its description.
public enum BondResult: Sendable, Hashable {
    case value(BondValue)
    case description(BondDescription)

    /// The value, or `nil` for a description.
    public var value: BondValue? {
        if case .value(let value) = self { value } else { nil }
    }
}

/// The interpreter's own description of a value that cannot cross the bond as data
/// (Python `repr`, Node `util.inspect`, PHP `var_export`/`print_r`, Perl `Data::Dumper`).
/// It is text to show, never data.
public struct BondDescription: Sendable, Hashable, CustomStringConvertible {
    /// The language's own name for the value's type or class (`"int"`, `"Account"`, `"Promise"`).
    public let typeName: String
    /// The description, as the interpreter writes it.
    public let text: String

    public init(typeName: String, text: String) {
        self.typeName = typeName
        self.text = text
    }

    public var description: String { text }
}

/// What to do with a result that cannot be serialized.
public enum BondUnserializable: String, Sendable, Hashable {
    /// An error, as `eval` gives (`BondError.serialization`).
    case error
    /// The interpreter's description of the value (`BondResult.description`).
    case describe
    /// [ext] A handle to the value (`BondValue.handle`), left in the interpreter; so is any such
    /// value nested in the result. Needs the `OBJECTS` extension.
    case handle
}

extension Bond {
    /// Runs `code` as the language's REPL would run what a user typed: statements and
    /// definitions persist; returns the value of a final expression, or nil if the input
    /// ended with a statement (or gave Python's `None`, JavaScript's `undefined`).
    /// JavaScript awaits a promise that the input gives.
    ///
    /// One round trip with a driver that offers the `RUN` extension. With one that does not
    /// (python-bond 1.4's own drivers), `code` is evaluated as an expression, and when that
    /// raises, run as a block (returning nil); the block's error is thrown if both fail.
    public func run(_ code: String, unserializable: BondUnserializable = .describe) throws(BondError) -> BondResult? {
        if unserializable == .handle { try objects.requireOn() }
        guard offersRun else { return try runAsExpressionThenBlock(code) }
        let reply = try request("RUN", Self.runPayload(code, mode: "input", unserializable))
        return try result(ofRunReply: reply)
    }

    /// Evaluates one expression; a value JSON cannot carry is described or an error, as asked.
    /// JavaScript awaits a promise result. Describing needs a driver that offers `RUN`
    /// (else a `.usage` error).
    public func eval(_ code: String, unserializable: BondUnserializable) throws(BondError) -> BondResult {
        if unserializable == .handle { try objects.requireOn() }
        guard offersRun else {
            guard unserializable == .error else {
                throw errors.usage(
                    "describing values that cannot be serialized needs the RUN extension, which the \(language) driver does not offer")
            }
            return .value(try eval(code))
        }
        let reply = try request("RUN", Self.runPayload(code, mode: "expression", unserializable))
        guard let result = try result(ofRunReply: reply) else {
            throw errors.protocolViolation("RUN of an expression answered with no value")
        }
        return result
    }

    /// Whether the driver serves `RUN` (its manifest's `"extensions"`).
    public var offersRun: Bool { driverExtensions.contains("RUN") }

    static func runPayload(_ code: String, mode: String, _ unserializable: BondUnserializable) -> BondValue {
        ["code": .string(code), "mode": .string(mode), "unserializable": .string(unserializable.rawValue)]
    }

    /// The result a `RUN` reply carries: `{"value": V}`, `{"description": D, "type": T}`, or `{}`.
    func result(ofRunReply reply: BondValue) throws(BondError) -> BondResult? {
        guard case .object(let members) = reply else {
            throw errors.protocolViolation("a RUN reply that is not an object: \(reply)")
        }
        if let description = members["description"] {
            guard case .string(let text) = description, case .string(let typeName)? = members["type"] else {
                throw errors.protocolViolation("a RUN description without its text and type: \(reply)")
            }
            return .description(BondDescription(typeName: typeName, text: text))
        }
        if let value = members["value"] { return .value(value) }
        guard members.isEmpty else {
            throw errors.protocolViolation("a RUN reply of an unknown shape: \(reply)")
        }
        return nil
    }

    /// `run` against a driver without `RUN`: an expression first, then a block.
    private func runAsExpressionThenBlock(_ code: String) throws(BondError) -> BondResult? {
        do {
            return .value(try eval(code))
        } catch .remote {
            // Not an expression (or it raised): run it as statements; their error is the one shown.
            try evalBlock(code)
            return nil
        }
    }
}
