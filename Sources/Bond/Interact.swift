import Foundation

extension Bond {
    /// python-bond's `interact()`: a read-eval-print loop on the terminal (or any streams).
    ///
    /// Each line is run with `evalBlock`; a line starting with `!` is evaluated with `eval` and
    /// its value printed. A line ending in `\` continues on the next line. End of input ends it.
    public func interact(
        prompt: String? = nil, input: FileHandle = .standardInput, output: FileHandle = .standardOutput
    ) {
        let prompt = prompt ?? "\(language.lowercased())> "
        var reader = LineReader(handle: input)
        var block: [String] = []
        while true {
            output.write(Data((block.isEmpty ? prompt : "... ").utf8))
            guard let line = reader.next() else { break }
            if line.hasSuffix("\\") {
                block.append(String(line.dropLast()))
                continue
            }
            block.append(line)
            let code = block.joined(separator: "\n")
            block = []
            guard !code.trimmingWhitespace().isEmpty else { continue }
            do {
                if code.hasPrefix("!") {
                    output.write(Data((try eval(String(code.dropFirst())).prettyDescription + "\n").utf8))
                } else {
                    try evalBlock(code)
                }
            } catch {
                output.write(Data("\(error)\n".utf8))
                if case .terminated = error { break }
            }
        }
        output.write(Data("\n".utf8))
    }
}

/// Reads lines from a file handle without reading past what is needed.
struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var ended = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            if ended {
                guard !buffer.isEmpty else { return nil }
                defer { buffer = [] }
                return String(decoding: buffer, as: UTF8.self)
            }
            let data = handle.availableData
            if data.isEmpty { ended = true } else { buffer.append(contentsOf: data) }
        }
    }
}
