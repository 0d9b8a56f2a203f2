import Foundation

/// A driver: a language's manifest (`bond.json`) and its stage files, as used by every bond host.
struct Driver: Sendable {
    struct Manifest: Decodable, Sendable {
        struct Stage: Decodable, Sendable {
            let file: String
            let sub: [String]?
        }
        struct Init: Decodable, Sendable {
            let wait: String?
            let probe: String
            let stage1: Stage
            let stage2: Stage
        }
        let lang: String
        let command: [[String]]
        let proto: [String]
        let `init`: Init
        /// [ext] An expression that evaluates to the interpreter's process id (used to interrupt
        /// and clean up interpreters that run through ssh).
        let pid: String?
        /// [ext] The protocol extensions the driver serves (`"RUN"`); other hosts ignore the key.
        let extensions: [String]?
    }

    let manifest: Manifest
    let folder: URL

    var language: String { manifest.lang }

    /// The stage-1 loader reduced to one line, as the manifest says.
    func stage1Line() throws -> String {
        var text = try String(contentsOf: folder.appendingPathComponent(manifest.`init`.stage1.file), encoding: .utf8)
        if let sub = manifest.`init`.stage1.sub, sub.count == 2 {
            let regex = try NSRegularExpression(pattern: sub[0])
            text = regex.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text),
                withTemplate: Self.template(fromPythonReplacement: sub[1]))
        }
        return text.trimmingWhitespace()
    }

    /// A Python `re.sub` replacement (the manifests' dialect: `\n`, `\t`, `\\`, `\1`,
    /// `\g<1>`) as an `NSRegularExpression` template.
    static func template(fromPythonReplacement replacement: String) -> String {
        var template = ""
        var characters = Array(replacement)[...]
        while let c = characters.popFirst() {
            switch c {
            case "$":
                template += "\\$"
            case "\\":
                guard let next = characters.popFirst() else { template += "\\\\"; break }
                switch next {
                case "n": template += "\n"
                case "t": template += "\t"
                case "r": template += "\r"
                case "0"..."9": template += "$\(next)"
                case "g" where characters.first == "<":
                    let name = characters.dropFirst().prefix { $0 != ">" }
                    characters = characters.dropFirst(name.count + 2)
                    template += "$" + String(name)
                default: template += NSRegularExpression.escapedTemplate(for: String(next))
                }
            default:
                template.append(c)
            }
        }
        return template
    }

    func stage2Source() throws -> String {
        try String(contentsOf: folder.appendingPathComponent(manifest.`init`.stage2.file), encoding: .utf8)
    }
}

/// Finds driver folders: the caller's, `$BOND_DRIVERS`, next to the program, and the source tree.
enum DriverCatalog {
    /// Folders searched in order; the first holding a language wins.
    static func searchPath(extra: [URL]) -> [URL] {
        var folders = extra
        if let env = ProcessInfo.processInfo.environment["BOND_DRIVERS"] {
            folders += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let binDir = executable.deletingLastPathComponent()
        folders.append(binDir.appendingPathComponent("bond-drivers"))
        folders.append(binDir.deletingLastPathComponent().appendingPathComponent("share/bond/drivers"))
        // The package's own Resources/drivers, for `swift run` and `swift test` from any directory.
        let source = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        folders.append(source.appendingPathComponent("Resources/drivers"))
        return folders
    }

    /// Every language found, by manifest name, sorted.
    static func languages(extra: [URL]) -> [String] {
        var names = Set<String>()
        for folder in searchPath(extra: extra) {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for entry in entries {
                if let driver = try? load(folder.appendingPathComponent(entry)) { names.insert(driver.language) }
            }
        }
        return names.sorted()
    }

    /// The driver of `language` (matched without regard to case).
    static func find(_ language: String, extra: [URL]) throws(BondError) -> Driver {
        for folder in searchPath(extra: extra) {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for entry in entries.sorted() where entry.lowercased() == language.lowercased() {
                do {
                    return try load(folder.appendingPathComponent(entry))
                } catch {
                    throw BondError.startup(
                        language: language, message: "invalid driver in \(folder.path)/\(entry): \(error)", output: "")
                }
            }
        }
        throw BondError.usage(
            language: language,
            message: "no driver for this language (known: \(languages(extra: extra).joined(separator: ", ")))")
    }

    static func load(_ folder: URL) throws -> Driver {
        let data = try Data(contentsOf: folder.appendingPathComponent("bond.json"))
        return Driver(manifest: try JSONDecoder().decode(Driver.Manifest.self, from: data), folder: folder)
    }
}

/// What a `command` given to a bond says about where its interpreter runs.
public enum BondCommand {
    /// The ssh destination of `command` (`ssh [options] destination ...`, read as a bond reads
    /// it to start), or `nil` when the interpreter runs on this machine.
    public static func sshDestination(_ command: String) -> String? {
        let words = ShellQuoting.split(command)
        return ShellQuoting.sshDestinationIndex(words).map { words[$0] }
    }
}

/// How an interpreter is started: argument vector, and where it runs (through ssh or not).
struct LaunchCommand: Sendable {
    let argv: [String]
    let host: any InterpreterHost

    /// Builds the command of python-bond's `make_bond(lang, cmd, args, def_args)`.
    /// `sshOptions` (`BondOptions.sshOptions`) are added to a command through ssh.
    static func make(
        driver: Driver, command: String?, arguments: [String], defaultArguments: Bool, sshOptions: [String: String] = [:]
    ) throws(BondError) -> LaunchCommand
    {
        guard let command else {
            for candidate in driver.manifest.command where !candidate.isEmpty {
                if ExecutableLookup.find(candidate[0]) != nil {
                    let base = defaultArguments ? candidate : [candidate[0]]
                    return LaunchCommand(argv: base + arguments, host: LocalHost())
                }
            }
            let tried = driver.manifest.command.compactMap(\.first).joined(separator: ", ")
            throw BondError.startup(
                language: driver.language, message: "no interpreter found in PATH (tried \(tried))", output: "")
        }
        let extra = (defaultArguments ? Array(driver.manifest.command.first?.dropFirst() ?? []) : []) + arguments
        let words = ShellQuoting.split(command)
        let destination = ShellQuoting.sshDestinationIndex(words)
        let remoteHost = destination.map { words[$0] }
        // Over ssh the remote shell parses the line again: quote the data twice.
        let quoted = extra.map { remoteHost == nil ? ShellQuoting.quote($0) : ShellQuoting.quote(ShellQuoting.quote($0)) }
        let line = ([command] + quoted).joined(separator: " ")
        let argv = ["/bin/sh", "-c", "exec " + line]
        guard let destination else { return LaunchCommand(argv: argv, host: LocalHost()) }
        let ssh = SSHLink.adding(sshOptions, argv: argv, prefix: Array(words[...destination]))
        return LaunchCommand(argv: ssh.argv, host: SSHHost(prefix: ssh.prefix))
    }
}

enum ExecutableLookup {
    static func find(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// POSIX shell quoting and word splitting (enough to recognise an ssh command line).
enum ShellQuoting {
    /// `word` quoted for a POSIX shell; safe words are left as they are.
    static func quote(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
        if !word.isEmpty, word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\"'\"'") + "'"
    }

    /// Splits a command line into words as a shell would (quotes and backslashes; no expansion).
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = Array(line).makeIterator()
        var quote: Character?
        while let c = iterator.next() {
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"", let n = iterator.next() { current.append(n) } else { current.append(c) }
                continue
            }
            switch c {
            case "'", "\"": quote = c; inWord = true
            case "\\": if let n = iterator.next() { current.append(n) }; inWord = true
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            default: current.append(c); inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// The index of the destination word of an `ssh [options] destination command...` line.
    static func sshDestinationIndex(_ words: [String]) -> Int? {
        guard let first = words.first, (first as NSString).lastPathComponent == "ssh" else { return nil }
        let optionsWithValue = Set("BbcDEeFIiJLlmOoPpQRSWw".map { $0 })
        var i = 1
        while i < words.count {
            let word = words[i]
            if word == "--" { return i + 1 < words.count ? i + 1 : nil }
            if word.hasPrefix("-"), word.count >= 2 {
                let flag = word[word.index(after: word.startIndex)]
                if optionsWithValue.contains(flag) && word.count == 2 { i += 2 } else { i += 1 }
                continue
            }
            return i
        }
        return nil
    }
}
