import Bond
import Foundation
import Testing
@testable import Workbench
@testable import bond_workbench

/// The workbench's executor against real interpreters: one lane (task) per start of a pane,
/// none kept for a generation that is over, and calls through wires on the async face.
@Suite(.serialized) struct ExecutorTests {
    /// The executor with the loop's side played by the test: messages are collected, and a
    /// pane is settled once its `.started` was seen (as the event loop does).
    final class Harness: Sendable {
        let queue = MessageQueue()
        let executor: Executor
        private let seen = Locked<[Message]>([])

        init() { executor = Executor(queue: queue, timeout: nil, stateDirectory: nil) }

        func run(_ effects: Effect...) { for effect in effects { executor.run(effect) } }

        /// Waits for the first message (since the last one taken) that `match` picks.
        func next<T>(within seconds: Double = 20, _ match: (Message) -> T?) async throws -> T {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                let found = seen.withLock { messages -> T? in
                    messages += queue.drain()
                    guard let k = messages.firstIndex(where: { match($0) != nil }) else { return nil }
                    return match(messages.remove(at: k))
                }
                if let found { return found }
                try await Task.sleep(for: .milliseconds(5))
            }
            throw Timeout(messages: seen.withLock { $0.suffix(12).map { String(describing: $0) } })
        }

        /// What was waited for did not come; the last messages that came instead.
        struct Timeout: Error {
            let messages: [String]
        }

        func start(_ pane: Int, _ generation: Int, _ language: String = "Python") async throws {
            run(.start(pane: pane, generation: generation, name: "p\(pane)", language: language, command: nil))
            _ = try await next {
                if case .started(pane, generation, _, _) = $0 { true } else { nil }
            }
            executor.settled(pane: pane)
        }

        func result(_ pane: Int, _ generation: Int, within seconds: Double = 20) async throws -> Outcome {
            try await next(within: seconds) {
                if case .result(pane, generation, _, let outcome) = $0 { outcome } else { nil }
            }
        }

        func ask(_ pane: Int, _ generation: Int, _ request: Request) async throws -> Outcome {
            run(.request(pane: pane, generation: generation, request))
            return try await result(pane, generation)
        }

        /// Waits until `laneCount` is `count` (lanes end once their last job is done).
        func lanes(become count: Int) async throws -> Int {
            let end = Date().addingTimeInterval(10)
            while executor.laneCount != count && Date() < end { try await Task.sleep(for: .milliseconds(10)) }
            return executor.laneCount
        }

        func quit() async throws {
            run(.quit)
            _ = try await next { if case .allClosed = $0 { true } else { nil } }
        }
    }

    @Test func restartsKeepOneLanePerPane() async throws {
        let h = Harness()
        try await h.start(1, 0)
        #expect(try await h.ask(1, 0, .eval("1 + 1")) == .value(2))
        // Restarts of a live pane (close, then start) and of a dead one (start alone).
        for generation in 1...6 {
            if generation == 4 {
                h.run(.request(pane: 1, generation: 3, .block("import os\nos._exit(3)")))
                _ = try await h.next { if case .died(1, 3, _, _) = $0 { true } else { nil } }
            } else {
                h.run(.close(pane: 1, generation: generation - 1))
            }
            try await h.start(1, generation)
            #expect(try await h.ask(1, generation, .eval("\(generation) * 2")) == .value(.int(generation * 2)))
        }
        #expect(try await h.lanes(become: 1) == 1)
        h.run(.close(pane: 1, generation: 6))
        _ = try await h.next { if case .closed(1, 6) = $0 { true } else { nil } }
        #expect(try await h.lanes(become: 0) == 0)
        try await h.quit()
    }

    @Test func aRequestOfAClosedPaneFailsAtOnce() async throws {
        let h = Harness()
        try await h.start(1, 0)
        h.run(.close(pane: 1, generation: 0))
        guard case .failure(let text) = try await h.ask(1, 0, .eval("1")) else {
            Issue.record("a request of a closed pane did not fail")
            return
        }
        #expect(text.contains("has no running bond"))
        try await h.quit()
    }

    /// The blocking face's deadlock: two panes, each running a request that calls the other
    /// pane's function through a wire, at the same time. On the async face each bond serves
    /// the other's call as a nested request.
    @Test func panesCallingEachOtherAtOnceDoNotDeadlock() async throws {
        let h = Harness()
        try await h.start(1, 0)
        try await h.start(2, 0, "JavaScript")
        #expect(try await h.ask(1, 0, .block("import time\ndef one(x):\n    time.sleep(0.5)\n    return x * 3\n")) == .done)
        #expect(try await h.ask(2, 0, .block("function two(x) { const end = Date.now() + 500; while (Date.now() < end) {} return x * 2; }")) == .done)
        #expect(try await h.ask(1, 0, .proxy(source: 2, function: "two", name: "call_two"))
            == .proxied(Wire(source: 2, function: "two", target: 1, name: "call_two")))
        #expect(try await h.ask(2, 0, .proxy(source: 1, function: "one", name: "call_one"))
            == .proxied(Wire(source: 1, function: "one", target: 2, name: "call_one")))
        h.run(.request(pane: 1, generation: 0, .eval("call_two(5) + 100")),
              .request(pane: 2, generation: 0, .eval("call_one(5) + 100")))
        #expect(try await h.result(1, 0, within: 15) == .value(110))
        #expect(try await h.result(2, 0, within: 15) == .value(115))
        try await h.quit()
    }

    /// A chain through wires: pane 1 -> Swift -> pane 2 -> Swift -> pane 1, and the interrupt
    /// of the innermost interpreter unwinds it with that interpreter's own error.
    @Test func aChainThroughWiresRunsAndUnwindsOnInterrupt() async throws {
        let h = Harness()
        try await h.start(1, 0)
        try await h.start(2, 0)
        #expect(try await h.ask(1, 0, .block("import time\ndef inner(x):\n    return x + 1\ndef slow():\n    time.sleep(30)\n")) == .done)
        #expect(try await h.ask(2, 0, .block("def middle(x):\n    return call_inner(x) * 10\ndef stuck():\n    return call_slow()\n")) == .done)
        _ = try await h.ask(1, 0, .proxy(source: 2, function: "middle", name: "call_middle"))
        _ = try await h.ask(1, 0, .proxy(source: 2, function: "stuck", name: "call_stuck"))
        _ = try await h.ask(2, 0, .proxy(source: 1, function: "inner", name: "call_inner"))
        _ = try await h.ask(2, 0, .proxy(source: 1, function: "slow", name: "call_slow"))
        #expect(try await h.ask(1, 0, .eval("call_middle(4)")) == .value(50))
        // Pane 1 -> pane 2 -> pane 1's slow(): interrupting pane 1 (the innermost) unwinds all.
        h.run(.request(pane: 1, generation: 0, .eval("call_stuck()")))
        try await Task.sleep(for: .milliseconds(700))
        h.run(.interrupt(pane: 1, generation: 0))
        guard case .failure(let text) = try await h.result(1, 0, within: 10) else {
            Issue.record("the interrupted chain did not fail")
            return
        }
        #expect(text.contains("KeyboardInterrupt"))
        #expect(try await h.ask(2, 0, .eval("middle(1)")) == .value(20))
        try await h.quit()
    }

    /// A call through a wire into a pane that is starting waits until its start-up block is
    /// on its bond's stack, so it runs after the definitions the block makes.
    @Test func aCallThroughAWireWaitsForTheSourcesStartupBlock() async throws {
        let h = Harness()
        try await h.start(2, 0)
        // Pane 1 starts; pane 2 gets a wire to pane 1's `late`, which its start-up block defines.
        h.run(.start(pane: 1, generation: 0, name: "p1", language: "Python", command: nil))
        #expect(try await h.ask(2, 0, .proxy(source: 1, function: "late", name: "call_late"))
            == .proxied(Wire(source: 1, function: "late", target: 2, name: "call_late")))
        h.run(.request(pane: 2, generation: 0, .eval("call_late(2)")))
        _ = try await h.next { if case .started(1, 0, _, _) = $0 { true } else { nil } }
        try await Task.sleep(for: .milliseconds(300))  // (the call is waiting meanwhile)
        h.run(.request(pane: 1, generation: 0, .startup("import time\ntime.sleep(0.3)\ndef late(x):\n    return x * 21\n")))
        h.executor.settled(pane: 1)
        #expect(try await h.result(2, 0) == .value(42))
        #expect(try await h.result(1, 0) == .done)
        try await h.quit()
    }
}
