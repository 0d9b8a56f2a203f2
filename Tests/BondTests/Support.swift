import Bond
import Foundation
import Testing

/// Where a test bond runs.
enum Place: String, CustomTestStringConvertible, Sendable {
    case local, ssh
    var testDescription: String { rawValue }
}

/// The ssh command reaching the test sshd (set by scripts/test.sh), e.g. `ssh -F cfg bondtest`.
let testSSH: String? = ProcessInfo.processInfo.environment["BOND_TEST_SSH"]

/// The places available: local always, ssh when the test sshd is running.
let places: [Place] = testSSH == nil ? [.local] : [.local, .ssh]

/// Remote output and traffic gathered from a bond, safe to read from any thread.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var out = ""
    private var err = ""
    private var lines: [BondTraffic] = []

    var stdout: String { lock.withLock { out } }
    var stderr: String { lock.withLock { err } }
    var traffic: [BondTraffic] { lock.withLock { lines } }

    func add(_ channel: BondOutputChannel, _ text: String) {
        lock.withLock { if channel == .stdout { out += text } else { err += text } }
    }

    func add(_ traffic: BondTraffic) { lock.withLock { lines.append(traffic) } }

    func reset() { lock.withLock { out = ""; err = ""; lines = [] } }

    /// Waits (bounded) until `condition` holds for the collected output.
    func waitFor(seconds: Double = 10, _ condition: (Collected) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(10_000)
        }
        return condition(self)
    }
}

/// The interpreter command of `language` at `place` (nil: the driver's default).
func command(_ language: String, _ place: Place) -> String? {
    guard place == .ssh, let ssh = testSSH else { return nil }
    let program = ["Python": "python3", "JavaScript": "node", "Perl": "perl", "PHP": "php", "Ruby": "ruby", "R": "R"][language]!
    return "\(ssh) \(program)"
}

/// Starts a bond whose output and traffic are collected.
func makeBond(
    _ language: String, _ place: Place = .local, _ configure: (inout BondOptions) -> Void = { _ in }
) throws -> (Bond, Collected) {
    let collected = Collected()
    var options = BondOptions()
    options.output = .handler { collected.add($0, $1) }
    options.log = .handler { collected.add($0) }
    options.timeout = .seconds(60)
    configure(&options)
    let bond = try Bond(language: language, command: command(language, place), options: options)
    return (bond, collected)
}

/// The BondError thrown by `body`, or nil.
func bondError(_ body: () throws -> Void) -> BondError? {
    do {
        try body()
    } catch let error as BondError {
        return error
    } catch {
        Issue.record("not a BondError: \(error)")
    }
    return nil
}

/// The child processes of this test process (to check that nothing is left behind).
func childProcesses(of pid: Int32 = getpid()) -> [Int32] {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return [] }
    return text.split(separator: " ").compactMap { Int32($0) }
}

/// Whether a process exists (and is not a zombie).
func processExists(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    guard let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// The parent of a process, and its command name (from /proc).
func parentProcess(of pid: Int32) -> (pid: Int32, name: String)? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
    guard fields.count > 1, let ppid = Int32(fields[1]),
        let parent = try? String(contentsOfFile: "/proc/\(ppid)/stat", encoding: .utf8),
        let po = parent.firstIndex(of: "("), let pc = parent.lastIndex(of: ")")
    else { return nil }
    _ = open
    return (ppid, String(parent[parent.index(after: po)..<pc]))
}

/// Starts one bond per thread, `threads` of them at once (languages taken in turn), and has
/// each count to `calls` through its own `inc`. Returns each bond's count ("Python=100") and
/// the errors, one per line.
func countInParallel(_ languages: [Snippets], threads: Int, calls: Int) -> (counts: [String], errors: String) {
    let results = Collected()
    DispatchQueue.concurrentPerform(iterations: threads) { i in
        let s = languages[i % languages.count]
        do {
            let (bond, _) = try makeBond(s.language)
            defer { bond.close() }
            try bond.evalBlock(s.defineInc)
            var n: BondValue = 0
            for _ in 0..<calls { n = try bond.call("inc", n) }
            results.add(.stdout, "\(s.language)=\(n)\n")
        } catch {
            results.add(.stderr, "\(s.language): \(error)\n")
        }
    }
    return (results.stdout.split(separator: "\n").map(String.init), results.stderr)
}

/// Per-language code for the shared tests.
struct Snippets: Sendable, CustomTestStringConvertible {
    let language: String
    let defineIdent: String
    let defineInc: String
    let printHello: String
    let printError: String
    let raiseBoom: String
    let unserializable: String
    let setGlobal: String
    let hideLocal: String
    let multiply: String
    let catchFail: String
    let defineDown: String
    let strayOutput: String
    let readStdin: String
    let exit3: String
    let sleep5: String
    let busyLoop: String
    /// Defines `spin()`: calls the exported `slow()`, then loops forever.
    let defineSpinAfterSlow: String
    /// An expression whose value is a string of 64 MiB of "z", made in the language.
    let sixtyFourMebibytesOfZ: String

    var testDescription: String { language }

    static let python = Snippets(
        language: "Python",
        defineIdent: "def ident(x):\n    return x\n",
        defineInc: "def inc(x):\n    return x + 1\n",
        printHello: "print('hello')",
        printError: "import sys\nsys.stderr.write('oops\\n')",
        raiseBoom: "raise ValueError('boom')",
        unserializable: "object()",
        setGlobal: "g = 5",
        hideLocal: "def f():\n    hidden = 1\n    return hidden\nf()\n",
        multiply: "lambda a, b: a * b",
        catchFail: "try:\n    fail()\nexcept Exception as e:\n    caught = str(e)\n",
        defineDown: "def down_remote(n):\n    return 0 if n == 0 else 1 + down(n - 1)\n",
        strayOutput: "import os\nos.system('echo RETURN 42')",
        readStdin: "import os\nos.system('cat')",
        exit3: "import sys\nsys.exit(3)",
        sleep5: "__import__('time').sleep(5)",
        busyLoop: "while True:\n    pass\n",
        defineSpinAfterSlow: "def spin():\n    slow()\n    while True:\n        pass\n",
        sixtyFourMebibytesOfZ: "'z' * (64 << 20)"
    )

    static let javaScript = Snippets(
        language: "JavaScript",
        defineIdent: "function ident(x) { return x; }",
        defineInc: "function inc(x) { return x + 1; }",
        printHello: "console.log('hello')",
        printError: "console.error('oops')",
        raiseBoom: "throw new Error('boom')",
        unserializable: "function () {}",
        setGlobal: "var g = 5",
        hideLocal: "(function () { var hidden = 1; return hidden; })()",
        multiply: "function (a, b) { return a * b; }",
        catchFail: "var caught; try { fail(); } catch (e) { caught = e.message; }",
        defineDown: "function down_remote(n) { return n === 0 ? 0 : 1 + down(n - 1); }",
        strayOutput: "require('child_process').execSync('echo RETURN 42', {stdio: 'inherit'})",
        readStdin: "require('child_process').execSync('cat', {stdio: 'inherit'})",
        exit3: "process.exit(3)",
        sleep5: "(function () { var end = Date.now() + 5000; while (Date.now() < end) {} })()",
        busyLoop: "for (;;) {}",
        defineSpinAfterSlow: "function spin() { slow(); for (;;) {} }",
        sixtyFourMebibytesOfZ: "'z'.repeat(64 << 20)"
    )

    static let engine: [Snippets] = [.python, .javaScript]
}

/// Runs `body` after `seconds` on a thread of its own. (Not on Dispatch's global queues: their
/// few threads can all be blocked in synchronous bond calls of tests running in parallel,
/// which would delay the work by seconds.)
func after(_ seconds: Double, _ body: @escaping @Sendable () -> Void) {
    Thread.detachNewThread {
        Thread.sleep(forTimeInterval: seconds)
        body()
    }
}
