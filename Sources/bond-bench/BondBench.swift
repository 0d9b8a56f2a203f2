import ArgumentParser
import Bond
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct BondBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bond-bench",
        abstract: "Measures the bond engine against the physical limit (a minimal pipe loop in each language).",
        discussion: "Build in release mode: swift run -c release bond-bench")

    @Option(name: .long, parsing: .upToNextOption, help: "Languages to measure (default: every driver found).")
    var languages: [String] = []

    @Option(help: "Round trips per pair of processes, timed in 5 blocks (engine and limit in alternation).")
    var calls = 5000

    @Option(help: "Pairs of processes (a bond and its limit loop) for the round trips, and runs of each other measurement; medians are reported.")
    var runs = 5

    @Option(name: .long, parsing: .upToNextOption, help: "Payload sizes in MiB.")
    var payloads: [Int] = [1, 8, 64]

    @Option(help: "Log lines fed to the workbench core for its figures (0 skips them).")
    var logLines = 1_000_000

    @Option(help: "An ssh command up to the destination (as scripts/test-hosts.sh up prints it): measures start-up over the hosts h1 h2 h3 it reaches (default: $BOND_TEST_HOSTS; \"\" skips).")
    var hosts: String?

    @Option(help: "Bonds for the async face's concurrency figures (0 skips them).")
    var asyncBonds = 100

    @Option(help: "Concurrent callers per bond for the async face's concurrency figures.")
    var asyncCallers = 10

    @Option(help: "The language of the async face's concurrency figures.")
    var asyncLanguage = "Python"

    @Option(help: "Handles made and dropped, one by one, for the remote objects' figures (0 skips them).")
    var handles = 1_000_000

    @Flag(help: "A short smoke run (few calls, small payloads, one run).")
    var quick = false

    @Flag(help: "Measure only byte strings: a bytes echo of each payload size against a raw loop in the language and against a string of that size.")
    var bytes = false

    @Flag(help: "Write every figure as JSON.")
    var json = false

    @Flag(help: "Time round trips back to back, without the short random pause before each (see docs/performance.md).")
    var noDither = false

    @Flag(name: .customLong("echo-peer"), help: .hidden)
    var echoPeer = false

    @Option(help: "Only make this many calls against the zero-cost peer, with --face, then exit (for callgrind: run it with two counts and take the difference).")
    var countCalls = 0

    @Option(help: "The language --count-calls talks to (default: the zero-cost peer).")
    var countLanguage: String?

    @Option(help: "The face --count-calls uses: blocking or async; blocking-callbacks or async-callbacks make callbacks instead (the peer calls the host's cb that many times).")
    var face = "blocking"

    mutating func run() throws {
        if echoPeer { EchoPeer.serve() }
        if countCalls > 0 {
            return try AsyncFigures.countCalls(
                countCalls, language: countLanguage, async: face.hasPrefix("async"), callbacks: face.hasSuffix("callbacks"))
        }
        dither.isEnabled = !noDither
        if quick { calls = 200; runs = 1; payloads = [1]; logLines = min(logLines, 20_000); asyncBonds = min(asyncBonds, 4); asyncCallers = min(asyncCallers, 2); handles = min(handles, 20_000) }
        let chosen = languages.isEmpty ? Bond.languages : languages
        if bytes {
            var figures: [BytesFigure] = []
            var failed = false
            for language in chosen where BytesFigure.rawLoop(for: language) != nil {
                for mib in payloads {
                    FileHandle.standardError.write(Data("measuring \(mib) MiB of bytes through \(language)...\n".utf8))
                    do {
                        if let figure = try BytesFigure.measure(language, mebibytes: mib, runs: runs) { figures.append(figure) }
                    } catch {
                        FileHandle.standardError.write(Data("\(language), \(mib) MiB of bytes: \(error)\n".utf8))
                        failed = true
                    }
                }
            }
            print("machine: \(Machine.describe()); medians of \(runs) echoes each\n")
            print(BytesFigure.table(figures))
            if failed { throw ExitCode.failure }
            return
        }
        var report = Report(machine: Machine.describe(), calls: calls, runs: runs)
        if logLines > 0 {
            FileHandle.standardError.write(Data("measuring the workbench core...\n".utf8))
            report.workbench = WorkbenchFigures.measure(logLines: logLines, runs: runs)
        }
        var failures = 0
        func fail(_ message: String) {
            FileHandle.standardError.write(Data("\(message)\n".utf8))
            failures += 1
        }
        FileHandle.standardError.write(Data("measuring the engine against a zero-cost peer...\n".utf8))
        do {
            report.engineOverhead = try measureOverhead()
        } catch {
            fail("zero-cost peer: \(error)")
        }
        for language in chosen {
            FileHandle.standardError.write(Data("measuring \(language)...\n".utf8))
            do {
                let figures = try measure(language)
                if figures.limitCallMicros.isNaN { fail("\(language): the limit loop did not run") }
                report.languages.append(figures)
            } catch {
                fail("\(language): \(error)")
            }
            FileHandle.standardError.write(Data("measuring \(language)'s async face...\n".utf8))
            do {
                report.asyncFace.languages.append(try AsyncFigures.measure(
                    language, calls: blockCalls, blocks: runs * blocksPerPairing, warmUp: warmUpBlocks))
            } catch {
                fail("\(language) (async): \(error)")
            }
        }
        if asyncBonds > 0 {
            FileHandle.standardError.write(Data("measuring \(asyncBonds) bonds x \(asyncCallers) async callers...\n".utf8))
            do {
                report.asyncFace.concurrency = try AsyncFigures.measureConcurrency(
                    asyncLanguage, bondCount: asyncBonds, callers: asyncCallers, seconds: quick ? 0.5 : 3)
            } catch {
                fail("async concurrency: \(error)")
            }
        }
        if let ssh = hosts ?? ProcessInfo.processInfo.environment["BOND_TEST_HOSTS"], !ssh.isEmpty {
            FileHandle.standardError.write(Data("measuring start-up over the hosts...\n".utf8))
            do {
                report.hosts = try HostFigures.measure(ssh: ssh, hosts: ["h1", "h2", "h3"], runs: runs)
            } catch {
                fail("hosts: \(error)")
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.table)
        }
        if failures > 0 { throw ExitCode.failure }  // every figure printed, but not every one measured
    }

    /// The engine's own cost: `call` round trips against a peer that answers at once, next to
    /// bare pipe round trips against the same peer, in alternation.
    func measureOverhead() throws -> OverheadFigures {
        let directory = try EchoPeer.makeDriverDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (t, last) = try timeInBlocks { () throws -> Pairing in
            let bond = try Bond(language: EchoPeer.language, options: .with {
                $0.driverDirectories = [directory]
                $0.timeout = nil
            })
            guard var pipe = PipeLoop(command: EchoPeer.command) else {
                bond.close()
                throw CocoaError(.executableLoad)
            }
            let line = Array("CALL [\"ident\",[1]]".utf8)
            for _ in 0..<3 { _ = pipe.roundTrip(line) }  // STAGE1, STAGE2, READY
            try bond.export("cb") { args in dither.pause(); return args.first ?? nil }
            return Pairing(bond: bond, loop: pipe, line: line)
        }
        last.end()
        return OverheadFigures(callMicros: mid(t.call), pipeMicros: mid(t.limit), ratio: mid(zip(t.call, t.limit).map(/)),
                               callbackMicros: mid(t.callback), callbackRatio: mid(zip(t.callback, t.limit).map(/)),
                               hostCPUMicrosPerCall: mid(t.cpu))
    }

    /// A bond and the limit loop it is timed against (none if the language has none), started
    /// together; `line` is what the loop echoes.
    struct Pairing {
        let bond: Bond
        var loop: PipeLoop?
        let line: [UInt8]

        func end() {
            bond.close()
            loop?.stop()
        }
    }

    /// Times of blocks (µs per round trip), and this process's CPU µs per call.
    struct BlockTimes {
        var call: [Double] = [], limit: [Double] = [], callback: [Double] = [], cpu: [Double] = []
    }

    /// The engine's calls, the limit's round trips and the engine's callbacks, timed in turn,
    /// block by block, with `pairings` fresh pairs of processes made by `start` (see
    /// `pairings`). Returns the last pairing still running, for the caller to use and end.
    func timeInBlocks(_ start: () throws -> Pairing) throws -> (BlockTimes, last: Pairing) {
        var times = BlockTimes()
        var pairing = try start()
        for index in 0..<pairings {
            if index > 0 {
                pairing.end()
                pairing = try start()
            }
            do {
                try timeBlocks(&pairing, into: &times)
            } catch {
                pairing.end()
                throw error
            }
        }
        return (times, pairing)
    }

    private func timeBlocks(_ pairing: inout Pairing, into times: inout BlockTimes) throws {
        let bond = pairing.bond
        for block in 0..<(warmUpBlocks + blocksPerPairing) {
            let timed = block >= warmUpBlocks
            let (micros, cpuMicros) = try timeCalls(bond, blockCalls)
            if timed { times.call.append(micros); times.cpu.append(cpuMicros) }
            if pairing.loop != nil {
                _ = timeRoundTrips(&pairing.loop!, pairing.line, settlingCalls)
                let micros = timeRoundTrips(&pairing.loop!, pairing.line, blockCalls)
                if timed { times.limit.append(micros) }
            }
            _ = try timeCallbacks(bond, settlingCalls)
            let callbackMicros = try timeCallbacks(bond, blockCalls)
            if timed { times.callback.append(callbackMicros) }
        }
    }

    /// Round trips are timed in blocks of `blockCalls`, the engine's and the limit's in
    /// alternation: both see the same load on the machine (a virtual machine's speed drifts
    /// from second to second), and each figure is the median of its blocks, each ratio the
    /// median of the ratios of blocks timed side by side. The blocks are spread over
    /// `pairings` pairs of processes (a bond and its limit loop, started afresh),
    /// `blocksPerPairing` in each, as a pair of processes can keep a speed of its own for as
    /// long as it lives: in one run the PHP limit loop took 2.3 µs a round trip where it takes
    /// 1.9 in others, and the ratio moved by 0.08 with it.
    var pairings: Int { max(1, runs) }
    var blocksPerPairing: Int { 5 }
    /// Blocks run untimed first, in each pairing: for the first tenths of a second after
    /// processes start, the blocks that switch between them come out several times slower and
    /// scattered (the kernel is still placing the processes that spin on their processors).
    var warmUpBlocks: Int { quick ? 1 : 5 }
    /// Untimed round trips before each timed block of a process that has been waiting in the
    /// meantime: woken by a pipe write, it is often placed on the processor of its spinning
    /// partner at first, and the first hundred or so round trips of a block could take ten
    /// times as long (seen on a 2-processor virtual machine; the engine's call blocks, which
    /// follow the callback blocks of the same interpreter, did not suffer it).
    var settlingCalls: Int { quick ? 10 : 200 }
    var blockCalls: Int { max(1, calls / 5) }

    // Each round trip below is preceded by a pause of `dither`, taken off the time (and off
    // the CPU time, as it spins): see `Dither`.

    /// `count` round trips of `call("ident", i)`: µs each, and this process's CPU µs each.
    func timeCalls(_ bond: Bond, _ count: Int) throws -> (micros: Double, cpuMicros: Double) {
        let c0 = Machine.cpuSeconds(), d0 = dither.pausedSeconds
        let seconds = try dither.timeWithoutPauses {
            for i in 0..<count {
                dither.pause()
                _ = try bond.call("ident", i)
            }
        }
        let cpu = Machine.cpuSeconds() - c0 - (dither.pausedSeconds - d0)
        return (seconds / Double(count) * 1e6, cpu / Double(count) * 1e6)
    }

    /// `count` callbacks (the interpreter's `_bond_bench_loop` calling the exported `cb`, which
    /// pauses): µs each.
    func timeCallbacks(_ bond: Bond, _ count: Int) throws -> Double {
        try dither.timeWithoutPauses { _ = try bond.call("_bond_bench_loop", count) } / Double(count) * 1e6
    }

    /// `count` bare round trips of `line` through `loop`: µs each.
    func timeRoundTrips(_ loop: inout PipeLoop, _ line: [UInt8], _ count: Int) -> Double {
        dither.timeWithoutPauses {
            for _ in 0..<count {
                dither.pause()
                _ = loop.roundTrip(line)
            }
        } / Double(count) * 1e6
    }

    func measure(_ language: String) throws -> LanguageFigures {
        var figures = LanguageFigures(language: language)
        let startup = median(runs) { () throws -> Double in
            let t = now()
            let bond = try Bond(language: language, options: .with { $0.output = .discard })
            _ = try bond.eval("1")
            let elapsed = now() - t
            bond.close()
            return elapsed
        }
        figures.startupSeconds = startup
        figures.bareStartupSeconds = median(runs) { Machine.bareStartup(language) }

        let (t, last) = try timeInBlocks { () throws -> Pairing in
            let bond = try Bond(language: language, options: .with { $0.output = .discard; $0.timeout = nil })
            do {
                try bond.evalBlock(Snippet.ident[language]!)
                try bond.export("cb") { args in dither.pause(); return args.first ?? nil }
                try bond.evalBlock(Snippet.callbackLoop[language]!)
            } catch {
                bond.close()
                throw error
            }
            var loop = PipeLoop(language: language)
            let line = Array("[\"ident\",[1]]".utf8)
            _ = loop?.roundTrip(line)
            return Pairing(bond: bond, loop: loop, line: line)
        }
        defer { last.end() }
        figures.callMicros = mid(t.call)
        figures.callbackMicros = mid(t.callback)
        figures.limitCallMicros = mid(t.limit)
        figures.callRatio = mid(zip(t.call, t.limit).map(/))
        figures.callbackRatio = mid(zip(t.callback, t.limit).map(/))
        figures.hostCPUMicrosPerCall = mid(t.cpu)

        if handles > 0 {
            figures.objects = try ObjectFigures.measure(
                last.bond, language: language, calls: blockCalls, blocks: pairings * blocksPerPairing, handles: handles)
        }

        // The payloads go through the last pairing's processes, warmed up by the round trips
        // (fresh ones made Node.js echo 64 MiB 1.4 to 1.9 times slower than its loop).
        let bond = last.bond
        if var loop = last.loop {
            for mib in payloads {
                let text = String(repeating: "0123456789abcdef", count: (mib << 20) / 16)
                var encoded = Array("\"".utf8)
                encoded.append(contentsOf: text.utf8)
                encoded.append(contentsOf: "\"".utf8)
                // (As many echoes of 64 MiB as of the others: through Node.js, 2 echoes of 12
                // took 0.86 and 1.06 s instead of 0.55 to 0.62, and a median of three caught
                // two such in one run of three.)
                let payloadRuns = runs
                let limit = median(payloadRuns) { () -> Double in
                    let t = now()
                    let n = loop.roundTrip(encoded)
                    precondition(n == encoded.count, "pipe loop echoed \(n) bytes of \(encoded.count)")
                    return now() - t
                }
                let engine = median(payloadRuns) { () throws -> Double in
                    let t = now()
                    let back = try bond.call("ident", text)
                    precondition(back.stringValue?.utf8.count == text.utf8.count)
                    return now() - t
                }
                figures.payloads.append(.init(mebibytes: mib, seconds: engine, limitSeconds: limit))
            }
        }
        return figures
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The median of the values (NaN if there are none).
func mid(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.sorted()[values.count / 2] }

/// The median of `runs` measurements (NaN if a run fails).
func median(_ runs: Int, _ body: () throws -> Double) -> Double {
    var values: [Double] = []
    for _ in 0..<max(1, runs) {
        guard let v = try? body() else { return .nan }
        values.append(v)
    }
    values.sort()
    return values[values.count / 2]
}

enum Snippet {
    static let ident: [String: String] = [
        "Python": "def ident(x):\n    return x\n",
        "JavaScript": "function ident(x) { return x; }",
        "Perl": "sub ident { return $_[0]; }",
        "PHP": "function ident($x) { return $x; }",
        "Ruby": "def ident(x)\n  x\nend",
        "R": "ident <- function(x) x",
    ]
    static let callbackLoop: [String: String] = [
        "Python": "def _bond_bench_loop(n):\n    for i in range(n):\n        cb(i)\n",
        "JavaScript": "function _bond_bench_loop(n) { for (var i = 0; i < n; i++) cb(i); }",
        "Perl": "sub _bond_bench_loop { my $n = shift; for my $i (1 .. $n) { cb($i); } return undef; }",
        "PHP": "function _bond_bench_loop($n) { for ($i = 0; $i < $n; $i++) cb($i); }",
        "Ruby": "def _bond_bench_loop(n)\n  i = 0\n  while i < n\n    cb(i)\n    i += 1\n  end\nend",
        "R": "`_bond_bench_loop` <- function(n) { for (i in seq_len(n)) cb(i); NULL }",
    ]
}

enum Machine {
    static func describe() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static let bareCommands: [String: [String]] = [
        "Python": ["python3", "-c", "pass"], "JavaScript": ["node", "-e", "0"],
        "Perl": ["perl", "-e", "1"], "PHP": ["php", "-r", ""],
        "Ruby": ["ruby", "-e", "0"], "R": ["R", "--vanilla", "--quiet", "--no-echo", "-e", "0"],
    ]

    /// The time to start and end the bare interpreter (posix_spawnp through PATH, as the engine does).
    static func bareStartup(_ language: String) -> Double {
        guard let argv = bareCommands[language] else { return .nan }
        var pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let t = now()
        guard posix_spawnp(&pid, pointers[0]!, &actions, nil, &pointers, environ) == 0 else { return .nan }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return now() - t
    }
}

struct PayloadFigure: Codable {
    var mebibytes: Int
    var seconds: Double
    var limitSeconds: Double
    var ratio: Double { seconds / limitSeconds }
}

struct LanguageFigures: Codable {
    var language: String
    var callMicros = Double.nan
    var limitCallMicros = Double.nan
    var callbackMicros = Double.nan
    /// Medians of the ratios of blocks timed side by side (see `BondBench.pairings`).
    var callRatio = Double.nan
    var callbackRatio = Double.nan
    var hostCPUMicrosPerCall = Double.nan
    var startupSeconds = Double.nan
    var bareStartupSeconds = Double.nan
    var payloads: [PayloadFigure] = []
    /// Remote objects, for a driver that offers them.
    var objects: ObjectFigures?
}

/// The engine against a peer that answers at once (see `EchoPeer`).
struct OverheadFigures: Codable {
    var callMicros: Double
    var pipeMicros: Double
    var ratio: Double
    var callbackMicros: Double
    var callbackRatio: Double
    var hostCPUMicrosPerCall: Double
}

struct Report: Codable {
    var machine: String
    var calls: Int
    var runs: Int
    var engineOverhead: OverheadFigures?
    var languages: [LanguageFigures] = []
    var asyncFace = AsyncFigures()
    var workbench: WorkbenchFigures?
    var hosts: HostFigures?

    var table: String {
        func f(_ v: Double, _ digits: Int = 1) -> String { v.isNaN ? "-" : String(format: "%.\(digits)f", v) }
        var lines = ["machine: \(machine); round trips timed in \(runs * 5) blocks of \(max(1, calls / 5)) (5 in each of \(runs) pairs of processes), engine and limit in alternation; "
            + "medians of the blocks, ratios the medians of side-by-side ratios", ""]
        if let o = engineOverhead {
            lines.append("engine against a zero-cost peer: call \(f(o.callMicros, 2)) us, bare pipe \(f(o.pipeMicros, 2)) us, "
                + "ratio \(f(o.ratio, 2)), added \(f(o.callMicros - o.pipeMicros, 2)) us, host CPU \(f(o.hostCPUMicrosPerCall, 2)) us/call; "
                + "callback \(f(o.callbackMicros, 2)) us, ratio \(f(o.callbackRatio, 2)), added \(f(o.callbackMicros - o.pipeMicros, 2)) us")
            lines.append("")
        }
        lines.append("language    call us  limit us  ratio  callback us  ratio  host CPU us/call  startup ms  bare ms  +ms")
        for l in languages {
            lines.append([
                l.language.padding(toLength: 10, withPad: " ", startingAt: 0),
                f(l.callMicros).leftPad(8), f(l.limitCallMicros).leftPad(9), f(l.callRatio, 2).leftPad(6),
                f(l.callbackMicros).leftPad(12), f(l.callbackRatio, 2).leftPad(6),
                f(l.hostCPUMicrosPerCall).leftPad(17), f(l.startupSeconds * 1000).leftPad(11),
                f(l.bareStartupSeconds * 1000).leftPad(8), f((l.startupSeconds - l.bareStartupSeconds) * 1000).leftPad(5),
            ].joined(separator: " "))
        }
        lines.append("")
        lines.append("language    payload  engine s  limit s  ratio")
        for l in languages {
            for p in l.payloads {
                lines.append([
                    l.language.padding(toLength: 10, withPad: " ", startingAt: 0), "\(p.mebibytes) MiB".leftPad(8),
                    f(p.seconds, 3).leftPad(9), f(p.limitSeconds, 3).leftPad(8), f(p.ratio, 2).leftPad(6),
                ].joined(separator: " "))
            }
        }
        if languages.contains(where: { $0.objects != nil }) {
            lines.append("")
            lines.append("remote objects: a handle's method call next to a plain call (blocks in alternation); handles made and dropped one by one")
            lines.append(ObjectFigures.header)
            for l in languages { if let o = l.objects { lines.append(o.line(l.language)) } }
        }
        lines.append("")
        lines += asyncFace.lines
        if let w = workbench {
            lines.append("")
            lines.append("workbench core (160x48, 4 busy panes, \(w.logLinesFed) log lines fed; the log keeps 100 000):")
            lines.append("  frame render        \(f(w.frameMillis, 2)) ms")
            lines.append("  update per log line \(f(w.updateMicrosPerLogLine, 2)) us")
            lines.append("  key to screen while a pane streams 100 000 lines/s  \(f(w.keyToScreenMillis, 2)) ms")
            lines.append("  peak RSS of the process  \(f(w.peakRSSMebibytes, 0)) MiB")
        }
        if let h = hosts {
            lines.append("")
            lines += h.lines
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
