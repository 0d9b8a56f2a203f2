import OrderedCollections

/// A value that crosses a bond: the JSON data model, with integers kept apart from
/// doubles and the key order of objects kept as received.
public enum BondValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([BondValue])
    case object(OrderedDictionary<String, BondValue>)
    /// [ext] Binary data (Python `bytes`, Node `Buffer`, a PHP or Perl byte string), sent out of
    /// band as a raw block (docs/protocol.md, `BYTES`).
    case bytes([UInt8])
    /// [ext] A live object that stays in its interpreter (see `BondHandle`); never plain data.
    case handle(BondHandle)
}

// MARK: - Accessors

extension BondValue {
    /// `true` for `.null`.
    public var isNull: Bool { if case .null = self { true } else { false } }

    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }

    /// The integer, also for a double that holds an exact integer.
    public var intValue: Int? {
        switch self {
        case .int(let i): i
        case .double(let d): Int(exactly: d)
        default: nil
        }
    }

    /// The number as a double, for integers and doubles.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var bytesValue: [UInt8]? { if case .bytes(let b) = self { b } else { nil } }
    public var arrayValue: [BondValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: OrderedDictionary<String, BondValue>? {
        if case .object(let o) = self { o } else { nil }
    }
    public var handleValue: BondHandle? { if case .handle(let h) = self { h } else { nil } }

    /// The element at `index` of an array, or `nil`.
    public subscript(index: Int) -> BondValue? {
        guard case .array(let a) = self, a.indices.contains(index) else { return nil }
        return a[index]
    }

    /// The member `key` of an object, or `nil`.
    public subscript(key: String) -> BondValue? {
        guard case .object(let o) = self else { return nil }
        return o[key]
    }
}

// MARK: - Literals

extension BondValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: BondValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, BondValue)...) {
        self = .object(OrderedDictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Description

extension BondValue: CustomStringConvertible {
    /// The value as compact JSON (non-finite doubles are written as `nan`, `inf`, `-inf`, byte
    /// strings as Python writes them, `b'\x00ab'`).
    public var description: String {
        var out: [UInt8] = []
        JSONWriter.describe(self, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The value as indented JSON, for people to read.
    public var prettyDescription: String {
        var lines = ""
        prettyPrint(indent: "", into: &lines)
        return lines
    }

    private func prettyPrint(indent: String, into out: inout String) {
        let inner = indent + "  "
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.prettyPrint(indent: inner, into: &out)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            for (i, (key, value)) in members.enumerated() {
                out += inner + BondValue.string(key).description + ": "
                value.prettyPrint(indent: inner, into: &out)
                out += i == members.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        default:
            out += description
        }
    }
}
