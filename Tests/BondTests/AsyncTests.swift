import Bond
import Foundation
import Testing

/// The async face (issue 19): `Bond.start`, requests that suspend, cancellation that
/// interrupts, deadlines that tell slow from dead, nesting across tasks, streams.
@Suite(.timeLimit(.minutes(4))) struct AsyncTests {
    static let main: [Snippets] = [.python, .javaScript, .php, .perl]
    static let cases: [(Snippets, Place)] = main.flatMap { s in places.map { (s, $0) } }

    /// How long an interrupt may take to land: over ssh it is a second ssh connection, which
    /// takes seconds on a loaded machine.
    static func interruptTime(_ place: Place) -> Double { place == .ssh ? 25 : 5 }

    /// Starts a bond through the async face, its output collected.
    static func start(
        _ language: String, _ place: Place = .local, _ configure: (inout BondOptions) -> Void = { _ in }
    ) async throws -> (Bond, Collected) {
        let collected = Collected()
        var options = BondOptions()
        options.output = .handler { collected.add($0, $1) }
        if place == .ssh { options.interruptGracePeriod = .seconds(40) }  // (see interruptTime)
        configure(&options)
        return (try await Bond.start(language: language, command: command(language, place), options: options), collected)
    }

    /// Awaits `body`, returning its error.
    static func failure(_ body: () async throws -> Void) async -> (any Error)? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: The contract

    @Test func theContractRunsAsWritten() async throws {
        let node = testSSH.map { "\($0) node" } ?? "node"
        let printed = Collected()
        func print(_ items: Any...) { printed.add(.stdout, items.map { "\($0)" }.joined(separator: " ") + "\n") }

let py = try await Bond.start(language: "Python")      // start-up suspends; no thread is blocked
let js = try await Bond.start(language: "JavaScript", command: node)
let two = try await py.eval("1 + 1")                   // 2
try await py.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
try await py.export("fetch") { args async throws -> BondValue in   // an async Swift function
    try await Task.sleep(for: .milliseconds(5))
    return try await js.call("Math.max", args[0], 7)               // that awaits another bond
}
async let a = py.eval("fetch(3)")                      // 7: Python -> Swift (async) -> JavaScript
async let b = js.call("Math.min", 1, 2)                // 1: concurrently, on the other bond
print(try await a, try await b)
let sleeper = Task { try await py.call("slow", 30) }
sleeper.cancel()                                       // the interpreter is interrupted at once;
                                                       // the task throws CancellationError; py goes on
        let cancelled = await Self.failure { _ = try await sleeper.value }
        #expect(cancelled is CancellationError)
        let started = Date()
        let error = await Self.failure {
_ = try await py.call("slow", 5, timeout: .seconds(1)) // throws .timeout; the call was interrupted,
                                                       // the bond is alive and usable
        }
        guard case .timeout(_, let seconds, let bondClosed)? = error as? BondError else {
            Issue.record("got \(String(describing: error))"); return
        }
        #expect(seconds == 1 && !bondClosed && Date().timeIntervalSince(started) < 1 + Self.interruptTime(.local))
        #expect(try await py.eval("6 * 7") == 42 && py.isAlive)
        let chunks = Collected(), records = Collected(), states = Collected()
        let streamed = (py.output, py.traffic, py.states)  // (each iteration below starts a consumer)
        var outputs = streamed.0.makeAsyncIterator(), traffic = streamed.1.makeAsyncIterator()
        var stateChanges = streamed.2.makeAsyncIterator()
Task { for await chunk in py.output { print(chunk.channel, chunk.text) } }   // AsyncSequence
Task { for await record in py.traffic { print(record) } }
Task { for await state in py.states { print(state) } }
        try await py.evalBlock("print('streamed')")
        if let chunk = await outputs.next() { chunks.add(chunk.channel, chunk.text) }
        if let record = await traffic.next() { records.add(record) }
        if let state = await stateChanges.next() { states.add(.stdout, "\(state)") }
        #expect(chunks.stdout == "streamed\n")
        #expect(records.traffic.first?.line.hasPrefix("EVAL_BLOCK") == true)
        #expect(states.stdout == "busy(depth: 1)")
await py.close()
        #expect(two == 2)
        #expect(printed.stdout.hasPrefix("7 1\n"))
        #expect(!py.isAlive)
        await js.close()
    }

    // MARK: Requests

    @Test(arguments: cases)
    func requestsSuspendAndAnswer(_ s: Snippets, _ place: Place) async throws {
        let (bond, _) = try await Self.start(s.language, place)
        try await bond.evalBlock(s.defineInc)
        #expect(try await bond.call("inc", 41) == 42)
        #expect(try await bond.call("inc", values: [1]) == 2)
        #expect(try await bond.eval("6 * 7") == 42)
        let error = await Self.failure { try await bond.evalBlock(s.raiseBoom) }
        guard case .remote(_, let message, _)? = error as? BondError else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("boom"))
        // Many tasks at once: each gets its own answer.
        let sums = try await withThrowingTaskGroup(of: (Int, BondValue).self) { group in
            for i in 0..<50 { group.addTask { (i, try await bond.call("inc", i)) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect((0..<50).allSatisfy { sums[$0] == .int($0 + 1) })
        #expect(bond.state == .idle)
        await bond.close()
        #expect(!bond.isAlive)
        let closed = await Self.failure { _ = try await bond.eval("1") }
        #expect(closed is BondError)
    }

    /// What the workbench asks of a bond: input run as its REPL runs it, values described when
    /// JSON cannot carry them, calls with a list of arguments (refs among them).
    @Test(arguments: cases)
    func runDescribeAndCallsWithAList(_ s: Snippets, _ place: Place) async throws {
        let (bond, _) = try await Self.start(s.language, place)
        try await bond.evalBlock(s.defineInc)
        #expect(try await bond.run("6 * 7") == .value(42))
        guard case .description(let described) = try await bond.eval(s.unserializable, unserializable: .describe) else {
            Issue.record("\(s.language): no description of a value JSON cannot carry")
            return
        }
        #expect(!described.typeName.isEmpty)
        let error = await Self.failure { _ = try await bond.eval(s.unserializable, unserializable: .error) }
        guard case .serialization? = error as? BondError else { Issue.record("got \(String(describing: error))"); return }
        #expect(try await bond.call("inc", arguments: [bond.ref("6 * 7")]) == 43)
        #expect(try await bond.call("inc", arguments: [BondValue.int(1)], timeout: .seconds(30)) == 2)
        await bond.close()
    }

    /// The traffic log's `nest` across bonds is the blocking face's: Python -> Swift ->
    /// JavaScript -> Swift -> Python, each line at the same depth and nest on both faces.
    @Test func theTrafficNestIsTheBlockingFaces() async throws {
        func shape(_ traffic: [BondTraffic]) -> [String] {
            traffic.map { "\($0.bond) \($0.direction == .sent ? ">" : "<")\($0.depth) nest \($0.nest) \($0.line.prefix { $0 != " " })" }
        }
        // (In a function of its own: in an async one, these calls would be the async face's.)
        func blockingChain() throws -> [String] {
            let log = Collected()
            let (py, _) = try makeBond("Python") { $0.log = .handler { log.add($0) } }
            let (js, _) = try makeBond("JavaScript") { $0.log = .handler { log.add($0) } }
            defer {
                py.close()
                js.close()
            }
            try py.evalBlock("def pyf(x): return x + 1\n")
            try js.evalBlock("function jsback(x) { return pyf(x) * 10; }")
            try py.proxy("pyf", to: js)
            try js.proxy("jsback", to: py)
            log.reset()
            #expect(try py.eval("jsback(1)") == 20)
            return shape(log.traffic)
        }
        let blocking = try blockingChain()
        let log = Collected()
        let (py, _) = try await Self.start("Python") { $0.log = .handler { log.add($0) } }
        let (js, _) = try await Self.start("JavaScript") { $0.log = .handler { log.add($0) } }
        try await py.evalBlock("def pyf(x): return x + 1\n")
        try await js.evalBlock("function jsback(x) { return pyf(x) * 10; }")
        try await js.export("pyf") { args in try await py.call("pyf", values: args) }
        try await py.export("jsback") { args in try await js.call("jsback", values: args) }
        log.reset()
        #expect(try await py.eval("jsback(1)") == 20)
        #expect(shape(log.traffic) == blocking)
        #expect(blocking.contains("Python >2 nest 4 CALL"))
        await py.close()
        await js.close()
    }

    @Test(arguments: cases)
    func cancellingATaskInterruptsTheInterpreter(_ s: Snippets, _ place: Place) async throws {
        let (bond, _) = try await Self.start(s.language, place)
        let looping = Task { try await bond.evalBlock(s.busyLoop) }
        let running = Date().addingTimeInterval(20)
        while bond.state != .busy(depth: 1), Date() < running { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(300))  // (the loop runs)
        #expect(bond.state == .busy(depth: 1))
        let started = Date()
        looping.cancel()
        let error = await Self.failure { try await looping.value }
        #expect(error is CancellationError, "got \(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < Self.interruptTime(place))
        #expect(try await bond.eval("6 * 7") == 42)
        #expect(bond.state == .idle)
        await bond.close()
    }

    @Test(arguments: cases)
    func aTimeoutInterruptsAndTheBondGoesOn(_ s: Snippets, _ place: Place) async throws {
        let (bond, _) = try await Self.start(s.language, place)
        let started = Date()
        let error = await Self.failure { try await bond.evalBlock(s.busyLoop, timeout: .milliseconds(500)) }
        guard case .timeout(_, let seconds, let bondClosed)? = error as? BondError else {
            Issue.record("got \(String(describing: error))"); return
        }
        #expect(seconds == 0.5 && !bondClosed)
        // (Answered well before the grace period, 10 s here, would close the bond. The margin
        // is for this suite's parallel tests: when an interrupt lands before the busy loop has
        // begun it is lost, and while 64 bonds start beside it the repeats were seen to take
        // 5.6 s to get through, twice in about fifteen runs of the suite.)
        #expect(Date().timeIntervalSince(started) < 0.5 + Self.interruptTime(place) + 3)
        #expect(try await bond.eval("6 * 7", timeout: .seconds(5)) == 42)
        await bond.close()
    }

    /// Code that catches the interrupt and goes on: after the grace period the bond is closed
    /// (JavaScript's interrupt ends the script: it cannot be caught).
    static let stubborn: [String: String] = [
        "Python": "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass\n",
        "PHP": "while (true) { try { sleep(10); } catch (\\Throwable $e) {} }",
        "Perl": "while (1) { eval { sleep 10 }; }",
    ]

    @Test(arguments: ["Python", "PHP", "Perl"].flatMap { l in places.map { (l, $0) } })
    func anInterpreterThatIgnoresTheInterruptIsClosed(_ language: String, _ place: Place) async throws {
        let (bond, collected) = try await Self.start(language, place) { $0.interruptGracePeriod = .milliseconds(500) }
        let (other, _) = try await Self.start(language, place)
        let error = await Self.failure { try await bond.evalBlock(Self.stubborn[language]!, timeout: .milliseconds(300)) }
        guard case .timeout(_, _, let bondClosed)? = error as? BondError else {
            Issue.record("got \(String(describing: error))"); return
        }
        #expect(bondClosed)
        #expect(collected.waitFor { $0.stderr.contains("did not answer the interrupt") })
        let deadline = Date().addingTimeInterval(10)
        while bond.isAlive, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!bond.isAlive)
        let later = await Self.failure { _ = try await bond.eval("1") }
        #expect(later is BondError)
        #expect(try await other.eval("1 + 1") == 2)  // another bond is not touched
        await other.close()
    }

    /// The interpreter (or, over ssh, the link) dies while calls wait, at several depths:
    /// every waiting call fails at once with `.terminated`; another bond goes on.
    @Test(arguments: places)
    func aDeathFailsEveryWaitingCallAtOnce(_ place: Place) async throws {
        let (py, _) = try await Self.start("Python", place)
        let (other, _) = try await Self.start("Python", place)
        try await py.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
        try await py.export("nested") { _ async throws -> BondValue in try await py.call("slow", 30) }
        let outer = Task { try await py.eval("nested()") }
        // (`queued` is made once `outer` is in: two tasks made together reach the bond in
        // either order, and `queued` first would be answered before `outer` is sent.)
        let sent = Date().addingTimeInterval(5)
        while py.state == .idle, Date() < sent { try await Task.sleep(for: .milliseconds(5)) }
        let queued = Task { try await py.call("slow", 1) }
        try await Task.sleep(for: .milliseconds(700))
        #expect(py.state == .busy(depth: 2))  // (requests open: the callback between them is not counted)
        let started = Date()
        kill(py.processID, SIGKILL)  // (over ssh: the local ssh client, so the link)
        for task in [outer, queued] {
            let error = await Self.failure { _ = try await task.value }
            guard case .terminated? = error as? BondError else { Issue.record("got \(String(describing: error))"); continue }
        }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(!py.isAlive)
        #expect(try await other.eval("1 + 1") == 2)
        await other.close()
    }

    // MARK: Exports, nesting, chains

    @Test(arguments: cases)
    func asyncExportsChainAcrossBondsAndBack(_ s: Snippets, _ place: Place) async throws {
        // A -> Swift -> B -> Swift -> A, with A each language and B the next one.
        let other = Self.main[(Self.main.firstIndex { $0.language == s.language }! + 1) % Self.main.count]
        let (a, _) = try await Self.start(s.language, place)
        let (b, _) = try await Self.start(other.language, place)
        try await a.evalBlock(s.defineInc)
        try await a.export("to_b") { args async throws -> BondValue in
            try await Task.sleep(for: .milliseconds(1))
            return try await b.call("from_a", args[0])
        }
        try await b.export("from_a") { args async throws -> BondValue in
            try await a.call("inc", args[0])  // back into A, which waits in to_b's CALL
        }
        #expect(try await a.call("to_b", 41) == 42)
        #expect(try await a.eval("to_b(1)") == 2)
        #expect(a.state == .idle && b.state == .idle)
        await a.close()
        await b.close()
    }

    /// The blocking API's documented deadlock: two conversations, each calling into the other's
    /// bond. Here the request that comes while a bond waits for a callback is nested: both
    /// orders.
    @Test(arguments: [false, true])
    func twoConversationsCallingIntoEachOtherDoNotDeadlock(_ pythonFirst: Bool) async throws {
        let (py, _) = try await Self.start("Python")
        let (js, _) = try await Self.start("JavaScript")
        try await py.evalBlock("def double(x):\n    return 2 * x\n")
        try await js.evalBlock("function triple(x) { return 3 * x; }")
        try await py.export("ask_js") { args async throws -> BondValue in
            try await Task.sleep(for: .milliseconds(200))  // (so that both conversations are open)
            return try await js.call("triple", args[0])
        }
        try await js.export("ask_py") { args async throws -> BondValue in
            try await Task.sleep(for: .milliseconds(200))
            return try await py.call("double", args[0])
        }
        async let first = pythonFirst ? py.call("ask_js", 5) : js.call("ask_py", 5)
        try await Task.sleep(for: .milliseconds(50))
        async let second = pythonFirst ? js.call("ask_py", 7) : py.call("ask_js", 7)
        let (x, y) = try await (first, second)
        #expect(pythonFirst ? (x == 15 && y == 14) : (x == 10 && y == 21))
        await py.close()
        await js.close()
    }

    /// A request from another task while the bond waits for a callback is served at once, as a
    /// nested request; and a callback that returns while such a request runs waits for its reply.
    @Test(arguments: places)
    func anotherTasksRequestIsNestedInAWaitingCallback(_ place: Place) async throws {
        let (py, _) = try await Self.start("Python", place)
        try await py.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
        let events = Collected()
        try await py.export("wait_in_swift") { args async throws -> BondValue in
            try await Task.sleep(for: .milliseconds(args[0].intValue!))
            events.add(.stdout, "callback returns\n")
            return "from swift"
        }
        // Order 1: the nested request ends first.
        async let outer = py.eval("wait_in_swift(500) + ' and back'")
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await py.eval("1 + 1") == 2)
        events.add(.stdout, "nested answered\n")
        #expect(try await outer == "from swift and back")
        #expect(events.stdout == "nested answered\ncallback returns\n")
        // Order 2: the callback returns while the nested request still runs.
        events.reset()
        async let outer2 = py.eval("wait_in_swift(100) + ' again'")
        try await Task.sleep(for: .milliseconds(50))
        let nested = try await py.call("slow", 0.5)
        events.add(.stdout, "nested answered\n")
        #expect(nested == 0.5)
        #expect(try await outer2 == "from swift again")
        #expect(events.stdout == "callback returns\nnested answered\n")
        #expect(py.state == .idle)
        await py.close()
    }

    /// Cancelling the top of a chain interrupts the innermost interpreter running code; the
    /// chain unwinds with `CancellationError`, and both bonds go on at depth one.
    @Test(arguments: cases)
    func cancellingAChainInterruptsTheInnermostInterpreter(_ s: Snippets, _ place: Place) async throws {
        let inner = Self.main[(Self.main.firstIndex { $0.language == s.language }! + 1) % Self.main.count]
        let (a, _) = try await Self.start(s.language, place)
        let (b, _) = try await Self.start(inner.language, place)
        try await a.export("into_b") { _ async throws -> BondValue in
            try await b.evalBlock(inner.busyLoop)
            return 0
        }
        let chain = Task { try await a.eval("into_b()") }
        let running = Date().addingTimeInterval(20)
        while !(a.state == .busy(depth: 1) && b.state == .busy(depth: 1)), Date() < running {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))  // (b runs its loop)
        #expect(a.state == .busy(depth: 1) && b.state == .busy(depth: 1))
        let started = Date()
        chain.cancel()
        let error = await Self.failure { _ = try await chain.value }
        if ProcessInfo.processInfo.environment["BOND_TRACE_CHAIN"] != nil { Swift.print("chain \(s.language): unwound") }
        #expect(error is CancellationError, "got \(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 1 + Self.interruptTime(place))
        #expect(a.state == .idle && b.state == .idle)
        #expect(try await a.eval("6 * 7", timeout: .seconds(20)) == 42)
        #expect(try await b.eval("6 * 7", timeout: .seconds(20)) == 42)
        await a.close()
        await b.close()
    }

    /// The blocking face waits while the async face holds the bond, and the other way round.
    @Test func theTwoFacesTakeTurns() async throws {
        let (py, _) = try await Self.start("Python")
        try await py.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
        let blocking = Task.detached { () throws(BondError) -> BondValue in try py.call("slow", 0.3) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await py.call("slow", 0.1) == 0.1)
        #expect(try await blocking.value == 0.3)
        await py.close()
    }

    // MARK: Streams

    @Test(arguments: places)
    func everyConsumerOfAStreamGetsEveryElement(_ place: Place) async throws {
        let (py, _) = try await Self.start("Python", place)
        var first = py.output.makeAsyncIterator()
        var second = py.output.makeAsyncIterator()
        var states = py.states.makeAsyncIterator()
        var traffic = py.traffic.makeAsyncIterator()
        try await py.evalBlock("for i in range(3):\n    print(i)\n")
        for iterator in [0, 1] {
            var text = ""
            while text != "0\n1\n2\n" {
                guard let chunk = await (iterator == 0 ? first.next() : second.next()) else { break }
                text += chunk.text
            }
            #expect(text == "0\n1\n2\n")
        }
        #expect(await states.next() == .busy(depth: 1))
        #expect(await states.next() == .idle)
        #expect(await traffic.next()?.line.hasPrefix("EVAL_BLOCK ") == true)
        // A consumer that does not keep up loses the oldest of what it did not take, counted.
        try await py.evalBlock("for i in range(5000):\n    print(i, flush=True)\n")
        var lines = 0, last = ""
        while !last.contains("4999") {
            guard let chunk = await first.next() else { break }
            lines += chunk.text.split(separator: "\n").count
            last = chunk.text
        }
        #expect(lines < 5000 && py.output.dropped > 0)
        await py.close()
        #expect(await second.next() == nil || true)  // (what was buffered, then the end)
        var ended = false
        while await states.next() != nil {}
        ended = true
        #expect(ended)
    }

    // MARK: Thread switches

    /// A stream of async calls does not preempt the interpreter at each frame: the background
    /// reader, while a task reads the replies for itself, parks rather than sitting in `poll`,
    /// where each frame the interpreter wrote woke it (in vain: the task took the frame) onto
    /// the interpreter's processor (docs/performance.md, "Ruby's async callbacks"). Counted on
    /// the interpreter's side, its involuntary switches: 0.2 to 0.7 a call before (2 049 to 7 336
    /// in 10 000), 1 to 9 in 10 000 after. Other processes preempt it too (other tests of this
    /// suite run at the same time): what is counted is the excess over a stream of blocking
    /// calls on the same bond just after (that face never had the fault), the best of up to
    /// five rounds.
    @Test func aStreamOfAsyncCallsDoesNotPreemptTheInterpreter() async throws {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }  // (no brief reads on one processor)
        let bond = try await Bond.start(language: "Ruby", options: .with { $0.output = .discard })
        try await bond.evalBlock("def ident(x)\n  x\nend")
        let calls = 10_000
        var fewest = Int.max
        var seen: [String] = []
        for _ in 0..<5 where fewest >= calls / 10 {
            let start = try Self.involuntarySwitches(of: bond.processID)
            for i in 0..<calls { _ = try await bond.call("ident", i) }
            let afterAsync = try Self.involuntarySwitches(of: bond.processID)
            try Self.blockingCalls(bond, calls)
            let afterBlocking = try Self.involuntarySwitches(of: bond.processID)
            let (async, blocking) = (afterAsync - start, afterBlocking - afterAsync)
            seen.append("\(async) async, \(blocking) blocking")
            fewest = min(fewest, async - blocking)
        }
        #expect(fewest < calls / 10, "involuntary switches of the interpreter in \(calls) calls: \(seen.joined(separator: "; "))")
        await bond.close()
    }

    /// `count` calls of `ident` on the blocking face (from a synchronous function: the async
    /// context would pick the async face).
    static func blockingCalls(_ bond: Bond, _ count: Int) throws {
        for i in 0..<count { _ = try bond.call("ident", i) }
    }

    /// How often the main thread of process `pid` was preempted (Linux's `/proc`).
    static func involuntarySwitches(of pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("nonvoluntary_ctxt_switches:") }
        return Int(line?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
    }

    // MARK: No thread blocked

    /// 64 calls of `slow(2)` in flight on 64 bonds from 64 tasks: a trivial task on the
    /// cooperative pool still completes within 100 ms.
    @Test func noThreadIsBlockedWhileCallsWait() async throws {
        let bonds = try await withThrowingTaskGroup(of: Bond.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    let bond = try await Bond.start(language: "Python", options: .with { $0.output = .discard })
                    try await bond.evalBlock("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n")
                    return bond
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let calls = bonds.map { bond in Task { try await bond.call("slow", 2) } }
        try await Task.sleep(for: .milliseconds(300))
        #expect(bonds.allSatisfy { $0.state == .busy(depth: 1) })
        let started = ContinuousClock.now
        let trivial = await Task { 6 * 7 }.value
        let took = ContinuousClock.now - started
        #expect(trivial == 42 && took < .milliseconds(100), "took \(took)")
        for call in calls { #expect(try await call.value == 2) }
        await withTaskGroup(of: Void.self) { group in
            for bond in bonds { group.addTask { await bond.close() } }
        }
    }
}
