import Foundation
import OrderedCollections

/// A quoted expression: code that the interpreter evaluates itself when the ref is used
/// (python-bond's `ref()`). A ref belongs to the bond that made it.
public struct BondRef: Sendable, Hashable, CustomStringConvertible {
    /// The code, evaluated in the interpreter when the ref is used.
    public let code: String
    let owner: ObjectIdentifier

    public var description: String { "ref(\(code))" }
}

/// A Swift value that `Bond.call` accepts as an argument: `BondValue`, refs, `nil`, booleans,
/// numbers, strings, and arrays, string-keyed dictionaries and optionals of these.
///
/// Your own `Encodable` types take part by declaring the conformance (`extension Point:
/// BondArgument {}`); they travel as their JSON encoding. A heterogeneous array literal does
/// not type-check as an argument: write it as a `BondValue` (`[1, "a", nil] as BondValue`).
public protocol BondArgument {}

/// A Swift type that converts itself to a `BondValue` to cross a bond.
public protocol BondValueConvertible: BondArgument {
    var bondValue: BondValue { get }
}

extension BondRef: BondArgument {}
extension String: BondArgument {}
extension Substring: BondArgument {}
extension Bool: BondArgument {}
extension Int: BondArgument {}
extension Int32: BondArgument {}
extension Int64: BondArgument {}
extension Double: BondArgument {}
extension Float: BondArgument {}
extension Optional: BondArgument where Wrapped: BondArgument {}
extension Array: BondArgument where Element: BondArgument {}
extension Dictionary: BondArgument where Key == String, Value: BondArgument {}

extension BondValue: BondValueConvertible {
    public var bondValue: BondValue { self }
}

extension BondValue {
    /// Converts a Swift value: `BondValue`, `BondValueConvertible`, `nil`, `Bool`, integers,
    /// floating point, strings, arrays and string-keyed dictionaries of these, and any `Encodable`.
    /// Throws `BondError.serialization(side: .local)` for anything else.
    public init(converting value: Any?, language: String = "Swift") throws(BondError) {
        guard let value = value else { self = .null; return }
        if let converted = Self.convertDirect(value) { self = converted; return }
        switch value {
        case let array as [Any?]:
            var items: [BondValue] = []
            items.reserveCapacity(array.count)
            for item in array { items.append(try BondValue(converting: item, language: language)) }
            self = .array(items)
        case let dictionary as [String: Any?]:
            var members = OrderedDictionary<String, BondValue>()
            for key in dictionary.keys.sorted() {
                members[key] = try BondValue(converting: dictionary[key] ?? nil, language: language)
            }
            self = .object(members)
        case let encodable as any Encodable:
            self = try BondValue(encoding: encodable, language: language)
        case let ref as BondRef:
            throw BondError.usage(language: language, message: "\(ref) can only be an immediate argument of call()")
        default:
            throw BondError.serialization(
                language: language, side: .local, message: "cannot serialize a value of type \(type(of: value))")
        }
    }

    /// The value of a type that converts directly (not an array, dictionary or `Encodable`).
    static func convertDirect(_ value: Any) -> BondValue? {
        if let common = commonValue(value) { return common }  // `value` opened: no cast
        switch value {
        case let v as String: return .string(v)
        case let v as Int: return .int(v)
        case let v as Double: return .double(v)
        case let v as Bool: return .bool(v)
        case let v as BondValue: return v
        case let v as Substring: return .string(String(v))
        case let v as Int32: return .int(Int(v))
        case let v as Int64: return .int(Int(v))
        case let v as UInt8: return .int(Int(v))
        case let v as Float: return .double(Double(v))
        case is NSNull: return .null
        case let v as any BondValueConvertible: return v.bondValue
        default: return nil
        }
    }

    /// The value of one of the commonest argument types, told by its type alone: a dynamic cast
    /// costs hundreds of instructions (more when it fails, or looks for a protocol), this a few.
    static func commonValue<T>(_ value: T) -> BondValue? {
        // (isCommon and JSONWriter.writeCommon tell the same types)
        if T.self == Int.self { return .int(unsafeBitCast(value, to: Int.self)) }
        if T.self == String.self { return .string(unsafeBitCast(value, to: String.self)) }
        if T.self == Double.self { return .double(unsafeBitCast(value, to: Double.self)) }
        if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == BondValue.self { return unsafeBitCast(value, to: BondValue.self) }
        return nil
    }

    /// Whether `value` is of one of the types of `commonValue`, told by its type alone (no
    /// value made, none to destroy).
    static func isCommon<T>(_ value: T) -> Bool {
        T.self == Int.self || T.self == String.self || T.self == Double.self || T.self == Bool.self || T.self == BondValue.self
    }

    /// Converts any `Encodable` value through its JSON form.
    public init(encoding value: some Encodable, language: String = "Swift") throws(BondError) {
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw BondError.serialization(language: language, side: .local, message: "\(error)")
        }
        do {
            self = try JSONReader.read(data)
        } catch {
            throw BondError.serialization(language: language, side: .local, message: "\(error)")
        }
    }

    /// Reads one JSON text (RFC 8259); object members keep their order. Integers must fit in
    /// 64 bits and nesting is limited to 512 levels, as for frames.
    public init(json text: some StringProtocol) throws(BondError) {
        do {
            self = try JSONReader.read(Array(text.utf8))
        } catch {
            throw BondError.serialization(language: "Swift", side: .local, message: "invalid JSON: \(error)")
        }
    }

    /// Decodes the value into a `Decodable` Swift type.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(BondError) -> T {
        var bytes: [UInt8] = []
        JSONWriter.write(self, into: &bytes, lenient: true)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw BondError.serialization(
                language: "Swift", side: .local, message: "cannot decode \(T.self) from \(self): \(error)")
        }
    }
}

extension BondValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([BondValue].self) {
            self = .array(a)
        } else {
            let o = try container.decode([String: BondValue].self)
            self = .object(OrderedDictionary(uniqueKeysWithValues: o.sorted { $0.key < $1.key }))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(Dictionary(uniqueKeysWithValues: o.map { ($0.key, $0.value) }))
        }
    }
}

extension JSONWriter {
    /// Writes a value of one of the common argument types (see `BondValue.isCommon`): an
    /// integer or a string straight from itself, without making a `BondValue` of it.
    static func writeCommon<T>(_ value: T, into out: inout [UInt8]) throws(JSONWriteError) {
        if T.self == Int.self {
            writeInteger(unsafeBitCast(value, to: Int.self), into: &out)
        } else if T.self == String.self {
            writeString(unsafeBitCast(value, to: String.self), into: &out)
        } else {
            try write(BondValue.commonValue(value) ?? .null, into: &out)
        }
    }
}
