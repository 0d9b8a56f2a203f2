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

/// Parses `NAME ARG ...` (each ARG a JSON value or `@ref`); the values are read by the
/// engine's JSON reader (`BondValue(json:)`), this only finds where each one ends.
public enum CallParser {
    public static func parseCall(_ text: String) throws(ParseError) -> (name: String, arguments: [CallArgument]) {
        let chars = Array(text.unicodeScalars)
        var i = 0
        func skipSpace() { while i < chars.count && chars[i].properties.isWhitespace { i += 1 } }
        func word() -> String {
            let start = i
            while i < chars.count && !chars[i].properties.isWhitespace && !"[]{}\",".unicodeScalars.contains(chars[i]) { i += 1 }
            return String(String.UnicodeScalarView(chars[start..<i]))
        }
        skipSpace()
        let name = word()
        guard !name.isEmpty else { throw ParseError("call: give a function name, then arguments as JSON values or @ref") }
        var arguments: [CallArgument] = []
        while true {
            skipSpace()
            if i >= chars.count { break }
            if chars[i] == "@" {
                i += 1
                let ref = word()
                guard !ref.isEmpty else { throw ParseError("call: @ must be followed by a ref name") }
                arguments.append(.ref(ref))
                continue
            }
            let start = i
            i = valueEnd(chars, from: i)
            let piece = String(String.UnicodeScalarView(chars[start..<i]))
            do {
                arguments.append(.value(try JSONText.parse(piece)))
            } catch {
                throw ParseError("call: argument \(arguments.count + 1) is not JSON (\(error.message)) at \"\(String(piece.prefix(20)))\"")
            }
            if i < chars.count && !chars[i].properties.isWhitespace {
                throw ParseError("call: arguments must be separated by spaces (after argument \(arguments.count))")
            }
        }
        return (name, arguments)
    }

    /// Where the JSON value that starts at `start` ends: after its closing bracket or quote
    /// (strings and nesting followed), or at the next space for a number or a literal.
    static func valueEnd(_ chars: [Unicode.Scalar], from start: Int) -> Int {
        var i = start
        var depth = 0
        var inString = false
        while i < chars.count {
            let c = chars[i]
            if inString {
                if c == "\\" { i += 1 } else if c == "\"" { inString = false; if depth == 0 { return i + 1 } }
            } else {
                switch c {
                case "\"": inString = true
                case "[", "{": depth += 1
                case "]", "}":
                    depth -= 1
                    if depth <= 0 { return i + 1 }
                default:
                    if depth == 0 && c.properties.isWhitespace { return i }
                }
            }
            i += 1
        }
        return chars.count
    }

    /// One JSON value (the whole text).
    public static func parseJSON(_ text: String) throws(ParseError) -> BondValue {
        do { return try JSONText.parse(text) } catch { throw ParseError(error.message) }
    }
}
