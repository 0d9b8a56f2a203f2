/// A pane's start-up entries: what a session runs at each start of the bond, one entry at a
/// time, in order. They are recorded from the inputs that defined something (functions,
/// classes, subs, assignments, imports); each definition is kept once (the latest); loops and
/// prints are not kept. The user sees and edits them (`session edit`).
public struct StartupEntry: Sendable, Equatable, Codable {
    /// What the entry defines (`def:f`, `name:x`, `import:import os`): a later entry with the
    /// same key replaces it.
    public var key: String
    public var code: String
    /// Runs at each start of the bond: an entry of the session file (or edited with `session
    /// edit`), or one recorded in its place. An entry only recorded runs when the saved session
    /// is opened, not at a restart (a restart gives a fresh interpreter, as asked).
    public var runsAtStart: Bool
    public init(key: String, code: String, runsAtStart: Bool = true) {
        self.key = key
        self.code = code
        self.runsAtStart = runsAtStart
    }
}

public enum StartupEntries {
    /// The statements of `code` that define something, each with what it defines. A statement
    /// starts at a line that is not indented; a line that closes a bracket (`}`), or continues
    /// a Python block (`else:`, `except`...), belongs to the statement before it.
    public static func definitions(in code: String, language: String) -> [StartupEntry] {
        statements(code, language: language).compactMap { statement in
            key(of: statement, language: language).map { StartupEntry(key: $0, code: statement, runsAtStart: false) }
        }
    }

    static func statements(_ code: String, language: String) -> [String] {
        var out: [[Substring]] = []
        let python = language.lowercased() == "python"
        let ruby = language.lowercased() == "ruby"
        for line in code.split(separator: "\n", omittingEmptySubsequences: false) {
            let first = line.first
            let continues = first == nil || first == " " || first == "\t" || first == "}" || first == ")" || first == "]"
                || (python && ["else", "elif", "except", "finally"].contains { line.hasPrefix($0) })
                || (python && out.last?.last?.hasSuffix("\\") == true)
                || (ruby && ["end", "else", "elsif", "rescue", "ensure", "when", "in "].contains { line.hasPrefix($0) })
            if continues && !out.isEmpty { out[out.count - 1].append(line) } else if !line.allSatisfy(\.isWhitespace) { out.append([line]) }
        }
        return out.map { $0.joined(separator: "\n").trimmingSpaces }.filter { !$0.isEmpty }
    }

    /// What a statement defines, or nil (a loop, a print, an expression, several statements
    /// on one line that do not all define).
    static func key(of statement: String, language: String) -> String? {
        let s = statement
        func name(after prefix: String) -> String? {
            guard s.hasPrefix(prefix) else { return nil }
            let rest = s.dropFirst(prefix.count).drop { $0 == " " || $0 == "&" }
            let n = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" || $0 == "$" }
            return n.isEmpty ? nil : String(n)
        }
        func assigned(_ pattern: String) -> String? {
            // NAME = value (not ==), the name made of word characters (and the sigil).
            let n = s.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" || $0 == "@" || $0 == "%" || $0 == "." }
            guard !n.isEmpty, n.first.map({ !$0.isNumber }) == true else { return nil }
            let rest = s.dropFirst(n.count).drop { $0 == " " }
            if pattern == ":" && rest.hasPrefix(":") && !rest.hasPrefix(":=") { return String(n) }  // x: int = 1
            guard rest.hasPrefix("="), !rest.hasPrefix("=="), !rest.hasPrefix("=>") else { return nil }
            return String(n)
        }
        switch language.lowercased() {
        case "python":
            for p in ["def ", "async def ", "class "] { if let n = name(after: p) { return "def:" + n } }
            if s.hasPrefix("@") {
                // A decorated definition: its name is on the def/class line.
                for line in s.split(separator: "\n").dropFirst() {
                    let l = line.trimmingSpaces
                    for p in ["def ", "async def ", "class "] where l.hasPrefix(p) {
                        return "def:" + String(l.dropFirst(p.count).prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                    }
                }
                return nil
            }
            // An import, or imports joined by `;` (`import time; time.sleep(3)` does more than import).
            let isImport = { (p: Substring) in p.hasPrefix("import ") || (p.hasPrefix("from ") && p.contains(" import ")) }
            if !s.contains("\n"), s.split(separator: ";").map({ Substring($0.trimmingSpaces) }).allSatisfy(isImport) { return "import:" + s }
            if !s.contains("\n"), let n = assigned(":") { return "name:" + n }
            return nil
        case "javascript":
            for p in ["function ", "async function ", "function* ", "class "] { if let n = name(after: p) { return "def:" + n } }
            for p in ["const ", "let ", "var "] {
                if let n = name(after: p) { return "name:" + n }
            }
            if s.hasPrefix("import ") || (s.contains("require(") && (s.hasPrefix("const ") || s.hasPrefix("var "))) { return "import:" + s }
            if !s.contains("\n"), let n = assigned("") { return "name:" + n }
            return nil
        case "php":
            for p in ["function ", "class ", "interface ", "trait ", "abstract class ", "final class "] {
                if let n = name(after: p) { return "def:" + n.lowercased() }
            }
            for p in ["require ", "require_once ", "include ", "include_once ", "use "] where s.hasPrefix(p) { return "import:" + s }
            if !s.contains("\n"), s.hasPrefix("$"), let n = assigned("") { return "name:" + n }
            return nil
        case "perl":
            if let n = name(after: "sub ") { return "def:" + n }
            if s.hasPrefix("use ") || s.hasPrefix("require ") { return "import:" + s }
            if let n = name(after: "our ") { return "name:" + n }
            if !s.contains("\n"), let f = s.first, "$@%".contains(f), let n = assigned("") { return "name:" + n }
            return nil
        case "ruby":
            for p in ["def self.", "def ", "class ", "module "] {
                if let n = name(after: p) { return "def:" + n + String(s.dropFirst(p.count + n.count).prefix { $0 == "?" || $0 == "!" || $0 == "=" }.prefix(1)) }
            }
            for p in ["require ", "require_relative ", "require(", "load "] where s.hasPrefix(p) { return "import:" + s }
            if !s.contains("\n"), let n = assigned("") { return "name:" + n }
            return nil
        case "r":
            for p in ["library(", "require(", "source(", "suppressPackageStartupMessages("] where s.hasPrefix(p) { return "import:" + s }
            // NAME <- value, NAME <<- value, NAME = value; a function assigned is a definition.
            let n = s.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
            guard !n.isEmpty, n.first.map({ !$0.isNumber && $0 != "_" }) == true else { return nil }
            let rest = s.dropFirst(n.count).drop { $0 == " " }
            let value: Substring
            if rest.hasPrefix("<<-") { value = rest.dropFirst(3) } else if rest.hasPrefix("<-") { value = rest.dropFirst(2) }
            else if rest.hasPrefix("="), !rest.hasPrefix("==") { value = rest.dropFirst(1) } else { return nil }
            if value.drop(while: { $0 == " " }).hasPrefix("function") { return "def:" + n }
            return s.contains("\n") ? nil : "name:" + n
        default:
            return nil
        }
    }

    /// `list` with `new` entries added: an entry whose key is there already replaces it (the
    /// old one goes, the new one comes last, after what it may use).
    public static func merge(_ list: [StartupEntry], _ new: [StartupEntry]) -> [StartupEntry] {
        var out = list
        for var e in new {
            if let old = out.first(where: { $0.key == e.key }) { e.runsAtStart = e.runsAtStart || old.runsAtStart }
            out.removeAll { $0.key == e.key }
            out.append(e)
        }
        return out
    }

    /// The entries as one text to edit: each entry after a separator line.
    public static let separator = "#### bond-workbench start-up entry ####"

    public static func editable(_ list: [StartupEntry], pane: String) -> String {
        "\(separator)\n" + list.map(\.code).joined(separator: "\n\(separator)\n") + "\n"
    }

    /// Reads the edited text back: an entry between separators, in order (an empty one is dropped).
    public static func parse(edited text: String, language: String) -> [StartupEntry] {
        var entries: [StartupEntry] = []
        for (n, chunk) in text.components(separatedBy: separator).enumerated() {
            let code = chunk.trimmingSpaces
            guard !code.isEmpty, !code.hasPrefix("#### ") else { continue }
            let key = statements(code, language: language).count == 1
                ? key(of: code, language: language) ?? "kept:\(n)" : "kept:\(n):" + code
            entries.append(StartupEntry(key: key, code: code))
        }
        return entries
    }
}
