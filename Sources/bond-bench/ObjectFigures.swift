import Bond
import Foundation

/// Remote objects (the OBJECTS extension): a method call of a handle next to a plain call, and
/// the lifetimes of many handles (made and dropped one by one: the driver's table must be empty
/// after, and the interpreter's memory flat).
struct ObjectFigures: Codable {
    /// A method call of a handle (`handle.call("ident", i)`), µs per round trip.
    var methodCallMicros = Double.nan
    /// A plain call (`bond.call("ident", i)`) timed in alternation with it, µs.
    var plainCallMicros = Double.nan
    /// The median of the ratios of blocks timed side by side.
    var methodCallRatio = Double.nan
    /// Handles made and dropped, one round trip each.
    var handles = 0
    var handleMicros = Double.nan
    /// Entries left in the driver's table once they were all dropped (and one more request made).
    var tableAfter = -1
    /// The interpreter's resident memory before and after (MiB), and the growth.
    var rssBeforeMebibytes = Double.nan
    var rssAfterMebibytes = Double.nan
    var rssGrowth: Double { rssAfterMebibytes / rssBeforeMebibytes - 1 }
    /// The most it held while the handles were made and dropped (read after each hundredth of
    /// them): a garbage collector's saw-tooth can end low, and `after` would hide it.
    var rssPeakMebibytes = Double.nan
    var rssPeakGrowth: Double { rssPeakMebibytes / rssBeforeMebibytes - 1 }

    /// A class with a method `ident`, and an expression that makes one of it.
    static let box: [String: (define: String, make: String)] = [
        "Python": ("class _BondBenchBox:\n    def ident(self, x):\n        return x\n", "_BondBenchBox()"),
        "JavaScript": ("globalThis._BondBenchBox = class { ident(x) { return x; } };", "new _BondBenchBox()"),
        "Perl": ("package _BondBenchBox; sub new { return bless {}, shift } sub ident { return $_[1] } package main;",
                 "_BondBenchBox->new"),
        "PHP": ("class _BondBenchBox { function ident($x) { return $x; } }", "new _BondBenchBox()"),
    ]
    /// How many entries the driver's table holds (a driver's own name: for benchmarks and tests).
    static let tableSize: [String: String] = [
        "Python": "len(_BOND_TABLE)", "JavaScript": "__BOND.objectCount()", "Perl": "__BOND::object_count()",
        "PHP": "_BOND_object_count()",
    ]

    /// Measures `bond` (whose `ident` is defined): `blocks` pairs of blocks of `calls` round trips,
    /// then `handles` handles made and dropped.
    static func measure(_ bond: Bond, language: String, calls: Int, blocks: Int, handles: Int) throws -> ObjectFigures? {
        guard bond.offersObjects, let box = box[language], let tableSize = tableSize[language] else { return nil }
        var figures = ObjectFigures()
        try bond.evalBlock(box.define)
        var method: [Double] = [], plain: [Double] = []
        do {
            let handle = try bond.object(box.make)
            for block in 0..<(blocks + 1) {
                let m = try time(calls) { i throws(BondError) in _ = try handle.call("ident", i) }
                let p = try time(calls) { i throws(BondError) in _ = try bond.call("ident", i) }
                if block > 0 { method.append(m); plain.append(p) }  // (the first pair warms up)
            }
        }
        figures.methodCallMicros = mid(method)
        figures.plainCallMicros = mid(plain)
        figures.methodCallRatio = mid(zip(method, plain).map(/))

        try churn(bond, box.make, max(1, handles / 10))  // (the interpreter's memory settles first)
        figures.rssBeforeMebibytes = residentMebibytes(bond.processID)
        figures.rssPeakMebibytes = figures.rssBeforeMebibytes
        figures.handles = handles
        let step = max(1, handles / 100)
        figures.handleMicros = try time(handles) { i throws(BondError) in
            _ = try bond.object(box.make)
            if (i + 1) % step == 0 { figures.rssPeakMebibytes = max(figures.rssPeakMebibytes, residentMebibytes(bond.processID)) }
        }
        figures.tableAfter = try bond.eval(tableSize).intValue ?? -1
        figures.rssAfterMebibytes = residentMebibytes(bond.processID)
        figures.rssPeakMebibytes = max(figures.rssPeakMebibytes, figures.rssAfterMebibytes)
        return figures
    }

    private static func churn(_ bond: Bond, _ make: String, _ count: Int) throws {
        for _ in 0..<count { _ = try bond.object(make) }
    }

    /// µs per round trip of `body`.
    private static func time(_ count: Int, _ body: (Int) throws(BondError) -> Void) throws -> Double {
        let t = now()
        for i in 0..<count { try body(i) }
        return (now() - t) / Double(max(1, count)) * 1e6
    }

    /// The resident memory of a local process (VmRSS), in MiB.
    static func residentMebibytes(_ pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return .nan }
        return kilobytes / 1024
    }

    func line(_ language: String) -> String {
        func f(_ v: Double, _ digits: Int = 1) -> String { v.isNaN ? "-" : String(format: "%.\(digits)f", v) }
        return [
            language.padding(toLength: 10, withPad: " ", startingAt: 0),
            f(methodCallMicros).leftPad(9), f(plainCallMicros).leftPad(8), f(methodCallRatio, 2).leftPad(6),
            "\(handles)".leftPad(8), f(handleMicros).leftPad(10), "\(tableAfter)".leftPad(6),
            f(rssBeforeMebibytes).leftPad(8), f(rssAfterMebibytes).leftPad(8), (f(rssGrowth * 100) + "%").leftPad(7),
            (f(rssPeakGrowth * 100) + "%").leftPad(6),
        ].joined(separator: " ")
    }

    static let header = "language   method us  call us  ratio  handles  us/handle  table  RSS MiB    after  growth   peak"
}
