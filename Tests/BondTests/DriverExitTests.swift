import Bond
import Foundation
import Testing

/// The Perl, Ruby and R drivers when their interpreter ends: an exit in user code ends the bond
/// with the interpreter's status, after the output written before it; a killed interpreter
/// fails the request waiting on it. (Python and JavaScript: EngineTests.)
@Suite(.timeLimit(.minutes(3))) struct DriverExitTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let language: String
        /// Writes "last words" to standard output, then exits with status 3.
        let lastWordsThenExit3: String
        /// What the host collects of those words.
        let lastWords: String
        /// Whether the bond's end names SIGKILL (R's `R` is a shell script).
        let namesSIGKILL: Bool
        var testDescription: String { language }
    }

    static let cases = [
        Case(language: "Perl", lastWordsThenExit3: "print 'last words'; exit 3;", lastWords: "last words", namesSIGKILL: true),
        Case(language: "Ruby", lastWordsThenExit3: "print 'last words'; exit 3", lastWords: "last words", namesSIGKILL: true),
        Case(language: "R", lastWordsThenExit3: "cat('last words\\n'); quit(status = 3)", lastWords: "last words\n",
             namesSIGKILL: false),
    ]

    @Test(arguments: cases)
    func exitAndKillTerminateTheBond(_ c: Case) throws {
        let snippets = CrossLanguageTests.all.first { $0.language == c.language }!
        let (bond, collected) = try makeBond(c.language)
        guard case .terminated(_, let exit, _) = bondError({ try bond.evalBlock(c.lastWordsThenExit3) }) else {
            Issue.record("exit 3"); return
        }
        #expect(exit == .exited(3))
        #expect(collected.stdout == c.lastWords)
        bond.close()
        let (other, _) = try makeBond(c.language)
        let pid = other.processID
        after(0.3) { kill(pid, SIGKILL) }
        guard case .terminated(_, let end, _) = bondError({ try other.evalBlock(snippets.sleep5) }) else {
            Issue.record("killed"); return
        }
        if c.namesSIGKILL { #expect(end == .signaled(SIGKILL)) }
        other.close()
    }
}
