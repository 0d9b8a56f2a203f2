/// A frame line being written: the verb, a space, the payload written straight into the
/// buffer, the end of line. A bond reuses one from frame to frame (no allocation per frame).
///
/// Arguments write themselves into it (`BondArgument.write(to:)`).
public struct BondFrameWriter: Sendable {
    private(set) var bytes: [UInt8] = []
    let errors: BondErrors
    private var callStart = CallStart()

    init(errors: BondErrors) { self.errors = errors }

    /// Writes a value as JSON.
    public mutating func write(_ value: BondValue) throws(BondError) {
        do {
            try JSONWriter.write(value, into: &bytes)
        } catch {
            throw errors.serialization(.local, error.message)
        }
    }

    /// Writes an integer as JSON.
    public mutating func write(_ value: Int) { JSONWriter.writeInteger(value, into: &bytes) }

    /// Writes a string as JSON.
    public mutating func write(_ value: String) { JSONWriter.writeString(value, into: &bytes) }

    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// Writes a value of one of the common argument types (see `BondValue.isCommon`).
    mutating func writeCommon<T>(_ value: T) throws(BondError) {
        do {
            try JSONWriter.writeCommon(value, into: &bytes)
        } catch {
            throw errors.serialization(.local, error.message)
        }
    }

    /// Starts a new frame line, `verb` and its payload, which `writePayload` writes.
    mutating func build(_ verb: String, _ writePayload: (inout BondFrameWriter) throws(BondError) -> Void) throws(BondError) {
        bytes.removeAll(keepingCapacity: true)
        var verb = verb
        verb.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(0x20)
        try writePayload(&self)
        bytes.append(0x0A)
    }

    /// Sends the line built last; a big one's buffer is let go after.
    mutating func send(through connection: Connection) -> Bool {
        let sent = connection.send(line: bytes)
        if bytes.capacity > 1 << 16 { bytes = [] }
        return sent
    }

    /// Writes `["name",[`, the start of a CALL payload.
    mutating func writeCallStart(_ name: String) {
        callStart.write(name, into: &bytes)
    }

    /// Speed trick: calls of one function come in runs, so the start of the last CALL payload
    /// is kept and its name is not encoded again (bond-bench's call round trip, docs/performance.md).
    private struct CallStart: Sendable {
        private var name = ""
        private var encoded: [UInt8] = []

        mutating func write(_ wanted: String, into out: inout [UInt8]) {
            if encoded.isEmpty || name != wanted {
                encoded = [UInt8(ascii: "[")]
                JSONWriter.writeString(wanted, into: &encoded)
                encoded.append(UInt8(ascii: ","))
                encoded.append(UInt8(ascii: "["))
                name = wanted
            }
            out.append(contentsOf: encoded)
        }
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
