/// [ext] The `BYTES` extension (docs/protocol.md): a byte string travels out of band, as a raw
/// block (`BYTES <length>\n`, the bytes, `\n`) sent just before the frame that holds it; in the
/// frame's JSON it is `{"__BOND_bytes": <index of the block>}`. No base64, no escaping: a
/// 64 MiB buffer is copied, never encoded.
enum BytesBlocks {
    /// The name of the extension in a driver's manifest and in the host's start values.
    static let extensionName = "BYTES"
    /// The member that refers to a block.
    static let key = "__BOND_bytes"

    /// The header line of a block of `count` bytes, its end of line included.
    static func header(_ count: Int) -> [UInt8] {
        var line = Array("BYTES ".utf8)
        JSONWriter.writeInteger(count, into: &line)
        line.append(0x0A)
        return line
    }

    /// The length in a block's header line (`BYTES <length>`), or `nil` if the line is not one.
    static func length(inHeader line: UnsafeRawBufferPointer) -> Int? {
        guard line.count > 6, line.count < 26, line[0] == UInt8(ascii: "B"), line[1] == UInt8(ascii: "Y"),
            line[2] == UInt8(ascii: "T"), line[3] == UInt8(ascii: "E"), line[4] == UInt8(ascii: "S"),
            line[5] == 0x20
        else { return nil }
        var length = 0
        for byte in line[6...] {
            guard (0x30...0x39).contains(byte) else { return nil }
            length = length * 10 + Int(byte - 0x30)
        }
        return length
    }

    /// `value` with each `{"__BOND_bytes": i}` replaced by `.bytes(blocks[i])`; `nil` when it
    /// refers to a block that is not there.
    static func substitute(_ value: BondValue, _ blocks: [[UInt8]]) -> BondValue? {
        switch value {
        case .array(let items):
            var out: [BondValue] = []
            out.reserveCapacity(items.count)
            for item in items {
                guard let item = substitute(item, blocks) else { return nil }
                out.append(item)
            }
            return .array(out)
        case .object(let members):
            if members.count == 1, case .int(let index)? = members[key] {
                return blocks.indices.contains(index) ? .bytes(blocks[index]) : nil
            }
            var out = members
            for (name, item) in members {
                guard let item = substitute(item, blocks) else { return nil }
                out[name] = item
            }
            return .object(out)
        default:
            return value
        }
    }
}
