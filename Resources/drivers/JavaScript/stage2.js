// bond JavaScript driver, stage 2 (Node.js 18+).
// Written from the bond protocol description: one frame per line, "VERB" or "VERB <json>".
// Requests are served synchronously, and Node's event loop runs between them (see "The event
// loop" below and docs/protocol.md); the driver's names start with __BOND_ or _BOND_.
var __BOND = (function () {
  "use strict";
  var fs = require("fs");
  var vm = require("vm");

  var inFd = -1;
  var outFd = 1;
  var transExcept = false;
  var bytesOn = false;       // [ext] BYTES: the host reads byte strings as raw blocks
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
    var blocks = [];
    if (bytesOn) value = withoutBytes(value, blocks, 0);
    var text;
    try {
      text = JSON.stringify(value === undefined ? null : value, function (key, x) {
        if (objectsOn && x !== null && (typeof x === "object" || typeof x === "function")) x = markerFor(x);
        else if (handleMemo !== null && isScalarHandle(x)) x = keptScalar(x);
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
    if (text === undefined) return "null";
    if (blocks.length === 0) return text;
    var framed = new String(text);   // (a string that carries its blocks to the frame)
    framed.blocks = blocks;
    return framed;
  }

  // [ext] BYTES: `value` with each Buffer or Uint8Array in it (in plain arrays and objects)
  // replaced by {"__BOND_bytes": <index in blocks>}; copies only what holds some.
  function withoutBytes(value, blocks, depth) {
    if (value === null || typeof value !== "object") return value;
    if (value instanceof Uint8Array) {
      blocks.push(value);
      return { __BOND_bytes: blocks.length - 1 };
    }
    if (depth > 1000 || typeof value.toJSON === "function") return value;
    var copy = null, i, x;
    if (Array.isArray(value)) {
      for (i = 0; i < value.length; i++) {
        x = withoutBytes(value[i], blocks, depth + 1);
        if (x !== value[i]) { copy = copy || value.slice(); copy[i] = x; }
      }
      return copy || value;
    }
    var proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    var keys = Object.keys(value);
    for (i = 0; i < keys.length; i++) {
      x = withoutBytes(value[keys[i]], blocks, depth + 1);
      if (x !== value[keys[i]]) { copy = copy || Object.assign({}, value); copy[keys[i]] = x; }
    }
    return copy || value;
  }

  // The line of a frame whose payload is `payload`: the text, or, when the payload carries
  // raw blocks ([ext] BYTES), the pieces to write: each block, then the line.
  function frameLine(line, payload) {
    if (payload === undefined || payload === null || payload.blocks === undefined) return line;
    var pieces = [];
    payload.blocks.forEach(function (block) { pieces.push("BYTES " + block.length + "\n", block, "\n"); });
    pieces.push(line);
    return pieces;
  }

  // [ext] BYTES: reads the raw block of `count` bytes that a `BYTES <count>` line announced
  // (and its end of line), straight into its own buffer.
  function readBlock(count) {
    var out = Buffer.allocUnsafe(count + 1), have = 0;
    var rest = pending.length > 1 ? Buffer.concat(pending) : pending[0];
    pending = [];
    if (rest !== undefined) {
      have = Math.min(rest.length, count + 1);
      rest.copy(out, 0, 0, have);
      if (have < rest.length) pending = [rest.subarray(have)];
    }
    while (have < count + 1) {
      var n;
      try {
        n = fs.readSync(inFd, out, have, count + 1 - have, null);
      } catch (error) {
        if (error.code === "EAGAIN" || error.code === "EINTR") continue;
        throw error;
      }
      if (n <= 0) goodbye();
      have += n;
    }
    return out.subarray(0, count);
  }

  // [ext] BYTES: a payload whose {"__BOND_bytes": i} are the blocks read before it.
  function parseWithBlocks(text, blocks) {
    return JSON.parse(text, function (key, value) {
      if (value !== null && typeof value === "object" && !Array.isArray(value) &&
          Number.isInteger(value.__BOND_bytes) && value.__BOND_bytes >= 0 && value.__BOND_bytes < blocks.length &&
          Object.keys(value).length === 1) {
        return blocks[value.__BOND_bytes];
      }
      return objectsOn ? unmarked(value) : value;
    });
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

  // A request that failed: EXCEPT, or ERROR when a value could not be serialized (an argument
  // of a call to the host among them), as python-bond's drivers answer.
  function failureVerb(error) {
    return error && error.name === "_BOND_SerializationException" ? "ERROR" : "EXCEPT";
  }

  function failureValue(error) {
    return failureVerb(error) === "ERROR" ? String(error.message) : exceptionValue(error);
  }

  function writeAll(fd, data) {
    if (released.length > 0 && fd === outFd) {   // [ext] OBJECTS: releases ride before the frame
      var release = releaseLine();
      data = typeof data === "string" ? release + data : [release].concat(data);
    }
    if (Array.isArray(data)) {   // a frame with its raw blocks (see frameLine)
      for (var i = 0; i < data.length; i++) writeAll(fd, data[i]);
      return;
    }
    var buffer = typeof data === "string" ? Buffer.from(data, "utf8") : data;
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
    writeAll(outFd, payload === undefined ? verb + "\n" : frameLine(verb + " " + payload + "\n", payload));
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
    if (value instanceof Encoded) return frameLine(value.state + " " + value.payload + "\n", value.payload);
    var payload;
    try {
      payload = encode(value);
    } catch (error) {
      state = "ERROR";
      payload = JSON.stringify(describe(error));
    }
    return frameLine(state + " " + payload + "\n", payload);
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
    if (replMuted) { if (typeof callback === "function") callback(); return true; }
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

  // Reads join `pending` through a reader: `read()` returns how many bytes it added (0 at the
  // end of input), -1 when none came (yet), -2 when it failed.
  //
  // An interrupt (vm's breakOnSigint) can end the serve loop at any call or loop of the
  // driver's own code, so also just after a read returned: an interrupt the host sent a moment
  // before the reply reached it lands in the next read (the driver blocks there), and the
  // bytes that read brought (the next request) would be lost with it. So reads go through
  // WASI's fd_read into a WebAssembly memory, where fd_read itself records how many bytes
  // came (at offset 8; NONE once they are in `pending`): after an interrupt,
  // `salvageReads` adds what a cut-off read brought.
  //
  // Before sleeping in a blocking read, the driver looks for input for up to 50 microseconds
  // through a non-blocking descriptor of the same pipe: the host usually sends the next
  // request within that time, and a sleep and wake-up costs more than the request. (fs
  // throws an Error for EAGAIN, which costs about 5 microseconds for its stack trace; fd_read
  // returns the error number, in about 0.5 microseconds.)
  var peek = null;           // the non-blocking reader
  var blockingRead = null;   // the blocking reader
  var spinning = false;      // whether the driver looks again before it blocks (a processor to spare)
  var salvagers = [];        // of each WASI reader: adds what a cut-off read brought
  var NONE = 0xFFFFFFFF;

  // (module (memory (export "memory") 17)): 1 MiB from offset 64, the iovec at 0, the count at 8.
  var READ_MODULE = "0061736d01000000" + "0503010011" + "070a01066d656d6f72790200";

  function wasiReader(fd) {
    var emitWarning = process.emitWarning;
    process.emitWarning = function () {};  // "WASI is an experimental feature": not user output
    var WASI;
    try {
      WASI = require("wasi").WASI;
    } finally {
      process.emitWarning = emitWarning;
    }
    var wasi = new WASI({ version: "preview1", stdin: fd, returnOnExit: true });
    var instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(READ_MODULE, "hex")), {});
    wasi.initialize(instance);
    var memory = instance.exports.memory.buffer;
    var view = new DataView(memory);
    view.setUint32(0, 64, true);
    view.setUint32(4, 1 << 20, true);
    view.setUint32(8, NONE, true);
    var chunk = Buffer.from(memory, 64, 1 << 20);
    var fdRead = wasi.wasiImport.fd_read;
    // The bytes the last read brought join `pending`. (An interrupt can land at the copy, a
    // call; `push` and `setUint32` are built-ins, with no interrupt check between them.)
    function claim() {
      var n = view.getUint32(8, true);
      if (n === NONE) return -1;
      var bytes = n > 0 ? Buffer.from(chunk.subarray(0, n)) : null;
      if (bytes !== null) pending.push(bytes);
      view.setUint32(8, NONE, true);
      return n;
    }
    function read() {
      var errno = fdRead(0, 0, 1, 8);
      if (errno === 0) return claim();
      return errno === 6 || errno === 27 ? -1 : -2;  // EAGAIN, EINTR
    }
    salvagers.push(claim);
    return read;
  }

  // Without WASI: reads through fs (what an interrupt cuts off is lost).
  function fsReader(fd, nonBlocking) {
    return function () {
      var limit = Error.stackTraceLimit;
      if (nonBlocking) Error.stackTraceLimit = 0;
      var n;
      try {
        n = fs.readSync(fd, readBuffer, 0, readBuffer.length, null);
      } catch (error) {
        return error.code === "EAGAIN" || error.code === "EINTR" ? -1 : -2;
      } finally {
        Error.stackTraceLimit = limit;
      }
      if (n > 0) pending.push(Buffer.from(readBuffer.subarray(0, n)));
      return n;
    };
  }

  // After an interrupt: what reads it cut off brought joins `pending`.
  function salvageReads() {
    for (var i = 0; i < salvagers.length; i++) salvagers[i]();
  }

  // The bytes read, 0 at the end of input, or -1 when nothing came in time (or, at the top
  // level, when the event loop is due its turn: see `budgetEnd`).
  function readSoon(top) {
    var now = process.hrtime.bigint();
    if (top && now >= budgetEnd) return -1;
    var until = now + 50000n;
    for (;;) {
      var n = peek();
      if (n >= 0) return n;
      if (n === -2 || process.hrtime.bigint() >= until) return -1;
    }
  }

  // The next line. `top`: at the top level, where the driver does not block: null when no
  // line came within the spin (the event loop then runs until the next one comes, see `wake`).
  // Otherwise (a nested call waits for the host's answer) it blocks; undefined at the end of input.
  // `pending` holds the bytes read past the last line; only its last chunk can hold a "\n".
  function readLine(top) {
    for (;;) {
      // (Bytes just read are looked at only after the loop comes round: an interrupt due
      // lands there, while they are all still in `pending`.)
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
      var n = spinning ? readSoon(top) : -1;
      if (n < 0) {
        if (top) {
          if (!eventLoopIdle()) return null;   // the event loop has work: it runs now
          // nothing waits for it: wait here (and the 5 ms count again from now)
          if (spinning) budgetEnd = process.hrtime.bigint() + BUDGET;
        }
        n = blockingRead();
        if (n === -1) continue;   // EINTR
        if (n === -2) throw new Error("cannot read the host's requests");
      }
      if (n === 0) return undefined;
    }
  }

  // Whether Node's event loop has nothing to do: nothing keeps it alive (timers, sockets,
  // servers, child processes, file system requests) but the driver's own read. Then the
  // top level waits for the next request in a blocking read, as a nested call does: going
  // through the event loop would only cost the start of a new interrupt watchdog (tens of
  // microseconds) when the request comes. (Unreferenced timers and handles run only when the
  // event loop runs for another reason.)
  var activeResources = typeof process.getActiveResourcesInfo === "function" ? process.getActiveResourcesInfo : null;
  function eventLoopIdle() {
    if (activeResources === null) return false;
    var n = activeResources().length;
    return n === 0 || (n === 1 && inOwnRead);
  }

  // Whether `pending` holds a whole line.
  function lineReady() {
    var last = pending[pending.length - 1];
    return last !== undefined && last.indexOf(10) >= 0;
  }

  function goodbye() {
    // The host closed our input (or is gone): say goodbye if it can still hear it, and leave.
    try { send("BYE"); } catch (error) { /* nobody is listening */ }
    process.exit(0);
  }

  function run(code) {
    return vm.runInThisContext(code, { filename: "bond", displayErrors: false });
  }

  // The value of an expression (EVAL, OBJECT, an XCALL's ref, a RUN of an expression), run
  // through a function compiled once per text and kept, as `caller` keeps names. A vm script
  // allocates in V8's old generation (its code when compiled, a new top-level closure at each
  // run), garbage that only a full collection frees: OBJECT requests made node's memory saw up
  // and down by 12 MiB (bond-bench's handles figure: 11% at a million), and calls of a kept
  // function allocate nothing there (docs/performance.md). Code that names `eval` or
  // `arguments` still runs as a script (in a function, they would see the function's scope).
  var expressions = new Map();
  function evaluate(code) {
    var fn = expressions.get(code);
    if (fn === undefined) {
      if (code.length > 10000 || /\b(?:eval|arguments)\b/.test(code)) return run("(" + code + "\n)");
      fn = run("(function () { return (" + code + "\n); })");
      if (expressions.size > 1000) expressions.clear();
      expressions.set(code, fn);
    }
    return fn();
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
    if (depth === 0) {
      // (a timer or an I/O callback while the bond is idle: the host is in no conversation)
      throw new Error(name + " cannot be called while the bond is idle (from a timer or a callback of the event loop): it is exported by the host and answers only during a request");
    }
    var payload;
    try {
      payload = encode([name, args]);
    } catch (error) {
      throw SerializationError("cannot serialize the arguments of " + name + ": " + error.message);
    }
    return askHost("CALL", payload);
  }

  // Sends a request to the host (a CALL, or a proxy's request) and serves nested requests
  // until its answer: the value, or the host's error thrown.
  function askHost(verb, payload) {
    callsWaiting++;   // (before the request goes: the host may interrupt as soon as it reads it)
    send(verb, payload);
    var answer;
    try {
      answer = serve(true);
    } finally {
      callsWaiting--;
    }
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
        return evaluate(data);
      case "EVAL_BLOCK":
        run(data);
        return null;
      case "CALL":
        return caller(data[0])(data[1]);
      case "XCALL":
        var target = caller(data[0]);
        return target(data[1].map(function (arg) { return arg[0] ? evaluate(arg[1]) : arg[1]; }));
      case "EXPORT":
        exportFunction(data);
        return null;
      case "OBJECT": case "OCALL": case "OGET": case "ODESCRIBE":
        if (objectsOn) return objectRequest(verb, data);
        throw new Error("unknown request " + verb);
      default:
        throw new Error("unknown request " + verb);
    }
  }

  // ---------------------------------------------------------------------------
  // [ext] OBJECTS: live remote objects (docs/protocol.md, "The OBJECTS extension"). Off unless
  // the host switched it on at start-up: then an object with a "$bond" member is a marker, both
  // ways, and a user object with such a member is sent escaped.

  var objectsOn = false;
  var table = new Map();        // handle id -> the value the host holds
  var lastId = 0;
  var released = [];            // ids of proxies collected here, for the host with our next frame
  var handleMemo = null;        // while a value is encoded with handles: its markers by value
  var markers = new WeakSet();  // the markers the driver made (user objects are escaped)
  var proxyIds = new WeakMap(); // proxy -> its id in the host's table
  var proxyRegistry = typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry(function (id) { released.push(id); }) : null;

  function Encoded(payload, state) {
    this.payload = payload;
    this.state = state || "RETURN";
  }

  function marker(members) {
    markers.add(members);
    return members;
  }

  function keep(value) {
    table.set(++lastId, value);
    return marker({ "$bond": "handle", id: lastId, type: typeName(value) });
  }

  function object(id) {
    if (!table.has(id)) throw new ReferenceError("no object " + JSON.stringify(id) + " here (released, or never made)");
    return table.get(id);
  }

  // Whether `x` is data as JSON writes it (an array or a plain object); else, with handles
  // asked for, it becomes one.
  function isPlainContainer(x) {
    if (typeof x !== "object") return false;
    if (Array.isArray(x)) return true;
    var proto = Object.getPrototypeOf(x);
    return proto === Object.prototype || proto === null;
  }

  // The encoder's view of an object or function: a proxy goes back as itself, a value that is
  // not data becomes a handle where asked, a user object with a "$bond" member is escaped.
  function markerFor(x) {
    if (markers.has(x)) return x;
    var proxyId = proxyIds.get(x);
    if (proxyId !== undefined) return marker({ "$bond": "proxy", id: proxyId });
    if (handleMemo !== null && (typeof x === "function" || !isPlainContainer(x))) {
      var made = handleMemo.get(x);
      if (made === undefined) { made = keep(x); handleMemo.set(x, made); }
      return made;
    }
    if (!Array.isArray(x) && Object.prototype.hasOwnProperty.call(x, "$bond")) {
      return marker({ "$bond": "map", items: Object.keys(x).map(function (k) { return [k, x[k]]; }) });
    }
    return x;
  }

  // A value that is no object yet not data either (a symbol, a BigInt, NaN, an infinity):
  // with handles asked for, it becomes one too.
  function isScalarHandle(x) {
    return typeof x === "symbol" || typeof x === "bigint" || (typeof x === "number" && !isFinite(x));
  }

  function keptScalar(x) {
    var made = handleMemo.get(x);
    if (made === undefined) { made = keep(x); handleMemo.set(x, made); }
    return made;
  }

  function encodeHandles(value) {
    handleMemo = new Map();
    try { return encode(value); } finally { handleMemo = null; }
  }

  // JSON from the host, its markers made objects, proxies and plain objects again.
  function parseMarkers(text) {
    return JSON.parse(text, function (key, x) { return unmarked(x); });
  }

  // A value read from the host: a marker made an object, a proxy or a plain object again.
  function unmarked(x) {
    if (x === null || typeof x !== "object" || Array.isArray(x) || !Object.prototype.hasOwnProperty.call(x, "$bond")) return x;
    switch (x["$bond"]) {
      case "handle": return object(x.id);
      case "proxy": return makeProxy(x.id, x.type || "Object");
      case "map":
        var map = {};
        x.items.forEach(function (pair) { map[pair[0]] = pair[1]; });
        return map;
      default: throw new Error("unknown marker " + JSON.stringify(x["$bond"]));
    }
  }

  // A handle of another bond, passed here: reading a property (a method included) and calling
  // run in the bond that owns the object, through the host.
  function makeProxy(id, type) {
    var proxy = new Proxy(function () {}, {
      get: function (target, name) {
        if (typeof name === "symbol") {
          return name === util.inspect.custom ? function () { return "[proxy of a " + type + "]"; } : undefined;
        }
        if (name === "then" || name === "toJSON" || name === "constructor" || name === "prototype") return undefined;
        return ask("OGET", [id, name, "handle"]);
      },
      apply: function (target, self, args) { return ask("OCALL", [id, null, args, "handle"]); },
    });
    proxyIds.set(proxy, id);
    if (proxyRegistry !== null) proxyRegistry.register(proxy, id);
    return proxy;
  }

  // A proxy's request to the host (what is not data goes as handles of ours); nested requests
  // are served until its answer.
  function ask(verb, payload) {
    if (depth === 0) throw new Error("a proxy answers only during a request (not from a timer or a callback of the event loop)");
    return askHost(verb, encodeHandles(payload));
  }

  function releaseHandles(ids) {
    if (Array.isArray(ids)) ids.forEach(function (id) { table.delete(id); });
  }

  // The RELEASE notice for the proxies collected since the last frame (taken once).
  function releaseLine() {
    var ids = released;
    released = [];
    return "RELEASE " + JSON.stringify(ids) + "\n";
  }

  // OBJECT, OCALL, OGET, ODESCRIBE from the host.
  function objectRequest(verb, data) {
    if (verb === "OBJECT") return new Encoded(encode(keep(evaluate(data))));
    if (verb === "ODESCRIBE") {
      var described = object(data);
      return { type: typeName(described), description: util.inspect(described, { depth: 4 }) };
    }
    var target = object(data[0]), value, mode;
    if (verb === "OCALL") {
      if (data[1] === null) {
        value = target.apply(undefined, data[2]);
      } else {
        var method = target[data[1]];
        if (typeof method !== "function") throw new TypeError(data[1] + " is not a method of this " + typeName(target));
        value = method.apply(target, data[2]);
      }
      mode = data[3];
    } else {
      value = target[data[1]];
      mode = data[2];
      if (mode === "handle" && typeof value === "function") value = value.bind(target);
    }
    if (mode !== "handle") return value;
    try {
      return new Encoded(encodeHandles(value));
    } catch (error) {
      return new Encoded(JSON.stringify(describe(error)), "ERROR");
    }
  }

  // ---------------------------------------------------------------------------
  // [ext] RUN: REPL input (as node's REPL runs it) or one expression; a promise result is
  // awaited; what JSON cannot carry is described with util.inspect when asked.

  var util = require("util");
  var replServer = null;   // node's REPL evaluator, for input with top-level await (made once)
  var replOutput = null;   // where that REPL's reports of uncaught errors go (see makeRepl)
  var replEvaluating = false;
  var replError = null;
  var replAwaiting = null;  // the RUN whose input the REPL evaluator awaits
  var replQuiet = false;

  // A REPL server of Node's own, used only for its evaluator (top-level await, with `let`
  // and `const` declarations kept for later inputs): its input never gets data, its prompt is
  // empty, and its domain is ours, so that an error of the code it runs is told to the request,
  // while uncaught errors of callbacks made by that code later are reported on STDERR.
  function makeRepl() {
    var stream = require("stream");
    var domain = require("domain").create();
    // (Listeners run in order: this one before the REPL's own, which reports the error on its
    // output. The REPL gives an error of the code it awaits to its domain, not to the callback.)
    domain.on("error", function (error) {
      if (replEvaluating) {
        replError = { error: error };
      } else if (replAwaiting !== null) {
        replQuiet = true;
        queueMicrotask(function () { replQuiet = false; });
        replAwaiting.cancel("EXCEPT", exceptionValue(error));
      }
    });
    replOutput = new stream.Writable({
      write: function (chunk, encoding, callback) {
        if (!replEvaluating && !replQuiet) channels.STDERR.write(String(chunk));
        callback();
      }
    });
    replServer = require("repl").start({
      input: new stream.PassThrough(), output: replOutput, prompt: "", terminal: false, useGlobal: true,
      ignoreUndefined: true, preview: false, useColors: false, breakEvalOnSigint: false, domain: domain
    });
    return replServer;
  }

  // Evaluates REPL input with node's REPL evaluator; calls done(error, value) (maybe later).
  function replEval(code, done) {
    var server = replServer || makeRepl();
    var answered = false;
    replEvaluating = true;
    replError = null;
    try {
      server.eval(code, server.context, "REPL", function (error, value) {
        if (answered) return;
        answered = true;
        if (error && error.err) error = error.err;   // repl.Recoverable: an incomplete input
        done(error || null, value);
      });
    } finally {
      replEvaluating = false;
    }
    if (!answered && replError !== null) {
      answered = true;
      done(replError.error, undefined);
    }
  }

  // Whether JSON can carry `value` as the data it is: null, booleans, finite numbers,
  // strings, and arrays and plain objects of those (no class instances, no functions, no
  // cycles; the rest is described).
  function isData(value, depth, seen) {
    switch (typeof value) {
      case "string": case "boolean": return true;
      case "number": return isFinite(value);
      case "object": break;
      default: return false;
    }
    if (value === null) return true;
    if (bytesOn && value instanceof Uint8Array) return true;   // [ext] BYTES
    if (depth > 1000 || seen.indexOf(value) >= 0) return false;
    var proto = Object.getPrototypeOf(value);
    var array = Array.isArray(value);
    if (!array && proto !== Object.prototype && proto !== null) return false;
    seen.push(value);
    var ok = true, i;
    if (array) {
      for (i = 0; ok && i < value.length; i++) ok = i in value && isData(value[i], depth + 1, seen);
    } else {
      var keys = Object.keys(value);
      for (i = 0; ok && i < keys.length; i++) ok = isData(value[keys[i]], depth + 1, seen);
    }
    seen.pop();
    return ok;
  }

  function typeName(value) {
    if (value === null) return "null";
    switch (typeof value) {
      case "object": case "function":
        var proto = Object.getPrototypeOf(value);
        var ctor = proto && Object.prototype.hasOwnProperty.call(proto, "constructor") ? proto.constructor : null;
        if (typeof ctor === "function" && ctor.name) return ctor.name;
        return typeof value === "function" ? "Function" : "Object";
      case "bigint": return "BigInt";
      case "symbol": return "Symbol";
      default: return typeof value;
    }
  }

  // The reply line of a RUN request whose result is `value`.
  function runReply(value, request) {
    if (value === undefined) {
      if (request.input) return "RETURN {}\n";
      value = null;   // (an expression's undefined is EVAL's null)
    }
    if (request.handles) {
      try { return "RETURN {\"value\":" + encodeHandles(value) + "}\n"; }
      catch (error) { return "ERROR " + JSON.stringify(describe(error)) + "\n"; }
    }
    if (request.describe) {
      var data;
      try { data = isData(value, 0, []); } catch (error) { data = false; }
      if (!data) {
        var text;
        try { text = util.inspect(value, { depth: 4 }); } catch (error) { text = "(" + describe(error) + ")"; }
        return "RETURN " + JSON.stringify({ description: text, type: typeName(value) }) + "\n";
      }
    }
    var payload;
    try {
      payload = encode(value);
    } catch (error) {
      return "ERROR " + JSON.stringify(describe(error)) + "\n";
    }
    return frameLine("RETURN {\"value\":" + payload + "}\n", payload);
  }

  function isThenable(value) {
    return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
  }

  var AWAIT_PATTERN = /\bawait\b/;

  // Runs a RUN request; calls finish(state, value) when it is done ("LINE" and the reply
  // line, or a reply verb and its value): at once, or once the promise it gave settles (only at
  // the top level, where the event loop can run; a nested request answers at once, a promise
  // described). Errors thrown at once are the caller's to answer.
  function runRequest(data, nested, finish) {
    if (data === null || typeof data !== "object" || typeof data.code !== "string") {
      return finish("ERROR", "malformed RUN request: expected {\"code\": ..., \"mode\": ..., \"unserializable\": ...}");
    }
    var request = { input: data.mode !== "expression", describe: data.unserializable === "describe",
                    handles: objectsOn && data.unserializable === "handle" };
    var finished = false;
    var token = { cancel: end };
    function end(state, value) {
      if (finished) return;
      finished = true;
      if (awaitingRun === token) awaitingRun = null;
      if (replAwaiting === token) replAwaiting = null;
      finish(state, value);
    }
    // The input's value: the reply, or, for a promise, the reply once it settles.
    function settle(value) {
      if (isThenable(value) && !nested) {
        awaitingRun = token;
        Promise.resolve(value).then(function (v) { end("LINE", runReply(v, request)); },
                                    function (error) { end("EXCEPT", exceptionValue(error)); });
        return;
      }
      end("LINE", runReply(value, request));
    }
    var code = data.code;
    if (!request.input) return settle(evaluate(code));
    var script = null;
    // `{a: 1}` is an object, not a block with a label (as in node's REPL)
    if (/^\s*\{/.test(code) && !/;\s*$/.test(code)) {
      try { script = new vm.Script("(" + code.trim() + "\n)", { filename: "REPL" }); } catch (error) { script = null; }
    }
    if (script === null) {
      try {
        script = new vm.Script(code, { filename: "REPL" });
      } catch (error) {
        if (!(error instanceof SyntaxError) || !AWAIT_PATTERN.test(code)) throw error;
        // Top-level await: node's REPL evaluator, which awaits with the event loop running.
        if (nested) {
          throw new Error("top-level await needs the event loop, which does not run while JavaScript waits for the host (in a nested request)");
        }
        awaitingRun = replAwaiting = token;   // until it answers
        replEval(code, function (error, value) {
          if (replAwaiting === token) replAwaiting = null;
          if (error) return end("EXCEPT", exceptionValue(error));
          awaitingRun = null;
          settle(value);
        });
        return;
      }
    }
    settle(script.runInThisContext({ displayErrors: false }));
  }

  // ---------------------------------------------------------------------------
  // The event loop
  //
  // The driver never blocks at the top level. After a reply it looks for the next request
  // for up to 50 microseconds (see readSoon) and serves it at once; when none comes, it
  // leaves its loop and Node's event loop runs (timers, promises, I/O) until the next
  // request is read, by a read in libuv's thread pool (`idleRead`). The loop also gets its turn
  // after any request that queued promise work (a promise made, process.nextTick,
  // queueMicrotask), before the next request is read, and after 5 ms of requests back to back.
  // Nested calls (JavaScript waits for the host's answer) read synchronously: the event loop
  // does not run inside them. A RUN whose result is a promise waits for it with the event loop
  // running; the bond is busy meanwhile.

  var depth = 0;            // requests of the host being served, nested (one awaiting included)
  var callsWaiting = 0;     // calls of the host's functions waiting for its answer
  var abandonedCalls = 0;   // of those, cut off by an interrupt: their answers are still to come
  var awaitingRun = null;   // the top-level RUN waiting for a promise: { cancel(state, value) }
  var inLoop = false;       // the serve loop runs (under its interrupt watchdog)
  var reading = false;      // a read of the next request is in libuv's thread pool
  var yieldWanted = false;  // a request queued work for the event loop
  var budgetEnd = 0n;       // when the serve loop gives the event loop its turn anyway
  var BUDGET = 5000000n;    // 5 ms
  var idleBuffer = null;
  var inOwnRead = false;   // serving from the callback of the read of `goIdle`
  var stopPromiseHook = null;
  var replMuted = false;    // the outer REPL's own writes after stage 1 (its result, a prompt)
  var promiseHooks = null;
  try { promiseHooks = require("v8").promiseHooks || null; } catch (error) { promiseHooks = null; }
  function wantYield() { yieldWanted = true; }

  function serve(nested) {
    for (;;) {
      var line = readLine(!nested);
      if (line === null) return null;   // top level: nothing came in time
      if (line === undefined) goodbye();
      var blocks = null;
      while (bytesOn && line.startsWith("BYTES ")) {   // [ext] raw blocks before the frame
        (blocks = blocks || []).push(readBlock(parseInt(line.substring(6), 10)));
        line = readLine(false);
        if (line === undefined) goodbye();
      }
      var space = line.indexOf(" ");
      var verb = space < 0 ? line : line.substring(0, space);
      var data = null;
      try {
        if (space >= 0) {
          var text = line.substring(space + 1);
          data = blocks !== null ? parseWithBlocks(text, blocks)
            : objectsOn && text.indexOf('"$bond"') >= 0 ? parseMarkers(text) : JSON.parse(text);
        }
      } catch (error) {
        reply("ERROR", "cannot read the request: " + describe(error));
        continue;
      }
      if (verb === "RETURN" || verb === "EXCEPT" || verb === "ERROR") {
        if (nested) return { verb: verb, data: data };
        if (abandonedCalls > 0) { abandonedCalls--; continue; }   // the answer to an interrupted call
        goodbye();   // a reply with no call pending ends the top level loop (as python-bond's drivers do)
      }
      if (verb === "RELEASE" && objectsOn) { releaseHandles(data); continue; }
      if (verb === "RUN") {
        if (serveRun(data, nested) && !nested) return null;   // it awaits: the loop leaves
        if (!nested && yieldWanted) return null;
        continue;
      }
      var state = "RETURN", value;
      depth++;
      try {
        value = execute(verb, data);
      } catch (error) {
        state = failureVerb(error);
        value = failureValue(error);
      }
      var line = replyLine(state, value);
      flushOutput();
      depth--;
      writeAll(outFd, line);
      if (!nested && yieldWanted) return null;
    }
  }

  // Serves a RUN; returns whether its reply waits for a promise (then it comes from the
  // event loop, when the promise settles).
  function serveRun(data, nested) {
    depth++;
    var answer = null;   // the reply line, while the request is served here
    var waits = false;
    var keepAlive = null;
    function finish(state, value) {
      var text = state === "LINE" ? value : replyLine(state, value);
      if (!waits) { answer = text; return; }
      // a top-level RUN that awaited ends now, from the event loop
      clearInterval(keepAlive);
      flushOutput();
      depth--;
      writeAll(outFd, text);
      goIdle();
    }
    try {
      runRequest(data, nested || depth > 1, finish);
    } catch (error) {
      if (answer === null) answer = replyLine(failureVerb(error), failureValue(error));
    }
    if (answer === null) {
      // Nothing else may keep the event loop alive while it waits (the next request is not
      // read meanwhile): a timer does, until the reply.
      // It also looks for the end of input (the host gone: the driver must not outlive it);
      // what it reads otherwise joins the input, in order, for whoever reads next.
      waits = true;
      keepAlive = setInterval(function () {
        if (peek !== null && peek() === 0) goodbye();
      }, 100);
      return true;
    }
    flushOutput();
    depth--;
    writeAll(outFd, answer);
    return false;
  }

  // Serves requests until none comes in time (or the event loop is due), under one interrupt
  // watchdog (starting one costs tens of microseconds: once per wake, not per request).
  function wake() {
    if (inLoop || awaitingRun !== null || reading) return;
    inLoop = true;
    replMuted = false;   // (the outer REPL wrote what it writes after stage 1 before any callback)
    yieldWanted = false;
    budgetEnd = process.hrtime.bigint() + BUDGET;
    if (promiseHooks !== null) stopPromiseHook = promiseHooks.onInit(wantYield);
    try {
      for (;;) {
        try {
          loop.runInThisContext({ breakOnSigint: true });
          break;
        } catch (error) {
          // Only an interrupt ends up here (user code errors are answered inside `serve`); any
          // other failure of the driver itself (the host's pipe is gone) ends the interpreter.
          if (!error || error.code !== "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
            try { process.stderr.write("bond: the JavaScript driver failed: " + (error && error.stack || error) + "\n"); } catch (e) { /* gone */ }
            process.exit(1);
          }
          salvageReads();
          try {
            var line = replyLine("EXCEPT", exceptionValue(error));
            flushOutput();
            for (; depth > 0; depth--) writeAll(outFd, line);
            // (An interrupt that landed while a call of the host waited for its answer: that
            // answer reaches the top level later, and is dropped there, not taken for a reply
            // to no call.)
            abandonedCalls += callsWaiting;
            callsWaiting = 0;
            awaitingRun = null;
          } catch (writeError) {
            process.exit(1);
          }
        }
      }
    } finally {
      if (stopPromiseHook !== null) { stopPromiseHook(); stopPromiseHook = null; }
      inLoop = false;
    }
    goIdle();
  }

  // After the serve loop: the event loop runs until the next request comes.
  function goIdle() {
    if (inLoop || awaitingRun !== null || reading) return;
    flushOutput();
    if (lineReady()) {
      setImmediate(wake);   // after the work the last request queued
      return;
    }
    reading = true;
    if (idleBuffer === null) idleBuffer = Buffer.alloc(1 << 16);
    fs.read(inFd, idleBuffer, 0, idleBuffer.length, null, function (error, n) {
      reading = false;

      if (error) {
        if (error.code === "EAGAIN" || error.code === "EINTR") return goIdle();
        goodbye();
      }
      if (n <= 0) goodbye();
      pending.push(Buffer.from(idleBuffer.subarray(0, n)));
      inOwnRead = true;   // (its request counts among the active resources until it returns)
      try { wake(); } finally { inOwnRead = false; }
    });
  }

  // An interrupt while the event loop runs: a RUN that awaits ends with the interrupt error.
  function onSigint() {
    if (awaitingRun !== null) {
      var error = new Error("Script execution was interrupted by SIGINT");
      error.code = "ERR_SCRIPT_EXECUTION_INTERRUPTED";
      awaitingRun.cancel("EXCEPT", exceptionValue(error));
    }
  }

  // A callback of the event loop threw while no request ran it: reported as node reports it,
  // on STDERR, and the bond goes on.
  function onUncaught(error) {
    var text;
    try { text = error instanceof Error ? util.inspect(error) : util.inspect(error); } catch (e) { text = String(error); }
    try { channels.STDERR.write("Uncaught " + text + "\n"); flushOutput(); } catch (e) { process.exit(1); }
  }

  var loop = null;

  function reopen(path, flags) {
    try { return fs.openSync(path, flags); } catch (error) { return -1; }
  }

  function start(fd, proto, trans, extensions) {
    inFd = fd;
    bytesOn = Array.isArray(extensions) && extensions.indexOf("BYTES") >= 0;
    objectsOn = Array.isArray(extensions) && extensions.indexOf("OBJECTS") >= 0;
    // With a single processor to run on (availableParallelism follows the affinity mask),
    // reads block at once: looking again would only keep the host from answering.
    var os = require("os");
    var cpus = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
    // (The non-blocking descriptor is opened on one processor too: a RUN that awaits looks
    // through it for the end of input, see serveRun.)
    spinning = cpus > 1;
    var spinFd = reopen("/proc/self/fd/" + fd, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (spinFd >= 0) {
      try {
        peek = wasiReader(spinFd);
        if (peek() === -2) throw new Error("WASI fd_read cannot read the input");   // (what it read is kept)
        blockingRead = wasiReader(fd);
      } catch (error) {
        salvagers = [];
        peek = fsReader(spinFd, true);
      }
    }
    if (blockingRead === null) blockingRead = fsReader(fd, false);
    transExcept = !!trans;
    // Node's own REPL (`node -i`) read stage 1 and evaluates it: leave its domain (callbacks
    // made from now on must not report to it), and close its input stream before descriptor
    // 0 changes (libuv leaves descriptors 0 to 2 open when it closes their streams), so that it
    // never reads again.
    while (process.domain) process.domain.exit();
    try { process.stdin.removeAllListeners(); process.stdin.destroy(); } catch (error) { /* none */ }
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
    // Their streams never write (their writes are the channels'): they must not keep the
    // event loop alive (see eventLoopIdle).
    [process.stdout, process.stderr].forEach(function (s) { if (typeof s.unref === "function") s.unref(); });
    // The event loop will run: wrap what queues work for it, so that the serve loop lets it
    // run before the next request (see "The event loop").
    var nextTick = process.nextTick;
    process.nextTick = function () { yieldWanted = true; return nextTick.apply(process, arguments); };
    if (typeof global.queueMicrotask === "function") {
      var queue = global.queueMicrotask;
      global.queueMicrotask = function (task) { yieldWanted = true; return queue(task); };
    }
    process.on("SIGINT", onSigint);
    process.on("uncaughtException", onUncaught);
    // The loop runs under a vm watchdog with breakOnSigint (one per wake, see `wake`): an
    // interrupt unwinds the JavaScript stack to there, and every request in progress is
    // answered with the interrupt error. The host only sends SIGINT while it waits for a reply.
    loop = new vm.Script("__BOND_serveTop()", { filename: "bond" });
    global.__BOND_serveTop = function () { serve(false); };
    writeFrame("READY");
    // Stage 1 returns to node's own REPL, which prints its result and a prompt: not user output.
    replMuted = true;
    setImmediate(function () { replMuted = false; });
    goIdle();
  }

  return { start: start, objectCount: function () { return table.size; } };
})();

function __BOND_start(fd, proto, transExcept, extensions) {
  __BOND.start(fd, proto, transExcept, extensions);
}
