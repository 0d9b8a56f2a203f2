// libFuzzer entry for the frame and JSON decoding, built by scripts/fuzz.sh together with
// Sources/Bond/{JSON,ReceivedFrame,LineSplitter,BondValue}.swift. Each input is a byte stream from an
// interpreter: it is split into lines (in chunks whose sizes the input's first byte picks)
// and every line is parsed as a frame; a payload that was read must write and read back to
// the same value. Any crash, hang or failed check is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    let chunk = Int(first % 64) + 1
    var splitter = LineSplitter(maximumLineBytes: 1 << 16)
    var offset = 1
    while offset < input.count {
        let end = min(input.count, offset + chunk)
        splitter.feed(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: input[offset..<end]))) { piece in
            guard case .line(let line) = piece, let frame = FrameParser.parse(line),
                case .success(let value) = frame.payload, let text = try? JSONWriter.encode(value)
            else { return }
            guard (try? JSONReader.read(text)) == value else { fatalError("round trip changed \(value)") }
        }
        offset = end
    }
    return 0
}
