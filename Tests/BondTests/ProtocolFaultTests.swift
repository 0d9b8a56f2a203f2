import Bond
import Foundation
import Testing

/// RELIABILITY.md, "Protocol" (10, 11): bad frames from the interpreter give a clear error or a
/// logged anomaly, never a crash or a hang, and the bond stays usable where the stream is in sync.
/// User code writes straight into the Python driver's protocol stream (`_BOND_OUT`) to forge frames.
@Suite(.timeLimit(.minutes(2))) struct ProtocolFaultTests {
    func inject(_ bond: Bond, _ bytes: String) throws {
        try bond.evalBlock("_BOND_OUT.write(\(pythonBytes(bytes)))\n_BOND_OUT.flush()")
    }

    func pythonBytes(_ s: String) -> String {
        "b'" + s.utf8.map { String(format: "\\x%02x", $0) }.joined() + "'"
    }

    @Test func unknownVerbIsOutputNotAFrame() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        try inject(bond, "FROB 1\nhello world\n\0\0 NUL line\n")
        #expect(collected.stdout.contains("FROB 1\n"))
        #expect(collected.stdout.contains("hello world\n"))
        #expect(try bond.eval("1 + 1") == 2)
    }

    @Test func replyWithNoRequestWaitingIsDropped() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        // The forged RETURN answers the block; the driver's own reply then finds no request waiting.
        try inject(bond, "RETURN 666\n")
        #expect(collected.waitFor { $0.stderr.contains("no request waiting") })
        #expect(try bond.eval("1 + 1") == 2, "a stale reply must not answer a later request")
    }

    @Test func invalidJSONFailsTheRequestAndTheBondGoesOn() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        for garbage in ["RETURN {bad json\n", "RETURN \"a\0b\"\n", "EXCEPT [1,\n", "RETURN \"\\ud800\"\n",
                        "RETURN " + String(repeating: "[", count: 100_000) + "\n"] {
            let error = bondError { try inject(bond, garbage) }
            // (a reply that cannot be read here fails on our side: a local error)
            guard case .serialization(_, .local, let message) = error else {
                Issue.record("\(garbage.prefix(20)): got \(String(describing: error))"); continue
            }
            #expect(message.contains("cannot read"))
            // The driver's own reply to the block follows the forged one: wait until it is dropped.
            #expect(collected.waitFor { $0.stderr.contains("no request waiting") })
            collected.reset()
            #expect(try bond.eval("2 + 2") == 4)
        }
    }

    @Test func crlfLineEndsAreAccepted() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        // The forged reply (with \r\n) answers the EVAL; the real one is then dropped as stale.
        #expect(try bond.eval("_BOND_OUT.write(b'RETURN 7\\r\\n') and _BOND_OUT.flush() or 0") == 7)
        #expect(collected.waitFor { $0.stderr.contains("no request waiting") })
        #expect(try bond.eval("3") == 3)
    }

    @Test func outputOnAnUnknownChannelIsShown() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        try inject(bond, "OUTPUT [\"STDWHAT\", \"odd\\n\"]\nOUTPUT 12\n")
        #expect(collected.stdout.contains("odd\n"))
        #expect(collected.stderr.contains("malformed OUTPUT"))
        #expect(try bond.eval("5") == 5)
    }

    @Test func callOfANameNeverExportedIsARemoteException() throws {
        let (bond, _) = try makeBond("Python")
        defer { bond.close() }
        try bond.evalBlock("try:\n    _BOND_call('never_exported', [1])\nexcept Exception as e:\n    caught = str(e)\n")
        #expect(try bond.eval("caught").stringValue?.contains("never_exported") == true)
        #expect(try bond.eval("6") == 6)
    }

    @Test func truncatedLineThenEndOfFileIsTerminatedNotAReply() throws {
        let (bond, collected) = try makeBond("Python")
        defer { bond.close() }
        let error = bondError { try bond.evalBlock("_BOND_OUT.write(b'RETURN 12')\n_BOND_OUT.flush()\nimport os\nos._exit(5)") }
        guard case .terminated(_, let exit, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(exit == .exited(5))
        #expect(collected.stdout.contains("RETURN 12"))
    }

    @Test func oversizedFrameIsAClearErrorAndTheBondGoesOn() throws {
        let (bond, _) = try makeBond("Python") { $0.maximumFrameBytes = 10_000 }
        defer { bond.close() }
        let error = bondError { _ = try bond.eval("'x' * 50000") }
        guard case .protocolViolation(_, let message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("over the limit"))
        #expect(try bond.eval("'y' * 100") == .string(String(repeating: "y", count: 100)))
    }

    @Test func driverCannotBeFooledByChildOutputShapedLikeFrames() throws {
        for s in Snippets.engine {
            let (bond, collected) = try makeBond(s.language)
            defer { bond.close() }
            try bond.evalBlock(s.strayOutput)
            #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 42") })
            #expect(try bond.eval("1 + 1") == 2)
        }
    }
}
