import Bond
import Foundation
import Testing

extension Snippets {
    static let r = Snippets(
        language: "R",
        defineIdent: "ident <- function(x) x",
        defineInc: "inc <- function(x) x + 1L",
        printHello: "cat('hello\\n')",
        printError: "message('oops')",
        raiseBoom: "stop('boom')",
        unserializable: "function() 1",
        setGlobal: "g <- 5L",
        hideLocal: "f <- function() { hidden <- 1; hidden }; f()",
        multiply: "function(a, b) a * b",
        catchFail: "caught <- tryCatch(fail(), error = function(e) conditionMessage(e))",
        defineDown: "down_remote <- function(n) if (n == 0) 0L else 1L + down(n - 1L)",
        strayOutput: "system('echo RETURN 42')",
        readStdin: "system('cat')",
        exit3: "quit(status = 3)",
        sleep5: "Sys.sleep(5)",
        busyLoop: "i <- 0; repeat { i <- i + 1 }",
        defineSpinAfterSlow: "spin <- function() { slow(); i <- 0; repeat { i <- i + 1 } }",
        sixtyFourMebibytesOfZ: "strrep('z', 64 * 2^20)"
    )
}

/// The R driver (issue 21), locally and over ssh.
/// (Its tests one after another: each starts interpreters and waits on them, and a full run
/// on a small machine has many others.)
@Suite(.serialized, .timeLimit(.minutes(5))) struct RDriverTests {
    static let s = Snippets.r

    @Test(arguments: places)
    func marshalsValuesBothWays(_ place: Place) throws {
        let (bond, _) = try makeBond("R", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.defineIdent)
        let values: [BondValue] = [
            true, false, 0, 1, -42, 1.5, "", "text", "héllo wörld 🎉 \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} e\u{301}",
            "quotes \" and \\ and \n newlines \t tabs \u{1} \u{7F} \u{2028} / slash", [], [1, [2, [3, []]]], [:],
            ["b": 1, "a": [true, nil], "nested": ["x": "y"]], nil, .int(Int(Int32.max)), .int(Int(Int32.min) + 1),
            -0.5, 2.5e-8, 1e300, 0.30000000000000004, "42", "1.0", 1.0, 3.0, [1, 2, 3], [1.5, 2.5], ["a", "b"],
            [true, false, nil], [1, 2.5], [1, "a"], [5], ["x"], [nil], [nil, nil], [[1, 2], [3, 4]], [[5]],
            ["k": [1]], ["k": []], ["k": [:]],
        ]
        for value in values {
            #expect(try bond.call("ident", value) == value, "round trip of \(value)")
        }
        // Integers beyond R's 32 bits are doubles in R.
        #expect(try bond.call("ident", BondValue.int(Int(Int32.max) * 4)) == .double(Double(Int32.max) * 4))
        #expect(try bond.eval("1L + 1L") == 2)
        #expect(try bond.eval("1 + 1") == 2.0)
    }

    @Test func valuesFromRToJSON() throws {
        let (bond, _) = try makeBond("R")
        defer { bond.close() }
        let cases: [(String, BondValue)] = [
            ("NULL", nil), ("NA", nil), ("NA_integer_", nil), ("NA_character_", nil), ("TRUE", true),
            ("42L", 42), ("42", 42.0), ("1e300", 1e300), ("-0.5", -0.5), ("'a'", "a"),
            ("c(1L, 2L, NA)", [1, 2, nil]), ("c(0.5, NA)", [0.5, nil]), ("c('a', NA)", ["a", nil]),
            ("integer(0)", []), ("character(0)", []), ("list()", []), ("I(7L)", [7]),
            ("list(1L, 'a', NULL, list())", [1, "a", nil, []]),
            ("list(b = 1L, a = list(x = TRUE))", ["b": 1, "a": ["x": true]]),
            ("c(b = 2L, a = 1L)", ["b": 2, "a": 1]),
            ("setNames(list(), character(0))", [:]),
            ("factor(c('lo', 'hi', 'lo', NA))", ["lo", "hi", "lo", nil]),
            ("factor('only')", "only"),
            ("data.frame(n = 1:2, s = c('x', NA), f = factor(c('u', 'v')), d = c(0.5, 1))",
             [["n": 1, "s": "x", "f": "u", "d": 0.5], ["n": 2, "s": nil, "f": "v", "d": 1.0]]),
            ("data.frame()", []),
            ("matrix(1:6, nrow = 2)", [[1, 3, 5], [2, 4, 6]]),
            ("as.Date('2024-02-29')", "2024-02-29"),
            ("structure(list(a = 1L), class = 'myrecord')", ["a": 1]),
            ("'caf\\u00e9 \\U0001F389'", "café 🎉"),
            ("c(0.1, 0.1 + 0.2)", [0.1, 0.30000000000000004]),
            (".Machine$integer.max", .int(Int(Int32.max))),
        ]
        for (code, value) in cases {
            #expect(try bond.eval(code) == value, "\(code)")
        }
        for bad in ["function() 1", "NaN", "Inf", "-Inf", "c(1, NaN)", "globalenv()", "quote(x + 1)", "as.raw(1:3)",
                    "1i", "array(1:8, c(2, 2, 2))", "new.env()"] {
            guard case .serialization(_, .remote, let message) = bondError({ _ = try bond.eval(bad) }) else {
                Issue.record("\(bad) must be a remote serialization error"); continue
            }
            #expect(!message.isEmpty)
            #expect(try bond.eval("1L") == 1)
        }
    }

    @Test func valuesFromJSONToR() throws {
        let (bond, _) = try makeBond("R")
        defer { bond.close() }
        try bond.evalBlock("shape <- function(x) list(class = class(x), type = typeof(x), length = length(x))")
        let cases: [(BondValue, BondValue)] = [
            (5, ["class": "integer", "type": "integer", "length": 1]),
            (2.5, ["class": "numeric", "type": "double", "length": 1]),
            (.int(1 << 40), ["class": "numeric", "type": "double", "length": 1]),
            ("s", ["class": "character", "type": "character", "length": 1]),
            (nil, ["class": "NULL", "type": "NULL", "length": 0]),
            ([1, 2, nil], ["class": "integer", "type": "integer", "length": 3]),
            ([1.5, 2.5], ["class": "numeric", "type": "double", "length": 2]),
            (["a", "b"], ["class": "character", "type": "character", "length": 2]),
            ([true, nil], ["class": "logical", "type": "logical", "length": 2]),
            ([1, 2.5], ["class": "list", "type": "list", "length": 2]),
            ([1, "a"], ["class": "list", "type": "list", "length": 2]),
            ([5], ["class": "AsIs", "type": "integer", "length": 1]),
            ([], ["class": "list", "type": "list", "length": 0]),
            (["a": 1, "b": [1, 2]], ["class": "list", "type": "list", "length": 2]),
        ]
        for (value, shape) in cases {
            #expect(try bond.call("shape", value) == shape, "\(value)")
        }
        #expect(try bond.call("function(x) sum(x)", [1, 2, 3]) == 6)
        #expect(try bond.call("function(x) x$b[2]", ["a": 1, "b": [10, 20]] as BondValue) == 20)
        #expect(try bond.call("function(x) is.na(x)", [1, nil]) == [false, true])
        #expect(try bond.call("function(...) nargs()", nil, nil) == 2)
        #expect(try bond.call("function(x) is.null(x)", nil) == true)
    }

    @Test(arguments: places)
    func callsOfFunctionsByNameOrExpression(_ place: Place) throws {
        let (bond, collected) = try makeBond("R", place)
        defer { bond.close() }
        try bond.evalBlock("add <- function(a, b = 10L) a + b\ncounter <- local({ n <- 0L; function() { n <<- n + 1L; n } })")
        #expect(try bond.call("add", 40, 2) == 42)
        #expect(try bond.call("add", 1) == 11)
        #expect(try bond.call("counter") == 1)
        #expect(try bond.call("counter") == 2)
        #expect(try bond.call("function(x) x + 1", 41) == 42.0)
        #expect(try bond.call("\\(x) x * 2L", 21) == 42)
        #expect(try bond.call("base::paste", "a", "b") == "a b")
        #expect(try bond.call("paste0", "a", "b", 1) == "ab1")
        #expect(try bond.call("sprintf", "%s-%03d", "x", 7) == "x-007")
        #expect(try bond.call("max", 3, 9, 4) == 9)
        #expect(try bond.call("length", [1, "a", nil] as BondValue) == 3)
        #expect(try bond.call("rev", [1, 2, 3]) == [3, 2, 1])
        #expect(try bond.call("(function(f) f)(sqrt)", 16) == 4.0)
        #expect(try bond.call("cat", "printed by cat\n") == nil)
        #expect(collected.stdout == "printed by cat\n")
        // Arguments that are code (refs) are evaluated first.
        try bond.evalBlock("g <- 5L")
        #expect(try bond.call("add", bond.ref("g"), 2) == 7)
        #expect(try bond.call("class", bond.ref("mtcars")) == "data.frame")
        for bad in ["no_such_function", "1 +", "42", "g"] {
            guard case .remote(_, let message, _) = bondError({ _ = try bond.call(bad, 1) }) else { Issue.record("\(bad)"); continue }
            #expect(message.hasPrefix("Error"))
        }
        #expect(try bond.eval("1L") == 1)
    }

    @Test(arguments: places)
    func scopesOfEvalAndBlock(_ place: Place) throws {
        let (bond, _) = try makeBond("R", place)
        defer { bond.close() }
        try bond.evalBlock("x <- 1L\nsquare <- function(v) v^2\nsetClass('P', representation(x = 'numeric'))")
        #expect(try bond.eval("x") == 1)
        #expect(try bond.eval("square(3)") == 9.0)
        #expect(try bond.eval("new('P', x = 2)@x") == 2.0)
        try bond.evalBlock(Self.s.hideLocal)
        guard case .remote(_, let message, _) = bondError({ _ = try bond.eval("hidden") }) else { Issue.record("hidden"); return }
        #expect(message == "Error: object 'hidden' not found")
        // The driver adds nothing to the global environment, and masking base functions in it
        // does not break the driver.
        #expect(try bond.eval("any(grepl('BOND', ls(globalenv(), all.names = TRUE)))") == false)
        try bond.evalBlock("paste0 <- function(...) stop('masked'); writeLines <- function(...) stop('masked'); c <- function(...) 'no'")
        #expect(try bond.eval("list(1L, 'still here')") == [1, "still here"])
        try bond.evalBlock("rm(paste0, writeLines, c)")
    }

    @Test(arguments: places)
    func errorsAndWarningsAsRReportsThem(_ place: Place) throws {
        let (plain, collected) = try makeBond("R", place)
        defer { plain.close() }
        try plain.evalBlock("f <- function(x) stop('bad x: ', x)")
        let cases: [(String, String)] = [
            ("stop('boom')", "Error: boom"), ("f(3)", "Error in f(3) : bad x: 3"),
            ("log(-1, base = 'a')", "Error in log(-1, base = \"a\") : non-numeric argument to mathematical function"),
            ("undefined_thing", "Error: object 'undefined_thing' not found"),
            ("stop(structure(class = c('myError', 'error', 'condition'), list(message = 'custom', call = NULL)))", "Error: custom"),
        ]
        for (code, text) in cases {
            guard case .remote(_, let message, let data) = bondError({ _ = try plain.eval(code) }) else { Issue.record("\(code)"); continue }
            #expect(message == text)
            #expect(data == .string(text))
        }
        guard case .remote(_, let syntax, _) = bondError({ try plain.evalBlock("f <- function( {") }) else { Issue.record("syntax"); return }
        #expect(syntax.hasPrefix("Error: <text>:1:"))
        // Warnings: on STDERR at once, as with options(warn = 1); the value still comes back.
        #expect(try plain.eval("{ warning('careful'); 1L }") == 1)
        try plain.evalBlock("g <- function() { warning('inside g'); 2L }")
        #expect(try plain.eval("g()") == 2)
        #expect(try plain.eval("as.integer('x')") == nil)
        #expect(collected.waitFor { $0.stderr.contains("Warning: careful\n") })
        #expect(collected.stderr.contains("Warning in g() : inside g\n"))
        #expect(collected.stderr.contains("NAs introduced by coercion"))
        try plain.evalBlock("options(warn = 2)")
        guard case .remote(_, let converted, _) = bondError({ _ = try plain.eval("g()") }) else { Issue.record("warn = 2"); return }
        #expect(converted.contains("(converted from warning) inside g"))
        try plain.evalBlock("options(warn = -1)")
        collected.reset()
        #expect(try plain.eval("g()") == 2)
        #expect(!collected.stderr.contains("inside g"))

        let (trans, _) = try makeBond("R", place) { $0.transparentExceptions = true }
        defer { trans.close() }
        guard case .remote(_, _, let object) = bondError({ _ = try trans.eval("stop('boom')") }) else { Issue.record("trans"); return }
        #expect(object == ["message": "boom", "call": nil, "class": ["simpleError", "error", "condition"]])
        guard case .remote(_, _, let custom) = bondError({
            _ = try trans.eval("stop(structure(class = c('myError', 'error', 'condition'), list(message = 'custom', call = NULL, code = 7L)))")
        }) else { Issue.record("custom condition"); return }
        #expect(custom["code"] == 7)
        #expect(custom["class"] == ["myError", "error", "condition"])
    }

    @Test(arguments: places)
    func outputGoesToItsChannelStreamed(_ place: Place) throws {
        let (bond, collected) = try makeBond("R", place)
        defer { bond.close() }
        try bond.evalBlock("print(1:3); cat('a', 'b\\n'); writeLines('wl'); cat('partial'); print(list(x = 1L))")
        #expect(collected.stdout == "[1] 1 2 3\na b\nwl\npartial$x\n[1] 1\n\n")
        try bond.evalBlock("message('to stderr'); cat('also stderr\\n', file = stderr()); cat('é☺\\n')")
        #expect(collected.stderr.contains("to stderr\nalso stderr\n"))
        #expect(collected.stdout.hasSuffix("é☺\n"))
        try bond.evalBlock("cat('no newline at the end')")
        #expect(collected.stdout.hasSuffix("é☺\nno newline at the end"))
        // Many lines (the driver renews its capture as it goes), in order.
        collected.reset()
        try bond.evalBlock("for (i in 1:3000) cat(i, '\\n', sep = '')")
        #expect(collected.stdout == (1...3000).map { "\($0)\n" }.joined())
        // Streamed: the first line arrives while the block still runs.
        collected.reset()
        let started = Date()
        Thread.detachNewThread { try? bond.evalBlock("cat('first\\n'); Sys.sleep(2); cat('second\\n')") }
        #expect(collected.waitFor(seconds: 1.5) { $0.stdout == "first\n" })
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(collected.waitFor(seconds: 5) { $0.stdout == "first\nsecond\n" })
        // A sink of the user's own still works, and ours comes back after it.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bond-r-sink-\(getpid()).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        collected.reset()
        try bond.evalBlock("sink('\(path)'); print('into the file'); sink(); cat('back\\n')")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "[1] \"into the file\"\n")
        #expect(collected.stdout == "back\n")
        #expect(try bond.eval("paste(capture.output(print(1:2)), collapse = '')") == "[1] 1 2")
    }

    @Test(arguments: places)
    func strayOutputAndStdinNeverBreakTheProtocol(_ place: Place) throws {
        let (bond, collected) = try makeBond("R", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.strayOutput)
        #expect(collected.waitFor { ($0.stdout + $0.stderr).contains("RETURN 42") })
        try bond.evalBlock("system('printf partial-line')")
        try bond.evalBlock(Self.s.readStdin)
        #expect(try bond.eval("length(system('cat', intern = TRUE))") == 0)
        #expect(try bond.eval("system('echo captured', intern = TRUE)") == "captured")
        #expect(try bond.eval("40L + 2L") == 42)
    }

    @Test(arguments: places)
    func exportsRecursionAndCatchableSwiftErrors(_ place: Place) throws {
        struct Refusal: Error, CustomStringConvertible { var description: String { "swift says no" } }
        let (bond, collected) = try makeBond("R", place)
        defer { bond.close() }
        try bond.export("twice") { args in .int(2 * (args[0].intValue ?? 0)) }
        #expect(try bond.eval("twice(21L)") == 42)
        #expect(try bond.eval("twice(twice(2L)) + 1L") == 9)
        try bond.export("echo") { args in .array(args) }
        #expect(try bond.eval("echo(1L, 'a', c(1.5, 2), list(k = TRUE), NULL)") == [1, "a", [1.5, 2.0], ["k": true], nil])
        try bond.evalBlock(Self.s.defineDown)
        try bond.export("down") { [unowned bond] args in
            let n = args[0].intValue ?? 0
            return .int(n == 0 ? 0 : 1 + (try bond.call("down_remote", n - 1).intValue ?? 0))
        }
        #expect(try bond.call("down_remote", 10) == 10)
        #expect((collected.traffic.map(\.depth).max() ?? 0) >= 6)
        try bond.export("fail") { _ in throw Refusal() }
        try bond.evalBlock(Self.s.catchFail)
        #expect(try bond.eval("caught").stringValue?.contains("swift says no") == true)
        #expect(try bond.eval("tryCatch(fail(), `_BOND_RemoteError` = function(e) class(e)[[1]])") == "_BOND_RemoteError")
        guard case .remote(_, let message, _) = bondError({ _ = try bond.eval("fail()") }) else { Issue.record("uncaught"); return }
        #expect(message.contains("swift says no"))
        try bond.export("bad") { _ in .double(.nan) }
        guard case .serialization = bondError({ _ = try bond.eval("bad()") }) else { Issue.record("bad value"); return }
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.eval("twice(function() 1)") }) else {
            Issue.record("unserializable argument of an exported function"); return
        }
        collected.reset()
        #expect(try bond.eval("1L + 1L") == 2)
        #expect(collected.traffic.allSatisfy { $0.depth == 1 })
        #expect(bond.state == .idle)
    }

    @Test(arguments: places)
    func interruptIsAnRInterrupt(_ place: Place) throws {
        let (bond, _) = try makeBond("R", place)
        defer { bond.close() }
        if place == .ssh { #expect(bond.remoteProcessID != nil) }
        for code in [Self.s.busyLoop, "Sys.sleep(30)", "for (i in 1:1e9) cat('')"] {
            after(0.5) { bond.interrupt() }
            let started = Date()
            guard case .remote(_, let message, _) = bondError({ try bond.evalBlock(code) }) else {
                Issue.record("interrupt of \(code)"); continue
            }
            #expect(message == "interrupted by SIGINT")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(bond.state == .idle)
            #expect(try bond.eval("6L * 7L") == 42)
        }
        // Code can catch it, as any interrupt condition.
        after(0.5) { bond.interrupt() }
        #expect(try bond.eval("tryCatch(Sys.sleep(30), interrupt = function(e) 'caught')") == "caught")
        #expect(try bond.eval("1L") == 1)
    }

    @Test func aForkedChildNeverSpeaksTheProtocol() throws {
        let (bond, collected) = try makeBond("R")
        defer { bond.close() }
        try bond.export("host_twice") { args in .int((args.first?.intValue ?? 0) * 2) }
        try bond.evalBlock(
            """
            forker <- function(how) {
              child <- parallel:::mcfork()
              if (inherits(child, "masterProcess")) {
                cat("child says", how, "\\n")
                if (how == "throw") stop("child")
                return("child")
              }
              suppressWarnings(parallel:::mccollect(child))
              "parent"
            }
            fork_and_call <- function() {
              child <- parallel:::mcfork()
              if (inherits(child, "masterProcess")) {
                r <- tryCatch(host_twice(1L), error = function(e) conditionMessage(e))
                cat("child caught:", r, "\\n")
                return("child")
              }
              suppressWarnings(parallel:::mccollect(child))
              host_twice(21L)
            }
            """)
        #expect(try bond.call("forker", "call") == "parent")
        #expect(try bond.call("forker", "throw") == "parent")
        #expect(try bond.eval("forker('eval')") == "parent")
        #expect(try bond.call("fork_and_call") == 42)
        #expect(try bond.eval("1L + 1L") == 2)
        #expect(collected.waitFor { $0.stderr.contains("child caught") })
        #expect(collected.stderr.contains("child says call"))
        #expect(collected.stderr.contains("child says eval"))
        #expect(collected.stderr.contains("child caught: host_twice cannot be called from a child process"))
        #expect(!collected.stdout.contains("child"))
        // parallel's own forks work as in R.
        #expect(try bond.eval("unlist(parallel::mclapply(1:4, function(i) i * 2L, mc.cores = 2))") == [2, 4, 6, 8])
    }

    /// User code runs with R's JIT compiler at its level (3 unless set otherwise). The driver's own
    /// code runs with it off until the bond has served `COMPILE_AFTER` requests (a start-up that
    /// compiled the driver cost about 240 million instructions more): then the functions of a
    /// request's path are byte-compiled once, and the JIT stays at the user's level.
    @Test func userCodeIsCompiledAndTheDriverOnlyAfterManyRequests() throws {
        let (bond, _) = try makeBond("R")
        defer { bond.close() }
        try bond.export("twice") { arguments in .int((arguments.first?.intValue ?? 0) * 2) }
        try bond.evalBlock("""
            loop <- function(n) { s <- 0L; for (i in seq_len(n)) s <- s + i; s }
            viaHost <- function(x) { cat("out\\n"); message("note"); warning("careful"); twice(x) }
            """)
        func exercise() throws {
            for i in 0..<5 {
                #expect(try bond.call("loop", 10) == 55)
                #expect(try bond.call("viaHost", i) == .int(2 * i))
                #expect(try bond.eval("sum(sapply(1:3, function(i) i))") == 6)
            }
            #expect(try bond.eval("compiler::enableJIT(-1)") == 3)
            #expect(try bond.eval("typeof(.Internal(bodyCode(loop)))") == "bytecode")
            // A level the user sets is kept from one request to the next.
            #expect(try bond.eval("compiler::enableJIT(0)") == 3)
            #expect(try bond.eval("compiler::enableJIT(-1)") == 0)
            #expect(try bond.call("loop", 3) == 6)
            #expect(try bond.eval("compiler::enableJIT(3)") == 0)
            #expect(try bond.eval("compiler::enableJIT(-1)") == 3)
        }
        // The driver's environment, reached through the closure of an exported function.
        try bond.evalBlock("""
            .driver <- (function() {
              driver <- environment(twice)
              while (!exists("serve", envir = driver, inherits = FALSE)) driver <- parent.env(driver)
              driver
            })()
            .compiled <- function() {
              names <- Filter(function(n) is.function(.driver[[n]]), ls(.driver, all.names = TRUE))
              I(names[vapply(names, function(n) typeof(.Internal(bodyCode(.driver[[n]]))) == "bytecode", NA)])
            }
            """)
        try exercise()
        #expect(try bond.eval(".compiled()") == [])
        let after = try #require(try bond.eval(".driver$COMPILE_AFTER").intValue)
        #expect(after >= 100)
        while try bond.eval(".driver$STATE$compiled") == false {
            #expect(try bond.call("loop", 1) == 1)
        }
        // Compiled on reaching the count, not before.
        #expect(try bond.eval("(.driver$STATE$served - .driver$COMPILE_AFTER) %in% 1:3") == true)
        let hot = try bond.eval(".driver$HOT")
        #expect(try bond.eval("setdiff(.driver$HOT, .compiled())") == [])
        #expect(hot.arrayValue?.count ?? 0 > 20)
        try exercise()
    }

    /// R strings cannot hold U+0000: such a string is a serialization error on R's side, and the
    /// bond goes on. (Payloads of every size: PayloadTests.)
    @Test(arguments: places)
    func aStringWithNULIsAnError(_ place: Place) throws {
        let (bond, _) = try makeBond("R", place)
        defer { bond.close() }
        try bond.evalBlock(Self.s.defineIdent)
        guard case .serialization(_, .remote, _) = bondError({ _ = try bond.call("ident", "nul \u{0} inside") }) else {
            Issue.record("R strings cannot hold NUL"); return
        }
        #expect(try bond.eval("1L") == 1)
    }
}
