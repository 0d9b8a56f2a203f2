/// `[NAME:]LANGUAGE[=COMMAND]`: how a pane is started.
public struct PaneSpec: Sendable, Equatable, CustomStringConvertible {
    public var name: String?
    /// The language as typed (resolved with `Languages.canonical`).
    public var language: String
    public var command: String?
    /// Statements run at each start (sessions): one block, then the entries, one at a time.
    public var startup: String?
    public var entries: [String] = []
    /// Refs of the pane, name -> code (sessions).
    public var refs: [(String, String)] = []
    /// The host group the pane belongs to (`--hosts`): broadcast sends input to all of it.
    public var group: String?

    public init(name: String? = nil, language: String, command: String? = nil, startup: String? = nil) {
        self.name = name
        self.language = language
        self.command = command
        self.startup = startup
    }

    public static func == (a: PaneSpec, b: PaneSpec) -> Bool {
        a.name == b.name && a.language == b.language && a.command == b.command && a.startup == b.startup && a.entries == b.entries
            && a.refs.map(\.0) == b.refs.map(\.0) && a.refs.map(\.1) == b.refs.map(\.1)
    }

    public static func parse(_ text: String) throws(ParseError) -> PaneSpec {
        var rest = Substring(text.trimmingSpaces)
        var command: String?
        if let eq = rest.firstIndex(of: "=") {
            command = String(rest[rest.index(after: eq)...]).trimmingSpaces
            rest = rest[..<eq]
            if command?.isEmpty == true { throw ParseError("\"\(text)\": empty command after =") }
        }
        var name: String?
        if let colon = rest.firstIndex(of: ":") {
            name = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
            guard isValidName(name!) else {
                throw ParseError("\"\(text)\": a pane name is letters, digits, _ and -, starting with a letter or _")
            }
        }
        let language = String(rest).trimmingSpaces
        guard !language.isEmpty else { throw ParseError("\"\(text)\": no language (expected [NAME:]LANGUAGE[=COMMAND])") }
        guard language.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "+" }) else {
            throw ParseError("\"\(text)\": \"\(language)\" is not a language name")
        }
        return PaneSpec(name: name, language: language, command: command)
    }

    public static func isValidName(_ name: String) -> Bool {
        guard let f = name.unicodeScalars.first, f == "_" || (f.isASCII && f.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }

    /// A pane per host for `--hosts h1,h2 LANGUAGE`: each runs `program` through `ssh HOST`,
    /// named after the host (made a valid pane name), all of one group.
    public static func hostGroup(hosts: [String], language: String, ssh: String, program: String) throws(ParseError) -> [PaneSpec] {
        guard !hosts.isEmpty else { throw ParseError("--hosts: no host given") }
        guard Set(hosts).count == hosts.count else { throw ParseError("--hosts: a host is named twice") }
        let group = hosts.joined(separator: ",")
        return hosts.map { host in
            var name = String(host.split(separator: "@").last ?? Substring(host)).map { c -> Character in
                c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") ? c : "_"
            }.reduce(into: "") { $0.append($1) }
            if !isValidName(name) { name = "h_" + name }
            var spec = PaneSpec(name: name, language: language, command: "\(ssh) \(shellQuoted(host)) \(program)")
            spec.group = group
            return spec
        }
    }

    static func shellQuoted(_ word: String) -> String {
        word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "@%+=:,./-_".contains($0)) })
            ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public var description: String {
        (name.map { "\($0):" } ?? "") + language + (command.map { "=\($0)" } ?? "")
    }
}

/// Language names: short names, canonical driver names, default interpreters, describe expressions.
public enum Languages {
    static let aliases: [String: String] = [
        "py": "python", "python3": "python", "pl": "perl", "js": "javascript", "node": "javascript",
        "nodejs": "javascript", "php": "php", "rb": "ruby", "ruby": "ruby", "r": "r",
    ]

    /// The driver name for what the user typed: an alias resolved, then matched without regard to
    /// case against `known` (the languages with drivers). Unknown names are returned as typed.
    public static func canonical(_ typed: String, known: [String]) -> String {
        let lower = typed.lowercased()
        let wanted = aliases[lower] ?? lower
        if let match = known.first(where: { $0.lowercased() == wanted }) { return match }
        switch wanted {
        case "python": return "Python"
        case "javascript": return "JavaScript"
        case "perl": return "Perl"
        case "php": return "PHP"
        case "ruby": return "Ruby"
        case "r": return "R"
        default: return typed
        }
    }

    /// Pane names for specs: the given name, or the language in lower case, numbered when repeated.
    public static func paneNames(for specs: [(name: String?, language: String)], taken: [String] = []) -> [String] {
        var used = Set(taken)
        var names: [String] = []
        for spec in specs {
            var name = spec.name ?? spec.language.lowercased()
            if spec.name == nil || used.contains(name) {
                let base = name
                var n = 2
                while used.contains(name) { name = "\(base)\(n)"; n += 1 }
            }
            used.insert(name)
            names.append(name)
        }
        return names
    }

    /// An expression that is true when `name` is a function of the interpreter (false, or an
    /// error, when it is not); nil when the language has none.
    public static func functionCheck(language: String, name: String) -> String? {
        let quoted = jsonQuote(name)
        switch language.lowercased() {
        case "python":
            return "callable(eval(\(quoted)))"
        case "javascript":
            return "typeof (\(name)) === 'function'"
        case "perl":
            return "do { no strict 'refs'; my $n = \(quoted); $n = \"main::$n\" unless $n =~ /::/; defined(&{$n}) ? 1 : 0 }"
        case "php":
            return "is_callable(\(quoted))"
        case "ruby":
            return "respond_to?(\(quoted), true)"
        case "r":
            return "exists(\(quoted), mode = \"function\")"
        default:
            return nil
        }
    }

    /// An expression giving `[type name, description]` of the value of `code`, in the language
    /// itself, for values that cannot cross the bond as data: used by inspect only with a driver
    /// that does not offer `RUN` (python-bond 1.4's, of these four languages); with `RUN` the
    /// driver describes the value itself (`Bond.eval(_:unserializable:)`), Ruby and R included.
    public static func describeExpression(language: String, code: String) -> String? {
        switch language.lowercased() {
        case "python":
            return "(lambda v: [type(v).__name__, repr(v)])(\(code))"
        case "javascript":
            return "(function (v) { var d; try { d = require('util').inspect(v); } catch (e) { d = String(v); } "
                + "return [v === null ? 'null' : (typeof v === 'object' && v.constructor && v.constructor.name) "
                + "? v.constructor.name : typeof v, d]; })(\(code))"
        case "perl":
            return "do { require Data::Dumper; local $Data::Dumper::Terse = 1; local $Data::Dumper::Indent = 0; "
                + "my $v = (\(code)); [ref($v) || (defined $v ? 'SCALAR' : 'undef'), Data::Dumper::Dumper($v)] }"
        case "php":
            return "(function ($v) { return [is_object($v) ? get_class($v) : gettype($v), print_r($v, true)]; })(\(code))"
        default:
            return nil
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
