import Bond
import Foundation
import Testing

/// The examples of docs/guide.md, compiled and run. Each ```swift block of the guide must
/// appear verbatim in this file (checked by `everyGuideExampleIsHere`).
@Suite(.timeLimit(.minutes(2))) struct GuideExamplesTests {
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var text = ""
        func append(_ channel: BondOutputChannel, _ chunk: String) { lock.withLock { text += chunk } }
    }

    @Test func theGuideRunsAsWritten() throws {
        let captured = Captured()
        let ssh = testSSH ?? "ssh -o BatchMode=yes localhost"

// --- Starting a bond
let py = try Bond(language: "Python")            // the driver's default command: python3 -i
print(Bond.languages)                            // ["JavaScript", "PHP", "Perl", "Python", "R", "Ruby"]
        if testSSH != nil {
let remote = try Bond(language: "JavaScript", command: "\(ssh) node", arguments: ["--stack-size=2000"])
            #expect(try remote.eval("1 + 1") == 2)
            remote.close()
        }
var options = BondOptions()
options.output = .handler { channel, text in captured.append(channel, text) }
options.log = .handler { traffic in print(traffic.direction, traffic.line) }
options.timeout = .seconds(10)
let logged = try Bond(language: "Python", options: options)
        try logged.evalBlock("print('captured')")
        #expect(captured.text == "captured\n")
        logged.close()

// --- Evaluating and calling
try py.evalBlock("def inc(x):\n    return x + 1\n")     // statements at the top level
let two = try py.eval("1 + 1")                          // BondValue.int(2)
let inc = py.callable("inc")                            // a Swift function that calls inc
let answer = try inc(41)                                // 42
let nine = try py.call("max", [3, 9, 4])                // arguments are converted
let product = try py.call("lambda a, b: a * b", 6, 7)   // any callable expression
        #expect(two == 2 && answer == 42 && nine == 9 && product == 42)

struct Point: Codable, BondArgument { var x: Int; var y: Int }
let mixed = try py.call("len", [1, "a", nil])                        // 3
let point = try py.call("lambda p: p", Point(x: 1, y: 2)).decode(Point.self)
let xs: [Int] = try py.eval("[1, 2, 3]").decode()                    // Codable bridge
        #expect(mixed == 3 && point.x == 1 && point.y == 2 && xs == [1, 2, 3])

let descending = try py.call("sorted", [3, 1, 2], keywords: ["reverse": true])  // [3, 2, 1]
try py.export("tag", withKeywords: { args, keywords in                            // tag("b", bold=True)
    .string((keywords["bold"]?.boolValue == true ? "*" : "") + (args.first?.stringValue ?? ""))
})
let bold = try py.eval("tag('b', bold=True)")                                   // "*b"
        #expect(descending == [3, 2, 1] && bold == "*b")

let reversed = try py.call("lambda b: b[::-1]", BondValue.bytes([0, 255, 128]))  // .bytes([128, 255, 0])
let raw = try py.eval("bytes(range(4))").bytesValue                              // [0, 1, 2, 3]
        #expect(reversed == .bytes([128, 255, 0]) && raw == [0, 1, 2, 3])

// --- Exporting, proxying
try py.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
let fortyTwo = try py.eval("twice(21)")          // Python called back into Swift

let js = try Bond(language: "JavaScript")
try py.proxy("inc", to: js)                      // js can call inc(); it runs in Python
let three = try js.eval("inc(2)")
        #expect(fortyTwo == 42 && three == 3)

// --- Refs
try js.evalBlock("var big = 10")
let big = js.ref("big")
let ten = try js.call("Math.max", 1, big)        // the ref is evaluated by the interpreter
let same = try js.eval(big)
        #expect(ten == 10 && same == 10)

// --- Running what a user typed
let area = try py.run("import math\nr = 2\nmath.pi * r ** 2")   // .value(12.566...)
let none = try py.run("def square(n):\n    return n * n")       // nil: a definition
if case .description(let d)? = try py.run("object()") {
    print(d.typeName, d.text)                                 // object <object object at 0x...>
}
let five = try js.run("let p = Promise.resolve(5)\nawait p")    // .value(5)
let got = try py.eval("2 ** 64", unserializable: .describe)    // .description: int 18446744073709551616
        #expect(area?.value?.doubleValue.map { abs($0 - 12.566) < 0.001 } == true && none == nil && five == .value(5))
        #expect(got == .description(BondDescription(typeName: "int", text: "18446744073709551616")))

// --- Remote objects
try py.evalBlock("class Account:\n    def __init__(self, owner): self.owner, self.balance = owner, 0\n    def deposit(self, n): self.balance += n; return self.balance\n")
let account = try py.object("Account('ada')")     // a handle: the object stays in Python
let deposited = try account.call("deposit", 5)     // 5: a method call, run in Python
let owner = try account.attribute("owner")         // "ada"
let nested = try py.call("lambda xs: xs[0]['a'].balance", [["a": account]])  // 5: handles as arguments
let viaJS = try js.call("(a) => a.deposit(10)", account)  // 15: a proxy in JavaScript, run in Python
if case .value(.handle(let file)) = try py.eval("open('/dev/null')", unserializable: .handle) {
    print(file.typeName, file)                     // TextIOWrapper <_io.TextIOWrapper name='/dev/null' ...>
}
        #expect(account.typeName == "Account" && deposited == 5 && owner == "ada" && nested == 5 && viaJS == 15)

let php = try Bond(language: "PHP")
let named = try php.call("(fn($a) => $a->deposit(n: 10))", account)  // 25: a named argument, through a proxy
        #expect(named == 25)
        php.close()

// --- Errors
do {
    try py.evalBlock("raise ValueError('boom')")
} catch .remote(_, let message, _) {
    print(message)                               // ValueError: boom
} catch {
    print(error)
}
        #expect(bondError { try py.evalBlock("raise ValueError('boom')") }.map { "\($0)" } == "Python exception: ValueError: boom")

// --- Life
py.close()
js.close()
        #expect(!py.isAlive && !js.isAlive)
    }

    @Test func theAsyncChapterRunsAsWritten() async throws {
        func print(_ items: Any...) {}

// --- async/await
let py = try await Bond.start(language: "Python")         // start-up runs off the cooperative pool
let php = try await Bond.start(language: "PHP")
let sum = try await py.eval("sum(range(10))")                 // 45
try await py.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
        #expect(sum == 45)

let job = Task { try await py.call("slow", 60) }
job.cancel()                                                  // slow() is interrupted
do {
    _ = try await py.call("slow", 5, timeout: .seconds(1))
} catch BondError.timeout(_, _, let bondClosed) {
    print(bondClosed)                                         // false: interrupted, py goes on
}
        #expect(await Self.failure { _ = try await job.value } is CancellationError)
        #expect(try await py.eval("1 + 1") == 2)

try await py.export("price") { args async throws -> BondValue in
    try await php.call("round", args[0], 2)                   // awaits another bond
}
let rounded = try await py.eval("price(3.14159)")             // 3.14
        #expect(rounded == 3.14)

var lines = py.output.makeAsyncIterator()                     // a consumer, from now on
try await py.evalBlock("print('hello')")
let hello = await lines.next()                                // BondOutput(channel: .stdout, text: "hello\n")
print(py.output.dropped)                                      // 0: what slow consumers lost
        #expect(hello?.channel == .stdout && hello?.text == "hello\n")

        let started = ContinuousClock.now
let workers = try await withThrowingTaskGroup(of: Bond.self) { group in
    for _ in 0..<4 { group.addTask { try await Bond.start(language: "PHP") } }
    return try await group.reduce(into: [Bond]()) { $0.append($1) }
}
for worker in workers { try await worker.evalBlock("function render($n) { return str_repeat('*', $n); }") }
let pages = try await withThrowingTaskGroup(of: BondValue.self) { group in
    for request in 0..<2000 {
        group.addTask { try await workers[request % workers.count].call("render", request % 10) }
    }
    return try await group.reduce(into: [BondValue]()) { $0.append($1) }
}
for worker in workers { await worker.close() }
        let took = ContinuousClock.now - started
        #expect(pages.count == 2000 && pages.allSatisfy { ($0.stringValue?.count ?? -1) < 10 })
        Swift.print("guide server example: 2000 requests to 4 PHP bonds in \(took) (start-ups included)")

await py.close()
await php.close()
    }

    static func failure(_ body: () async throws -> Void) async -> (any Error)? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func everyGuideExampleIsHere() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/guide.md"), encoding: .utf8)
        let this = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let blocks = guide.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count >= 8)
        for block in blocks {
            #expect(this.contains(block), "docs/guide.md example not compiled here:\n\(block)")
        }
    }
}
