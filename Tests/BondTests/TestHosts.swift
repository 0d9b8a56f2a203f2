import Bond
import Foundation
import Testing

/// The test hosts of `scripts/test-hosts.sh` (h1, h2, h3: network namespaces with an sshd
/// each), when they are up: `BOND_TEST_HOSTS` holds the ssh command that reaches them
/// (`ssh -F <dir>/ssh_config`), as `scripts/test-hosts.sh up` prints it.
enum TestHosts {
    static let ssh: String? = ProcessInfo.processInfo.environment["BOND_TEST_HOSTS"]
    static let names = ["h1", "h2", "h3"]
    /// Whether the hosts are there to use.
    static let available = ssh != nil
    /// Whether they can be killed and partitioned too (that takes root).
    static let breakable = available && geteuid() == 0
    static let notUp = "test hosts not up: run `sudo scripts/test-hosts.sh up` and export BOND_TEST_HOSTS as it says (scripts/test.sh does both as root)"
    static let notRoot = "killing and partitioning the test hosts needs root"

    /// The folder of the hosts' files (ssh_config, password).
    static var folder: String {
        let words = (ssh ?? "").split(separator: " ")
        guard let index = words.firstIndex(of: "-F"), index + 1 < words.count else { return "" }
        return (String(words[index + 1]) as NSString).deletingLastPathComponent
    }

    /// The command that runs `program` on `host`.
    static func command(_ host: String, _ program: String = "python3") -> String { "\(ssh!) \(host) \(program)" }

    /// Options for tests: short keep-alives (a dead link is seen in about 3 s), output kept.
    static func options(_ change: (inout BondOptions) -> Void = { _ in }) -> BondOptions {
        BondOptions.with { options in
            options.output = .discard
            options.timeout = .seconds(40)
            options.sshOptions["ServerAliveInterval"] = "1"
            options.sshOptions["ServerAliveCountMax"] = "2"
            options.sshOptions["ConnectTimeout"] = "5"
            change(&options)
        }
    }

    /// Runs `scripts/test-hosts.sh` with `arguments`; its standard output.
    @discardableResult
    static func script(_ arguments: String...) -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return run([root.appendingPathComponent("scripts/test-hosts.sh").path] + arguments)
    }

    /// Runs `argv`, waits for it (at most 60 s), and gives its standard output.
    @discardableResult
    static func run(_ argv: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The interpreters running on `host` (by its own user, seen through ssh; or every process
    /// of its namespace but its sshd, as root), waited for up to `seconds` to go.
    static func leftovers(on host: String, within seconds: Double = 15) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let found: String
            if geteuid() == 0 {
                found = script("procs", host)
            } else {
                let lines = run(["/bin/sh", "-c", "\(ssh!) \(host) ps -u bond\(host) -o pid=,comm=,args="]).split(separator: "\n")
                found = lines.filter { line in ["python3", "node", "perl", "php"].contains { line.contains(" \($0) ") } }.joined(separator: "\n")
            }
            if found.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return "" }
            if Date() >= deadline { return found }
            usleep(100_000)
        }
    }

    /// Records an issue for each host that still runs something.
    static func expectNothingLeft(on hosts: [String] = names, sourceLocation: SourceLocation = #_sourceLocation) {
        for host in hosts {
            let left = leftovers(on: host)
            #expect(left.isEmpty, "left running on \(host): \(left)", sourceLocation: sourceLocation)
        }
    }
}

/// Every test that uses the test hosts, one at a time (some kill or partition a host).
@Suite(.serialized, .enabled(if: TestHosts.available, Comment(rawValue: TestHosts.notUp)))
struct TestHostTests {}
