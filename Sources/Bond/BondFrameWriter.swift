/// A frame line being written: the verb, a space, the payload written straight into the
/// buffer, the end of line. A bond reuses one from frame to frame (no allocation per frame).
///
/// Arguments write themselves into it (`BondArgument.write(to:)`), with the methods below.
public struct BondFrameWriter: Sendable {
    private(set) var bytes: [UInt8] = []
    let errors: BondErrors
    private var callStart = CallStart()
    /// The call being written: whose refs it may hold, and how its arguments are written.
    private var call = CallState()
    /// [ext] The byte strings of the frame, sent as raw blocks before it (`BytesBlocks`).
    private var blocks: [[UInt8]] = []
    /// [ext] `RELEASE [ids]\n` to send before the frame and its blocks, or empty.
    private var release: [UInt8] = []
    /// [ext] Whether the driver reads `BYTES` blocks.
    let sendsBlocks: Bool
    /// The bond's side of remote objects: how handles, and maps with a `$bond` member, are written.
    let objects: BondObjects?

    init(errors: BondErrors, sendsBlocks: Bool = false, objects: BondObjects? = nil) {
        self.errors = errors
        self.sendsBlocks = sendsBlocks
        self.objects = objects
    }

    // MARK: Values

    /// Writes a value as JSON.
    public mutating func write(_ value: BondValue) throws(BondError) {
        let before = blocks.count
        if let objects, objects.needsMarkers(value) {
            try objects.write(value, into: &bytes, blocks: &blocks)
        } else {
            do {
                try JSONWriter.write(value, into: &bytes, blocks: &blocks)
            } catch {
                throw errors.serialization(.local, error.message)
            }
        }
        if blocks.count > before, !sendsBlocks {
            throw errors.usage(
                "bytes need the \(BytesBlocks.extensionName) extension, which the \(errors.language) driver does not offer")
        }
    }

    /// Writes an integer as JSON.
    public mutating func write(_ value: Int) { JSONWriter.writeInteger(value, into: &bytes) }

    /// Writes a string as JSON.
    public mutating func write(_ value: String) { JSONWriter.writeString(value, into: &bytes) }

    /// Writes `true` or `false`.
    public mutating func write(_ value: Bool) { bytes.append(contentsOf: (value ? "true" : "false").utf8) }

    /// Writes `null`.
    public mutating func writeNull() { bytes.append(contentsOf: "null".utf8) }

    /// Writes a JSON array of `elements`, each written by `writeElement`.
    public mutating func writeArray<C: Collection>(
        _ elements: C, _ writeElement: (inout BondFrameWriter, C.Element) throws(BondError) -> Void
    ) throws(BondError) {
        bytes.append(UInt8(ascii: "["))
        call.nesting += 1
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            try writeElement(&self, element)
        }
        call.nesting -= 1
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes a JSON object with the members `keys`, in this order, each value written by `writeValue`.
    public mutating func writeObject(
        _ keys: [String], _ writeValue: (inout BondFrameWriter, String) throws(BondError) -> Void
    ) throws(BondError) {
        if objects?.isOn == true, keys.contains(BondObjects.markerKey) { return try writeEscapedObject(keys, writeValue) }
        bytes.append(UInt8(ascii: "{"))
        call.nesting += 1
        for (index, key) in keys.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            write(key)
            bytes.append(UInt8(ascii: ":"))
            try writeValue(&self, key)
        }
        call.nesting -= 1
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes a map that has a `$bond` member, escaped as `{"$bond":"map","items":[[key, value]...]}`
    /// (docs/protocol.md, the `OBJECTS` extension).
    private mutating func writeEscapedObject(
        _ keys: [String], _ writeValue: (inout BondFrameWriter, String) throws(BondError) -> Void
    ) throws(BondError) {
        bytes.append(contentsOf: #"{"$bond":"map","items":"#.utf8)
        try writeArray(keys) { (frame, key) throws(BondError) in
            frame.bytes.append(UInt8(ascii: "["))
            frame.write(key)
            frame.bytes.append(UInt8(ascii: ","))
            try writeValue(&frame, key)
            frame.bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes a handle: its object again in its own bond, a proxy in another one.
    public mutating func write(handle: BondHandle) throws(BondError) {
        guard let objects else { throw errors.usage("a handle crosses only to a bond") }
        try objects.write(handle, into: &bytes)
    }

    /// Writes the payload of a method call of a handle: `[id, method or null, [arguments...], mode]`,
    /// and [ext] `keywords`, if any, as a fifth element `{"key":value,...}`.
    mutating func writeObjectCall(
        _ id: Int, method: String?, mode: String, keywords: some Collection<KeywordArgument>,
        _ writeArguments: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) {
        call = CallState()
        defer { call = CallState() }
        bytes.append(UInt8(ascii: "["))
        write(id)
        bytes.append(UInt8(ascii: ","))
        if let method { write(method) } else { writeNull() }
        bytes.append(contentsOf: ",[".utf8)
        try writeArguments(&self)
        bytes.append(contentsOf: "],".utf8)
        write(mode)
        if !keywords.isEmpty {   // [ext] KEYWORDS: a fifth element
            bytes.append(UInt8(ascii: ","))
            try writeKeywords(keywords)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Puts `RELEASE [ids]` before the frame built last (and its blocks), so that it goes with
    /// it (handles released at no extra round trip).
    mutating func prependRelease(_ ids: [Int]) { release = OutgoingFrame.releaseLine(ids) }

    /// Writes a ref, as an immediate argument of a call (the interpreter evaluates it there).
    mutating func write(ref: BondRef) throws(BondError) {
        guard call.nesting == 0, call.isWritingArgument else {
            throw errors.usage("\(ref) can only be an immediate argument of call()")
        }
        guard ref.owner == call.refOwner else { throw errors.usage("\(ref) belongs to another bond") }
        if call.wrapsArguments {
            write(ref.code)
            call.wroteRef = true
        } else {
            call.needsRefs = true  // the call is written again, as an XCALL
            writeNull()
        }
    }

    // MARK: Calls

    /// Writes the payload of a call of `name`, whose arguments `writeArguments` writes (with
    /// `writeArgument`): `CALL ["name",[arguments...]]`, or `XCALL ["name",[[is_ref, value or
    /// code]...]]` when a ref is among them; [ext] `keywords`, if any, as a third element
    /// `{"key":value,...}` (docs/protocol.md, `KEYWORDS`).
    mutating func writeCall(
        _ name: String, refsOf owner: ObjectIdentifier, keywords: some Collection<KeywordArgument> = EmptyCollection<KeywordArgument>(),
        _ writeArguments: (inout BondFrameWriter) throws(BondError) -> Void
    ) throws(BondError) {
        call = CallState(refOwner: owner)
        defer { call = CallState() }
        callStart.write(name, into: &bytes)
        try writeArguments(&self)
        try closeCall(keywords)
        guard call.needsRefs else { return }
        restart("XCALL")
        call = CallState(refOwner: owner, wrapsArguments: true)
        bytes.append(UInt8(ascii: "["))
        write(name)
        bytes.append(contentsOf: ",[".utf8)
        try writeArguments(&self)
        try closeCall(keywords)
    }

    /// Ends a call's payload, its keyword arguments (if any) as a third element.
    private mutating func closeCall(_ keywords: some Collection<KeywordArgument>) throws(BondError) {
        guard !keywords.isEmpty else { return closeCall() }
        bytes.append(UInt8(ascii: "]"))
        bytes.append(UInt8(ascii: ","))
        try writeKeywords(keywords)
        bytes.append(UInt8(ascii: "]"))
    }

    /// [ext] Keyword arguments as a JSON object `{"key":value,...}`, in their order.
    private mutating func writeKeywords(_ keywords: some Collection<KeywordArgument>) throws(BondError) {
        bytes.append(UInt8(ascii: "{"))
        call.nesting += 1  // (a ref is no keyword value: see `write(ref:)`)
        for (index, (key, value)) in keywords.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            write(key)
            bytes.append(UInt8(ascii: ":"))
            if let value { try value.write(to: &self) } else { writeNull() }
        }
        call.nesting -= 1
        bytes.append(UInt8(ascii: "}"))
    }

    /// Ends a call's payload: `]]` (two bytes appended: a generic append of the text's UTF-8
    /// view cost about 35 instructions a call).
    private mutating func closeCall() {
        bytes.append(UInt8(ascii: "]"))
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes one argument of the call being written.
    mutating func writeArgument(_ argument: some BondArgument) throws(BondError) {
        if call.arguments > 0 { bytes.append(UInt8(ascii: ",")) }
        call.arguments += 1
        call.isWritingArgument = true
        defer { call.isWritingArgument = false }
        guard call.wrapsArguments else { return try argument.write(to: &self) }
        bytes.append(UInt8(ascii: "["))
        let flag = bytes.count
        bytes.append(contentsOf: "0,".utf8)
        call.wroteRef = false
        try argument.write(to: &self)
        if call.wroteRef { bytes[flag] = UInt8(ascii: "1") }
        bytes.append(UInt8(ascii: "]"))
    }

    private struct CallState: Sendable {
        var refOwner: ObjectIdentifier?
        /// XCALL: each argument as `[is_ref, value or code]`.
        var wrapsArguments = false
        var arguments = 0
        var nesting = 0
        var isWritingArgument = false
        var needsRefs = false
        var wroteRef = false
    }

    /// Speed trick: calls of one function come in runs, so the start of the last CALL payload,
    /// `["name",[`, is kept and the name is not encoded again (bond-bench's call round trip,
    /// docs/performance.md).
    private struct CallStart: Sendable {
        private var name = ""
        private var encoded: [UInt8] = []

        mutating func write(_ wanted: String, into out: inout [UInt8]) {
            if encoded.isEmpty || name != wanted {
                encoded = [UInt8(ascii: "[")]
                JSONWriter.writeString(wanted, into: &encoded)
                encoded.append(contentsOf: ",[".utf8)
                name = wanted
            }
            out.append(contentsOf: encoded)
        }
    }

    // MARK: Lines

    /// Builds a new frame line: `verb`, and the payload that `writePayload` writes.
    mutating func build(_ verb: String, _ writePayload: (inout BondFrameWriter) throws(BondError) -> Void) throws(BondError) {
        restart(verb)
        try writePayload(&self)
        bytes.append(0x0A)
    }

    /// Starts the line again, with `verb`.
    private mutating func restart(_ verb: String) {
        bytes.removeAll(keepingCapacity: true)
        if !blocks.isEmpty { blocks = [] }
        if !release.isEmpty { release = [] }
        var verb = verb
        verb.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(0x20)
    }

    /// The frame built last, to be sent later (by whoever holds the connection then).
    var outgoing: OutgoingFrame { OutgoingFrame(release: release, blocks: blocks, line: bytes) }

    /// Sends the line built last; a big one's buffer is let go after.
    mutating func send(through connection: Connection) -> Bool {
        let sent = blocks.isEmpty && release.isEmpty ? connection.send(line: bytes) : connection.send(outgoing)
        blocks = []
        release = []
        if bytes.capacity > 1 << 16 { bytes = [] }
        return sent
    }

    /// A whole frame line of `verb` and a payload already encoded.
    static func line(_ verb: String, payload: [UInt8]) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(verb.utf8.count + payload.count + 2)
        line.append(contentsOf: verb.utf8)
        line.append(0x20)
        line.append(contentsOf: payload)
        line.append(0x0A)
        return line
    }
}

/// A frame built and not sent yet: its line, and before it [ext] the raw `BYTES` blocks it
/// refers to and, first, a `RELEASE` of handles let go.
struct OutgoingFrame: Sendable {
    var release: [UInt8] = []
    var blocks: [[UInt8]] = []
    var line: [UInt8]

    /// Whether it is written with one small write (no blocks, a line of at most 64 KiB): a
    /// big one is written while the background reader drains the interpreter's output.
    var isSmall: Bool { blocks.isEmpty && line.count <= 1 << 16 }

    /// `RELEASE [ids]\n`.
    static func releaseLine(_ ids: [Int]) -> [UInt8] {
        var line = Array("RELEASE [".utf8)
        for (i, id) in ids.enumerated() {
            if i > 0 { line.append(UInt8(ascii: ",")) }
            JSONWriter.writeInteger(id, into: &line)
        }
        line.append(contentsOf: "]\n".utf8)
        return line
    }
}
