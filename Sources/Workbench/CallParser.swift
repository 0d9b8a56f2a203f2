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
/// engine's JSON reader (`BondValue.readJSON(prefixOf:)`), which also says where each ends.
public enum CallParser {
    public static func parseCall(_ text: String) throws(ParseError) -> (name: String, arguments: [CallArgument]) {
        var rest = Substring(text)
        func skipSpace() { rest = rest.drop(while: \.isWhitespace) }
        func word() -> String {
            let word = rest.prefix { !$0.isWhitespace && !"[]{}\",".contains($0) }
            rest = rest[word.endIndex...]
            return String(word)
        }
        skipSpace()
        let name = word()
        guard !name.isEmpty else { throw ParseError("call: give a function name, then arguments as JSON values or @ref") }
        var arguments: [CallArgument] = []
        while true {
            skipSpace()
            guard let first = rest.first else { break }
            if first == "@" {
                rest = rest.dropFirst()
                let ref = word()
                guard !ref.isEmpty else { throw ParseError("call: @ must be followed by a ref name") }
                arguments.append(.ref(ref))
                continue
            }
            do {
                let (value, after) = try BondValue.readJSON(prefixOf: rest)
                arguments.append(.value(value))
                rest = after
            } catch {
                let message = if case .serialization(_, _, let message) = error { message } else { error.description }
                throw ParseError("call: argument \(arguments.count + 1) is not JSON (\(message)) at \"\(String(rest.prefix(20)))\"")
            }
            if let next = rest.first, !next.isWhitespace {
                throw ParseError("call: arguments must be separated by spaces (after argument \(arguments.count))")
            }
        }
        return (name, arguments)
    }

    /// One JSON value (the whole text).
    public static func parseJSON(_ text: String) throws(ParseError) -> BondValue {
        do { return try JSONText.parse(text) } catch { throw ParseError(error.message) }
    }
}
