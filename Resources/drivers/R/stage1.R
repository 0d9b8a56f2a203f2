### bond R driver, stage 1: typed into the interpreter as one line.
### The default command `R --vanilla --quiet --no-echo` reads commands from its standard input
### and runs each as soon as it is complete, with no prompt, no echo and no saved workspace.
### Lines starting with ### are removed by the manifest's substitution; the code is the single
### line below. It announces STAGE2 and reads one JSON line {"code", "start"} from a duplicate
### of standard input. With no JSON reader at hand yet, it takes the string literals of that
### line with a regular expression and lets R's own parser read the code string (JSON's
### escapes are R's); it then evaluates the stage-2 code in an environment of its own and
### calls its start function, which never returns.
local({ cat(toupper("stage2\n")); flush(stdout()); con <- file("stdin", open = "rb"); line <- readLines(con, n = 1L, warn = FALSE); close(con); Encoding(line) <- "bytes"; lits <- regmatches(line, gregexpr("\"(?:[^\"\\\\]++|\\\\.)*+\"", line, perl = TRUE, useBytes = TRUE))[[1L]]; code <- eval(parse(text = lits[[match("\"code\"", lits) + 1L]], keep.source = FALSE)[[1L]]); trans <- grepl("\"start\"\\s*:\\s*\\[\\s*\"[A-Z]+\"\\s*,\\s*true", line, perl = TRUE, useBytes = TRUE); driver <- new.env(parent = baseenv()); eval(parse(text = code, keep.source = FALSE), driver); driver[["__BOND_start"]]("JSON", trans) })
