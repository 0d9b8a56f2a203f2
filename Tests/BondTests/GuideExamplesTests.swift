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
