#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A question ssh asks while it connects: a password, a key's passphrase, or whether to trust
/// a host key it has never seen.
public struct SSHQuestion: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// A secret (password, passphrase, PIN): show it masked.
        case secret
        /// A yes/no question (an unknown host key): the answer is shown.
        case confirmation
    }

    /// ssh's own text, as it would print it (`bob@box's password: `).
    public let prompt: String
    public let kind: Kind
    /// The ssh destination of the bond that asks.
    public let host: String

    public var description: String { prompt.trimmingWhitespace() }
}

/// Answers ssh's question, or `nil` to refuse (ssh then fails to log in).
public typealias SSHAnswer = @Sendable (SSHQuestion) -> String?

/// What a bond through ssh adds to its ssh command: the options that `BondOptions.sshOptions`
/// names (keep-alives, a bounded connect), where the command does not set them itself.
enum SSHLink {
    /// `launch` with `options` added after its `ssh` word (in its command line and in the
    /// prefix used for `kill` and `interrupt`); unchanged when it is not an ssh command.
    static func adding(_ options: [String: String], to launch: LaunchCommand) -> LaunchCommand {
        guard let prefix = launch.remotePrefix, !options.isEmpty, launch.argv.count == 3,
            launch.argv[2].hasPrefix("exec ")
        else { return launch }
        // (ssh reads options after the destination too, up to the remote command: the whole
        // line is looked at.)
        let words = ShellQuoting.split(launch.argv[2])
        let set = Set(words.indices.compactMap { optionName(in: words, at: $0) })
        let added = options.keys.sorted().filter { !set.contains($0.lowercased()) }.flatMap { ["-o", "\($0)=\(options[$0]!)"] }
        guard !added.isEmpty else { return launch }
        // The ssh word is the line's first word: put the options right after it.
        let line = launch.argv[2].dropFirst("exec ".count).drop { $0 == " " || $0 == "\t" }
        let first = line.prefix { $0 != " " && $0 != "\t" && $0 != "\n" }
        guard ShellQuoting.split(String(first)) == [prefix[0]] else { return launch }
        let options = added.map(ShellQuoting.quote).joined(separator: " ")
        return LaunchCommand(
            argv: ["/bin/sh", "-c", "exec \(first) \(options)\(line.dropFirst(first.count))"], remoteHost: launch.remoteHost,
            remotePrefix: [prefix[0]] + added + prefix.dropFirst())
    }

    /// The lower-cased name of the `-o Name=value` (or `-oName value`) option at `index`.
    private static func optionName(in words: [String], at index: Int) -> String? {
        let word = words[index]
        let setting: Substring
        if word == "-o", index + 1 < words.count {
            setting = words[index + 1][...]
        } else if word.hasPrefix("-o"), word.count > 2 {
            setting = word.dropFirst(2)
        } else {
            return nil
        }
        return String(setting.prefix { $0 != "=" && $0 != " " && $0 != "\t" }).lowercased()
    }
}

/// Takes the questions ssh asks a bond while it starts: ssh runs with `SSH_ASKPASS` set to a
/// small script (and `SSH_ASKPASS_REQUIRE=force`), which hands each question to this object
/// through a FIFO and waits for the answer on another. The questions are answered by
/// `BondOptions.sshAnswer`, or refused; either way ssh never reads a terminal.
final class SSHQuestions: Sendable {
    private let folder: String
    private let host: String
    private let answer: SSHAnswer?
    /// The questions asked, with whether they were answered.
    private let asked = Mutex<[(question: SSHQuestion, answered: Bool)]>([])
    private let stopped = ClosedFlag()
    /// Our end of the question FIFO, open for reading and writing (so that opening it never
    /// waits, and `stop` can wake the reader).
    private let questionFD: Int32

    /// Set up for a bond through ssh to `launch.remoteHost`; `nil` for a local bond, or when
    /// the caller's environment chooses its own `SSH_ASKPASS`.
    static func start(for launch: LaunchCommand, options: BondOptions) -> SSHQuestions? {
        guard let host = launch.remoteHost, options.environment?["SSH_ASKPASS"] == nil else { return nil }
        return SSHQuestions(host: host, answer: options.sshAnswer)
    }

    private init?(host: String, answer: SSHAnswer?) {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/bond-ssh-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return nil }
        folder = String(cString: made)
        self.host = host
        self.answer = answer
        let script = """
            #!/bin/sh
            # ssh's question goes to the bond that started ssh; its answer comes back (or a refusal).
            d=$(dirname "$0")
            printf '%s\\001%s\\000' "${SSH_ASKPASS_PROMPT:-}" "$1" > "$d/question" || exit 1
            r=$(cat "$d/answer") || exit 1
            case $r in y*) printf '%s\\n' "${r#y}" ;; *) exit 1 ;; esac

            """
        guard FileManager.default.createFile(atPath: "\(folder)/askpass", contents: Data(script.utf8), attributes: [.posixPermissions: 0o700]),
            mkfifo("\(folder)/question", 0o600) == 0, mkfifo("\(folder)/answer", 0o600) == 0
        else {
            try? FileManager.default.removeItem(atPath: folder)
            return nil
        }
        questionFD = open("\(folder)/question", O_RDWR | O_CLOEXEC)
        guard questionFD >= 0 else {
            try? FileManager.default.removeItem(atPath: folder)
            return nil
        }
        startThread(name: "bond ssh questions") { [self] in serve() }
    }

    /// The environment that makes ssh ask us.
    func environment(_ base: [String: String]?) -> [String: String] {
        var environment = base ?? ProcessInfo.processInfo.environment
        environment["SSH_ASKPASS"] = "\(folder)/askpass"
        environment["SSH_ASKPASS_REQUIRE"] = "force"
        return environment
    }

    /// Stops taking questions (start-up is over) and removes the FIFOs.
    func stop() {
        guard stopped.set() else { return }
        var nul: UInt8 = 0
        _ = write(questionFD, &nul, 1)
    }

    /// A start-up error that says what the host asked, when it asked something that was not
    /// answered (or was answered in vain).
    func explain(_ error: BondError) -> BondError {
        guard case .startup(let language, let message, let output) = error else { return error }
        let asked = asked.withLock { $0 }
        guard let last = asked.last else { return error }
        let what = last.question.kind == .secret ? "asked for a password or passphrase" : "asked a question"
        let text: String
        if !last.answered {
            text = "the host \(what) (\"\(last.question)\") and nothing answered: the interpreter has no terminal to ask on; "
                + "use a key, or answer with BondOptions.sshAnswer"
        } else {
            text = "the host \(what) (\"\(last.question)\"); the answer given did not let ssh in"
        }
        return .startup(language: language, message: "\(text) (\(message))", output: output)
    }

    private func serve() {
        defer {
            close(questionFD)
            try? FileManager.default.removeItem(atPath: folder)
        }
        var message: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(questionFD, &byte, 1)
            if n < 0, errno == EINTR { continue }
            guard n == 1 else { return }
            guard byte == 0 else { message.append(byte); continue }
            if stopped.isSet { return }
            let parts = message.split(separator: 1, maxSplits: 1, omittingEmptySubsequences: false)
            message.removeAll()
            let hint = parts.count == 2 ? String(decoding: parts[0], as: UTF8.self) : ""
            let prompt = String(decoding: parts.last ?? [], as: UTF8.self)
            let isConfirmation = hint == "confirm" || prompt.contains("(yes/no")
            let question = SSHQuestion(prompt: prompt, kind: isConfirmation ? .confirmation : .secret, host: host)
            let reply = answer?(question)
            asked.withLock { $0.append((question, reply != nil)) }
            send(reply.map { "y" + $0 } ?? "n")
        }
    }

    /// Writes the reply to the script waiting on the answer FIFO (for up to 10 s).
    private func send(_ reply: String) {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let fd = open("\(folder)/answer", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 {
                let bytes = Array(reply.utf8)
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                return
            }
            guard errno == ENXIO || errno == EINTR else { return }
            usleep(5_000)
        }
    }
}
