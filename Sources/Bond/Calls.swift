// `call` has four forms, because Swift offers no single one that takes both typed values and
// literals of mixed types (docs/architecture.md, "One call, four forms"):
// - a parameter pack, for typed values: no box and no array per call;
// - `(any BondArgument)?...`, for `nil` among typed values, and values typed `any BondArgument`;
// - `BondValue...` (disfavoured), for literals of mixed types, `["k": ["x", 2, nil]]`;
// - `arguments:`, for a list made at run time (Swift cannot spread an array into variadics).
// All four write each argument the same way: `BondArgument.write(to:)`, no dynamic cast.
extension Bond {
    /// Calls `name` (any callable expression of the language) with the arguments converted:
    /// each writes itself into the frame (see `BondArgument`); refs among them are evaluated by
    /// the interpreter.
    @discardableResult
    public func call<each Argument: BondArgument>(_ name: String, _ arguments: repeat each Argument) throws(BondError) -> BondValue {
        try requestCall(name) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in repeat each arguments { try frame.writeArgument(argument) }
        }
    }

    /// `call` with arguments that include `nil`, or are typed as `any BondArgument`.
    @discardableResult
    public func call(_ name: String, _ arguments: (any BondArgument)?...) throws(BondError) -> BondValue {
        try call(name, arguments: arguments)
    }

    /// `call` with arguments written as literals of any shape, such as
    /// `call("f", ["k": ["x", 2, nil]], 1, "a", nil)` (each is a `BondValue`).
    @discardableResult @_disfavoredOverload
    public func call(_ name: String, _ arguments: BondValue...) throws(BondError) -> BondValue {
        try call(name, values: arguments)
    }

    /// `call` with the arguments as a list made at run time (`nil` for a null).
    @discardableResult
    public func call(_ name: String, arguments: [(any BondArgument)?]) throws(BondError) -> BondValue {
        try requestCall(name) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in arguments {
                if let argument { try frame.writeArgument(argument) } else { try frame.writeArgument(BondValue.null) }
            }
        }
    }

    func call(_ name: String, values: [BondValue]) throws(BondError) -> BondValue {
        try requestCall(name) { (frame: inout BondFrameWriter) throws(BondError) in
            for value in values { try frame.writeArgument(value) }
        }
    }

    /// Sends a CALL (or, with refs among the arguments, an XCALL) of `name`, its arguments
    /// written by `writeArguments`.
    private func requestCall(
        _ name: String, _ writeArguments: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) -> BondValue {
        let owner = ObjectIdentifier(self)
        return try request("CALL") { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.writeCall(name, refsOf: owner, writeArguments)
        }
    }
}
