import Bond
import Foundation
import Synchronization

/// The async face beside the blocking one (docs/performance.md, "The async face"): call and
/// callback round trips of both faces on the same bond, timed block by block in alternation;
/// and many bonds with many concurrent callers each: throughput, host CPU and memory per call.
struct AsyncFigures: Codable {
    struct Language: Codable {
        var language: String
        var blockingCallMicros = Double.nan
        var asyncCallMicros = Double.nan
        var blockingCallbackMicros = Double.nan
        var asyncCallbackMicros = Double.nan
        /// Medians of the ratios of blocks timed side by side (async / blocking).
        var callRatio = Double.nan
        var callbackRatio = Double.nan
    }

    /// Many bonds, several callers each, all at once.
    struct Concurrency: Codable {
        var language: String
        var bonds: Int
        var callersPerBond: Int
        var callsPerSecond: Double
        var hostCPUMicrosPerCall: Double
        /// This process's resident memory added per call waiting (every caller waiting for
        /// `slow`), in KiB.
        var kibibytesPerWaitingCall: Double
    }

    var languages: [Language] = []
    var concurrency: Concurrency?

    static let asyncLoop: [String: String] = Snippet.callbackLoop.mapValues {
        $0.replacingOccurrences(of: "cb(", with: "acb(").replacingOccurrences(of: "_bond_bench_loop", with: "_bond_bench_aloop")
    }

    /// Both faces on one bond of `language`: `blocks` blocks of `calls` round trips each,
    /// blocking and async in turn.
    static func measure(_ language: String, calls: Int, blocks: Int, warmUp: Int) throws -> Language {
        var figures = Language(language: language)
        let bond = try Bond(language: language, options: .with { $0.output = .discard; $0.timeout = nil })
        defer { bond.close() }
        try bond.evalBlock(Snippet.ident[language]!)
        try bond.export("cb") { args in args.first ?? nil }
        try bond.evalBlock(Snippet.callbackLoop[language]!)
        try bond.evalBlock(asyncLoop[language]!)
        try blockOn { try await bond.export("acb") { args async throws -> BondValue in args.first ?? nil } }
        var call: [(Double, Double)] = [], callback: [(Double, Double)] = []
        for block in 0..<(warmUp + blocks) {
            let blockingCall = try timed { for i in 0..<calls { _ = try bond.call("ident", i) } }
            let asyncCall = try blockOn { try await asyncTimed { for i in 0..<calls { _ = try await bond.call("ident", i) } } }
            let blockingCallback = try timed { _ = try bond.call("_bond_bench_loop", calls) }
            let asyncCallback = try blockOn { try await asyncTimed { _ = try await bond.call("_bond_bench_aloop", calls) } }
            guard block >= warmUp else { continue }
            call.append((blockingCall / Double(calls) * 1e6, asyncCall / Double(calls) * 1e6))
            callback.append((blockingCallback / Double(calls) * 1e6, asyncCallback / Double(calls) * 1e6))
        }
        figures.blockingCallMicros = mid(call.map(\.0))
        figures.asyncCallMicros = mid(call.map(\.1))
        figures.callRatio = mid(call.map { $0.1 / $0.0 })
        figures.blockingCallbackMicros = mid(callback.map(\.0))
        figures.asyncCallbackMicros = mid(callback.map(\.1))
        figures.callbackRatio = mid(callback.map { $0.1 / $0.0 })
        return figures
    }

    /// `bondCount` bonds of `language`, `callers` tasks calling each for `seconds`.
    static func measureConcurrency(_ language: String, bondCount: Int, callers: Int, seconds: Double) throws -> Concurrency {
        try blockOn {
            let bonds = try await withThrowingTaskGroup(of: Bond.self) { group in
                for _ in 0..<bondCount {
                    group.addTask {
                        let bond = try await Bond.start(language: language, options: .with { $0.output = .discard; $0.timeout = nil })
                        try await bond.evalBlock(Snippet.ident[language]!)
                        try await bond.evalBlock(Snippet.slow[language]!)
                        return bond
                    }
                }
                return try await group.reduce(into: [Bond]()) { $0.append($1) }
            }
            defer { for bond in bonds { bond.close() } }
            // Throughput: every caller calls `ident` until the time is up.
            let c0 = Machine.cpuSeconds(), t0 = now()
            let deadline = t0 + seconds
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for bond in bonds {
                    for _ in 0..<callers {
                        group.addTask {
                            var i = 0
                            while now() < deadline {
                                _ = try await bond.call("ident", i)
                                i += 1
                            }
                            return i
                        }
                    }
                }
                return Double(try await group.reduce(0, +))
            }
            let elapsed = now() - t0, cpu = Machine.cpuSeconds() - c0
            // Memory: every caller waits in `slow` at once.
            let rss0 = Machine.residentKibibytes()
            let waiting = bonds.flatMap { bond in (0..<callers).map { _ in Task { try await bond.call("slow", 1) } } }
            try await Task.sleep(for: .milliseconds(500))
            let rss1 = Machine.residentKibibytes()
            for call in waiting { _ = try await call.value }
            return Concurrency(
                language: language, bonds: bondCount, callersPerBond: callers, callsPerSecond: total / elapsed,
                hostCPUMicrosPerCall: cpu / total * 1e6, kibibytesPerWaitingCall: (rss1 - rss0) / Double(waiting.count))
        }
    }

    /// `count` calls (or callbacks) of one face against the zero-cost peer, and nothing else
    /// (for callgrind).
    static func countCalls(_ count: Int, language: String?, async: Bool, callbacks: Bool) throws {
        let directory = try EchoPeer.makeDriverDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bond = try language.map { try Bond(language: $0, options: .with { $0.timeout = nil }) }
            ?? Bond(language: EchoPeer.language, options: .with { $0.driverDirectories = [directory]; $0.timeout = nil })
        defer { bond.close() }
        if let language {
            try bond.evalBlock(Snippet.ident[language]!)
            try bond.evalBlock(Snippet.callbackLoop[language]!)
        }
        switch (async, callbacks) {
        case (true, false):
            try blockOn { for i in 0..<count { _ = try await bond.call("ident", i) } }
        case (false, false):
            for i in 0..<count { _ = try bond.call("ident", i) }
        case (true, true):
            try blockOn { try await bond.export("cb") { args async throws -> BondValue in args.first ?? nil } }
            _ = try blockOn { try await bond.call("_bond_bench_loop", count) }
        case (false, true):
            try bond.export("cb") { args in args.first ?? nil }
            _ = try bond.call("_bond_bench_loop", count)
        }
    }

    var lines: [String] {
        func f(_ v: Double, _ digits: Int = 1) -> String { v.isNaN ? "-" : String(format: "%.\(digits)f", v) }
        var lines = ["async face beside the blocking one (same bond, blocks in alternation; ratio async/blocking):",
                     "language    call us  async us  ratio  callback us  async us  ratio"]
        for l in languages {
            lines.append([
                l.language.padding(toLength: 10, withPad: " ", startingAt: 0),
                f(l.blockingCallMicros).leftPad(8), f(l.asyncCallMicros).leftPad(9), f(l.callRatio, 2).leftPad(6),
                f(l.blockingCallbackMicros).leftPad(12), f(l.asyncCallbackMicros).leftPad(9), f(l.callbackRatio, 2).leftPad(6),
            ].joined(separator: " "))
        }
        if let c = concurrency {
            lines.append("\(c.bonds) \(c.language) bonds x \(c.callersPerBond) concurrent callers: \(f(c.callsPerSecond, 0)) calls/s, "
                + "host CPU \(f(c.hostCPUMicrosPerCall, 2)) us/call, \(f(c.kibibytesPerWaitingCall, 1)) KiB per waiting call")
        }
        return lines
    }
}

extension Snippet {
    static let slow: [String: String] = [
        "Python": "import time\ndef slow(s):\n    time.sleep(s)\n    return s\n",
        "JavaScript": "function slow(s) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000); return s; }",
        "Perl": "sub slow { sleep $_[0]; return $_[0]; }",
        "PHP": "function slow($s) { sleep($s); return $s; }",
        "Ruby": "def slow(s)\n  sleep(s)\n  s\nend",
        "R": "slow <- function(s) { Sys.sleep(s); s }",
    ]
}

extension Machine {
    /// This process's resident memory, in KiB.
    static func residentKibibytes() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
    }
}

/// Seconds `body` takes.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let t = now()
    try body()
    return now() - t
}

func asyncTimed(_ body: () async throws -> Void) async rethrows -> Double {
    let t = now()
    try await body()
    return now() - t
}

/// Runs `body` in a task and blocks this (main) thread until it ends.
func blockOn<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, any Error>?>(nil)
    Task {
        do { let value = try await body(); result.withLock { $0 = .success(value) } } catch { result.withLock { $0 = .failure(error) } }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
