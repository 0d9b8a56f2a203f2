/// A bounded sequence: appending past `capacity` drops the oldest element.
public struct RingBuffer<Element>: RandomAccessCollection, Sendable where Element: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    private var head = 0  // index in storage of the oldest element once full
    /// How many elements were ever dropped from the front.
    public private(set) var dropped = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }

    public subscript(i: Int) -> Element {
        get { storage[(head + i) % storage.count] }
        set { storage[(head + i) % storage.count] = newValue }
    }

    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[head] = element
            head = (head + 1) % capacity
            dropped += 1
        }
    }

    public var last: Element? {
        get { isEmpty ? nil : self[count - 1] }
    }

    /// Replaces the newest element.
    public mutating func replaceLast(_ element: Element) {
        guard !isEmpty else { append(element); return }
        self[count - 1] = element
    }

    public mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}
