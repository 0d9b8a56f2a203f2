import Bond
import Foundation

/// A host group (`bond-workbench --hosts h1,h2,h3 Python`): one pane per host, each a plain
/// bond of its own (started, restarted, interrupted and wired as any pane), and this record of
/// what makes them a group: the hosts, the language, the ssh command, and the definitions
/// broadcast to the group, which every member runs at each start so that a host brought back
/// catches up with its peers (as `BondGroup.restart(host:)` replays the group's blocks).
public struct HostGroup: Sendable, Equatable {
    /// The group's name: its hosts, joined by commas (each member pane's `group`).
    public var name: String
    public var language: String
    /// ssh destinations, in order.
    public var hosts: [String]
    /// The ssh command line each pane starts with (`ssh -F lab/ssh_config`).
    public var ssh: String
    /// The interpreter's program on each host (`python3`).
    public var program: String
    /// Definitions broadcast to the group that ran on a host without error: run at every start
    /// of every member, after the pane's own start-up entries.
    public var entries: [StartupEntry] = []

    public init(hosts: [String], language: String, ssh: String, program: String) throws(ParseError) {
        guard !hosts.isEmpty else { throw ParseError("--hosts: no host given") }
        guard Set(hosts).count == hosts.count else { throw ParseError("--hosts: a host is named twice") }
        self.name = hosts.joined(separator: ",")
        self.language = language
        self.hosts = hosts
        self.ssh = ssh
        self.program = program
    }

    /// A pane per host, each started by `ssh HOST PROGRAM`, named after the host.
    public var specs: [PaneSpec] {
        let specs = (try? PaneSpec.hostGroup(hosts: hosts, language: language, ssh: ssh, program: program)) ?? []
        return specs.map { spec in
            var spec = spec
            spec.group = name
            return spec
        }
    }
}

/// How one host answered the group's last broadcast input.
public enum GroupAnswer: Sendable, Equatable {
    /// Sent to the pane's bond of this generation; no answer yet.
    case waiting(generation: Int)
    /// Not sent, and why: `the pane was dead (exit status 255)`, `the input was refused (see the pane)`.
    case notSent(reason: String)
    /// A value, on one line.
    case value(String)
    /// What JSON cannot carry, as the interpreter describes it.
    case description(text: String, type: String)
    /// It ran, and ended with a statement (no value).
    case done
    /// The interpreter raised an error.
    case failure(String)
    /// The interpreter (or the link to its host) ended while it ran.
    case terminated(String)

    var isFailure: Bool {
        switch self {
        case .notSent, .failure, .terminated: true
        default: false
        }
    }
}

/// The last input broadcast to a group, and each member's answer (by pane id).
public struct GroupRound: Sendable, Equatable {
    public var number: Int
    public var input: String
    public var answers: [Int: GroupAnswer] = [:]
    /// What each host printed while it ran the input (its last `outputLimit` bytes).
    public var output: [Int: String] = [:]
    /// Output kept per host: the view shows a few rows of it; the pane has it all.
    static let outputLimit = 8192
}

/// A round's request to a pane, not answered yet (a pane answers its requests in order).
struct AwaitedAnswer: Sendable, Equatable {
    var group: String
    var round: Int
    var generation: Int
    var request: Request
}

/// The host groups of the workbench: their records, their last broadcast rounds, the view.
public struct HostGroups: Sendable {
    public var records: [HostGroup] = []
    /// The groups whose input goes to every pane of the group (the `broadcast` key).
    public var broadcasting: Set<String> = []
    /// The last round of each group, by name.
    public var rounds: [String: GroupRound] = [:]
    /// Per pane id, the round requests it has not answered yet, oldest first.
    var awaited: [Int: [AwaitedAnswer]] = [:]
    var nextRound = 1

    public init() {}

    public func record(named name: String) -> HostGroup? { records.first { $0.name == name } }
}

extension AppState {
    /// Registers host groups (their panes are added as specs whose `group` names them) and
    /// which of them broadcast.
    public mutating func addHostGroups(_ groups: [HostGroup], broadcasting on: Set<String> = []) {
        for g in groups {
            hostGroups.records.removeAll { $0.name == g.name }
            hostGroups.records.append(g)
        }
        hostGroups.broadcasting.formUnion(on.filter { name in groups.contains { $0.name == name } })
    }

    /// The member panes of a group (indices, in screen order).
    func members(of group: String) -> [Int] {
        panes.indices.filter { panes[$0].group == group }
    }

    /// The group whose input goes to all of it from pane `i`, if broadcast is on there.
    func broadcastGroup(of i: Int) -> String? {
        guard let group = panes[i].group, hostGroups.broadcasting.contains(group) else { return nil }
        return group
    }

    /// The entries a pane runs at each start: its own that run at start, then its group's.
    func startupEntriesAtStart(_ i: Int) -> [StartupEntry] {
        var list = panes[i].startupEntries
        if let group = panes[i].group, let record = hostGroups.record(named: group) {
            list = StartupEntries.merge(list, record.entries)
        }
        return list.filter(\.runsAtStart)
    }

    // MARK: Broadcast rounds

    /// Sends `text` (typed in pane `i`) to every pane of its group; the group view follows
    /// each host's answer. Every live member gets its request at once: each pane's bond has its
    /// own worker, so the hosts run it in parallel.
    mutating func broadcast(from i: Int, group: String, kind: SubmitKind, text: String) -> [Effect] {
        let number = hostGroups.nextRound
        hostGroups.nextRound += 1
        var round = GroupRound(number: number, input: text)
        var effects: [Effect] = []
        for j in members(of: group) {
            if j != i {
                panes[j].history.add(text)
                panes[j].scroll = 0
                effects.append(.saveHistory(name: panes[j].name, entries: panes[j].history.entries))
            }
            let held = panes[j].held.count
            let sent = perform(j, kind: kind, text: text)
            let id = panes[j].id
            let generation = panes[j].generation
            if let request = sent.lazy.compactMap({ e -> Request? in if case .request(_, _, let r) = e { r } else { nil } }).first
                ?? (panes[j].held.count > held ? panes[j].held.last : nil)
            {
                round.answers[id] = .waiting(generation: generation)
                hostGroups.awaited[id, default: []].append(
                    AwaitedAnswer(group: group, round: number, generation: generation, request: request))
            } else {
                let live = panes[j].status.isLive || panes[j].status == .starting
                round.answers[id] = .notSent(reason: live ? "the input was refused (see the pane)" : "the pane was \(panes[j].status.label)")
            }
            effects += sent
        }
        hostGroups.rounds[group] = round
        return effects
    }

    /// A pane answered a request: if it was a round's, the answer is kept for the group view,
    /// and a definition that ran is kept in the group's start-up entries.
    mutating func groupResult(_ i: Int, request: Request, outcome: Outcome) {
        let id = panes[i].id
        // Requests of an earlier start of the bond never answer (a restart drops them).
        hostGroups.awaited[id]?.removeAll { $0.generation != panes[i].generation }
        guard let k = hostGroups.awaited[id]?.firstIndex(where: { $0.request == request }) else { return }
        let awaited = hostGroups.awaited[id]!.remove(at: k)
        if hostGroups.awaited[id]!.isEmpty { hostGroups.awaited[id] = nil }
        let answer = Self.answer(outcome)
        if !answer.isFailure, let code = request.code, var record = hostGroups.record(named: awaited.group) {
            let found = StartupEntries.definitions(in: code, language: record.language).map {
                StartupEntry(key: $0.key, code: $0.code, runsAtStart: true)
            }
            if !found.isEmpty {
                record.entries = StartupEntries.merge(record.entries, found)
                hostGroups.records[hostGroups.records.firstIndex { $0.name == awaited.group }!] = record
            }
        }
        guard hostGroups.rounds[awaited.group]?.number == awaited.round else { return }
        hostGroups.rounds[awaited.group]?.answers[id] = answer
    }

    /// Output of a pane whose oldest unanswered request is the last round's: that host's output
    /// for the group view.
    mutating func groupOutput(_ i: Int, _ text: String) {
        let id = panes[i].id
        guard let head = hostGroups.awaited[id]?.first, head.generation == panes[i].generation,
              hostGroups.rounds[head.group]?.number == head.round
        else { return }
        var kept = (hostGroups.rounds[head.group]?.output[id] ?? "") + text
        if kept.utf8.count > GroupRound.outputLimit { kept = String(kept.suffix(GroupRound.outputLimit / 2)) }
        hostGroups.rounds[head.group]?.output[id] = kept
    }

    static func answer(_ outcome: Outcome) -> GroupAnswer {
        switch outcome {
        case .ran(.value(let v)?), .value(let v): .value(oneLine(v.withoutHandles))
        case .ran(.description(let d)?): .description(text: d.text, type: d.typeName)
        case .handle(let ref): .description(text: ref.description, type: ref.typeName + " · handle")
        case .ran(nil), .done: .done
        case .failure(let text): .failure(text)
        case .terminated(let message, _): .terminated(message)
        default: .done
        }
    }

    /// Ctrl-C in a pane whose group broadcasts: every busy member is interrupted (the innermost
    /// interpreter of the chain each waits on); nil when no member is busy.
    mutating func interruptGroup(from i: Int) -> [Effect]? {
        guard let group = broadcastGroup(of: i) else { return nil }
        let busy = members(of: group).filter { panes[$0].status.isBusyOrPending(panes[$0].pending) }
        guard !busy.isEmpty else { return nil }
        var effects: [Effect] = []
        for j in busy {
            let t = waitChain(j).last!
            append(j, .info, t == j ? "interrupt (broadcast)" : "interrupt (broadcast): \(panes[t].name) runs the call this pane waits on")
            if t != j { append(t, .info, "interrupt (from \(panes[j].name), which waits on this call)") }
            effects.append(.interrupt(pane: panes[t].id, generation: panes[t].generation))
        }
        lastInterrupt = []
        flash = "interrupted \(busy.count) of \(members(of: group).count) hosts of the group (broadcast is on)"
        return effects
    }
}

extension Request {
    /// The code a request runs, when it is typed input.
    var code: String? {
        switch self {
        case .run(let c), .eval(let c), .block(let c): c
        default: nil
        }
    }
}
