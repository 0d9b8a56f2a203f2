# bond R driver, stage 2 (R 4.0 and later, base R only: no CRAN package).
#
# Sent by the host as data and evaluated by stage 1 in an environment of its own (whose parent
# is the base environment, so that the driver sees neither user globals nor their masking of
# base functions), then started with `__BOND_start`(protocol, trans_except). Written from the
# bond wire protocol: one frame per line, "VERB" or "VERB <json>". User code runs in the global
# environment; the driver adds nothing to it but the functions the host exports.
#
# Values, R to JSON: NULL and NA are null; a length-1 atomic vector is a scalar, any other
# length (or one marked I()) an array; a vector or list with names an object; a list without
# names an array; a factor its labels; a data frame an array of row objects; a matrix an array
# of rows; integers stay integers, doubles are written with a decimal point or an exponent.
# JSON to R: an array of two or more scalars of one type (integers, doubles, strings or
# booleans, with nulls as NA) is an atomic vector, an array of one scalar that scalar marked I() (so that it
# goes back as an array), any other array a list; an object a named list.

MAX_DEPTH <- 2000L
INT_MAX <- 2147483647
STATE <- new.env(parent = emptyenv())
STATE$trans <- FALSE
STATE$pid <- Sys.getpid()
STATE$gone <- FALSE
STATE$depth <- 0L   # requests being served (1 at the top level)

ser_error <- function(message) {
  structure(class = c("_BOND_SerializationError", "error", "condition"),
            list(message = message, call = NULL))
}

remote_error <- function(data) {
  message <- if (is.character(data) && length(data) == 1L) data else enc(data)
  structure(class = c("_BOND_RemoteError", "error", "condition"),
            list(message = message, call = NULL, data = data))
}

# ---------------------------------------------------------------------------------------------
# JSON writing

CONTROL <- vapply(c(1:7, 11L, 14:31), function(i) intToUtf8(i), "")
CONTROL_ESC <- sprintf("\\u%04x", c(1:7, 11L, 14:31))

enc_chr <- function(x) {
  x <- enc2utf8(x)
  bad <- !is.na(x) & !validUTF8(x)
  if (any(bad)) stop(ser_error("cannot serialize a string that is not valid UTF-8"))
  if (any(grepl("[\\\\\"[:cntrl:]]", x, useBytes = TRUE))) {
    x <- gsub("\\", "\\\\", x, fixed = TRUE, useBytes = TRUE)
    x <- gsub("\"", "\\\"", x, fixed = TRUE, useBytes = TRUE)
    x <- gsub("\n", "\\n", x, fixed = TRUE, useBytes = TRUE)
    x <- gsub("\r", "\\r", x, fixed = TRUE, useBytes = TRUE)
    x <- gsub("\t", "\\t", x, fixed = TRUE, useBytes = TRUE)
    x <- gsub("\b", "\\b", x, fixed = TRUE, useBytes = TRUE)
    x <- gsub("\f", "\\f", x, fixed = TRUE, useBytes = TRUE)
    if (any(grepl("[\001-\037\177]", x, useBytes = TRUE))) {
      for (i in seq_along(CONTROL)) x <- gsub(CONTROL[[i]], CONTROL_ESC[[i]], x, fixed = TRUE, useBytes = TRUE)
      x <- gsub("\177", "\\u007f", x, fixed = TRUE, useBytes = TRUE)
    }
  }
  if (length(x) == 0L) return(character(0))
  out <- paste0("\"", x, "\"")
  out[is.na(x)] <- "null"
  out
}

enc_dbl <- function(x) {
  if (any(is.nan(x))) stop(ser_error("cannot serialize NaN"))
  if (any(is.infinite(x))) stop(ser_error("cannot serialize an infinite number"))
  s <- sprintf("%.15g", x)
  redo <- !is.na(x) & as.numeric(s) != x
  if (any(redo)) s[redo] <- sprintf("%.17g", x[redo])
  whole <- !grepl("[.eE]", s)
  s[whole] <- paste0(s[whole], ".0")
  s[is.na(x)] <- "null"
  s
}

# Each element of an atomic vector (or factor, date...) as JSON text.
enc_elements <- function(x) {
  if (is.factor(x)) return(enc_chr(as.character(x)))
  if (inherits(x, "Date") || inherits(x, "POSIXt")) return(enc_chr(format(x)))
  switch(typeof(x),
    logical = { s <- ifelse(x, "true", "false"); s[is.na(x)] <- "null"; s },
    integer = { s <- as.character(x); s[is.na(x)] <- "null"; s },
    double = enc_dbl(as.vector(x)),
    character = enc_chr(as.vector(x)),
    stop(ser_error(paste0("cannot serialize a vector of type ", typeof(x)))))
}

enc_object <- function(keys, items) {
  if (length(keys) == 0L) return("{}")
  keys[is.na(keys) | keys == ""] <- as.character(which(is.na(keys) | keys == ""))
  paste0("{", paste0(enc_chr(keys), ":", items, collapse = ","), "}")
}

enc <- function(x, depth = 0L) {
  if (is.null(x)) return("null")
  if (depth > MAX_DEPTH) stop(ser_error(paste0("cannot serialize data nested deeper than ", MAX_DEPTH, " levels")))
  if (is.data.frame(x)) {
    if (nrow(x) == 0L) return("[]")
    cols <- lapply(x, function(col) if (is.list(col)) vapply(col, enc, "", depth + 2L) else enc_elements(col))
    keys <- enc_chr(names(x))
    parts <- mapply(function(k, v) paste0(k, ":", v), keys, cols, SIMPLIFY = FALSE, USE.NAMES = FALSE)
    rows <- do.call(paste, c(parts, sep = ","))
    return(paste0("[", paste0("{", rows, "}", collapse = ","), "]"))
  }
  if (is.atomic(x)) {
    s <- enc_elements(x)
    d <- dim(x)
    if (length(d) == 2L) {
      if (d[[1L]] == 0L) return("[]")
      rows <- vapply(seq_len(d[[1L]]), function(i) paste0("[", paste(s[seq(i, length(s), by = d[[1L]])], collapse = ","), "]"), "")
      return(paste0("[", paste(rows, collapse = ","), "]"))
    }
    if (length(d) > 2L) stop(ser_error("cannot serialize an array of more than two dimensions"))
    keys <- names(x)
    if (!is.null(keys)) return(enc_object(keys, s))
    if (length(s) == 1L && !inherits(x, "AsIs")) return(s)
    return(paste0("[", paste(s, collapse = ","), "]"))
  }
  if (is.list(x)) {
    items <- vapply(x, enc, "", depth + 1L, USE.NAMES = FALSE)
    keys <- names(x)
    if (is.null(keys)) return(paste0("[", paste(items, collapse = ","), "]"))
    return(enc_object(keys, items))
  }
  what <- if (is.function(x)) "a function" else if (isS4(x)) paste0("an S4 object of class ", class(x)[[1L]]) else
    paste0("a value of type ", typeof(x))
  stop(ser_error(paste0("cannot serialize ", what)))
}


# ---------------------------------------------------------------------------------------------
# JSON reading: one regular expression finds every token of the text (in C), then a recursive
# descent walks the tokens. Strings are unescaped all at once, numbers converted all at once.

TOKEN <- paste0("[ \\t\\r\\n]*+(?:\"((?:[^\"\\\\\\x00-\\x1f]++|\\\\.)*+)\"",
                "|(-?(?:0|[1-9][0-9]*+)(?:\\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+)",
                "|(true|false|null|[\\[\\]{}:,])|([^ \\t\\r\\n]))")

unescape <- function(s) {
  todo <- grepl("\\", s, fixed = TRUE, useBytes = TRUE)
  if (!any(todo)) return(s)
  t <- s[todo]
  slow <- grepl("\\u", t, fixed = TRUE, useBytes = TRUE)
  if (any(slow)) t[slow] <- vapply(t[slow], unescape_each, "", USE.NAMES = FALSE)
  if (any(!slow)) {
    # No \u escape: a few passes over the text. An escaped backslash is set aside first as
    # \001, which cannot occur in a JSON string as it is (control characters are escaped).
    f <- t[!slow]
    f <- gsub("\\\\", "\001", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\\"", "\"", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\n", "\n", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\t", "\t", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\r", "\r", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\/", "/", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\b", "\b", f, fixed = TRUE, useBytes = TRUE)
    f <- gsub("\\f", "\f", f, fixed = TRUE, useBytes = TRUE)
    if (any(grepl("\\", f, fixed = TRUE, useBytes = TRUE))) stop("invalid JSON (bad escape in a string)")
    t[!slow] <- gsub("\001", "\\", f, fixed = TRUE, useBytes = TRUE)
  }
  Encoding(t) <- "UTF-8"
  s[todo] <- t
  s
}

ESCAPED <- c("\"" = "\"", "\\" = "\\", "/" = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t")

# Every escape of one string in one pass (\uXXXX escapes, surrogate pairs joined); R strings
# cannot hold U+0000.
unescape_each <- function(t) {
  m <- gregexpr("\\\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", t,
                perl = TRUE, useBytes = TRUE)
  escapes <- regmatches(t, m)[[1L]]
  chars <- vapply(escapes, function(code) {
    kind <- substr(code, 2L, 2L)
    if (kind != "u") {
      char <- ESCAPED[kind]
      if (is.na(char)) stop("invalid JSON (bad escape in a string)")
      return(char)
    }
    if (nchar(code, "bytes") == 12L) {
      hi <- strtoi(substr(code, 3L, 6L), 16L); lo <- strtoi(substr(code, 9L, 12L), 16L)
      cp <- 0x10000 + (hi - 0xD800) * 1024 + (lo - 0xDC00)
    } else {
      cp <- strtoi(substr(code, 3L, 6L), 16L)
    }
    if (cp == 0) stop("cannot decode U+0000: R strings cannot hold it")
    if (cp >= 0xD800 && cp <= 0xDFFF) stop("cannot decode a lone UTF-16 surrogate")
    intToUtf8(cp)
  }, "", USE.NAMES = FALSE)
  regmatches(t, m) <- list(chars)
  t
}

decode <- function(text) {
  Encoding(text) <- "bytes"
  m <- gregexpr(TOKEN, text, perl = TRUE, useBytes = TRUE)[[1L]]
  if (m[[1L]] == -1L) stop("invalid JSON (empty)")
  cs <- attr(m, "capture.start")
  cl <- attr(m, "capture.length")
  if (any(cs[, 4L] > 0L)) stop("invalid JSON (unexpected character)")
  n <- length(m)
  kind <- integer(n)   # 1 string, 2 number, 3 word or punctuation
  kind[cs[, 1L] > 0L] <- 1L
  kind[cs[, 2L] > 0L] <- 2L
  kind[cs[, 3L] > 0L] <- 3L
  strings <- kind == 1L
  str <- character(n)
  if (any(strings)) {
    s <- substring(text, cs[strings, 1L], cs[strings, 1L] + cl[strings, 1L] - 1L)
    Encoding(s) <- "UTF-8"
    if (!all(validUTF8(s))) stop("invalid UTF-8 in a string")
    str[strings] <- unescape(s)
  }
  numbers <- kind == 2L
  num <- rep(NA_real_, n)
  isint <- logical(n)
  if (any(numbers)) {
    t <- substring(text, cs[numbers, 2L], cs[numbers, 2L] + cl[numbers, 2L] - 1L)
    num[numbers] <- as.numeric(t)
    isint[numbers] <- !grepl("[.eE]", t) & abs(num[numbers]) <= INT_MAX
  }
  word <- character(n)
  if (any(kind == 3L)) word[kind == 3L] <- substring(text, cs[kind == 3L, 3L], cs[kind == 3L, 3L] + cl[kind == 3L, 3L] - 1L)
  pos <- 1L
  fail <- function(what) stop(paste0("invalid JSON (", what, " at token ", pos, ")"), call. = FALSE)
  value <- function(depth) {
    if (pos > n) fail("unexpected end")
    i <- pos
    pos <<- pos + 1L
    k <- kind[[i]]
    if (k == 1L) return(str[[i]])
    if (k == 2L) return(if (isint[[i]]) as.integer(num[[i]]) else num[[i]])
    w <- word[[i]]
    if (w == "null") return(NULL)
    if (w == "true") return(TRUE)
    if (w == "false") return(FALSE)
    if (depth >= MAX_DEPTH) fail("nested too deep")
    if (w == "[") {
      items <- list()
      if (pos <= n && word[[pos]] == "]") { pos <<- pos + 1L; return(items) }
      repeat {
        v <- value(depth + 1L)
        items[length(items) + 1L] <- list(v)
        if (pos > n) fail("unterminated array")
        w <- word[[pos]]
        pos <<- pos + 1L
        if (w == "]") return(simplify(items))
        if (w != ",") fail("expected , or ]")
      }
    }
    if (w == "{") {
      items <- list()
      keys <- character(0)
      if (pos <= n && word[[pos]] == "}") { pos <<- pos + 1L; names(items) <- character(0); return(items) }
      repeat {
        if (pos > n || kind[[pos]] != 1L) fail("expected a string key")
        key <- str[[pos]]
        if (pos + 1L > n || word[[pos + 1L]] != ":") fail("expected :")
        pos <<- pos + 2L
        v <- value(depth + 1L)
        items[length(items) + 1L] <- list(v)
        keys[length(keys) + 1L] <- key
        if (pos > n) fail("unterminated object")
        w <- word[[pos]]
        pos <<- pos + 1L
        if (w == "}") { names(items) <- keys; return(items) }
        if (w != ",") fail("expected , or }")
      }
    }
    fail(paste0("unexpected ", w))
  }
  v <- value(0L)
  if (pos <= n) fail("trailing data")
  v
}

# An array of scalars of one type as an atomic vector (nulls as NA); a one-element array of a
# scalar as that scalar marked I(); anything else stays a list.
simplify <- function(items) {
  n <- length(items)
  if (n == 0L) return(items)
  nulls <- vapply(items, is.null, NA, USE.NAMES = FALSE)
  if (all(nulls)) return(items)
  rest <- items[!nulls]
  if (any(vapply(rest, function(v) is.list(v) || length(v) != 1L || !is.null(attributes(v)), NA, USE.NAMES = FALSE)))
    return(items)
  types <- unique(vapply(rest, typeof, "", USE.NAMES = FALSE))
  if (length(types) > 1L) return(items)   # integers with doubles too: each keeps its type
  items[nulls] <- list(NA)
  v <- unlist(items, use.names = FALSE)
  if (n == 1L) v <- I(v)
  v
}

# The elements of a decoded JSON array as a list (a simplified vector is undone: NA was null).
as_items <- function(x) {
  if (is.list(x)) return(x)
  nas <- is.na(x)
  x <- as.list(as.vector(unclass(x)))
  x[nas] <- list(NULL)
  x
}

# ---------------------------------------------------------------------------------------------
# Frames

is_child <- function() .Internal(Sys.getpid()) != STATE$pid   # (Sys.getpid() is one more call)

write_frame <- function(verb, payload = NULL) {
  if (STATE$gone || is_child()) return(invisible())
  # An interrupt must never cut a frame in half: it waits for the end of the frame.
  suspendInterrupts({
      if (is.null(payload)) writeLines(verb, STATE$out, useBytes = TRUE)
    else writeLines(c(verb, " ", payload, "\n"), STATE$out, sep = "", useBytes = TRUE)
    flush(STATE$out)
  })
  invisible()
}

# The JSON text of NULL or of an integer or logical of length 1 without attributes (what most
# calls return), as enc() writes it; NULL for any other value. These cannot fail to encode, so
# send_value needs no tryCatch for them (one is about 11 us of an R call).
enc_plain <- function(x) {
  if (is.null(x)) return("null")
  if (length(x) != 1L || !is.null(attributes(x))) return(NULL)
  if (is.integer(x)) return(if (is.na(x)) "null" else as.character(x))
  if (is.logical(x)) return(if (is.na(x)) "null" else if (x) "true" else "false")
  NULL
}

send_value <- function(verb, value) {
  flush_output()
  payload <- enc_plain(value)
  if (is.null(payload)) payload <- tryCatch(enc(value), error = function(e) e)   # (R's own errors too: nesting too deep)
  if (inherits(payload, "condition")) {
    what <- if (verb == "EXCEPT") "exception" else "result"
    return(write_frame("ERROR", enc_chr(paste0("cannot serialize the ", what, ": ", conditionMessage(payload)))))
  }
  write_frame(verb, payload)
}

send_error <- function(message) {
  flush_output()
  write_frame("ERROR", enc_chr(message))
}

# An error as R reports it: "Error in f(x) : boom", or "Error: boom".
describe <- function(e) {
  if (inherits(e, "interrupt")) return("interrupted by SIGINT")
  call <- user_call(e)
  message <- conditionMessage(e)
  if (is.null(call)) paste0("Error: ", message)
  else paste0("Error in ", paste(deparse(call, nlines = 1L), collapse = ""), " : ", message)
}

# The call a condition names, as R would name it: none for code at the top level (which the
# driver evaluates through eval(e, globalenv())).
TOP_CALL <- quote(eval(e, globalenv()))
user_call <- function(condition) {
  call <- conditionCall(condition)
  if (identical(call, TOP_CALL)) NULL else call
}

send_exception <- function(e) {
  if (inherits(e, "_BOND_SerializationError")) return(send_error(conditionMessage(e)))
  if (!STATE$trans) return(send_value("EXCEPT", describe(e)))
  if (inherits(e, "_BOND_RemoteError")) return(send_value("EXCEPT", e$data))
  fields <- unclass(e)
  call <- user_call(e)
  fields["call"] <- list(if (is.null(call)) NULL else paste(deparse(call, nlines = 1L), collapse = ""))
  fields$message <- if (inherits(e, "interrupt")) "interrupted by SIGINT" else conditionMessage(e)
  fields$class <- class(e)
  send_value("EXCEPT", fields[!vapply(fields, is.language, NA)])
}

VERBS <- c("CALL", "EVAL", "EVAL_BLOCK", "XCALL", "EXPORT", "RUN", "RETURN", "EXCEPT", "ERROR")

read_frame <- function() {
  line <- readLines(STATE$inp, n = 1L, warn = FALSE)
  if (length(line) == 0L) bye()
  Encoding(line) <- "bytes"
  space <- regexpr(" ", line, fixed = TRUE, useBytes = TRUE)
  verb <- if (space >= 0L) substr(line, 1L, space - 1L) else if (endsWith(line, "\r")) substr(line, 1L, nchar(line, "bytes") - 1L) else line
  if (!any(verb == VERBS) && !grepl("^[A-Z_]+$", verb)) return(list(verb = verb, error = "malformed frame: not a verb"))
  if (space < 0L) return(list(verb = verb))
  payload <- substr(line, space + 1L, nchar(line, "bytes"))
  tryCatch(list(verb = verb, data = decode(payload)),
           error = function(e) list(verb = verb, error = paste0("cannot decode the ", verb, " payload: ", conditionMessage(e))))
}

bye <- function() {
  flush_output()
  write_frame("BYE")
  STATE$gone <- TRUE
  quit(save = "no", status = 0L, runLast = FALSE)
}

# ---------------------------------------------------------------------------------------------
# Output: print() and cat() write to a sink, message() and cat(file = stderr()) to a message
# sink; both are text connections whose variable is an active binding, so that each complete
# line reaches the driver as it is written and goes to the host at once as an OUTPUT frame.

new_capture <- function(channel) {
  capture <- new.env(parent = emptyenv())
  capture$channel <- channel
  capture$seen <- 0L
  capture$closing <- FALSE
  make <- function() {
    # The connection keeps its lines only in the variable (R does not protect them otherwise):
    # the binding holds on to them until the connection is renewed.
    kept <- character(0)
    makeActiveBinding("lines", function(v) {
      if (!missing(v)) {
        kept <<- v
        as_driver(on_lines(capture, v))
      }
      kept
    }, environment())
    textConnection("lines", "w", local = TRUE)
  }
  capture$con <- make()
  capture$make <- make
  capture
}

on_lines <- function(capture, v) {
  n <- length(v)
  if (n <= capture$seen) return(invisible())
  new <- v[(capture$seen + 1L):n]
  capture$seen <- n
  text <- if (capture$closing) paste(new, collapse = "\n") else paste0(new, "\n", collapse = "")
  send_output(capture$channel, text)
}

send_output <- function(channel, text) {
  if (STATE$gone || !nzchar(text)) return(invisible())
  text <- enc2utf8(text)
  if (!validUTF8(text)) text <- iconv(text, "UTF-8", "UTF-8", sub = "?")
  if (is_child()) {   # a forked child: plain text on the interpreter's stderr
    writeLines(text, STATE$err, sep = "", useBytes = TRUE)
    flush(STATE$err)
    return(invisible())
  }
  write_frame("OUTPUT", paste0("[\"", channel, "\",", enc_chr(text), "]"))
}

# Sends a partial last line, and starts a fresh connection when the old one holds many lines
# (a text connection keeps every line it was given).
renew <- function(capture, type) {
  if (capture$seen < 1000L && !isIncomplete(capture$con)) return(invisible())
  ours <- if (type == "output") sink.number() == STATE$sinks else sink.number(type = "message") == as.integer(capture$con)
  if (!ours) return(invisible())
  if (type == "output") sink() else sink(type = "message")
  capture$closing <- TRUE
  close(capture$con)
  capture$closing <- FALSE
  capture$seen <- 0L
  capture$con <- capture$make()
  if (type == "output") sink(capture$con) else sink(capture$con, type = "message")
  invisible()
}

flush_output <- function() {
  if (is.null(STATE$stdout)) return(invisible())
  renew(STATE$stdout, "output")
  renew(STATE$stderr, "message")
}

# ---------------------------------------------------------------------------------------------
# R's JIT compiler: user code runs at the level it has (STATE$jit, 3 unless the user or
# R_ENABLE_JIT says otherwise), the driver's own code with the JIT off. R compiles a function of
# an environment other than the global one the second time it is called, and the first compile
# loads the compiler's code from its lazy-load database: compiling the driver cost 240 of the
# 256 million instructions its start-up added to R's own (about 70 ms), for calls about 15%
# cheaper, a saving the driver's own work made up otherwise.

jit_level <- function(level) .Internal(enableJIT(level))

# Turns the JIT off; returns the level it had. (Asking is cheap; setting a level runs the
# compiler package's checks, a few microseconds.)
jit_off <- function() {
  level <- jit_level(-1L)
  if (level > 0L) jit_level(0L)
  level
}

# Evaluates `expr`, user code called by the driver, at the user's JIT level. (.Internal calls
# written out: each call of a function of the driver costs about 4 000 instructions.)
as_user <- function(expr) {
  if (STATE$compiled) return(expr)
  if (STATE$jit > 0L) .Internal(enableJIT(STATE$jit))
  on.exit({
    level <- .Internal(enableJIT(-1L))
    if (level > 0L) .Internal(enableJIT(0L))
    STATE$jit <- level
  })
  expr
}

# Evaluates `expr`, driver code that user code may call (an exported function, a line of output,
# a warning, a message), with the JIT off. (A line of output can also come from the driver's own
# code, where the JIT is off already.)
as_driver <- function(expr) {
  if (STATE$compiled) return(expr)
  level <- jit_off()
  if (level > 0L) {
    STATE$jit <- level
    on.exit(jit_level(level))
  }
  expr
}

# The JIT's own idea, done by the driver: once the bond has served COMPILE_AFTER requests
# (frames, callbacks' replies included), the functions of a request's path are byte-compiled
# (compiler::cmpfun) and the JIT is left at the user's level for good: compiled code is not
# compiled again, so as_user and as_driver have nothing left to switch. A short session never
# pays for the compiler; a long one pays once, on the request that reaches the count, at the
# top level (where the JIT is off and STATE$jit is the user's level).
# Break-even: the compile costs about 1.5 billion instructions, once, and saves about 313 000 a
# call. BOND_R_COMPILE_AFTER (a whole number) sets another count.
COMPILE_AFTER <- suppressWarnings(as.integer(Sys.getenv("BOND_R_COMPILE_AFTER", "5000")))
if (is.na(COMPILE_AFTER)) COMPILE_AFTER <- 5000L
STATE$served <- 0L
STATE$compile_at <- COMPILE_AFTER   # Inf after a compile that failed: it is not tried again
STATE$compiled <- FALSE
HOT <- c("decode", "simplify", "as_items", "unescape", "enc", "enc_elements", "enc_chr", "enc_dbl", "enc_object",
         "enc_plain", "read_frame", "serve", "handle", "run_user", "evaluate", "callable", "send_value",
         "write_frame", "flush_output", "renew", "is_child", "drop_interrupt", "as_user", "as_driver",
         "call_host", "on_lines", "send_output", "parse_code")

# Compiles the request path in place; the top level serve() returns so that the start loop
# calls the compiled one.
compile_driver <- function() {
  driver <- environment(compile_driver)
  compiled <- tryCatch(lapply(HOT, function(name) compiler::cmpfun(get(name, envir = driver, inherits = FALSE))),
                       error = function(e) NULL)
  if (is.null(compiled)) {   # (no compiler package: the driver goes on uncompiled)
    STATE$compile_at <- Inf
    return(invisible())
  }
  for (i in seq_along(HOT)) assign(HOT[[i]], compiled[[i]], envir = driver)
  STATE$compiled <- TRUE
  if (STATE$jit > 0L) jit_level(STATE$jit)
  invisible()
}

# ---------------------------------------------------------------------------------------------
# Running user code

# An interrupt that user code left unhandled, as an error, so that one exiting handler catches
# both (a tryCatch with two handlers cost 8 us more a call than with one).
as_error <- function(e) {
  structure(class = c("_BOND_Interrupt", "error", "condition"), list(message = "interrupted", call = NULL, interrupt = e))
}

# A warning of user code, written as R writes it (at once, as with options(warn = 1)), unless
# options(warn) says to drop it (< 0) or to make it an error (>= 2).
on_warning <- function(w) {
  level <- getOption("warn", 0)
  if (is.numeric(level) && level < 0) invokeRestart("muffleWarning")
  if (is.numeric(level) && level >= 2) return()
  call <- user_call(w)
  text <- if (is.null(call)) paste0("Warning: ", conditionMessage(w), "\n") else
    paste0("Warning in ", paste(deparse(call, nlines = 1L), collapse = ""), " : ", conditionMessage(w), "\n")
  send_output("STDERR", text)
  invokeRestart("muffleWarning")
}

# Evaluates `expr` (a call of user code) with interrupts allowed; messages and warnings are
# written as R writes them (warnings at once, as with options(warn = 1)). Returns
# list(ok = TRUE, value =, visible =) or list(ok = FALSE, error =).
run_user <- function(thunk) {
  result <- tryCatch(
    withCallingHandlers(
      allowInterrupts(list(ok = TRUE, value = thunk())),
      warning = function(w) as_driver(on_warning(w)),
      message = function(m) {
        as_driver(send_output("STDERR", conditionMessage(m)))
        invokeRestart("muffleMessage")
      },
      interrupt = function(e) stop(as_error(e))),
    error = function(e) list(ok = FALSE, error = if (inherits(e, "_BOND_Interrupt")) e$interrupt else e))
  if (is_child()) {   # a forked child came back here: it ends
    flush_output()
    parallel:::mcexit(0L)
  }
  result
}

parse_code <- function(code) parse(text = code, keep.source = FALSE, encoding = "UTF-8")

evaluate <- function(code) {
  # A syntax error as R's prompt reports it: "Error: <text>:1:6: unexpected ...".
  exprs <- tryCatch(parse_code(code), error = function(e) stop(simpleError(conditionMessage(e))))
  value <- NULL
  for (e in exprs) value <- withVisible(as_user(eval(e, globalenv())))
  if (length(exprs) == 0L) invisible(NULL) else if (value$visible) value$value else invisible(value$value)
}

SIMPLE_NAME <- "^[A-Za-z._][A-Za-z0-9._]*$"   # (also "_name", which R code writes `_name`)
CALLABLES <- new.env(parent = emptyenv())   # parsed callable expressions, by text

callable <- function(name) {
  expr <- CALLABLES[[name]]
  if (is.character(expr)) return(get(name, envir = globalenv(), mode = "function"))   # a plain name
  if (is.null(expr) && grepl(SIMPLE_NAME, name) && !grepl("^[.][0-9]", name)) {
    CALLABLES[[name]] <- "name"
    return(get(name, envir = globalenv(), mode = "function"))
  }
  if (is.null(expr)) {
    expr <- parse_code(name)
    if (length(expr) != 1L) stop("a callable must be one expression: ", name, call. = FALSE)
    expr <- expr[[1L]]
    if (length(ls(CALLABLES)) > 1000L) rm(list = ls(CALLABLES), envir = CALLABLES)
    CALLABLES[[name]] <- expr
  }
  f <- eval(expr, globalenv())
  if (!is.function(f)) stop(name, " is not a function", call. = FALSE)
  f
}

# `keywords` ([ext] KEYWORDS): named arguments go to the host as keywords (else by position).
export <- function(name, keywords = FALSE) {
  fun <- local({
    exported <- name
    if (keywords) function(...) as_driver(call_host(exported, list(...), TRUE))
    else function(...) as_driver(call_host(exported, list(...)))
  })
  assign(name, fun, envir = globalenv())
}

# An exported function: forwards the call to the host and serves its requests until it answers.
call_host <- function(name, args, keywords = FALSE) {
  if (is_child()) stop(name, " cannot be called from a child process: it is exported by the host", call. = FALSE)
  named <- if (keywords && !is.null(names(args))) names(args) != "" else FALSE
  payload <- tryCatch(if (any(named)) paste0("[", enc_chr(name), ",", enc(unname(args[!named])), ",", enc(args[named]), "]")
                      else paste0("[", enc_chr(name), ",", enc(unname(args)), "]"),
                      error = function(e) stop(ser_error(paste0("cannot serialize the arguments of ", name, ": ", conditionMessage(e)))))
  flush_output()
  write_frame("CALL", payload)
  reply <- suspendInterrupts(serve(TRUE))
  if (!is.null(reply$error)) stop(ser_error(reply$error))
  if (reply$verb == "RETURN") return(reply$data)
  if (reply$verb == "EXCEPT") stop(remote_error(if (is.null(reply$data)) "remote exception" else reply$data))
  stop(ser_error(if (is.character(reply$data)) reply$data else "serialization error"))
}

# ---------------------------------------------------------------------------------------------
# RUN [ext]: what a user typed at the R prompt, or one expression; the value or its description.

run_request <- function(data) {
  if (!is.list(data) || !is.character(data$code)) {
    return(send_error("malformed RUN request: expected {\"code\", \"mode\", \"unserializable\"}"))
  }
  r <- run_user(function() withVisible(evaluate(data$code)))
  if (!r$ok) return(send_exception(r$error))
  r$visible <- r$value$visible
  r$value <- r$value$value
  if (identical(data$mode, "input") && !isTRUE(r$visible)) return(send_value("RETURN", structure(list(), names = character(0))))
  payload <- tryCatch(enc(r$value), error = function(e) e)
  if (inherits(payload, "condition")) {
    if (!identical(data$unserializable, "describe")) {
      return(send_error(paste0("cannot serialize the result: ", conditionMessage(payload))))
    }
    text <- tryCatch(paste(utils::capture.output(print(r$value)), collapse = "\n"),
                     error = function(e) paste0("<", class(r$value)[[1L]], ">"))
    return(send_value("RETURN", list(description = text, type = class(r$value)[[1L]])))
  }
  flush_output()
  write_frame("RETURN", paste0("{\"value\":", payload, "}"))
}

# ---------------------------------------------------------------------------------------------
# The request loop: at depth 0 it serves until its input ends; nested (inside an exported
# function) it returns the host's reply.

# Lets a pending interrupt come and resumes after it (a calling handler and the "resume" restart
# of an interrupt: 8 us a request less than a tryCatch).
drop_interrupt <- function() withCallingHandlers(allowInterrupts(Sys.sleep(0)), interrupt = function(e) invokeRestart("resume"))

serve <- function(nested) {
  repeat {
    frame <- read_frame()
    # At the top level, an interrupt that came before the request was read (while the driver
    # waited for it, or after the last reply was written) belongs to no request: drop it.
    # (One sent for this request a moment ago is lost: the host sends it again.)
    if (!nested) drop_interrupt()
    verb <- frame$verb
    if (verb == "RETURN" || verb == "EXCEPT" || verb == "ERROR") {
      if (nested) return(frame)
      bye()   # a reply with no call pending ends the top level loop
    }
    if (!is.null(frame$error)) { send_error(frame$error); next }
    handle(verb, frame$data)
    STATE$served <- STATE$served + 1L
    if (!nested && !STATE$compiled && STATE$served >= STATE$compile_at) return(compile_driver())
  }
}

handle <- function(verb, data) {
  if (verb == "EVAL" || verb == "EVAL_BLOCK") {
    if (!is.character(data) || length(data) != 1L) return(send_error(paste0("malformed ", verb, " request: expected a code string")))
    r <- run_user(function() evaluate(data))
    if (!r$ok) return(send_exception(r$error))
    return(send_value("RETURN", if (verb == "EVAL") r$value else NULL))
  }
  if (verb == "CALL" || verb == "XCALL") {
    data <- as_items(data)
    n <- length(data)
    if (n != 2L && (n != 3L || length(data[[3L]]) > 0L && is.null(names(data[[3L]]))) || !is.character(data[[1L]])
        || length(data[[1L]]) != 1L || !(is.list(data[[2L]]) || is.atomic(data[[2L]])))
      return(send_error(paste0("malformed ", verb, " request: expected [name, [args...]]")))
    name <- data[[1L]]
    args <- if (is.null(data[[2L]])) list() else as_items(data[[2L]])
    refs <- NULL
    if (verb == "XCALL") {
      pairs <- lapply(args, as_items)
      if (!all(vapply(pairs, length, 0L) == 2L)) return(send_error("malformed XCALL argument: expected [is_ref, value]"))
      refs <- vapply(pairs, function(p) isTRUE(p[[1L]] == 1), NA)
      args <- lapply(pairs, function(p) p[[2L]])
    }
    if (n == 3L) args <- c(args, as.list(data[[3L]]))   # [ext] KEYWORDS: by name, after
    r <- run_user(function() {
      if (!is.null(refs)) for (i in which(refs)) {
        value <- evaluate(args[[i]])
        if (is.null(value)) args[i] <- list(NULL) else args[[i]] <- value
      }
      f <- callable(name)
      as_user(do.call(f, args, envir = globalenv()))
    })
    if (!r$ok) return(send_exception(r$error))
    return(send_value("RETURN", r$value))
  }
  if (verb == "EXPORT") {
    keywords <- is.list(data) && isTRUE(data$keywords)   # [ext] KEYWORDS
    if (keywords) data <- data$name
    if (!is.character(data) || length(data) != 1L) return(send_error("malformed EXPORT request: expected a name"))
    if (!grepl("^[A-Za-z_][A-Za-z0-9_]*$", data)) return(send_value("EXCEPT", paste0("invalid name for an exported function: ", data)))
    export(data, keywords)
    return(send_value("RETURN", NULL))
  }
  if (verb == "RUN") return(run_request(data))
  send_error(paste0("unknown request: ", verb))
}

# ---------------------------------------------------------------------------------------------

# A C routine of the parallel package (which closes descriptors), from its shared library alone:
# loading its namespace (parallel:::closeStdout) cost 61 of the 317 million instructions the
# driver's start-up adds to R's own. A later loadNamespace("parallel") reuses the library.
parallel_routine <- function(name) {
  library.dynam("parallel", "parallel", .libPaths())
  getNativeSymbolInfo(name, "parallel")
}

`__BOND_start` <- function(protocol, trans) {
  if (!identical(protocol, "JSON")) stop("unsupported protocol ", protocol)
  STATE$jit <- jit_off()
  STATE$trans <- isTRUE(trans)
  # Text is UTF-8 whatever the locale the interpreter was started in (ssh often gives none).
  if (!isTRUE(l10n_info()$`UTF-8`)) {
    for (locale in c("C.UTF-8", "en_US.UTF-8")) if (nzchar(suppressWarnings(Sys.setlocale("LC_CTYPE", locale)))) break
  }
  flush(stdout())
  # [ext] The protocol stays on private descriptors: requests come through a duplicate of
  # descriptor 0 (file("stdin") duplicates it), frames go through a second open of the pipe of
  # descriptor 1. Descriptor 1 is then pointed at descriptor 2 and descriptor 0 at /dev/null
  # (closing a descriptor and opening a file takes the lowest free number), so that programs
  # started by user code can neither forge nor eat frames.
  STATE$inp <- file("stdin", open = "rb")
  STATE$out <- tryCatch(file("/proc/self/fd/1", open = "wb", raw = TRUE), error = function(e) stdout())
  STATE$err <- tryCatch(file("/proc/self/fd/2", open = "wb", raw = TRUE), error = function(e) stderr())
  if (!identical(STATE$out, stdout())) {
    .Call(parallel_routine("mc_close_stdout"), FALSE)
    STATE$fd1 <- file("/proc/self/fd/2", open = "wb", raw = TRUE)
    .Call(parallel_routine("mc_close_fds"), 0L)
    STATE$fd0 <- file("/dev/null", open = "rb", raw = TRUE)
  }
  STATE$stdout <- new_capture("STDOUT")
  STATE$stderr <- new_capture("STDERR")
  sink(STATE$stdout$con)
  STATE$sinks <- sink.number()
  sink(STATE$stderr$con, type = "message")
  write_frame("READY")
  suspendInterrupts(repeat {
    # Nothing but the end of input leaves the loop; an interrupt that reaches it (outside any
    # request) is dropped.
    tryCatch(serve(FALSE), interrupt = function(e) NULL)
  })
}
