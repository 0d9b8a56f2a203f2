import Bond
import Foundation
import OrderedCollections

/// How a step of a transcript ended.
public enum StepResult: Sendable, Equatable {
    case value(BondValue)
    case ok
    case error(String)

    public var brief: String {
        switch self {
        case .value(let v): "= " + Self.cut(v.description)
        case .ok: "ok"
        case .error(let e): "✗ " + Self.cut(e)
        }
    }

    static func cut(_ s: String) -> String {
        let one = s.replacingOccurrences(of: "\n", with: "⏎")
        return one.count > 160 ? String(one.prefix(159)) + "…" : one
    }
}

/// One request of a pane's transcript (what `transcript save` writes, one JSON line each).
public struct Step: Sendable, Equatable {
    public static let maximumOutputBytes = 65_536
    public var request: Request
    public var output = ""
    public var result: StepResult?

    public init(request: Request, output: String = "", result: StepResult? = nil) {
        self.request = request
        self.output = output
        self.result = result
    }

    public var kind: String {
        switch request {
        case .eval: "eval"
        case .run: "run"
        case .block, .startup: "block"
        case .call: "call"
        default: "other"
        }
    }

    /// The step as people read it: the code, or `NAME ARG ...` of a call.
    public var input: String {
        switch request {
        case .eval(let code), .run(let code), .block(let code), .startup(let code): return code
        case .call(let name, let arguments):
            return ([name] + arguments.map {
                switch $0 {
                case .value(let v): v.description
                case .ref(let code): "@(\(code))"
                }
            }).joined(separator: " ")
        default: return ""
        }
    }

    public func jsonLine(number: Int, pane: String, language: String) -> String {
        var fields: OrderedDictionary<String, BondValue> = [
            "step": .int(number), "pane": .string(pane), "language": .string(language), "kind": .string(kind),
            "input": .string(input),
        ]
        if case .call(let name, let arguments) = request {
            fields["function"] = .string(name)
            fields["arguments"] = .array(arguments.map {
                switch $0 {
                case .value(let v): .object(["value": v])
                case .ref(let code): .object(["ref": .string(code)])
                }
            })
        }
        fields["output"] = .string(output)
        switch result {
        case .value(let v): fields["value"] = v
        case .ok: fields["ok"] = .bool(true)
        case .error(let e): fields["error"] = .string(e)
        case nil: fields["unfinished"] = .bool(true)
        }
        return BondValue.object(fields).description
    }
}

/// What a replayed step is compared with.
public enum ReplayExpectation: Sendable, Equatable {
    /// From a transcript: the result and the output.
    case result(StepResult, output: String)
    /// From a log: the reply frame (verb and payload).
    case reply(verb: String, payload: String)
}

public struct ReplayStep: Sendable, Equatable {
    public var number: Int
    public var request: Request
    public var expected: ReplayExpectation
}

/// A replay running in a fresh pane.
public struct ReplayRun: Sendable, Equatable {
    public var source: String
    public var steps: [ReplayStep]
    public var next = 0
    public var same = 0
    public var differ = 0
    /// The `seq` of the request frame of the step running (log replays compare its reply).
    public var waitingFrom: Int?
    public var report: [String] = []
    public var reportPath: String?
}

public enum ReplayFile {
    /// Reads a transcript (`transcript save`) or a log (`log save`): the steps per pane name,
    /// with the pane's language, in the order of the file.
    public static func parse(_ text: String) throws(ParseError) -> [(pane: String, language: String, steps: [ReplayStep])] {
        var lines: [OrderedDictionary<String, BondValue>] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard case .object(let o)? = try? JSONText.parse(String(line)) else { throw ParseError("line \(n + 1) is not a JSON object") }
            lines.append(o)
        }
        guard let first = lines.first else { throw ParseError("the file is empty") }
        var panes: OrderedDictionary<String, (language: String, steps: [ReplayStep])> = [:]
        func add(_ pane: String, _ language: String, _ step: ReplayStep) {
            panes[pane, default: (language, [])].steps.append(step)
        }
        if first["kind"] != nil {
            for (n, o) in lines.enumerated() {
                guard let pane = o["pane"]?.stringValue, let language = o["language"]?.stringValue,
                    let kind = o["kind"]?.stringValue, let input = o["input"]?.stringValue
                else { throw ParseError("line \(n + 1): pane, language, kind and input are needed") }
                let request: Request
                switch kind {
                case "eval": request = .eval(input)
                case "run": request = .run(input)
                case "block": request = .block(input)
                case "call":
                    guard let name = o["function"]?.stringValue, let args = o["arguments"]?.arrayValue else {
                        throw ParseError("line \(n + 1): a call needs function and arguments")
                    }
                    request = .call(name: name, arguments: args.map {
                        if let code = $0["ref"]?.stringValue { return .ref(code) }
                        return .value($0["value"] ?? .null)
                    })
                default: throw ParseError("line \(n + 1): unknown kind \"\(kind)\"")
                }
                let result: StepResult
                if let v = o["value"] {
                    result = .value(v)
                } else if let e = o["error"]?.stringValue {
                    result = .error(e)
                } else if o["ok"]?.boolValue == true {
                    result = .ok
                } else {
                    continue  // unfinished: nothing to compare with
                }
                let number = o["step"]?.intValue ?? n + 1
                add(pane, language, ReplayStep(number: number, request: request,
                                               expected: .result(result, output: o["output"]?.stringValue ?? "")))
            }
        } else if first["verb"] != nil {
            var bySeq: [Int: OrderedDictionary<String, BondValue>] = [:]
            for o in lines { if let s = o["seq"]?.intValue { bySeq[s] = o } }
            var number = 0
            for o in lines {
                guard o["dir"]?.stringValue == "sent", (o["nest"]?.intValue ?? ((o["depth"]?.intValue ?? 1) - 1)) == 0,
                    let verb = o["verb"]?.stringValue, ["EVAL", "EVAL_BLOCK", "RUN", "CALL", "XCALL"].contains(verb),
                    let pane = o["pane"]?.stringValue, let language = o["language"]?.stringValue,
                    let line = o["line"]?.stringValue, o["truncated"] == nil,
                    let pair = o["pair"]?.intValue, let reply = bySeq[pair], let replyVerb = reply["verb"]?.stringValue,
                    let replyLine = reply["line"]?.stringValue
                else { continue }
                let payload = String(line.dropFirst(verb.count).drop { $0 == " " })
                guard let value = try? JSONText.parse(payload) else { continue }
                let request: Request
                switch verb {
                case "EVAL", "EVAL_BLOCK":
                    guard let code = value.stringValue else { continue }
                    request = verb == "EVAL" ? .eval(code) : .block(code)
                case "RUN":
                    guard let code = value["code"]?.stringValue else { continue }
                    request = .run(code)
                case "CALL":
                    guard let name = value[0]?.stringValue, let args = value[1]?.arrayValue else { continue }
                    request = .call(name: name, arguments: args.map { .value($0) })
                default:  // XCALL: [name, [[is_ref, value or code], ...]]
                    guard let name = value[0]?.stringValue, let args = value[1]?.arrayValue else { continue }
                    request = .call(name: name, arguments: args.map {
                        $0[0]?.boolValue == true || $0[0]?.intValue == 1 ? .ref($0[1]?.stringValue ?? "") : .value($0[1] ?? .null)
                    })
                }
                number += 1
                let replyPayload = String(replyLine.dropFirst(replyVerb.count).drop { $0 == " " })
                add(pane, language, ReplayStep(number: number, request: request,
                                               expected: .reply(verb: replyVerb, payload: replyPayload)))
            }
        } else {
            throw ParseError("neither a transcript (transcript save) nor a log (log save)")
        }
        return panes.map { (pane: $0.key, language: $0.value.language, steps: $0.value.steps) }
    }
}

extension AppState {
    /// `transcript save [PANE] FILE`: the pane's requests and results as JSON lines.
    mutating func saveTranscript(_ text: String) -> [Effect] {
        let words = text.split(separator: " ", maxSplits: 1).map(String.init)
        var i = focusedIndex
        var path = text
        if words.count == 2, let p = pane(named: words[0]), let k = index(of: p.id) {
            i = k
            path = words[1].trimmingSpaces
        }
        guard let i, !path.isEmpty else {
            flash = "usage: transcript save [PANE] FILE"
            return []
        }
        let p = panes[i]
        let lines = p.steps.enumerated().map { $1.jsonLine(number: $0 + 1, pane: p.name, language: p.language) }
        return [.saveLog(path: path, lines: lines)]
    }

    /// `replay FILE [--report OUT]`: runs the file's steps in fresh panes and compares.
    mutating func replayCommand(_ text: String) -> [Effect] {
        var path = text
        var report: String?
        if let r = text.range(of: " --report ") {
            path = String(text[..<r.lowerBound]).trimmingSpaces
            report = String(text[r.upperBound...]).trimmingSpaces
        }
        guard !path.isEmpty else {
            flash = "usage: replay FILE [--report OUT]"
            return []
        }
        return [.readFile(path: path, purpose: .replay(report: report))]
    }

    mutating func startReplay(source: String, text: String, report: String?) -> [Effect] {
        let plan: [(pane: String, language: String, steps: [ReplayStep])]
        do { plan = try ReplayFile.parse(text) } catch {
            flash = "replay \(source): \(error.message)"
            return []
        }
        guard !plan.isEmpty else {
            flash = "replay \(source): no request to replay"
            return []
        }
        var effects: [Effect] = []
        for (pane, language, steps) in plan {
            let before = panes.count
            effects += addPanes([PaneSpec(name: replayName(pane), language: language)])
            guard panes.count > before else { continue }
            let i = panes.count - 1
            var run = ReplayRun(source: source, steps: steps)
            run.reportPath = report
            replays[panes[i].id] = run
            append(i, .info, "replay of \(pane) from \(source): \(steps.count) steps against a fresh \(language) bond")
            focus = .pane(panes[i].id)
            effects += nextReplayStep(i)
        }
        for j in panes.indices { clampScroll(j) }
        return effects
    }

    func replayName(_ pane: String) -> String {
        var name = "\(pane)-replay"
        var n = 2
        while self.pane(named: name) != nil {
            name = "\(pane)-replay\(n)"
            n += 1
        }
        return name
    }

    /// Sends the next step of the replay in pane `i`, or reports the end.
    mutating func nextReplayStep(_ i: Int) -> [Effect] {
        let id = panes[i].id
        guard var run = replays[id] else { return [] }
        guard run.next < run.steps.count else {
            let summary = "replay: \(run.steps.count) steps, \(run.same) same, \(run.differ) differ"
            append(i, run.differ == 0 ? .value : .error, summary)
            flash = summary + " (\(run.source))"
            replays[id] = nil
            if let path = run.reportPath {
                return [.saveLog(path: path, lines: run.report + [BondValue.object([
                    "summary": .string(summary), "steps": .int(run.steps.count), "same": .int(run.same), "differ": .int(run.differ),
                ]).description])]
            }
            return []
        }
        let step = run.steps[run.next]
        run.waitingFrom = log.nextSeq
        replays[id] = run
        let kind: SubmitKind
        switch step.request {
        case .block: kind = .block
        case .call: kind = .call
        case .run: kind = .run
        default: kind = .eval
        }
        append(i, .info, "step \(step.number)")
        if case .call(let name, let arguments) = step.request {
            append(i, .input, "call " + Step(request: step.request).input)
            panes[i].recordStep(step.request)
            return send(i, .call(name: name, arguments: arguments))
        }
        return perform(i, kind: kind, text: Step(request: step.request).input)
    }

    /// A replayed step ended: compare, report, go on.
    mutating func replayResult(_ i: Int, outcome: Outcome, step recorded: Step?) -> [Effect] {
        let id = panes[i].id
        guard var run = replays[id], run.next < run.steps.count else { return [] }
        let step = run.steps[run.next]
        var differences: [String] = []
        var expectedText = "", gotText = ""
        switch step.expected {
        case .result(let expected, let output):
            let got = recorded?.result ?? .error("no result")
            if got != expected { differences.append("result") }
            if (recorded?.output ?? "") != output { differences.append("output") }
            expectedText = expected.brief + (differences.contains("output") ? " output \(StepResult.cut(output).debugDescription)" : "")
            gotText = got.brief + (differences.contains("output") ? " output \(StepResult.cut(recorded?.output ?? "").debugDescription)" : "")
        case .reply(let verb, let payload):
            // The reply frame of this pane's request, from the log.
            let from = run.waitingFrom ?? 0
            var reply: LogEntry?
            var s = log.nextSeq - 1
            while s >= max(from, log.firstSeq) {
                if let e = log.entry(s), e.pane == id, e.isReply, e.indent == 0 { reply = e; break }
                s -= 1
            }
            let gotVerb = reply?.verb ?? "(no reply)"
            let gotPayload = reply.map { String($0.payload) } ?? ""
            let samePayload = (try? JSONText.parse(payload)) == (try? JSONText.parse(gotPayload)) || payload == gotPayload
            if gotVerb != verb || !samePayload { differences.append("reply") }
            expectedText = StepResult.cut("\(verb) \(payload)")
            gotText = StepResult.cut("\(gotVerb) \(gotPayload)")
        }
        let same = differences.isEmpty
        if same {
            run.same += 1
            append(i, .info, "step \(step.number): same (\(expectedText))")
        } else {
            run.differ += 1
            append(i, .error, "step \(step.number) differs (\(differences.joined(separator: ", "))):\nexpected \(expectedText)\ngot      \(gotText)")
        }
        run.report.append(BondValue.object([
            "step": .int(step.number), "input": .string(Step(request: step.request).input), "same": .bool(same),
            "expected": .string(expectedText), "got": .string(gotText),
        ]).description)
        run.next += 1
        replays[id] = run
        return nextReplayStep(i)
    }
}
