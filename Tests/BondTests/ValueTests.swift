import Bond
import Foundation
import Testing

@Suite struct ValueTests {
    @Test func literalsAndAccessors() {
        let v: BondValue = ["a": [1, 2.5, "s", nil, true]]
        #expect(v["a"]?[0]?.intValue == 1)
        #expect(v["a"]?[1]?.doubleValue == 2.5)
        #expect(v["a"]?[2]?.stringValue == "s")
        #expect(v["a"]?[3]?.isNull == true)
        #expect(v["a"]?[4]?.boolValue == true)
        #expect(v.description == #"{"a":[1,2.5,"s",null,true]}"#)
        let two: BondValue = 2
        #expect(two == 2)
    }

    @Test func prettyDescriptionIndents() {
        let v: BondValue = ["k": [1, ["x": nil]], "e": [], "o": [:]]
        #expect(v.prettyDescription == """
        {
          "k": [
            1,
            {
              "x": null
            }
          ],
          "e": [],
          "o": {}
        }
        """)
    }

    @Test func objectKeyOrderIsKept() throws {
        let v: BondValue = ["z": 1, "a": 2, "m": 3]
        #expect(v.objectValue?.keys.elementsEqual(["z", "a", "m"]) == true)
    }

    @Test func convertingSwiftValues() throws {
        #expect(try BondValue(converting: nil) == .null)
        #expect(try BondValue(converting: [1, 2]) == [1, 2])
        #expect(try BondValue(converting: ["b": 1, "a": "x"]) == ["a": "x", "b": 1])
        #expect(try BondValue(converting: Float(0.5)) == 0.5)
        #expect(try BondValue(converting: [Int?.none, 1] as [Int?]) == [nil, 1])
        struct S: Encodable { let n = 1 }
        #expect(try BondValue(converting: S()) == ["n": 1])
    }

    @Test func readingJSONText() throws {
        let v = try BondValue(json: #" {"z": [1, 2.5, "é\u00e9"], "a": null, "m": true} "#)
        #expect(v.objectValue?.keys.elementsEqual(["z", "a", "m"]) == true)
        #expect(v["z"] == [1, 2.5, "éé"])
        #expect(throws: BondError.self) { try BondValue(json: "[1,") }
        #expect(throws: BondError.self) { try BondValue(json: "99999999999999999999") }
    }

    /// A text that holds several values (a command line) is read one value at a time.
    @Test func readingAJSONValueAtTheStartOfAText() throws {
        let (first, rest) = try BondValue.readJSON(prefixOf: #"  [1, {"é": "x y"}] "b" 7"#)
        #expect(first == [1, ["é": "x y"]])
        #expect(rest == #" "b" 7"#)
        let (second, last) = try BondValue.readJSON(prefixOf: rest)
        #expect(second == "b")
        #expect(try BondValue.readJSON(prefixOf: last) == (7, ""))
        #expect(try BondValue.readJSON(prefixOf: "12,3").rest == ",3")
        for bad in ["", "  ", "[1,", "bare", #""open"#] {
            #expect(throws: BondError.self) { try BondValue.readJSON(prefixOf: Substring(bad)) }
        }
    }

    /// The names `export` and `proxy` accept, in every language.
    @Test func functionNames() {
        for name in ["f", "_", "_f2", "snake_case", "A1"] { #expect(Bond.isFunctionName(name), "\(name)") }
        for name in ["", "2f", "f-g", "f.g", "é", "f g", "a::b", "\\f"] { #expect(!Bond.isFunctionName(name), "\(name)") }
    }

    /// Where a bond's command runs, as the bond reads it to start.
    @Test func sshDestinationsOfCommands() {
        #expect(BondCommand.sshDestination("ssh box python3") == "box")
        #expect(BondCommand.sshDestination("ssh -p 2222 -o BatchMode=yes user@127.0.0.1 perl") == "user@127.0.0.1")
        #expect(BondCommand.sshDestination("/usr/bin/ssh -tt 'my host' node") == "my host")
        #expect(BondCommand.sshDestination("ssh -- box php") == "box")
        #expect(BondCommand.sshDestination("python3 -i") == nil)
        #expect(BondCommand.sshDestination("sshfs x") == nil)
        #expect(BondCommand.sshDestination("ssh -p 22") == nil)
    }

    @Test(arguments: [0, 9, 10, 42, -1, -9, -10, 1_234_567_890, Int.max, Int.min, Int.min + 1])
    func integersAreWrittenAsTheirDigits(_ n: Int) throws {
        #expect(BondValue.int(n).description == String(n))
        #expect(try BondValue(json: BondValue.int(n).description) == .int(n))
    }

    /// Shallow nesting is read by recursion, deep nesting with an explicit stack: either way
    /// 512 levels are read back as they were written, 513 are refused, and a fault is found
    /// at any depth.
    @Test func nestingIsLimitedTo512LevelsOnBothSidesOfTheRecursion() throws {
        for depth in [1, 31, 32, 33, 100, 511, 512, 513, 600] {
            let arrays = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
            let objects = String(repeating: "{\"k\":", count: depth) + "[2,\"x\"]" + String(repeating: "}", count: depth)
            var mixed = "null"
            for level in 0..<depth { mixed = level % 2 == 0 ? "[0,\(mixed),{}]" : "{\"a\":\(mixed),\"b\":[]}" }
            // (the objects hold an array one level deeper; an empty container is no level)
            for (text, levels) in [(arrays, depth), (objects, depth + 1), (mixed, depth)] {
                let read = try? BondValue(json: text)
                #expect((read != nil) == (levels <= 512), "\(levels) levels")
                if let read { #expect(read.description == text) }
                for broken in [text.replacingOccurrences(of: "1]", with: "1,]"), String(text.dropLast()), text + "]"]
                where broken != text {
                    #expect(throws: BondError.self) { try BondValue(json: broken) }
                }
            }
        }
    }

    /// Integers of up to 18 digits are read digit by digit, longer ones and other numbers
    /// the general way: the two meet at the edge without a change of value or of what is refused.
    @Test func numbersAreReadTheSameOnBothSidesOfTheFastPath() throws {
        var texts = ["0", "-0", "7", "-7", "007", "1.5", "-2.5e3", "1e2", "1E+2", "3.0", "-",
                     "1-2", "1.", "--1", "9223372036854775807", "-9223372036854775808",
                     "9223372036854775808", "-9223372036854775809", "99999999999999999999"]
        for digits in 15...20 {
            texts.append(String(repeating: "9", count: digits))
            texts.append("-" + String(repeating: "9", count: digits))
            texts.append("1" + String(repeating: "0", count: digits - 1))
        }
        for text in texts {
            // (leading zeros are let through, as Int(_:) does)
            let expected: BondValue? =
                if let int = Int(text) { .int(int) }
                else if text.contains(where: { ".eE".contains($0) }), let double = Double(text) { .double(double) }
                else { nil }
            for frame in ["", "[", "[0,"] {  // alone, and inside arrays
                let json = frame + text + String(repeating: "]", count: frame.isEmpty ? 0 : 1)
                let read = try? BondValue(json: json)
                let value = frame.isEmpty ? read : read?.arrayValue?.last
                #expect(value == expected, "\(json)")
            }
        }
    }

    /// Strings are scanned eight bytes at a time for the bytes that need escaping: put each of
    /// them (and bytes that must not be taken for one) at every place of words of every length,
    /// and check both directions against Foundation's JSON.
    @Test func stringsAreEscapedWhereverTheSpecialBytesFall() throws {
        let specials = ["\"", "\\", "\n", "\u{1}", "\u{1F}", "\t", " ", "é", "🎉", "\u{7F}", "!", "]"]
        for length in 0..<24 {
            for position in 0...length {
                for special in specials {
                    var text = String(repeating: "a", count: length)
                    text.insert(contentsOf: special, at: text.index(text.startIndex, offsetBy: position))
                    let written = BondValue.string(text).description
                    let decoded = try JSONSerialization.jsonObject(with: Data(written.utf8), options: .fragmentsAllowed)
                    #expect(decoded as? String == text, "written: \(written)")
                    #expect(try BondValue(json: written) == .string(text))
                    let foundation = try JSONSerialization.data(withJSONObject: [text])
                    #expect(try BondValue(json: String(decoding: foundation, as: UTF8.self)) == [.string(text)])
                }
            }
        }
    }
}
