extension Bond {
    /// Calls `name` (any callable expression of the language) with the arguments converted
    /// (see `BondValue.init(converting:)`); refs among them are evaluated by the interpreter.
    @discardableResult
    public func call<each Argument: BondArgument>(_ name: String, _ arguments: repeat each Argument) throws(BondError) -> BondValue {
        // The common types convert without a cast, and straight into the frame (no array of
        // values on the way); anything else (refs, Encodable) goes the general way.
        for argument in repeat each arguments {
            guard !BondValue.isCommon(argument) else { continue }
            var all: [Any?] = []
            for argument in repeat each arguments { all.append(argument) }
            return try call(name, arguments: all)
        }
        return try request("CALL") { (frame: inout BondFrameWriter) throws(BondError) in
            frame.writeCallStart(name)
            var first = true
            for argument in repeat each arguments {
                if !first { frame.append(UInt8(ascii: ",")) }
                first = false
                try frame.writeCommon(argument)
            }
            frame.append(UInt8(ascii: "]"))
            frame.append(UInt8(ascii: "]"))
        }
    }

    /// `call` with arguments that include `nil` (or are typed as `any BondArgument`).
    @discardableResult
    public func call(_ name: String, _ arguments: (any BondArgument)?...) throws(BondError) -> BondValue {
        // As above, but each argument is opened from its existential first.
        for case let argument? in arguments where !BondValue.isCommon(argument) {
            return try call(name, arguments: arguments.map { $0 as Any? })
        }
        return try request(call: name, arguments.lazy.map { $0.flatMap { BondValue.commonValue($0) } ?? .null })
    }

    /// `call` with the arguments as an array of any values that `BondValue(converting:)` takes
    /// (and refs of this bond).
    @discardableResult
    public func call(_ name: String, arguments: [Any?]) throws(BondError) -> BondValue {
        var values: [BondValue] = []
        values.reserveCapacity(arguments.count)
        var refs: [(index: Int, code: String)] = []
        for (index, argument) in arguments.enumerated() {
            if let argument, let value = BondValue.convertDirect(argument) {  // the common case, cheaply
                values.append(value)
            } else if let ref = argument as? BondRef {
                refs.append((index, try code(of: ref)))
                values.append(.null)
            } else {
                values.append(try BondValue(converting: argument, language: language))
            }
        }
        guard refs.isEmpty else {
            // XCALL: each argument as [is_ref, value or code].
            var items = values.map { BondValue.array([0, $0]) }
            for ref in refs { items[ref.index] = [1, .string(ref.code)] }
            return try request("XCALL", [.string(name), .array(items)])
        }
        return try request(call: name, values)
    }

    /// `CALL [name, [values...]]`, written straight from the values.
    private func request(call name: String, _ values: some Sequence<BondValue>) throws(BondError) -> BondValue {
        try request("CALL") { (frame: inout BondFrameWriter) throws(BondError) in
            frame.writeCallStart(name)
            for (index, value) in values.enumerated() {
                if index > 0 { frame.append(UInt8(ascii: ",")) }
                try frame.write(value)
            }
            frame.append(UInt8(ascii: "]"))
            frame.append(UInt8(ascii: "]"))
        }
    }
}
