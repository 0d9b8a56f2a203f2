import Bond
import Foundation

/// Start-up over real separate hosts (the test hosts of scripts/test-hosts.sh, or any hosts
/// ssh reaches): one host, several one after the other, several as a group (in parallel), and
/// many bonds on one host with and without a shared connection (ControlMaster).
struct HostFigures: Codable {
    var hosts: [String]
    /// One Python bond on the first host.
    var oneHostStartMillis = Double.nan
    /// One bond on each host, one after the other.
    var sequentialStartMillis = Double.nan
    /// `BondGroup` over the hosts (all at once).
    var groupStartMillis = Double.nan
    /// The slowest single host of a group's start, measured alone just before.
    var slowestHostStartMillis = Double.nan
    /// Bonds started one after the other on the first host, each over its own connection.
    var bondsOnOneHost = 8
    var ownConnectionStartMillis = Double.nan
    /// The same over one shared connection (ControlMaster, the master made beforehand).
    var sharedConnectionStartMillis = Double.nan

    /// `ssh` is the ssh command up to the destination (`ssh -F cfg`).
    static func measure(ssh: String, hosts: [String], runs: Int) throws -> HostFigures {
        var figures = HostFigures(hosts: hosts)
        let options = BondOptions.with { $0.output = .discard }
        func start(_ command: String) throws -> Double {
            let t = now()
            let bond = try Bond(language: "Python", command: command, options: options)
            let seconds = now() - t
            bond.close()
            return seconds * 1000
        }
        func startEach() throws -> [Double] { try hosts.map { try start("\(ssh) \($0) python3") } }
        figures.oneHostStartMillis = try medianThrowing(runs) { try start("\(ssh) \(hosts[0]) python3") }
        figures.sequentialStartMillis = try medianThrowing(runs) { try startEach().reduce(0, +) }
        figures.slowestHostStartMillis = try medianThrowing(runs) { try startEach().max() ?? .nan }
        figures.groupStartMillis = try medianThrowing(runs) {
            let t = now()
            let group = try BondGroup(language: "Python", hosts: hosts, ssh: ssh, options: options)
            let seconds = now() - t
            let failed = group.failures
            group.close()
            if let (host, error) = failed.first { throw BenchError("\(host): \(error)") }
            return seconds * 1000
        }
        let n = figures.bondsOnOneHost
        figures.ownConnectionStartMillis = try medianThrowing(runs) {
            try (0..<n).map { _ in try start("\(ssh) \(hosts[0]) python3") }.reduce(0, +) / Double(n)
        }
        let control = NSTemporaryDirectory() + "bond-bench-cm-\(getpid())"
        try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: control) }
        let shared = "\(ssh) -o ControlMaster=auto -o ControlPath=\(control)/%C -o ControlPersist=30"
        let master = try Bond(language: "Python", command: "\(shared) \(hosts[0]) python3", options: options)
        defer {
            master.close()
            let exit = Process()  // the shared connection ends
            exit.executableURL = URL(fileURLWithPath: "/bin/sh")
            exit.arguments = ["-c", "\(shared) -O exit \(hosts[0]) 2>/dev/null"]
            try? exit.run()
            exit.waitUntilExit()
        }
        figures.sharedConnectionStartMillis = try medianThrowing(runs) {
            try (0..<n).map { _ in try start("\(shared) \(hosts[0]) python3") }.reduce(0, +) / Double(n)
        }
        return figures
    }

    var lines: [String] {
        func f(_ v: Double) -> String { v.isNaN ? "-" : String(format: "%.0f", v) }
        return [
            "start-up over \(hosts.count) hosts (\(hosts.joined(separator: " ")), Python over ssh):",
            "  one host \(f(oneHostStartMillis)) ms; one after the other \(f(sequentialStartMillis)) ms; "
                + "BondGroup (in parallel) \(f(groupStartMillis)) ms, the slowest host alone \(f(slowestHostStartMillis)) ms",
            "  \(bondsOnOneHost) bonds on one host, each: own connection \(f(ownConnectionStartMillis)) ms, "
                + "shared connection (ControlMaster) \(f(sharedConnectionStartMillis)) ms",
        ]
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The median of `runs` results of `body`, which may throw.
func medianThrowing(_ runs: Int, _ body: () throws -> Double) throws -> Double {
    var values: [Double] = []
    for _ in 0..<max(1, runs) { values.append(try body()) }
    return mid(values)
}
