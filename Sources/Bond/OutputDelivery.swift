import Foundation

/// Where a bond's remote output and raw traffic go: the output sink and the traffic log of
/// its options.
struct OutputDelivery: Sendable {
    let bond: String
    let language: String
    let sink: BondOutputSink
    let log: BondLogSink?
    /// Where the current conversation level stands in its thread's (`BondTraffic.nest`).
    let nest = ConversationNest()
    /// The bond's `output` and `traffic` streams.
    let streams: BondStreams
    private let hasLog: Bool

    /// Whether traffic is logged or streamed (a line is made for them only then).
    var logs: Bool { hasLog || streams.traffic.hasConsumers }

    init(bond: String, language: String, sink: BondOutputSink, log: BondLogSink?, streams: BondStreams) {
        self.bond = bond
        self.language = language
        self.sink = sink
        self.log = log
        self.hasLog = log != nil
        self.streams = streams
    }

    /// Hands text the interpreter wrote to the output sink (and the `output` stream).
    func deliver(_ channel: BondOutputChannel, _ text: String) {
        streams.output.yield(BondOutput(channel: channel, text: text))
        switch sink {
        case .standard:
            let handle = channel == .stdout ? FileHandle.standardOutput : FileHandle.standardError
            handle.write(Data(text.utf8))
        case .discard:
            break
        case .handler(let handler):
            handler(channel, text)
        }
    }

    /// Tells the user something went wrong that fails no request, on the stderr channel.
    func warn(_ message: String) {
        deliver(.stderr, "[bond: \(message)]\n")
    }

    /// Logs one line sent or received at conversation depth `depth`.
    func record(_ direction: BondTraffic.Direction, _ line: some Collection<UInt8>, depth: @autoclosure () -> Int) {
        guard logs else { return }
        let traffic = BondTraffic(
            bond: bond, direction: direction, time: Date(), line: String(decoding: line, as: UTF8.self),
            depth: max(1, depth()), nest: nest.current)
        streams.traffic.yield(traffic)
        switch log {
        case nil:
            break
        case .handler(let handler)?:
            handler(traffic)
        case .file(let handle)?:
            let stamp = String(format: "%.6f", traffic.time.timeIntervalSince1970)
            handle.write(Data("\(stamp) \(bond) \(direction.rawValue) \(traffic.line)\n".utf8))
        }
    }
}

/// The last few KiB of the interpreter's standard error, for the message of a `.terminated`
/// error.
struct ErrorTail {
    private static let keptBytes = 4096
    private var bytes: [UInt8] = []

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
        if bytes.count > Self.keptBytes * 2 { bytes.removeFirst(bytes.count - Self.keptBytes) }
    }

    /// The last ten lines.
    var lastLines: String {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).suffix(10).joined(separator: "\n")
    }
}

/// Decodes UTF-8 arriving in chunks, holding back a sequence cut at the end of a chunk.
struct UTF8ChunkDecoder {
    private var carry: [UInt8] = []

    mutating func decode(_ chunk: UnsafeRawBufferPointer) -> String {
        var bytes = carry
        bytes.append(contentsOf: chunk)
        var cut = bytes.count
        // Find the start of a trailing incomplete sequence (at most 3 bytes back).
        var back = 0
        while back < 3, cut - back - 1 >= 0 {
            let byte = bytes[cut - back - 1]
            if byte & 0xC0 == 0x80 { back += 1; continue }
            let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if needed > back + 1 { cut -= back + 1 }
            break
        }
        carry = Array(bytes[cut...])
        return String(decoding: bytes[..<cut], as: UTF8.self)
    }
}
