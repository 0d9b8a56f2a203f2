import DequeModule
import Foundation
import OrderedCollections

/// One bond per host, driven together: python-bond's "poor-man's distributed system" without
/// the threads, the error collection and the clean-up written by hand.
///
/// ```swift
/// let group = try BondGroup(language: "Python", hosts: ["h1", "h2", "h3"])
/// try group.evalBlock("def square(x): return x * x")
/// let answers = group.call("square", 7)           // [host: Result<BondValue, BondError>]
/// let squares = try group.map("square", over: Array(0..<100))
/// group.close()
/// ```
///
/// Every operation runs on all hosts at once, one thread per host. Partial failure is a
/// value: a host that did not start, or whose interpreter or link died, gives its own error
/// in the results and the others go on; `restart(host:)` brings it back. A `BondGroup` is
/// safe to use from any thread.
public final class BondGroup: Sendable {
    /// The language of every bond of the group.
    public let language: String
    /// The hosts, in the order given.
    public let hosts: [String]

    private let makeCommand: @Sendable (String) -> String
    private let options: BondOptions
    private let stateChanged: (@Sendable (String, BondState) -> Void)?
    private let state: GroupStateBox

    /// Starts one bond per host, all at once (so starting takes about as long as the slowest
    /// host, not the sum).
    ///
    /// - Parameters:
    ///   - hosts: ssh destinations (`"h1"`, `"user@box"`), distinct.
    ///   - ssh: the ssh command the interpreters are started with: `ssh HOST PROGRAM`, where
    ///     PROGRAM is the driver's default program (`python3`, `node`, ...). Default:
    ///     `$BOND_SSH`, else `"ssh"` (for instance `"ssh -F lab/ssh_config"`).
    ///   - command: the whole command line for a host, when it is not ssh (`{ "docker exec -i \($0) python3" }`);
    ///     it wins over `ssh`.
    ///   - options: the options of every bond; each bond's `name` is `Language@host` unless set.
    ///   - stateChanged: hears every change of state of each host's bond (see `Bond.init`).
    /// - Throws: `.usage` for an unknown language or hosts that are empty or repeated; a
    ///   `.startup` error when no host at all could be started. A host that did not start
    ///   while others did is not thrown: it is reported by `failures` and by each operation.
    public init(
        language: String, hosts: [String], ssh: String? = nil, command: (@Sendable (String) -> String)? = nil,
        options: BondOptions = BondOptions(), stateChanged: (@Sendable (String, BondState) -> Void)? = nil
    ) throws(BondError) {
        let driver = try DriverCatalog.find(language, extra: options.driverDirectories)
        self.language = driver.language
        guard !hosts.isEmpty else { throw BondError.usage(language: driver.language, message: "a group needs at least one host") }
        guard Set(hosts).count == hosts.count else {
            throw BondError.usage(language: driver.language, message: "a host is named twice in \(hosts)")
        }
        self.hosts = hosts
        self.options = options
        self.stateChanged = stateChanged
        if let command {
            makeCommand = command
        } else {
            let ssh = ssh ?? ProcessInfo.processInfo.environment["BOND_SSH"] ?? "ssh"
            let program = driver.manifest.command.first?.first ?? driver.language.lowercased()
            makeCommand = { host in "\(ssh) \(ShellQuoting.quote(host)) \(program)" }
        }
        state = Locked(GroupState(hosts: hosts))
        let started = Self.inParallel(hosts) { [makeCommand, options, stateChanged, language = driver.language] host in
            Self.startBond(language: language, host: host, command: makeCommand(host), options: options, stateChanged: stateChanged)
        }
        state.withLock { state in
            for (host, result) in started {
                state.members[host] = Member(result)
            }
        }
        if started.values.allSatisfy({ (try? $0.get()) == nil }) {
            let reasons = hosts.compactMap { host in started[host].flatMap { result -> String? in
                if case .failure(let error) = result { return "\(host): \(error)" } else { return nil }
            } }
            throw BondError.startup(language: driver.language, message: "no host of the group started", output: reasons.joined(separator: "\n"))
        }
    }

    deinit { close() }

    // MARK: Hosts

    /// The bond of `host`, while it is up.
    public subscript(host: String) -> Bond? {
        state.withLock { $0.members[host]?.bond }
    }

    /// The hosts whose bond is up, in the order of `hosts`.
    public var liveHosts: [String] {
        state.withLock { state in hosts.filter { state.members[$0]?.bond != nil } }
    }

    /// Why each host that is down is down (it did not start, or its interpreter or link died).
    public var failures: [String: BondError] {
        state.withLock { state in state.members.compactMapValues { $0.failure } }
    }

    /// Starts `host`'s bond again (closing it first if it is still up) and replays what the
    /// group was set up with, in order: the blocks run by `evalBlock` and the functions
    /// exported by `export`. On failure the host stays down with this error.
    public func restart(host: String) throws(BondError) {
        let (old, steps) = try state.withLock { (state) throws(BondError) -> (Bond?, [SetupStep]) in
            guard let member = state.members[host] else {
                throw BondError.usage(language: language, message: "\(host) is not a host of this group")
            }
            guard !state.closed else { throw BondError.usage(language: language, message: "the group is closed") }
            return (member.bond, state.setup)
        }
        old?.close()
        let result = Result { () throws(BondError) -> Bond in
            let bond = try Self.startBond(
                language: language, host: host, command: makeCommand(host), options: options, stateChanged: stateChanged
            ).get()
            do throws(BondError) {
                for step in steps {
                    switch step {
                    case .block(let code): try bond.evalBlock(code)
                    case .export(let name, let function): try bond.export(name, function)
                    }
                }
            } catch {
                bond.close()
                throw error
            }
            return bond
        }
        state.withLock { $0.members[host] = Member(result) }
        if case .failure(let error) = result { throw error }
    }

    /// Closes every bond, all at once. Safe to call twice.
    public func close() {
        let bonds = state.withLock { state -> [String] in
            state.closed = true
            return hosts.filter { state.members[$0]?.bond != nil }
        }
        let closed = BondError.usage(language: language, message: "the group is closed")
        _ = Self.inParallel(bonds) { [state] host in
            state.withLock { $0.members[host]?.bond }?.close()
            state.withLock { $0.members[host] = .down(closed) }
        }
    }

    // MARK: Requests

    /// Runs statements on every host that is up, all at once, and records them to be run again
    /// on a host brought back by `restart(host:)`.
    ///
    /// - Returns: each host's outcome (a host that is down, or goes down, gives its error).
    /// - Throws: the first error (in host order) of a host whose interpreter is still alive:
    ///   an error of the code itself, which every host would raise.
    @discardableResult
    public func evalBlock(_ code: String) throws(BondError) -> [String: Result<Void, BondError>] {
        state.withLock { $0.setup.append(.block(code)) }
        let results = onEveryHost { (bond) throws(BondError) in try bond.evalBlock(code) }
        try throwCodeError(results)
        return results
    }

    /// Exports `function` to every host that is up as `name` (see `Bond.export`), and records
    /// it for `restart(host:)`. Errors as for `evalBlock`.
    @discardableResult
    public func export(_ name: String, _ function: @escaping BondFunction) throws(BondError) -> [String: Result<Void, BondError>] {
        state.withLock { $0.setup.append(.export(name, function)) }
        let results = onEveryHost { (bond) throws(BondError) in try bond.export(name, function) }
        try throwCodeError(results)
        return results
    }

    /// Evaluates an expression on every host that is up, all at once.
    public func eval(_ code: String) -> [String: Result<BondValue, BondError>] {
        onEveryHost { (bond) throws(BondError) in try bond.eval(code) }
    }

    /// Calls `name` on every host, all at once, with the same arguments (converted as by
    /// `BondValue(converting:)`; refs, which belong to one bond, cannot be used).
    /// - Returns: each host's answer or error (a host that is down gives why it is down).
    public func call(_ name: String, _ arguments: (any BondArgument)?...) -> [String: Result<BondValue, BondError>] {
        let values: [BondValue]
        do throws(BondError) {
            values = try arguments.map { (argument) throws(BondError) in try BondValue(converting: argument, language: language) }
        } catch {
            return Dictionary(uniqueKeysWithValues: hosts.map { ($0, .failure(error)) })
        }
        return onEveryHost { (bond) throws(BondError) in try bond.call(name, values: values) }
    }

    /// Calls `name` once per item (the item as its one argument), spreading the items over
    /// the hosts that are up as they free up; returns the results in input order.
    ///
    /// An item whose host is lost during its call (the interpreter or the link died) is given
    /// once more to another host, and fails if that host is lost too: at most one retry, so a
    /// function with side effects may have run partly, or wholly, twice. An item whose call
    /// raised an error on a live host is not retried.
    ///
    /// - Throws: `BondMapError` when any item could not be done; it holds every item's outcome.
    public func map(_ name: String, over items: [some BondArgument]) throws(BondMapError) -> [BondValue] {
        let results = mapResults(name, over: items)
        var values: [BondValue] = []
        values.reserveCapacity(results.count)
        for result in results {
            guard case .success(let value) = result else { throw BondMapError(results: results) }
            values.append(value)
        }
        return values
    }

    /// `map` that gives each item's outcome instead of throwing.
    public func mapResults(_ name: String, over items: [some BondArgument]) -> [Result<BondValue, BondError>] {
        let values = items.map { item in
            Result { () throws(BondError) in try BondValue(converting: item, language: language) }
        }
        let workers = state.withLock { state in hosts.compactMap { host in state.members[host]?.bond.map { (host, $0) } } }
        let work = MapWork(values, workers: workers.count)
        guard !workers.isEmpty else {
            let down = failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            work.failRemaining(BondError.usage(language: language, message: "no host of the group is up (\(down))"))
            return work.results
        }
        _ = Self.inParallel(workers.map(\.0)) { [state] host in
            guard let bond = workers.first(where: { $0.0 == host })?.1 else { return }
            while let (index, argument) = work.next() {
                do throws(BondError) {
                    work.finish(index, .success(try bond.call(name, arguments: [argument])))
                } catch where !bond.isAlive {
                    Self.markDown(state, host: host, bond: bond, error)
                    work.lose(index, error)
                    return
                } catch {
                    work.finish(index, .failure(error))
                }
            }
        }
        return work.results
    }

    // MARK: Helpers

    /// Runs `body` with each host's bond, all at once; a host that is down gives its error,
    /// and a host whose bond dies during `body` is marked down.
    private func onEveryHost<T: Sendable>(
        _ body: @escaping @Sendable (Bond) throws(BondError) -> T
    ) -> [String: Result<T, BondError>] {
        let members = state.withLock { $0.members }
        return Self.inParallel(hosts) { [state] host in
            switch members[host] {
            case .up(let bond)?:
                do throws(BondError) {
                    return .success(try body(bond))
                } catch {
                    if !bond.isAlive { Self.markDown(state, host: host, bond: bond, error) }
                    return .failure(error)
                }
            case .down(let error)?:
                return .failure(error)
            case nil:
                return .failure(BondError.usage(language: "", message: "\(host) is not a host of this group"))
            }
        }
    }

    /// Throws the first error, in host order, of a host that is still up.
    private func throwCodeError<T>(_ results: [String: Result<T, BondError>]) throws(BondError) {
        let live = Set(liveHosts)
        for host in hosts where live.contains(host) {
            if case .failure(let error)? = results[host] { throw error }
        }
    }

    private static func markDown(_ state: GroupStateBox, host: String, bond: Bond, _ error: BondError) {
        state.withLock { state in
            // (Only if it is still that bond: a restart may have replaced it meanwhile.)
            if state.members[host]?.bond === bond { state.members[host] = .down(error) }
        }
    }

    private static func startBond(
        language: String, host: String, command: String, options: BondOptions,
        stateChanged: (@Sendable (String, BondState) -> Void)?
    ) -> Result<Bond, BondError> {
        var options = options
        if options.name == nil { options.name = "\(language)@\(host)" }
        let changed = stateChanged.map { report in { @Sendable (state: BondState) in report(host, state) } }
        return Result { () throws(BondError) in
            try Bond(language: language, command: command, options: options, stateChanged: changed)
        }
    }

    /// Runs `body` for each key on a thread of its own, all at once, and waits for them all.
    /// (Threads of our own, not Dispatch's: its pool is as wide as the processors, and each
    /// of these threads blocks for a network round trip.)
    static func inParallel<T: Sendable>(_ keys: [String], _ body: @escaping @Sendable (String) -> T) -> [String: T] {
        let results = Locked<[String: T]>([:])
        let done = DispatchGroup()
        for key in keys {
            done.enter()
            startThread(name: "bond group \(key)") {
                let result = body(key)
                results.withLock { $0[key] = result }
                done.leave()
            }
        }
        done.wait()
        return results.withLock { $0 }
    }
}

/// What `BondGroup.map` throws when some items could not be done.
public struct BondMapError: Error, Sendable, CustomStringConvertible {
    /// Every item's outcome, in input order.
    public let results: [Result<BondValue, BondError>]

    /// The indices of the items that could not be done, with why.
    public var failures: [(index: Int, error: BondError)] {
        results.enumerated().compactMap { index, result in
            if case .failure(let error) = result { (index, error) } else { nil }
        }
    }

    public var description: String {
        let failed = failures
        let shown = failed.prefix(3).map { "item \($0.index): \($0.error)" }.joined(separator: "; ")
        return "\(failed.count) of \(results.count) items could not be done: \(shown)\(failed.count > 3 ? "; ..." : "")"
    }
}

/// A host's bond, or why it has none.
private enum Member: Sendable {
    case up(Bond)
    case down(BondError)

    init(_ result: Result<Bond, BondError>) {
        switch result {
        case .success(let bond): self = .up(bond)
        case .failure(let error): self = .down(error)
        }
    }

    var bond: Bond? { if case .up(let bond) = self { bond } else { nil } }
    var failure: BondError? { if case .down(let error) = self { error } else { nil } }
}

/// What a group was set up with, replayed on a restarted host.
private enum SetupStep: Sendable {
    case block(String)
    case export(String, BondFunction)
}

/// The group's mutable state.
private struct GroupState: Sendable {
    var members: [String: Member] = [:]
    var setup: [SetupStep] = []
    var closed = false

    init(hosts: [String]) {
        let notStarted = BondError.usage(language: "", message: "not started")
        for host in hosts { members[host] = .down(notStarted) }
    }
}

/// The group's state, under its lock (a class, so that the hosts' threads share it).
private typealias GroupStateBox = Locked<GroupState>

/// A value reachable only under its lock. (An `NSLock` rather than a `Mutex`: on Linux a
/// contended `Mutex` hands over through the kernel, which ThreadSanitizer cannot see, and it
/// then reports races that are not there; these locks are taken a few times per request.)
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The items of one `map`, handed to the hosts' threads as they free up.
private final class MapWork: Sendable {
    private struct State {
        var arguments: [Result<BondValue, BondError>]
        var pending: Deque<Int>
        var results: [Result<BondValue, BondError>?]
        var retried: Set<Int> = []
        var inFlight = 0
        var workers: Int
    }

    /// (A lock with a condition: idle threads wait for items given back by a lost host.)
    private let condition = NSCondition()
    nonisolated(unsafe) private var state: State

    init(_ arguments: [Result<BondValue, BondError>], workers: Int) {
        var pending = Deque<Int>()
        var results = [Result<BondValue, BondError>?](repeating: nil, count: arguments.count)
        for (index, argument) in arguments.enumerated() {
            if case .failure(let error) = argument { results[index] = .failure(error) } else { pending.append(index) }
        }
        state = State(arguments: arguments, pending: pending, results: results, workers: workers)
    }

    private func locked<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        return body(&state)
    }

    /// The next item to call, waiting while items are in flight elsewhere (they may come
    /// back); `nil` when none is left.
    func next() -> (Int, BondValue)? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let index = state.pending.popFirst() {
                // (Only items whose argument converted are pending.)
                guard case .success(let argument) = state.arguments[index] else { continue }
                state.inFlight += 1
                return (index, argument)
            }
            if state.inFlight == 0 { return nil }
            condition.wait()
        }
    }

    func finish(_ index: Int, _ result: Result<BondValue, BondError>) {
        locked { state in
            state.inFlight -= 1
            state.results[index] = result
        }
    }

    /// The item's host was lost: the item goes to another host once, else fails.
    func lose(_ index: Int, _ error: BondError) {
        locked { state in
            state.inFlight -= 1
            state.workers -= 1
            if state.workers > 0, !state.retried.contains(index) {
                state.retried.insert(index)
                state.pending.append(index)
            } else {
                state.results[index] = .failure(error)
            }
            if state.workers == 0 {
                while let index = state.pending.popFirst() { state.results[index] = .failure(error) }
            }
        }
    }

    func failRemaining(_ error: BondError) {
        locked { state in
            while let index = state.pending.popFirst() { state.results[index] = .failure(error) }
        }
    }

    var results: [Result<BondValue, BondError>] {
        locked { state in state.results.map { $0 ?? .failure(BondError.usage(language: "", message: "not done")) } }
    }
}
