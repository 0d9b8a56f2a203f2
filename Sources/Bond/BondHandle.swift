import OrderedCollections

/// A live object that stays in its bond's interpreter ([ext] `OBJECTS`, docs/protocol.md):
/// the host holds a handle to it, calls its methods, reads its attributes, and passes it as an
/// argument (to its own bond, where it is the object again, or to another bond, where it is a
/// proxy whose calls run here).
///
/// The object is released in the interpreter when the last Swift reference to its handle goes
/// (batched onto the bond's next frame: no extra round trip). A handle keeps its bond alive;
/// once the bond is closed or its interpreter gone, every use is a `.usage` or `.terminated`
/// error.
public final class BondHandle: Sendable, Hashable, CustomStringConvertible {
    /// The bond whose interpreter holds the object.
    public let bond: Bond
    /// The object's class or type, as its language names it (`"Account"`, `"BytesIO"`, `"Function"`).
    public let typeName: String
    /// The object's id in the driver's table.
    let id: Int

    init(bond: Bond, id: Int, typeName: String) {
        self.bond = bond
        self.id = id
        self.typeName = typeName
    }

    deinit { bond.objects.release(id) }

    /// The interpreter's own description of the object (Python `repr`, Node `util.inspect`,
    /// PHP `print_r`, Perl `Data::Dumper`), asked of it now; if that fails, the type and the
    /// reason.
    public var description: String {
        do {
            return try describe()
        } catch {
            return "<\(typeName) of \(bond.name): \(error)>"
        }
    }

    /// The interpreter's own description of the object, asked of it now.
    public func describe() throws(BondError) -> String {
        let reply = try bond.objectRequest("ODESCRIBE", .int(id))
        guard case .string(let text)? = reply["description"] else {
            throw bond.errors.protocolViolation("an ODESCRIBE reply without its description: \(reply)")
        }
        return text
    }

    /// Calls the object's method `method` with the arguments converted (handles among them,
    /// at any depth). The result is data; with `unserializable: .handle`, what is not data comes
    /// back as handles.
    @discardableResult
    public func call<each Argument: BondArgument>(
        _ method: String, _ arguments: repeat each Argument, unserializable: BondUnserializable = .error
    ) throws(BondError) -> BondValue {
        try bond.objectCall(id, method: method, unserializable) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in repeat each arguments { try frame.writeArgument(argument) }
        }
    }

    /// Calls the object's method `method` with positional arguments and keyword arguments
    /// (Python `**kwargs`, PHP 8 named arguments): `account.call("deposit", keywords: ["n": 5])`.
    /// Throws `.usage` for a language without keyword arguments (JavaScript, Perl).
    @discardableResult
    public func call<each Argument: BondArgument>(
        _ method: String, _ arguments: repeat each Argument, keywords: KeyValuePairs<String, (any BondArgument)?>,
        unserializable: BondUnserializable = .error
    ) throws(BondError) -> BondValue {
        try bond.objectCall(id, method: method, unserializable, keywords: keywords) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in repeat each arguments { try frame.writeArgument(argument) }
        }
    }

    /// Calls the object itself (a function, closure or code ref) with the arguments converted.
    @discardableResult
    public func callAsFunction<each Argument: BondArgument>(
        _ arguments: repeat each Argument, unserializable: BondUnserializable = .error
    ) throws(BondError) -> BondValue {
        try bond.objectCall(id, method: nil, unserializable) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in repeat each arguments { try frame.writeArgument(argument) }
        }
    }

    /// Calls `method` (`nil`: the object itself) with arguments already converted (handles
    /// among them, at any depth): for callers whose arguments are known only at run time.
    @discardableResult
    public func call(_ method: String?, values: [BondValue], unserializable: BondUnserializable = .error) throws(BondError) -> BondValue {
        try bond.objectCall(id, method: method, unserializable) { (frame: inout BondFrameWriter) throws(BondError) in
            for value in values { try frame.writeArgument(value) }
        }
    }

    /// `call(_:values:unserializable:)` with keyword arguments read at run time (those of a
    /// proxy's request, see `BondObjects.serve`).
    func call(
        _ method: String?, values: [BondValue], keywords: OrderedDictionary<String, BondValue>,
        unserializable: BondUnserializable
    ) throws(BondError) -> BondValue {
        let keywords = keywords.map { (key: $0.key, value: $0.value as (any BondArgument)?) }
        return try bond.objectCall(id, method: method, unserializable, keywords: keywords) { (frame: inout BondFrameWriter) throws(BondError) in
            for value in values { try frame.writeArgument(value) }
        }
    }

    /// The object's attribute, property or hash field `name`: data, or with
    /// `unserializable: .handle`, a handle where it is not data (a bound method, an object).
    public func attribute(_ name: String, unserializable: BondUnserializable = .error) throws(BondError) -> BondValue {
        try bond.objectRequest("OGET", [.int(id), .string(name), .string(try bond.objectMode(unserializable))])
    }

    public static func == (lhs: BondHandle, rhs: BondHandle) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

extension BondHandle: BondArgument {
    /// A handle is its object again in its own bond, and a proxy in another one.
    public func write(to frame: inout BondFrameWriter) throws(BondError) { try frame.write(handle: self) }
}

extension Bond {
    /// Evaluates one expression and keeps its value in the interpreter, whatever it is (an
    /// object, a function, even a number): the handle to it. Needs a driver that offers the
    /// `OBJECTS` extension (else a `.usage` error).
    public func object(_ code: String) throws(BondError) -> BondHandle {
        let value = try objectRequest("OBJECT", .string(code))
        guard case .handle(let handle) = value else {
            throw errors.protocolViolation("OBJECT answered with something that is not a handle: \(value)")
        }
        return handle
    }

    /// Whether the driver serves remote objects (its manifest's `"extensions"` has `OBJECTS`).
    public var offersObjects: Bool { objects.isOn }

    /// A request of the `OBJECTS` extension: a `.usage` error when the driver lacks it.
    func objectRequest(_ verb: String, _ payload: BondValue) throws(BondError) -> BondValue {
        try requireObjects()
        return try request(verb, payload)
    }

    /// `OCALL [id, method, [arguments], unserializable]`, and [ext] `keywords` (if any) as a
    /// fifth element.
    func objectCall(
        _ id: Int, method: String?, _ unserializable: BondUnserializable,
        keywords: some Collection<KeywordArgument> = EmptyCollection<KeywordArgument>(),
        _ writeArguments: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) -> BondValue {
        try requireObjects()
        let mode = try objectMode(unserializable)
        try checkKeywords(keywords)
        return try request("OCALL") { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.writeObjectCall(id, method: method, mode: mode, keywords: keywords, writeArguments)
        }
    }

    /// A `.usage` error when the driver lacks `OBJECTS`, or the bond was closed (its objects
    /// went with it).
    private func requireObjects() throws(BondError) {
        try objects.requireOn()
        if isClosedByUser { throw errors.usage("the bond is closed: its objects are gone") }
    }

    /// The `unserializable` word of `OCALL` and `OGET`: `error` or `handle`.
    func objectMode(_ unserializable: BondUnserializable) throws(BondError) -> String {
        guard unserializable != .describe else {
            throw errors.usage("a method or attribute result is data or a handle (.error or .handle), not a description")
        }
        return unserializable.rawValue
    }
}
