import Foundation
import OrderedCollections
import Synchronization

/// The request loop of one bond: it sends a request, then serves the interpreter until the
/// reply comes. A `CALL` from the driver runs the exported Swift function on the calling
/// thread, which may make requests of its own, of this bond or another: nesting, to any
/// depth, on one thread, with no thread of its own.
///
/// Requests to one bond are served one conversation at a time (`turns`, recursive, so that
/// nested requests on the conversation's thread go through).
final class Conversation: Sendable {
    let connection: Connection
    /// The functions exported to the interpreter.
    let exports = Mutex(ExportTable())
    /// Remote objects: markers, releases, proxies (the `OBJECTS` extension).
    let objects: BondObjects
    private let turns = NSRecursiveLock()
    /// Where frame lines are built and sent from (a frame is sent before the next is built,
    /// so nested requests share it).
    private let frames: Mutex<BondFrameWriter>
    private let timeout: Duration?
    private let closedByUser: ClosedFlag
    private let errors: BondErrors
    /// [ext] Whether the driver reads `BYTES` blocks.
    let sendsBlocks: Bool

    init(connection: Connection, timeout: Duration?, closedByUser: ClosedFlag, sendsBlocks: Bool = false, objects: BondObjects) {
        self.connection = connection
        self.sendsBlocks = sendsBlocks
        self.timeout = timeout
        self.closedByUser = closedByUser
        self.errors = BondErrors(language: connection.language)
        self.objects = objects
        self.frames = Mutex(BondFrameWriter(errors: errors, sendsBlocks: sendsBlocks, objects: objects))
    }

    /// A frame writer for a frame sent later (the async face's requests and answers).
    func newFrameWriter() -> BondFrameWriter {
        BondFrameWriter(errors: errors, sendsBlocks: sendsBlocks, objects: objects)
    }

    // MARK: Requests

    /// Sends `verb` with `payload` and serves the interpreter until its reply arrives.
    func request(_ verb: String, _ payload: BondValue) throws(BondError) -> BondValue {
        try request(verb) { (frame: inout BondFrameWriter) throws(BondError) in try frame.write(payload) }
    }

    /// Sends a request whose payload `writePayload` writes into the frame, and serves the
    /// interpreter until its reply arrives.
    func request(
        _ verb: String, writingPayload writePayload: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) -> BondValue {
        turns.lock()
        defer { turns.unlock() }
        try frames.withLock { (frame: inout BondFrameWriter) throws(BondError) in
            try frame.build(verb, writePayload)
            if let released = objects.takeReleases() { frame.prependRelease(released) }
        }
        if closedByUser.isSet && !connection.isClosed { throw errors.usage("the bond is closed") }
        guard connection.enter() else { throw terminated() }
        defer { connection.leave() }
        let nest = connection.delivery.logs ? connection.delivery.nest.enter() : nil
        defer { if let nest { connection.delivery.nest.leave(nest) } }
        guard sendFrame() else { throw terminated() }
        return try awaitReply()
    }

    /// Sends the frame built last.
    private func sendFrame() -> Bool {
        frames.withLock { frame in frame.send(through: connection) }
    }

    /// The `.terminated` error, once the termination is known (or was waited for long enough).
    func terminated() -> BondError {
        _ = connection.waitUntilFinished(deadline: Date().addingTimeInterval(2))
        let (exit, stderr) = connection.termination
        return errors.terminated(exit, stderr)
    }

    // MARK: Serving the interpreter

    private func awaitReply() throws(BondError) -> BondValue {
        while true {
            let deadline = timeout.map { Date().addingTimeInterval($0.seconds) }
            switch connection.nextEvent(deadline: deadline) {
            case nil:
                if connection.isClosed { throw terminated() }
                throw errors.timeout(timeout?.seconds ?? 0)
            case .closed?:
                throw terminated()
            case .oversized(let size)?:
                throw errors.protocolViolation(
                    "a frame of \(size) bytes is over the limit (BondOptions.maximumFrameBytes)")
            case .frame(let frame)?:
                if let value = try handle(frame) { return value }
            }
        }
    }

    /// Handles one frame; returns the reply value when the frame ends the request.
    private func handle(_ frame: ReceivedFrame) throws(BondError) -> BondValue? {
        let payload: BondValue
        switch frame.content {
        case .call(let name, let arguments):  // (only a CALL is read so)
            guard frame.mayHoldMarkers && objects.isOn else {
                serveCall(name, arguments)
                return nil
            }
            do {
                serveCall(name, try objects.decode(arguments))
            } catch {
                answer("EXCEPT", String(describing: error))
            }
            return nil
        case .value(let value):
            payload = frame.mayHoldMarkers && objects.isOn ? try objects.decode(value) : value
        case .unreadable(let error):
            switch frame.verb {
            case .reply, .except, .error:
                throw errors.serialization(.local, "cannot read the \(frame.verb.rawValue) payload: \(error)")
            case .call:
                answer("ERROR", "cannot read the CALL payload: \(error)")
                return nil
            default:
                return nil
            }
        }
        switch frame.verb {
        case .reply:
            return payload
        case .except:
            throw errors.remote(payload.stringValue ?? payload.description, data: payload)
        case .error:
            throw errors.serialization(.remote, payload.stringValue ?? payload.description)
        case .bye:
            connection.process.closeInput()
            throw terminated()
        case .call:
            serveCall(payload)
            return nil
        case .ocall, .oget, .odescribe:
            reply(to: frame.verb.rawValue, with: Result { () throws(BondError) in try objects.serve(frame.verb, payload) })
            return nil
        case .release:
            objects.dropProxies(payload)
            return nil
        case .output, .eval, .evalBlock, .xcall, .export, .run, .object:
            // A request verb from the driver is not part of the protocol: answer it with an error.
            answer("ERROR", "the host does not serve \(frame.verb.rawValue)")
            return nil
        }
    }

    /// Serves a CALL whose payload was not read as a call (see `ReceivedFrame.Content`).
    private func serveCall(_ payload: BondValue) {
        guard case .array(let parts) = payload, parts.count == 2 || parts.count == 3, case .string(let name) = parts[0],
            case .array(let arguments) = parts[1]
        else {
            answer("EXCEPT", "malformed CALL payload: \(payload)")
            return
        }
        guard parts.count == 3 else { return serveCall(name, arguments) }
        // [ext] KEYWORDS: keyword arguments as a third element.
        guard case .object(let keywords) = parts[2] else {
            answer("EXCEPT", "malformed CALL payload: \(payload)")
            return
        }
        serveCall(name, arguments, keywords: keywords)
    }

    private func serveCall(_ name: String, _ arguments: [BondValue], keywords: OrderedDictionary<String, BondValue>? = nil) {
        guard let exported = exports.withLock({ $0.entry(named: name) }) else {
            answer("EXCEPT", "\(name) is not a function exported by the host")
            return
        }
        let nest = connection.delivery.logs ? ConversationNest.beginServing() : nil
        defer { if let nest { ConversationNest.endServing(nest) } }
        let outcome: Result<BondValue, any Error>
        if let function = exported.function, keywords == nil {
            outcome = Result { try function(arguments) }
        } else if let function = exported.keywordFunction {
            outcome = Result { try function(arguments, keywords ?? [:]) }
        } else {
            answer("EXCEPT", "\(name) takes no keyword arguments (it was exported without them)")
            return
        }
        reply(to: name, with: outcome)
    }

    /// Answers a request of the driver with its result: `RETURN`, or `EXCEPT` with the error's
    /// text (`ERROR` when the result cannot be written).
    private func reply(to name: String, with outcome: Result<BondValue, some Error>) {
        let result: BondValue
        switch outcome {
        case .success(let value): result = value
        case .failure(let error):
            answer("EXCEPT", String(describing: error))
            return
        }
        let built = frames.withLock { (frame: inout BondFrameWriter) -> BondError? in
            do throws(BondError) {
                try frame.build("RETURN") { (frame: inout BondFrameWriter) throws(BondError) in try frame.write(result) }
                return nil
            } catch {
                return error
            }
        }
        if let built {
            answer("ERROR", "cannot serialize the result of \(name): \(built.message)")
            return
        }
        _ = sendFrame()
    }

    /// Answers the driver with `verb` and a string payload.
    private func answer(_ verb: String, _ text: String) {
        var payload: [UInt8] = []
        JSONWriter.writeString(text, into: &payload)
        _ = connection.send(verb, payload)
    }
}

/// The functions exported to an interpreter, by name.
struct ExportTable {
    /// (Each function in a box of its own, so that the one at hand is the same reference as
    /// the one in the dictionary: a function taken out of a dictionary and kept elsewhere is
    /// wrapped anew, and released again, at each use.)
    final class Entry: Sendable {
        /// The function, when exported without keyword arguments (one exported by the async face
        /// is waited for).
        let function: BondFunction?
        /// The function, when exported with keyword arguments (`export(_:withKeywords:)`).
        let keywordFunction: BondKeywordFunction?
        /// The function when it was exported by the async face.
        let asyncFunction: AsyncBondFunction?

        init(_ function: @escaping BondFunction) {
            self.function = function
            keywordFunction = nil
            asyncFunction = nil
        }

        init(keywords function: @escaping BondKeywordFunction) {
            self.function = nil
            keywordFunction = function
            asyncFunction = nil
        }

        init(async function: @escaping AsyncBondFunction) {
            self.function = { arguments in try waitFor { try await function(arguments) } }
            keywordFunction = nil
            asyncFunction = function
        }
    }

    private var entries: [String: Entry] = [:]
    private var lastFound = LastFound()

    /// The function exported as `name`, if any.
    mutating func entry(named name: String) -> Entry? {
        lastFound.entry(named: name) { entries[$0] }
    }

    /// Exports `function` as `name` (or takes `name` back, given `nil`); returns what it replaces.
    mutating func set(_ entry: Entry?, for name: String) -> Entry? {
        lastFound = LastFound()
        if let entry { return entries.updateValue(entry, forKey: name) }
        return entries.removeValue(forKey: name)
    }

    /// The exported names, sorted.
    var names: [String] { entries.keys.sorted() }

    /// Speed trick: callbacks usually come in runs of one function, so the last one found is
    /// kept at hand and its name is not hashed again (callback round trip, 4 020 -> 3 680 host
    /// instructions: docs/performance.md).
    private struct LastFound {
        private var name = ""
        private var entry: Entry?

        mutating func entry(named wanted: String, lookUp: (String) -> Entry?) -> Entry? {
            if let entry, wanted == name { return entry }
            entry = lookUp(wanted)
            name = wanted
            return entry
        }
    }
}

/// A flag set once, shared between threads.
final class ClosedFlag: Sendable {
    private let value = Atomic(false)

    /// Whether it is set.
    var isSet: Bool { value.load(ordering: .acquiring) }

    /// Sets it; returns whether this call did (`false` if it was already set).
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}
