import Synchronization

/// Text the interpreter wrote, as the `output` stream hands it out.
public struct BondOutput: Sendable, Equatable {
    public let channel: BondOutputChannel
    public let text: String
}

/// A bond's events as an `AsyncSequence` that any number of consumers iterate at once, each
/// getting every element from the moment its iteration begins.
///
/// Each consumer has a buffer of `bufferSize` elements. A consumer that falls that far behind
/// loses the oldest of its buffered elements (it sees the newest ones; the protocol never
/// waits for a consumer), and `dropped` counts what was lost, for all consumers. Iterations end
/// when the bond terminates. Nothing is kept while nobody iterates.
public final class BondBroadcast<Element: Sendable>: AsyncSequence, Sendable {
    public typealias AsyncIterator = AsyncStream<Element>.Iterator

    /// The elements each consumer's buffer holds.
    public let bufferSize: Int
    private let consumers = ConditionLock(Consumers())  // (not a `Mutex`: see `AsyncConversation.stack`)
    /// Speed trick: whether anyone iterates, read without the lock (what is not consumed is
    /// never made: a traffic line costs a string and a date).
    private let consumerCount = Atomic(0)
    private let droppedCount = Atomic(0)

    private struct Consumers {
        var continuations: [Int: AsyncStream<Element>.Continuation] = [:]
        var nextKey = 0
        var finished = false
    }

    init(bufferSize: Int) { self.bufferSize = bufferSize }

    /// How many elements consumers lost, all consumers together (see the type's comment).
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// A new consumer: an iterator of every element from now on.
    public func makeAsyncIterator() -> AsyncStream<Element>.Iterator {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .bufferingNewest(bufferSize))
        let key = consumers.withLock { consumers -> Int? in
            guard !consumers.finished else { return nil }
            consumers.nextKey += 1
            consumers.continuations[consumers.nextKey] = continuation
            consumerCount.add(1, ordering: .relaxed)
            return consumers.nextKey
        }
        if let key {
            continuation.onTermination = { [weak self] _ in self?.remove(key) }
        } else {
            continuation.finish()
        }
        return stream.makeAsyncIterator()
    }

    /// Whether any consumer iterates now.
    var hasConsumers: Bool { consumerCount.load(ordering: .relaxed) > 0 }

    /// Hands `element` to every consumer.
    func yield(_ element: @autoclosure () -> Element) {
        guard hasConsumers else { return }
        let element = element()
        consumers.withLock { consumers in
            for continuation in consumers.continuations.values {
                if case .dropped = continuation.yield(element) { droppedCount.add(1, ordering: .relaxed) }
            }
        }
    }

    /// Ends every iteration (the bond terminated); later ones end at once.
    func finish() {
        let ended = consumers.withLock { consumers in
            consumers.finished = true
            defer { consumers.continuations = [:] }
            return Array(consumers.continuations.values)
        }
        consumerCount.store(0, ordering: .relaxed)
        for continuation in ended { continuation.finish() }
    }

    private func remove(_ key: Int) {
        consumers.withLock { consumers in
            if consumers.continuations.removeValue(forKey: key) != nil { consumerCount.subtract(1, ordering: .relaxed) }
        }
    }
}

/// The streams of one bond: its output, its traffic, its states.
final class BondStreams: Sendable {
    let output = BondBroadcast<BondOutput>(bufferSize: 4096)
    let traffic = BondBroadcast<BondTraffic>(bufferSize: 4096)
    let states = BondBroadcast<BondState>(bufferSize: 256)

    /// A state change: handed out, and every stream ends with the bond's end.
    func changed(_ state: BondState) {
        states.yield(state)
        if case .terminated = state {
            output.finish()
            traffic.finish()
            states.finish()
        }
    }
}
