// bond JavaScript driver, stage 2 (Node.js 18+).
// Written from the bond protocol description: one frame per line, "VERB" or "VERB <json>".
// Requests are served synchronously; the driver's names start with __BOND_ or _BOND_.
var __BOND = (function () {
  "use strict";
  var fs = require("fs");
  var vm = require("vm");

  var inFd = -1;
  var outFd = 1;
  var transExcept = false;
  var readBuffer = Buffer.alloc(1 << 20);
  var pending = [];          // bytes read past the last line
  var channels = {};

  function SerializationError(message) {
    var error = new TypeError(message);
    error.name = "_BOND_SerializationException";
    return error;
  }

  function encode(value) {
    // Fast path for plain scalars: no replacer needed.
    switch (typeof value) {
      case "undefined": return "null";
      case "boolean": case "string": return JSON.stringify(value);
      case "number": if (isFinite(value)) return JSON.stringify(value); break;
      case "object": if (value === null) return "null"; break;
    }
    if (plain(value, 0)) return JSON.stringify(value);
    var text;
    try {
      text = JSON.stringify(value === undefined ? null : value, function (key, x) {
        if (typeof x === "function") throw SerializationError("cannot serialize a function");
        if (typeof x === "bigint") throw SerializationError("cannot serialize a BigInt");
        if (typeof x === "symbol") throw SerializationError("cannot serialize a Symbol");
        if (typeof x === "number" && !isFinite(x)) throw SerializationError("cannot serialize " + x);
        return x;
      });
    } catch (error) {
      if (error && error.name === "_BOND_SerializationException") throw error;
      throw SerializationError(String(error && error.message || error));
    }
    return text === undefined ? "null" : text;
  }

  // Whether JSON.stringify writes `value` exactly as it is: a finite number, a string, a
  // boolean, null, or arrays of those two levels deep (the common arguments and results, and
  // the [name, args] of a callback). Anything else goes through the replacer, which rejects
  // what JSON cannot carry but keeps V8 off its fast serializer.
  function plain(value, depth) {
    switch (typeof value) {
      case "string": case "boolean": return true;
      case "number": return isFinite(value);
      case "object":
        if (value === null) return true;
        if (depth >= 2 || !Array.isArray(value)) return false;
        for (var i = 0; i < value.length; i++) {
          if (!(i in value) || !plain(value[i], depth + 1)) return false;
        }
        return true;
    }
    return false;
  }

  function describe(error) {
    if (error instanceof Error) return error.name + ": " + error.message;
    try { return String(error); } catch (e) { return "unprintable exception"; }
  }

  function exceptionValue(error) {
    if (!transExcept) return describe(error);
    if (error && error.__BOND_data !== undefined) return error.__BOND_data;
    if (error instanceof Error) {
      var value = { name: error.name, message: error.message };
      Object.keys(error).forEach(function (key) { value[key] = error[key]; });
      return value;
    }
    return error;
  }

  function writeAll(fd, data) {
    var buffer = Buffer.from(data, "utf8");
    var offset = 0;
    while (offset < buffer.length) {
      try {
        offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
      } catch (error) {
        if (error.code !== "EAGAIN") throw error;
      }
    }
  }

  function writeFrame(verb, payload) {
    writeAll(outFd, payload === undefined ? verb + "\n" : verb + " " + payload + "\n");
  }

  function flushOutput() {
    channels.STDOUT.flush();
    channels.STDERR.flush();
  }

  function send(verb, payload) {
    flushOutput();
    writeFrame(verb, payload);
  }

  // The reply line of a request: encoded first, so that an interrupt arriving while it is
  // written can no longer reach this request (see `start`).
  function replyLine(state, value) {
    var payload;
    try {
      payload = encode(value);
    } catch (error) {
      state = "ERROR";
      payload = JSON.stringify(describe(error));
    }
    return state + " " + payload + "\n";
  }

  function reply(state, value) {
    flushOutput();
    writeAll(outFd, replyLine(state, value));
  }

  // Captured output of user code: streamed as OUTPUT frames at each end of line and on flush.
  function Channel(name) {
    this.name = name;
    this.text = "";
  }
  Channel.prototype.write = function (chunk, encoding, callback) {
    if (typeof encoding === "function") { callback = encoding; encoding = undefined; }
    var text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    this.text += text;
    if (text.indexOf("\n") >= 0) this.flush();
    if (typeof callback === "function") callback();
    return true;
  };
  Channel.prototype.flush = function () {
    if (this.text.length) {
      var text = this.text;
      this.text = "";
      writeFrame("OUTPUT", JSON.stringify([this.name, text]));
    }
  };

  // Before sleeping in a blocking read, look for input for up to 50 microseconds through a
  // non-blocking descriptor of the same pipe: the host usually sends the next request within
  // that time, and a sleep and wake-up costs more than the request. Node's fs throws an Error
  // for EAGAIN, and making one costs about 5 microseconds (its stack trace), which would be
  // added to the wait. So when Node has its WASI module, the look goes through WASI's
  // fd_read, which returns the error number instead (about 0.5 microseconds), into a
  // WebAssembly memory that then also serves as the read buffer.
  // `peek()`: the bytes read into readBuffer (0: end of input), -1: nothing yet, -2: failed.
  var peek = null;

  // (module (memory (export "memory") 17)): 1 MiB from offset 64, the iovec at 0, the count at 8.
  var PEEK_MODULE = "0061736d01000000" + "0503010011" + "070a01066d656d6f72790200";

  function wasiPeek(fd) {
    var emitWarning = process.emitWarning;
    process.emitWarning = function () {};  // "WASI is an experimental feature": not user output
    var WASI;
    try {
      WASI = require("wasi").WASI;
    } finally {
      process.emitWarning = emitWarning;
    }
    var wasi = new WASI({ version: "preview1", stdin: fd, returnOnExit: true });
    var instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(PEEK_MODULE, "hex")), {});
    wasi.initialize(instance);
    var memory = instance.exports.memory.buffer;
    var view = new DataView(memory);
    view.setUint32(0, 64, true);
    view.setUint32(4, 1 << 20, true);
    var fdRead = wasi.wasiImport.fd_read;
    var probe = fdRead(0, 0, 1, 8);
    if (probe !== 0 && probe !== 6) throw new Error("WASI fd_read: " + probe);
    var first = probe === 0 ? view.getUint32(8, true) : -1;  // what the probe read is kept
    readBuffer = Buffer.from(memory, 64, 1 << 20);
    return function () {
      if (first !== -1) { var n = first; first = -1; return n; }
      var errno = fdRead(0, 0, 1, 8);
      if (errno === 0) return view.getUint32(8, true);
      return errno === 6 || errno === 27 ? -1 : -2;  // EAGAIN, EINTR
    };
  }

  function throwingPeek(fd) {
    return function () {
      var limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return fs.readSync(fd, readBuffer, 0, readBuffer.length, null);
      } catch (error) {
        return error.code === "EAGAIN" || error.code === "EINTR" ? -1 : -2;
      } finally {
        Error.stackTraceLimit = limit;
      }
    };
  }

  // The bytes read, 0 at the end of input, or -1 when nothing came in time.
  function readSoon() {
    var until = process.hrtime.bigint() + 50000n;
    for (;;) {
      var n = peek();
      if (n >= 0) return n;
      if (n === -2 || process.hrtime.bigint() >= until) return -1;
    }
  }

  // `pending` holds the bytes read past the last line; only its last chunk can hold a "\n".
  function readLine() {
    for (;;) {
      var last = pending[pending.length - 1];
      var index = last === undefined ? -1 : last.indexOf(10);
      if (index >= 0) {
        var parts = pending.slice(0, -1);
        parts.push(last.subarray(0, index));
        pending = [last.subarray(index + 1)];
        var line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
        var end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
        return line.toString("utf8", 0, end);
      }
      var n = peek !== null ? readSoon() : -1;
      if (n < 0) {
        try {
          n = fs.readSync(inFd, readBuffer, 0, readBuffer.length, null);
        } catch (error) {
          if (error.code === "EAGAIN" || error.code === "EINTR") continue;
          throw error;
        }
      }
      if (n <= 0) return null;
      pending.push(Buffer.from(readBuffer.subarray(0, n)));
    }
  }

  function run(code) {
    return vm.runInThisContext(code, { filename: "bond", displayErrors: false });
  }

  var callers = new Map();
  function caller(name) {
    var fn = callers.get(name);
    if (fn === undefined) {
      fn = run("(function (__BOND_args) { return (" + name + ")(...__BOND_args); })");
      if (callers.size > 1000) callers.clear();
      callers.set(name, fn);
    }
    return fn;
  }

  function callHost(name, args) {
    var payload;
    payload = encode([name, args]);
    send("CALL", payload);
    var answer = serve(true);
    if (answer.verb === "RETURN") return answer.data;
    var error;
    if (answer.verb === "EXCEPT") {
      error = new Error(typeof answer.data === "string" ? answer.data : JSON.stringify(answer.data));
      error.__BOND_data = answer.data;
    } else {
      error = SerializationError(String(answer.data));
    }
    throw error;
  }

  function exportFunction(name) {
    if (typeof name !== "string" || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) {
      throw new TypeError("invalid name for an exported function: " + JSON.stringify(name));
    }
    global[name] = function (...args) { return callHost(name, args); };
  }

  function execute(verb, data) {
    switch (verb) {
      case "EVAL":
        return run("(" + data + "\n)");
      case "EVAL_BLOCK":
        run(data);
        return null;
      case "CALL":
        return caller(data[0])(data[1]);
      case "XCALL":
        var target = caller(data[0]);
        return target(data[1].map(function (arg) { return arg[0] ? run("(" + arg[1] + "\n)") : arg[1]; }));
      case "EXPORT":
        exportFunction(data);
        return null;
      default:
        throw new Error("unknown request " + verb);
    }
  }

  var depth = 0;  // requests of the host being served, nested

  function serve(nested) {
    for (;;) {
      var line = readLine();
      if (line === null) {
        // The host closed our input (or is gone): say goodbye if it can still hear it, and leave.
        try { send("BYE"); } catch (error) { /* nobody is listening */ }
        process.exit(0);
      }
      var space = line.indexOf(" ");
      var verb = space < 0 ? line : line.substring(0, space);
      var data = null;
      try {
        if (space >= 0) data = JSON.parse(line.substring(space + 1));
      } catch (error) {
        reply("ERROR", "cannot read the request: " + describe(error));
        continue;
      }
      if (verb === "RETURN" || verb === "EXCEPT" || verb === "ERROR") {
        if (nested) return { verb: verb, data: data };
        continue;
      }
      var state = "RETURN", value;
      depth++;
      try {
        value = execute(verb, data);
      } catch (error) {
        state = "EXCEPT";
        value = exceptionValue(error);
      }
      var line = replyLine(state, value);
      flushOutput();
      depth--;
      writeAll(outFd, line);
    }
  }

  function reopen(path, flags) {
    try { return fs.openSync(path, flags); } catch (error) { return -1; }
  }

  function start(fd, proto, trans) {
    inFd = fd;
    // With a single processor to run on (availableParallelism follows the affinity mask),
    // reads block at once: looking again would only keep the host from answering.
    var os = require("os");
    var cpus = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
    var spinFd = cpus > 1 ? reopen("/proc/self/fd/" + fd, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK) : -1;
    if (spinFd >= 0) {
      try {
        peek = wasiPeek(spinFd);
      } catch (error) {
        peek = throwingPeek(spinFd);
      }
    }
    transExcept = !!trans;
    // [ext] Keep the protocol on a private descriptor, and make descriptor 1 the standard
    // error (Node has no dup2: close 1, and the next open takes the lowest free number),
    // so programs started by user code cannot write frames. Descriptor 0 becomes /dev/null.
    var privateOut = reopen("/proc/self/fd/1", "w");
    if (privateOut >= 0) {
      outFd = privateOut;
      fs.closeSync(1);
      var errCopy = reopen("/proc/self/fd/2", "w");
      if (errCopy !== 1 && errCopy >= 0) fs.closeSync(errCopy);
      fs.closeSync(0);
      var nullFd = reopen("/dev/null", "r");
      if (nullFd !== 0 && nullFd >= 0) fs.closeSync(nullFd);
    }
    channels.STDOUT = new Channel("STDOUT");
    channels.STDERR = new Channel("STDERR");
    var stdoutWrite = function (c, e, cb) { return channels.STDOUT.write(c, e, cb); };
    var stderrWrite = function (c, e, cb) { return channels.STDERR.write(c, e, cb); };
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    writeFrame("READY");
    // The whole loop runs under one vm watchdog with breakOnSigint (starting one per request
    // costs more than the request): an interrupt unwinds the JavaScript stack to here, and
    // every request in progress is answered with the interrupt error. The host only sends
    // SIGINT while it waits for a reply.
    var loop = new vm.Script("__BOND_serveTop()", { filename: "bond" });
    global.__BOND_serveTop = function () { serve(false); };
    for (;;) {
      try {
        loop.runInThisContext({ breakOnSigint: true });
        return;
      } catch (error) {
        // Only an interrupt ends up here (user code errors are answered inside `serve`); any
        // other failure of the driver itself (the host's pipe is gone) ends the interpreter.
        if (!error || error.code !== "ERR_SCRIPT_EXECUTION_INTERRUPTED") process.exit(1);
        try {
          var line = replyLine("EXCEPT", exceptionValue(error));
          flushOutput();
          for (; depth > 0; depth--) writeAll(outFd, line);
        } catch (writeError) {
          process.exit(1);
        }
      }
    }
  }

  return { start: start };
})();

function __BOND_start(fd, proto, transExcept) {
  __BOND.start(fd, proto, transExcept);
}
