#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Display width of text, measured the way ncurses measures it: `wcwidth` of the C library,
/// in a UTF-8 locale.
public enum TextWidth {
    /// Makes sure `wcwidth` works on Unicode: a UTF-8 `LC_CTYPE` (set once, thread-safely,
    /// before the first measurement).
    public static func ensureUTF8Locale() { _ = cWcwidth }

    private static func setUTF8Locale() {
        if let current = setlocale(LC_CTYPE, nil), isUTF8(String(cString: current)) { return }
        if let set = setlocale(LC_CTYPE, ""), isUTF8(String(cString: set)) { return }
        if setlocale(LC_CTYPE, "C.UTF-8") != nil { return }
        _ = setlocale(LC_CTYPE, "en_US.UTF-8")
    }

    private static func isUTF8(_ name: String) -> Bool {
        let n = name.lowercased()
        return n.contains("utf-8") || n.contains("utf8")
    }

    /// `wcwidth` of one scalar: -1 for non-printable, 0 for combining / zero width, 1 or 2.
    @inline(__always)
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v >= 0x20 && v < 0x7F { return 1 }
        return Int(cWcwidth(Int32(bitPattern: v)))
    }

    /// glibc's `wcwidth` (not exported by the Glibc module without `_XOPEN_SOURCE`), looked up once.
    private static let cWcwidth: @convention(c) (Int32) -> Int32 = {
        setUTF8Locale()
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wcwidth") else {
            return { c in c < 0x20 || (c >= 0x7F && c < 0xA0) ? -1 : 1 }
        }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// The width of sanitized text (sum of its glyphs).
    public static func of(_ text: some StringProtocol) -> Int {
        var total = 0
        for scalar in text.unicodeScalars {
            let w = of(scalar)
            if w > 0 { total += w }
        }
        return total
    }
}

/// One terminal cell's worth of text: a spacing scalar and the zero-width scalars after it.
public struct Glyph: Sendable, Hashable {
    public var text: String
    public var width: Int
}

/// Turns text from an interpreter (or anywhere) into text that is safe to show: control
/// characters, C1 controls, bidi overrides and unprintable scalars become visible escapes;
/// a combining mark without a base gets a dotted circle. Newlines are kept only when asked.
public enum Sanitizer {
    /// The bidi controls that can reorder what the terminal shows.
    public static func isBidiControl(_ v: UInt32) -> Bool {
        v == 0x061C || v == 0x200E || v == 0x200F || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// Sanitizes one line (no newline inside expected; one found is shown as `^J`).
    /// Tabs expand to the next multiple of `tabWidth` columns.
    public static func line(_ text: some StringProtocol, tabWidth: Int = 8) -> String {
        // Fast path: plain printable ASCII.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(text) }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var column = 0
        for character in text {
            let scalars = character.unicodeScalars
            var first = true
            for scalar in scalars {
                let v = scalar.value
                var piece: String?
                if v == 0x09 {
                    let n = tabWidth - column % tabWidth
                    out += String(repeating: " ", count: n)
                    column += n
                    first = false
                    continue
                } else if v < 0x20 {
                    piece = "^" + String(UnicodeScalar(UInt8(v + 0x40)))
                } else if v == 0x7F {
                    piece = "^?"
                } else if v >= 0x80 && v < 0xA0 {
                    piece = "\\x" + hex(v, digits: 2)
                } else if isBidiControl(v) {
                    piece = "<U+" + hex(v, digits: 4).uppercased() + ">"
                } else {
                    let w = TextWidth.of(scalar)
                    if w < 0 {
                        piece = "<U+" + hex(v, digits: 4).uppercased() + ">"
                    } else if w == 0 && first {
                        out += "\u{25CC}"
                        column += 1
                        out.unicodeScalars.append(scalar)
                    } else {
                        out.unicodeScalars.append(scalar)
                        column += w
                    }
                }
                if let piece {
                    out += piece
                    column += piece.utf8.count
                }
                first = false
            }
        }
        return out
    }

    /// Sanitizes text and splits it into lines (at `\n`; a `\r` before it is dropped).
    public static func lines(_ text: String) -> [String] {
        var result: [String] = []
        for part in splitLines(text) {
            var p = part
            if p.unicodeScalars.last == "\r" { p = String(p.unicodeScalars.dropLast()) }
            result.append(line(p))
        }
        return result
    }

    /// Splits at every `\n` scalar (also inside a `\r\n` grapheme cluster).
    public static func splitLines(_ text: String) -> [String] {
        if !text.utf8.contains(0x0A) { return [text] }
        return text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
            String(String.UnicodeScalarView($0))
        }
    }

    static func hex(_ v: UInt32, digits: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= digits ? s : String(repeating: "0", count: digits - s.count) + s
    }

    /// The glyphs of sanitized text, grouped by grapheme cluster: each cluster gives one or more
    /// glyphs (one per spacing scalar, as ncurses places them).
    public static func clusters(_ text: String) -> [[Glyph]] {
        var result: [[Glyph]] = []
        result.reserveCapacity(text.utf8.count)
        for character in text {
            if let ascii = character.asciiValue, ascii >= 0x20, ascii < 0x7F {
                result.append([Glyph(text: String(character), width: 1)])
                continue
            }
            var glyphs: [Glyph] = []
            for scalar in character.unicodeScalars {
                let w = TextWidth.of(scalar)
                if w > 0 || glyphs.isEmpty {
                    glyphs.append(Glyph(text: String(scalar), width: max(w, 1)))
                } else {
                    glyphs[glyphs.count - 1].text.unicodeScalars.append(scalar)
                }
            }
            result.append(glyphs)
        }
        return result
    }
}

/// Word-less wrapping of sanitized text into rows of at most `width` columns, never splitting a
/// grapheme cluster unless it is wider than a row.
public enum Wrap {
    public static func rows(_ text: String, width: Int) -> [[Glyph]] {
        guard width > 0 else { return [] }
        var rows: [[Glyph]] = []
        var row: [Glyph] = []
        var used = 0
        for cluster in Sanitizer.clusters(text) {
            let w = cluster.reduce(0) { $0 + $1.width }
            if used + w > width && !row.isEmpty {
                rows.append(row)
                row = []
                used = 0
            }
            for glyph in cluster {
                if used + glyph.width > width && !row.isEmpty {
                    rows.append(row)
                    row = []
                    used = 0
                }
                row.append(glyph)
                used += glyph.width
            }
        }
        if !row.isEmpty || rows.isEmpty { rows.append(row) }
        return rows
    }

    /// How many rows `text` takes at `width` (same rule as `rows`), without building them.
    public static func rowCount(_ text: String, width: Int) -> Int {
        guard width > 0 else { return 0 }
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return max(1, (text.utf8.count + width - 1) / width)
        }
        return rows(text, width: width).count
    }

    /// The text cut to `width` columns (whole glyphs), with `…` when cut and `ellipsis` is set.
    public static func truncate(_ text: String, width: Int, ellipsis: Bool = true) -> [Glyph] {
        guard width > 0 else { return [] }
        var out: [Glyph] = []
        var used = 0
        let clusters = Sanitizer.clusters(text)
        let total = clusters.reduce(0) { $0 + $1.reduce(0) { $0 + $1.width } }
        let limit = total > width && ellipsis ? width - 1 : width
        for cluster in clusters {
            let w = cluster.reduce(0) { $0 + $1.width }
            if used + w > limit { break }
            out += cluster
            used += w
        }
        if total > width && ellipsis { out.append(Glyph(text: "…", width: 1)) }
        return out
    }
}
