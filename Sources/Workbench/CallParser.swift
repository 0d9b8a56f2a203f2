import Bond
import OrderedCollections

/// One argument of a call typed in a pane: a JSON value, or `@name` for one of the pane's refs.
public enum CallArgument: Sendable, Equatable {
    case value(BondValue)
    case ref(String)
}

public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parses `NAME ARG ...` (each ARG a JSON value or `@ref`) and JSON itself.
public enum CallParser {
    public static func parseCall(_ text: String) throws(ParseError) -> (name: String, arguments: [CallArgument]) {
        var p = JSONScanner(Array(text.unicodeScalars))
        p.skipSpace()
        let name = p.word()
        guard !name.isEmpty else { throw ParseError("call: give a function name, then arguments as JSON values or @ref") }
        var arguments: [CallArgument] = []
        while true {
            p.skipSpace()
            if p.atEnd { break }
            if p.peek == "@" {
                p.index += 1
                let ref = p.word()
                guard !ref.isEmpty else { throw ParseError("call: @ must be followed by a ref name") }
                arguments.append(.ref(ref))
                continue
            }
            let start = p.index
            do {
                arguments.append(.value(try p.value(depth: 0)))
            } catch {
                throw ParseError("call: argument \(arguments.count + 1) is not JSON (\(error.message)) at \"\(String(String.UnicodeScalarView(p.scalars[start...].prefix(20))))\"")
            }
            if !p.atEnd && !p.isSpace {
                throw ParseError("call: arguments must be separated by spaces (after argument \(arguments.count))")
            }
        }
        return (name, arguments)
    }

    /// One JSON value (the whole text).
    public static func parseJSON(_ text: String) throws(ParseError) -> BondValue {
        var p = JSONScanner(Array(text.unicodeScalars))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.atEnd else { throw ParseError("extra text after the JSON value") }
        return v
    }
}

struct JSONScanner {
    let scalars: [Unicode.Scalar]
    var index = 0
    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    var atEnd: Bool { index >= scalars.count }
    var peek: Unicode.Scalar? { atEnd ? nil : scalars[index] }
    var isSpace: Bool { peek.map { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" } ?? false }

    mutating func skipSpace() { while isSpace { index += 1 } }

    mutating func word() -> String {
        var s = String.UnicodeScalarView()
        while let c = peek, !(c == " " || c == "\t" || c == "\n" || c == "\r") {
            s.append(c)
            index += 1
        }
        return String(s)
    }

    mutating func expect(_ c: Unicode.Scalar) throws(ParseError) {
        guard peek == c else { throw ParseError("expected \(c)") }
        index += 1
    }

    mutating func value(depth: Int) throws(ParseError) -> BondValue {
        guard depth < 512 else { throw ParseError("nested too deep") }
        skipSpace()
        guard let c = peek else { throw ParseError("unexpected end") }
        switch c {
        case "{":
            index += 1
            var members = OrderedDictionary<String, BondValue>()
            skipSpace()
            if peek == "}" { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard peek == "\"" else { throw ParseError("expected a string key") }
                let key = try string()
                skipSpace()
                try expect(":")
                members[key] = try value(depth: depth + 1)
                skipSpace()
                if peek == "," { index += 1; continue }
                try expect("}")
                return .object(members)
            }
        case "[":
            index += 1
            var items: [BondValue] = []
            skipSpace()
            if peek == "]" { index += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                if peek == "," { index += 1; continue }
                try expect("]")
                return .array(items)
            }
        case "\"":
            return .string(try string())
        case "t": try literal("true"); return .bool(true)
        case "f": try literal("false"); return .bool(false)
        case "n": try literal("null"); return .null
        default:
            return try number()
        }
    }

    mutating func literal(_ word: String) throws(ParseError) {
        for c in word.unicodeScalars {
            guard peek == c else { throw ParseError("invalid literal") }
            index += 1
        }
    }

    mutating func number() throws(ParseError) -> BondValue {
        var s = ""
        while let c = peek, "+-0123456789.eE".unicodeScalars.contains(c) {
            s.unicodeScalars.append(c)
            index += 1
        }
        guard !s.isEmpty else { throw ParseError("unexpected character") }
        let isInteger = !s.contains(".") && !s.contains("e") && !s.contains("E")
        if isInteger, let i = Int(s) { return .int(i) }
        guard let d = Double(s), s.first != "+", s.first != "." else { throw ParseError("invalid number \(s)") }
        return .double(d)
    }

    mutating func string() throws(ParseError) -> String {
        try expect("\"")
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw ParseError("unterminated string") }
            index += 1
            if c == "\"" { return String(out) }
            if c != "\\" { out.append(c); continue }
            guard let e = peek else { throw ParseError("unterminated escape") }
            index += 1
            switch e {
            case "\"": out.append("\"")
            case "\\": out.append("\\")
            case "/": out.append("/")
            case "b": out.append("\u{8}")
            case "f": out.append("\u{C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), peek == "\\", index + 1 < scalars.count, scalars[index + 1] == "u" {
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw ParseError("invalid surrogate pair") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let s = Unicode.Scalar(v) else { throw ParseError("lone surrogate") }
                out.append(s)
            default: throw ParseError("invalid escape \\\(e)")
            }
        }
    }

    mutating func hex4() throws(ParseError) -> UInt32 {
        guard index + 4 <= scalars.count, let v = UInt32(String(String.UnicodeScalarView(scalars[index..<index + 4])), radix: 16)
        else { throw ParseError("invalid \\u escape") }
        index += 4
        return v
    }
}
