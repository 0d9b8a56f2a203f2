/// Builds a frame line in one buffer: the verb, a space, the payload that `writePayload`
/// writes straight into the buffer, the end of line (one allocation, one write).
@inline(__always)
func frameLine<E: Error>(_ verb: String, writingPayload writePayload: (inout [UInt8]) throws(E) -> Void) throws(E) -> [UInt8] {
    var line: [UInt8] = []
    line.reserveCapacity(64)
    try appendFrameLine(verb, to: &line, writingPayload: writePayload)
    return line
}

/// Appends a frame line to `line` (see `frameLine`).
@inline(__always)
func appendFrameLine<E: Error>(
    _ verb: String, to line: inout [UInt8], writingPayload writePayload: (inout [UInt8]) throws(E) -> Void
) throws(E) {
    var verb = verb
    verb.withUTF8 { line.append(contentsOf: $0) }
    line.append(0x20)
    try writePayload(&line)
    line.append(0x0A)
}

