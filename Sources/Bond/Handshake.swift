import Foundation

extension Connection {
    /// Injects the driver, as the protocol's start-up says: waits for the interpreter's prompt
    /// (`init.wait`), sends the probe and waits for `STAGE1`, sends stage 1 and waits for
    /// `STAGE2`, sends stage 2 and waits for `READY`, all within `limit`.
    /// [ext] `extensions`: the protocol extensions the host switches on (`BYTES`, `OBJECTS`),
    /// sent as ONE list, the third `start` value, only when there are some (python-bond's
    /// drivers take two values and see none).
    func handshake(
        _ driver: Driver, transparentExceptions: Bool, switchingOn extensions: [String] = [], within limit: Duration?
    ) throws(BondError) {
        let errors = BondErrors(language: language)
        let deadline = limit.map { Date().addingTimeInterval($0.seconds) } ?? Date().addingTimeInterval(100 * 365 * 86_400)
        func fail(_ message: String) -> BondError {
            var text = message
            if Date() >= deadline {
                text += " within \((limit?.seconds ?? 0).formatted1) s"
            } else if waitUntilFinished(deadline: Date().addingTimeInterval(2)) {
                text += " (\(termination.exit))"
            }
            return errors.startup(text, output: startupNoise)
        }
        func regex(_ pattern: String) throws(BondError) -> NSRegularExpression {
            do { return try NSRegularExpression(pattern: pattern) } catch {
                throw errors.startup("bad pattern \(pattern) in driver")
            }
        }
        var offset = 0
        if let wait = driver.manifest.`init`.wait {
            guard let end = waitForStartupText(try regex(wait), after: offset, deadline: deadline) else {
                throw fail("the interpreter did not show its prompt")
            }
            offset = end
        }
        guard sendRaw(driver.manifest.`init`.probe),
            let afterProbe = waitForStartupText(try regex("STAGE1\r?\n"), after: offset, deadline: deadline)
        else { throw fail("the interpreter did not answer the probe") }
        let stage1: String
        let stage2: String
        do {
            stage1 = try driver.stage1Line()
            stage2 = try driver.stage2Source()
        } catch {
            throw errors.startup("cannot read the driver: \(error)")
        }
        guard sendRaw(stage1),
            let afterStage1 = waitForStartupText(try regex("STAGE2\r?\n"), after: afterProbe, deadline: deadline)
        else { throw fail("stage 1 of the driver did not start") }
        expectReady(after: afterStage1)
        var startValues: [BondValue] = ["JSON", .bool(transparentExceptions)]
        if !extensions.isEmpty { startValues.append(.array(extensions.map { .string($0) })) }
        let start: BondValue = ["code": .string(stage2), "start": .array(startValues)]
        guard sendRaw(start.description), waitForReady(deadline: deadline) else {
            throw fail("stage 2 of the driver did not start")
        }
    }
}
