import Foundation
import OrderedCollections

/// Why a JSON text could not be read.
struct JSONReadError: Error, Sendable, CustomStringConvertible {
    let message: String
    let offset: Int
    var description: String { "\(message) at byte \(offset)" }
}

/// Reads one JSON value from UTF-8 bytes into a `BondValue`.
///
/// Linear in the input, with a bounded nesting depth so that hostile input cannot
/// exhaust the stack. Integers that fit `Int` stay integers; other numbers are doubles.
struct JSONReader {
    static let maximumDepth = 512

    static func read(_ bytes: some Collection<UInt8>) throws(JSONReadError) -> BondValue {
        // Read in place when the bytes are contiguous (arrays and their slices): no copy.
        if let result = bytes.withContiguousStorageIfAvailable({ read(buffer: $0) }) { return try result.get() }
        return try ContiguousArray(bytes).withUnsafeBufferPointer { read(buffer: $0) }.get()
    }

    private static func read(buffer: UnsafeBufferPointer<UInt8>) -> Result<BondValue, JSONReadError> {
        var reader = JSONReader(buffer)
        do throws(JSONReadError) {
            let value = try reader.value(depth: 0)  // (which skips the space before it)
            reader.skipSpace()
            guard reader.index == buffer.count else { throw reader.error("trailing data") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    /// Reads the value at the start of `bytes` (space before it skipped), leaving what follows
    /// it; returns the value and the number of bytes it took, space included.
    static func readPrefix(_ bytes: [UInt8]) throws(JSONReadError) -> (value: BondValue, length: Int) {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONReadError) in
            var reader = JSONReader(buffer)
            let value = try reader.value(depth: 0)
            return (value, reader.index)
        }
    }

    /// A call's payload in its usual shape, `["name", [arguments...]]`, read without making the
    /// outer array; `nil` for any other text (valid or not), which `read` then reads.
    static func readCall(_ bytes: UnsafeRawBufferPointer) -> (name: String, arguments: [BondValue])? {
        let buffer = bytes.assumingMemoryBound(to: UInt8.self)
        var reader = JSONReader(buffer)
        return try? reader.call()
    }

    private mutating func call() throws(JSONReadError) -> (name: String, arguments: [BondValue]) {
        guard expect(UInt8(ascii: "[")), expect(UInt8(ascii: "\""), stepping: false) else { throw error("not a call") }
        let name = try string()
        guard expect(UInt8(ascii: ",")), expect(UInt8(ascii: "["), stepping: false),
            case .array(let arguments) = try value(depth: 1), expect(UInt8(ascii: "]"))
        else { throw error("not a call") }
        skipSpace()
        guard index == bytes.count else { throw error("trailing data") }
        return (name, arguments)
    }

    /// Skips space; then whether `byte` is next (stepped past when `stepping`).
    private mutating func expect(_ byte: UInt8, stepping: Bool = true) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        if stepping { index += 1 }
        return true
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func error(_ message: String) -> JSONReadError { JSONReadError(message: message, offset: index) }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// An array or object being read, waiting for its next member.
    private enum OpenContainer {
        case array([BondValue])
        case object(OrderedDictionary<String, BondValue>, key: String)
    }

    /// Levels of nesting read by recursion; deeper ones are read with an explicit stack.
    private static let recursionLimit = 32

    /// Reads one value at nesting `depth`. The first `recursionLimit` levels are read by
    /// recursion, which builds each array and object in place (the common case: shallow
    /// frames); deeper values without it (`deepValue`), so that the depth limit, not the
    /// thread's stack size, bounds what can be read.
    private mutating func value(depth: Int) throws(JSONReadError) -> BondValue {
        skipSpace()
        guard index < bytes.count else { throw error("unexpected end of JSON") }
        guard depth < Self.recursionLimit else { return try deepValue(depth: depth) }
        switch bytes[index] {
        case UInt8(ascii: "["):
            var items: [BondValue] = []
            if opensEmpty(closedBy: UInt8(ascii: "]")) { return .array(items) }
            items.reserveCapacity(2)  // room for the common pairs ([name, args], [channel, text]) at once
            repeat {
                items.append(try value(depth: depth + 1))
            } while try hasMoreItems(closedBy: UInt8(ascii: "]"))
            return .array(items)
        case UInt8(ascii: "{"):
            var members = OrderedDictionary<String, BondValue>()
            if opensEmpty(closedBy: UInt8(ascii: "}")) { return .object(members) }
            repeat {
                let key = try memberKey()
                members[key] = try value(depth: depth + 1)
            } while try hasMoreItems(closedBy: UInt8(ascii: "}"))
            return .object(members)
        default:
            return try scalar()
        }
    }

    /// At the opening bracket of an array or object: steps past it, and returns whether the
    /// container is empty (then past its `close` too).
    @inline(__always)
    private mutating func opensEmpty(closedBy close: UInt8) -> Bool {
        index += 1
        skipSpace()
        guard index < bytes.count, bytes[index] == close else { return false }
        index += 1
        return true
    }

    /// After an item of an array or object: `true` past a `,` (another item follows), `false`
    /// past `close` (the container ends); anything else is an error.
    @inline(__always)
    private mutating func hasMoreItems(closedBy close: UInt8) throws(JSONReadError) -> Bool {
        skipSpace()
        guard index < bytes.count else { throw error("unexpected end of JSON") }
        let next = bytes[index]
        index += 1
        if next == UInt8(ascii: ",") { return true }
        guard next == close else {
            index -= 1
            throw error("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
        return false
    }

    /// A string, number, `true`, `false` or `null`.
    private mutating func scalar() throws(JSONReadError) -> BondValue {
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    /// Reads one value at nesting `depth` without recursion: nesting lives in an explicit stack.
    private mutating func deepValue(depth: Int) throws(JSONReadError) -> BondValue {
        var stack: [OpenContainer] = []
        while true {
            skipSpace()
            guard index < bytes.count else { throw error("unexpected end of JSON") }
            var value: BondValue
            switch bytes[index] {
            case UInt8(ascii: "["):
                if opensEmpty(closedBy: UInt8(ascii: "]")) {
                    value = .array([])
                } else {
                    guard depth + stack.count < Self.maximumDepth else { throw error("JSON nested deeper than \(Self.maximumDepth)") }
                    stack.append(.array([]))
                    continue
                }
            case UInt8(ascii: "{"):
                if opensEmpty(closedBy: UInt8(ascii: "}")) {
                    value = .object([:])
                } else {
                    guard depth + stack.count < Self.maximumDepth else { throw error("JSON nested deeper than \(Self.maximumDepth)") }
                    stack.append(.object([:], key: try memberKey()))
                    continue
                }
            default: value = try scalar()
            }
            // Hand the value to the enclosing containers, closing those that end here.
            closing: while true {
                guard let top = stack.popLast() else { return value }
                switch top {
                case .array(var items):
                    items.append(value)
                    if try hasMoreItems(closedBy: UInt8(ascii: "]")) { stack.append(.array(items)); break closing }
                    value = .array(items)
                case .object(var members, let key):
                    members[key] = value
                    if try hasMoreItems(closedBy: UInt8(ascii: "}")) { stack.append(.object(members, key: try memberKey())); break closing }
                    value = .object(members)
                }
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONReadError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of JSON") }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] {
            throw error("invalid literal")
        }
        index += count
    }

    /// Reads `"key" :` of an object member.
    private mutating func memberKey() throws(JSONReadError) -> String {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let key = try string()
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
        index += 1
        return key
    }

    private mutating func number() throws(JSONReadError) -> BondValue {
        let start = index
        // The common case, an integer of at most 18 digits (which cannot overflow), is read as
        // it goes; anything else (more digits, a fraction, an exponent) the general way.
        var end = index
        let negative = bytes[end] == UInt8(ascii: "-")
        if negative { end += 1 }
        var magnitude = 0
        while end < bytes.count, end - start < 19, case let digit = bytes[end] &- 0x30, digit < 10 {
            magnitude = magnitude &* 10 &+ Int(digit)
            end += 1
        }
        let digits = end - start - (negative ? 1 : 0)
        if digits > 0, digits <= 18, end == bytes.count || !Self.isNumberByte(bytes[end]) {
            index = end
            return .int(negative ? -magnitude : magnitude)
        }
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digitsStart = index
        while index < bytes.count, Self.isNumberByte(bytes[index]) {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): isInteger = false
            default: break
            }
            index += 1
        }
        guard index > digitsStart else { throw error("invalid number") }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger {
            guard let int = Int(text) else {
                index = start
                throw error("integer \(text) does not fit in 64 bits")
            }
            return .int(int)
        }
        guard let double = Double(text), double.isFinite else {
            index = start
            throw error("invalid number '\(text)'")
        }
        return .double(double)
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
            UInt8(ascii: "+"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private mutating func string() throws(JSONReadError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        index = PlainRun.end(in: bytes, from: index)
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // ASCII needs no validation (and decoding it is the fast path of String)
                if PlainRun.isASCII(raw) { return String(decoding: raw, as: UTF8.self) }
                guard let text = String(validating: raw, as: UTF8.self) else {
                    index = start
                    throw error("invalid UTF-8 in string")
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            index += 1
        }
        var buffer = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &buffer)
            case ..<0x20:
                throw error("control character in string")
            default:
                // Copy a run of plain bytes at once.
                let runStart = index
                index = PlainRun.end(in: bytes, from: index)
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            }
        }
        throw error("unterminated string")
    }

    private mutating func escape(into buffer: inout [UInt8]) throws(JSONReadError) {
        guard index < bytes.count else { throw error("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): buffer.append(0x22)
        case UInt8(ascii: "\\"): buffer.append(0x5C)
        case UInt8(ascii: "/"): buffer.append(0x2F)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("lone surrogate \\u\(String(scalar, radix: 16)) in string") }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error("lone surrogate \\u\(String(scalar, radix: 16)) in string")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("lone surrogate \\u\(String(scalar, radix: 16)) in string")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
            buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            throw error("invalid escape")
        }
    }

    private mutating func hex4() throws(JSONReadError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}

/// Why a value could not be written as JSON.
struct JSONWriteError: Error, Sendable {
    let message: String
}

/// Writes a `BondValue` as one line of compact JSON (non-ASCII text stays UTF-8).
enum JSONWriter {
    /// Writes `value`; throws for non-finite doubles, which JSON cannot carry. Byte strings
    /// go to `blocks` (each written as `{"__BOND_bytes": index}`: the `BYTES` extension).
    static func write(_ value: BondValue, into out: inout [UInt8], blocks: inout [[UInt8]]) throws(JSONWriteError) {
        if let problem = firstUnwritable(value) { throw JSONWriteError(message: problem) }
        var form = BytesForm.blocks(blocks)
        blocks = []
        write(value, into: &out, bytes: &form)
        if case .blocks(let written) = form { blocks = written }
    }

    /// Writes `value`; throws for non-finite doubles, which JSON cannot carry. Byte strings are
    /// written as base64 strings (as `JSONEncoder` writes `Data`).
    static func write(_ value: BondValue, into out: inout [UInt8]) throws(JSONWriteError) {
        if let problem = firstUnwritable(value) { throw JSONWriteError(message: problem) }
        var form = BytesForm.base64
        write(value, into: &out, bytes: &form)
    }

    static func encode(_ value: BondValue) throws(JSONWriteError) -> [UInt8] {
        var out: [UInt8] = []
        try write(value, into: &out)
        return out
    }

    /// Why `value` cannot be written as JSON (a non-finite double, a handle outside a bond's
    /// frame), or `nil`.
    private static func firstUnwritable(_ value: BondValue) -> String? {
        switch value {
        case .double(let d): return d.isFinite ? nil : "\(d) cannot be represented in JSON"
        case .array(let items):
            for item in items { if let bad = firstUnwritable(item) { return bad } }
            return nil
        case .object(let members):
            for item in members.values { if let bad = firstUnwritable(item) { return bad } }
            return nil
        case .handle: return "a handle crosses only to a bond (as an argument of a call)"
        default: return nil
        }
    }

    /// How the writer writes byte strings.
    enum BytesForm {
        /// As a base64 string (`decode`, `Codable`).
        case base64
        /// As a Python-style literal, `b'\x00ab'` (descriptions, for people to read).
        case literal
        /// [ext] As `{"__BOND_bytes": index}`, the bytes added to the blocks sent before the frame.
        case blocks([[UInt8]])
    }

    /// Writes without checking; non-finite doubles come out as `nan`/`inf` (for descriptions).
    static func write(_ value: BondValue, into out: inout [UInt8], lenient: Bool) {
        var form = BytesForm.base64
        write(value, into: &out, bytes: &form)
    }

    /// Writes for people to read: as `write(_:into:lenient:)`, byte strings as literals.
    static func describe(_ value: BondValue, into out: inout [UInt8]) {
        var form = BytesForm.literal
        write(value, into: &out, bytes: &form)
    }

    private static func write(_ value: BondValue, into out: inout [UInt8], bytes form: inout BytesForm) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): writeInteger(i, into: &out)
        case .double(let d): out.append(contentsOf: d.description.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out, bytes: &form)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, item) in members {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(item, into: &out, bytes: &form)
            }
            out.append(UInt8(ascii: "}"))
        case .bytes(let data):
            switch form {
            case .base64:
                writeString(Data(data).base64EncodedString(), into: &out)
            case .literal:
                writeLiteral(data, into: &out)
            case .blocks(var blocks):
                out.append(contentsOf: "{\"\(BytesBlocks.key)\":".utf8)
                writeInteger(blocks.count, into: &out)
                out.append(UInt8(ascii: "}"))
                blocks.append(data)
                form = .blocks(blocks)
            }
        case .handle(let handle):
            // (For descriptions and logs; a frame writes handles through `BondObjects`.)
            out.append(contentsOf: #"{"$bond":"handle","id":"#.utf8)
            writeInteger(handle.id, into: &out)
            out.append(contentsOf: #","type":"#.utf8)
            writeString(handle.typeName, into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `b'...'`: printable ASCII as it is, other bytes as `\xNN`.
    private static func writeLiteral(_ data: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: "b'".utf8)
        for byte in data {
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x20..<0x7F:
                out.append(byte)
            default:
                out.append(contentsOf: "\\x".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
        }
        out.append(UInt8(ascii: "'"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes the decimal digits of `value` (no `String` made on the way).
    static func writeInteger(_ value: Int, into out: inout [UInt8]) {
        if value >= 0 && value < 10 {
            out.append(UInt8(truncatingIfNeeded: value) + 0x30)
            return
        }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var end = buffer.count
            repeat {
                end -= 1
                buffer[end] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                end -= 1
                buffer[end] = UInt8(ascii: "-")
            }
            for i in end..<buffer.count { out.append(buffer[i]) }  // (cheaper than a generic append of a few bytes)
        }
    }

    static func writeString(_ string: String, into out: inout [UInt8]) {
        var string = string
        string.withUTF8 { utf8 in
            out.reserveCapacity(out.count + utf8.count + 2)
            out.append(UInt8(ascii: "\""))
            var runStart = 0
            var i = PlainRun.end(in: utf8, from: 0)
            while i < utf8.count {
                let byte = utf8[i]
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0xF)])
                }
                i = PlainRun.end(in: utf8, from: i + 1)
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            out.append(UInt8(ascii: "\""))
        }
    }
}

/// The plain part of a JSON string's bytes: everything up to the next `"`, `\` or control
/// character, which need escaping. Found eight bytes at a time, so that a long string is
/// scanned at several bytes per cycle.
enum PlainRun {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first byte at or after `start` that is `"`, `\` or below 0x20, or
    /// `bytes.count` if there is none.
    static func end(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        if let base = bytes.baseAddress {
            while i + 8 <= bytes.count {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if mayHoldSpecialByte(word) { break }
                i += 8
            }
        }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { return i }
            i += 1
        }
        return i
    }

    /// Whether every byte is below 0x80 (eight at a time).
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        if let base = bytes.baseAddress {
            while i + 8 <= bytes.count {
                if UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & highBits != 0 { return false }
                i += 8
            }
        }
        while i < bytes.count {
            if bytes[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }

    /// Whether one of the eight bytes of `word` may be `"`, `\` or below 0x20 (never false
    /// when one is): the classic test for a zero byte, `(v - 0x01..) & ~v & 0x80..`, on the
    /// word xor-ed with each special byte, and `(v - 0x20..) & ~v & 0x80..` for the controls.
    @inline(__always)
    private static func mayHoldSpecialByte(_ word: UInt64) -> Bool {
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let found = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
        return found & highBits != 0
    }
}
