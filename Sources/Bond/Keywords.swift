import OrderedCollections

/// A Swift function the interpreter can call with keyword (named) arguments as well as
/// positional ones: Python `f(1, reverse=True)`, PHP `f(1, reverse: true)`.
public typealias BondKeywordFunction =
    @Sendable (_ arguments: [BondValue], _ keywords: OrderedDictionary<String, BondValue>) throws -> BondValue

/// One keyword argument as the frame writer takes it: an element of a call site's
/// `KeyValuePairs`, or one read from a proxy's request (see `BondObjects.serve`).
typealias KeywordArgument = (key: String, value: (any BondArgument)?)

/// [ext] The `KEYWORDS` extension (docs/protocol.md): keyword arguments in both directions.
enum KeywordArguments {
    /// The name of the extension in a driver's manifest.
    static let extensionName = "KEYWORDS"
    /// Languages that have no keyword arguments at all (their drivers cannot offer them).
    static let languagesWithout: Set<String> = ["JavaScript", "Perl"]
}

extension Bond {
    /// Calls `name` with positional `arguments` and keyword `keywords` (Python `**kwargs`,
    /// PHP 8 named arguments), in their order: `py.call("sorted", [3, 1, 2], keywords:
    /// ["reverse": true])`. Keyword values are data (refs only as positional arguments).
    /// Throws `.usage` for a language without keyword arguments (JavaScript, Perl) or a
    /// driver that does not offer the `KEYWORDS` extension.
    @discardableResult
    public func call<each Argument: BondArgument>(
        _ name: String, _ arguments: repeat each Argument, keywords: KeyValuePairs<String, (any BondArgument)?>
    ) throws(BondError) -> BondValue {
        try requestCall(name, keywords: keywords) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in repeat each arguments { try frame.writeArgument(argument) }
        }
    }

    /// `call(_:_:keywords:)` with the positional arguments as values.
    @discardableResult
    public func call(
        _ name: String, values arguments: [BondValue], keywords: KeyValuePairs<String, (any BondArgument)?>
    ) throws(BondError) -> BondValue {
        try requestCall(name, keywords: keywords) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in arguments { try frame.writeArgument(argument) }
        }
    }

    /// `call(_:values:keywords:)` with keyword arguments read at run time (those of a call of a
    /// function proxied from another bond, see `proxy(_:to:as:)`).
    func call(_ name: String, values arguments: [BondValue], keywords: OrderedDictionary<String, BondValue>) throws(BondError) -> BondValue {
        let keywords = keywords.map { (key: $0.key, value: $0.value as (any BondArgument)?) }
        return try requestCall(name, keywords: keywords) { (frame: inout BondFrameWriter) throws(BondError) in
            for argument in arguments { try frame.writeArgument(argument) }
        }
    }

    /// Whether the driver takes keyword arguments (its manifest offers the `KEYWORDS` extension).
    var offersKeywords: Bool { driverExtensions.contains(KeywordArguments.extensionName) }

    /// Makes `function` callable in the interpreter as the global function `name`, with keyword
    /// arguments as well as positional ones (Python `name(1, x=2)`, PHP `name(1, x: 2)`): the
    /// function receives both. Throws `.usage` where the language or driver has none.
    public func export(_ name: String, withKeywords function: @escaping BondKeywordFunction) throws(BondError) {
        try requireKeywords()
        try export(name, ExportTable.Entry(keywords: function), payload: ["name": .string(name), "keywords": true])
    }

    /// Throws `.usage` when there are keyword arguments and the driver takes none, or a
    /// keyword is given twice (then nothing is sent).
    func checkKeywords(_ keywords: some Collection<KeywordArgument>) throws(BondError) {
        guard !keywords.isEmpty else { return }
        try requireKeywords()
        var seen = Set<String>()
        for (key, _) in keywords where !seen.insert(key).inserted {
            throw errors.usage("the keyword argument \(key) is given twice")
        }
    }

    /// Throws `.usage` unless the driver offers keyword arguments.
    func requireKeywords() throws(BondError) {
        guard !offersKeywords else { return }
        if KeywordArguments.languagesWithout.contains(language) {
            throw errors.usage("\(language) has no keyword arguments: pass them as one \(language == "Perl" ? "hash" : "object") argument")
        }
        throw errors.usage(
            "keyword arguments need the \(KeywordArguments.extensionName) extension, which the \(language) driver does not offer")
    }

    /// A CALL of `name` whose arguments `writeArguments` writes, with `keywords` as its third
    /// element (none: an ordinary call).
    private func requestCall(
        _ name: String, keywords: some Collection<KeywordArgument>,
        _ writeArguments: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) -> BondValue {
        try checkKeywords(keywords)
        let owner = ObjectIdentifier(self)
        return try request("CALL") { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.writeCall(name, refsOf: owner, keywords: keywords, writeArguments)
        }
    }
}
