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

/// A Swift value that `Bond.call` accepts as an argument: it writes itself into the call's
/// frame. `BondValue`, refs, booleans, numbers, strings, and arrays, string-keyed dictionaries
/// and optionals of these are arguments; so is any `Encodable` type that declares the
/// conformance (`extension Point: BondArgument {}`), as its JSON encoding.
public protocol BondArgument {
    /// Writes this value into a call's frame.
    func write(to frame: inout BondFrameWriter) throws(BondError)
}

/// A Swift type that converts itself to a `BondValue` to cross a bond.
public protocol BondValueConvertible: BondArgument {
    var bondValue: BondValue { get }
}

extension BondValueConvertible {
    public func write(to frame: inout BondFrameWriter) throws(BondError) { try frame.write(bondValue) }
}

extension BondArgument where Self: Encodable {
    /// An `Encodable` value travels as its JSON encoding.
    public func write(to frame: inout BondFrameWriter) throws(BondError) {
        try frame.write(BondValue(encoding: self, language: frame.errors.language))
    }
}

extension BondValue: BondValueConvertible {
    public var bondValue: BondValue { self }
    public func write(to frame: inout BondFrameWriter) throws(BondError) { try frame.write(self) }
}

extension BondRef: BondArgument {
    /// A ref is evaluated by the interpreter where it is an argument (never inside one).
    public func write(to frame: inout BondFrameWriter) throws(BondError) { try frame.write(ref: self) }
}

extension String: BondArgument {
    public func write(to frame: inout BondFrameWriter) { frame.write(self) }
}

extension Substring: BondArgument {
    public func write(to frame: inout BondFrameWriter) { frame.write(String(self)) }
}

extension Bool: BondArgument {
    public func write(to frame: inout BondFrameWriter) { frame.write(self) }
}

extension Int: BondArgument {
    public func write(to frame: inout BondFrameWriter) { frame.write(self) }
}

extension Int32: BondArgument {
    public func write(to frame: inout BondFrameWriter) { frame.write(Int(self)) }
}

extension Int64: BondArgument {
    public func write(to frame: inout BondFrameWriter) { frame.write(Int(self)) }
}

extension Double: BondArgument {
    public func write(to frame: inout BondFrameWriter) throws(BondError) { try frame.write(.double(self)) }
}

extension Float: BondArgument {
    public func write(to frame: inout BondFrameWriter) throws(BondError) { try frame.write(.double(Double(self))) }
}

extension Optional: BondArgument where Wrapped: BondArgument {
    public func write(to frame: inout BondFrameWriter) throws(BondError) {
        guard let self else { return frame.writeNull() }
        try self.write(to: &frame)
    }
}

extension Array: BondArgument where Element: BondArgument {
    public func write(to frame: inout BondFrameWriter) throws(BondError) {
        try frame.writeArray(self) { (frame, element) throws(BondError) in try element.write(to: &frame) }
    }
}

extension Dictionary: BondArgument where Key == String, Value: BondArgument {
    /// Members are written in the order of their keys.
    public func write(to frame: inout BondFrameWriter) throws(BondError) {
        try frame.writeObject(keys.sorted()) { (frame, key) throws(BondError) in try self[key].write(to: &frame) }
    }
}

extension BondValue {
    /// Converts a Swift value: `BondValue`, `BondValueConvertible`, `nil`, `Bool`, integers,
    /// floating point, strings, arrays and string-keyed dictionaries of these, and any `Encodable`.
    /// Throws `BondError.serialization(side: .local)` for anything else.
    public init(converting value: Any?, language: String = "Swift") throws(BondError) {
        let errors = BondErrors(language: language)
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
            throw errors.usage("\(ref) can only be an immediate argument of call()")
        default:
            throw errors.serialization(.local, "cannot serialize a value of type \(type(of: value))")
        }
    }

    /// The value of a type that converts directly (not an array, dictionary or `Encodable`).
    /// (For values of any type, converted at run time: a dynamic cast each.)
    static func convertDirect(_ value: Any) -> BondValue? {
        switch value {
        case let v as String: return .string(v)
        case let v as Int: return .int(v)
        case let v as Double: return .double(v)
        case let v as Bool: return .bool(v)
        case let v as BondValue: return v
        case let v as BondHandle: return .handle(v)
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

    /// Converts any `Encodable` value through its JSON form.
    public init(encoding value: some Encodable, language: String = "Swift") throws(BondError) {
        let errors = BondErrors(language: language)
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw errors.serialization(.local, "\(error)")
        }
        do {
            self = try JSONReader.read(data)
        } catch {
            throw errors.serialization(.local, "\(error)")
        }
    }

    /// Reads one JSON text (RFC 8259); object members keep their order. Integers must fit in
    /// 64 bits and nesting is limited to 512 levels, as for frames.
    public init(json text: some StringProtocol) throws(BondError) {
        do {
            self = try JSONReader.read(Array(text.utf8))
        } catch {
            throw BondErrors.swift.serialization(.local, "invalid JSON: \(error)")
        }
    }

    /// Reads the JSON value that starts `text` (space before it skipped) and returns it with
    /// the text after it: for a text that holds several values, such as a command line.
    public static func readJSON(prefixOf text: Substring) throws(BondError) -> (value: BondValue, rest: Substring) {
        do {
            let (value, length) = try JSONReader.readPrefix(Array(text.utf8))
            return (value, text[text.utf8.index(text.utf8.startIndex, offsetBy: length)...])
        } catch {
            throw BondErrors.swift.serialization(.local, "invalid JSON: \(error)")
        }
    }

    /// Decodes the value into a `Decodable` Swift type.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(BondError) -> T {
        var bytes: [UInt8] = []
        JSONWriter.write(self, into: &bytes, lenient: true)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw BondErrors.swift.serialization(.local, "cannot decode \(T.self) from \(self): \(error)")
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
        case .bytes(let b): try container.encode(Data(b))
        case .handle(let h): try container.encode("<\(h.typeName) handle of \(h.bond.name)>")
        }
    }
}
