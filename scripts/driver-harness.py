#!/usr/bin/env python3
"""Pipe-based harness for the bond drivers (a development tool).

Starts a driver the way the host does (plain pipes, no terminal): spawns the
manifest's command, waits for init.wait, sends the probe, stage 1 and stage 2,
waits for READY, then exchanges frames.

  driver-harness.py Perl                  # type frames: EVAL "1 + 1"
  driver-harness.py PHP --trans           # transparent exceptions on
  driver-harness.py Perl --cmd 'ssh box perl'
  driver-harness.py Perl --check          # run the built-in checks
  driver-harness.py PHP --check --big     # ... with the 64 MiB round trip
  driver-harness.py PHP --check --no-def-args --no-wait --cmd "php -r '...'"

In the interactive mode every driver CALL is answered by the harness: the
function "echo" returns its arguments, "fail" answers EXCEPT, anything else
answers ERROR. Lines typed as "!INT" send SIGINT to the interpreter.
"""

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVERS = os.path.join(ROOT, "Resources", "drivers")


class DriverError(Exception):
    pass


class Driver:
    def __init__(self, lang, trans_except=False, command=None, def_args=True,
                 drivers=DRIVERS, timeout=10.0, env=None, wait=True):
        self.lang = lang
        self.trans_except = trans_except
        self.timeout = timeout
        self.dir = os.path.join(drivers, lang)
        with open(os.path.join(self.dir, "bond.json")) as f:
            self.manifest = json.load(f)
        vector = self.manifest["command"][0]
        extra = vector[1:] if def_args else []
        if command is None:
            argv = list(vector[:1]) + extra
        else:
            argv = ["/bin/sh", "-c", " ".join([command] + [shlex.quote(a) for a in extra])]
        self.argv = argv
        self.use_wait = wait
        self.outputs = []          # [channel, text] of OUTPUT frames
        self.exports = {}          # name -> python function, for driver CALLs
        self.stray = []            # lines that are not frames
        self._buf = bytearray()
        self._err = bytearray()
        self._eof = False
        self._cv = threading.Condition()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     env=env)
        threading.Thread(target=self._reader, args=(self.proc.stdout, self._buf, True), daemon=True).start()
        threading.Thread(target=self._reader, args=(self.proc.stderr, self._err, False), daemon=True).start()
        self._startup()

    # -- low level -------------------------------------------------------
    def _reader(self, pipe, buf, is_out):
        fd = pipe.fileno()
        while True:
            try:
                data = os.read(fd, 1 << 20)
            except OSError:
                data = b""
            with self._cv:
                if not data:
                    if is_out:
                        self._eof = True
                    self._cv.notify_all()
                    return
                buf.extend(data)
                self._cv.notify_all()

    @property
    def stderr(self):
        with self._cv:
            return bytes(self._err).decode("utf-8", "replace")

    def _wait(self, pred, timeout, what):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cv:
            while True:
                r = pred()
                if r is not None:
                    return r
                if self._eof:
                    raise DriverError("interpreter gone while waiting for %s; stdout %r; stderr %r"
                                      % (what, bytes(self._buf[-2000:]), self.stderr[-2000:]))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DriverError("timeout waiting for %s; stdout %r; stderr %r"
                                      % (what, bytes(self._buf[-2000:]), bytes(self._err[-2000:])))
                self._cv.wait(left)

    def read_line(self, timeout=None):
        def pred():
            i = self._buf.find(b"\n")
            if i < 0:
                return None
            line = bytes(self._buf[:i + 1])
            del self._buf[:i + 1]
            return line
        return self._wait(pred, timeout, "a line")

    def send_line(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        err = []

        def write():
            try:
                self.proc.stdin.write(data + b"\n")
                self.proc.stdin.flush()
            except OSError as e:
                err.append(e)
        if len(data) < 65536:
            write()
        else:   # the driver may write while we write: never block the reader
            t = threading.Thread(target=write, daemon=True)
            t.start()
            self._writer = t
        if err:
            raise DriverError("cannot write: %s; stderr %r" % (err[0], self.stderr[-2000:]))

    def _stage(self, spec):
        with open(os.path.join(self.dir, spec["file"]), encoding="utf-8") as f:
            text = f.read()
        if "sub" in spec:
            text = re.sub(spec["sub"][0], spec["sub"][1], text)
        return text.strip()

    def _startup(self):
        init = self.manifest["init"]
        if "wait" in init and self.use_wait:
            rx = re.compile(init["wait"].encode())

            def pred():
                m = rx.search(self._buf)
                if m is None:
                    return None
                del self._buf[:m.end()]
                return True
            self._wait(pred, None, "init.wait")
        self.send_line(init["probe"])
        self._skip_until(b"STAGE1\n")
        self.send_line(self._stage(init["stage1"]))
        self._skip_until(b"STAGE2\n")
        code = self._stage(init["stage2"])
        self.send_line(json.dumps({"code": code, "start": ["JSON", self.trans_except]}))
        self._skip_until(b"READY\n")

    def _skip_until(self, marker):
        while True:
            line = self.read_line()
            if line.endswith(marker):
                return

    # -- frames ----------------------------------------------------------
    def send(self, verb, payload=None, raw=None):
        if raw is not None:
            self.send_line(raw)
        elif payload is None:
            self.send_line(verb)
        else:
            self.send_line(verb + " " + json.dumps(payload, ensure_ascii=False))

    def reply(self, timeout=None, on_call=None):
        """Reads frames until RETURN/EXCEPT/ERROR/BYE; answers CALLs."""
        while True:
            line = self.read_line(timeout)
            text = line.decode("utf-8")
            if not text.endswith("\n"):
                raise DriverError("line without end")
            text = text[:-1]
            verb, _, payload = text.partition(" ")
            if not re.fullmatch(r"[A-Z_]+", verb):
                self.stray.append(text)
                continue
            value = json.loads(payload) if payload else None
            if verb == "OUTPUT":
                self.outputs.append(value)
                continue
            if verb == "CALL":
                self._answer_call(value, on_call)
                continue
            return verb, value

    def _answer_call(self, value, on_call):
        name, args = value
        fn = self.exports.get(name)
        if fn is None:
            self.send("ERROR", "no such exported function: %s" % name)
            return
        try:
            result = fn(*args)
        except Exception as e:
            self.send("EXCEPT", str(e))
            return
        try:
            data = json.dumps(result)
        except (TypeError, ValueError) as e:
            self.send("ERROR", "cannot serialize: %s" % e)
            return
        self.send_line("RETURN " + data)

    def request(self, verb, payload=None, timeout=None):
        self.send(verb, payload)
        return self.reply(timeout)

    def eval(self, code):
        return self.request("EVAL", code)

    def eval_block(self, code):
        return self.request("EVAL_BLOCK", code)

    def call(self, name, *args):
        return self.request("CALL", [name, list(args)])

    def export(self, name, fn):
        self.exports[name] = fn
        return self.request("EXPORT", name)

    def take_output(self, channel=None):
        out = "".join(t for c, t in self.outputs if channel is None or c == channel)
        self.outputs = []
        return out

    def interrupt(self):
        os.killpg(self.proc.pid, signal.SIGINT)

    def close(self, timeout=5):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


# ---------------------------------------------------------------------------
# Built-in checks

class Checker:
    def __init__(self, lang, args):
        self.lang = lang
        self.args = args
        self.failures = 0
        self.count = 0

    def new(self, **kw):
        return Driver(self.lang, command=self.args.cmd, def_args=not self.args.no_def_args,
                      wait=not self.args.no_wait, **kw)

    def check(self, what, got, want):
        self.count += 1
        ok = want(got) if callable(want) else got == want
        if not ok:
            self.failures += 1
            print("FAIL %s: got %r, want %r" % (what, got, want if not callable(want) else "<predicate>"))
        elif self.args.verbose:
            print("ok   %s" % what)

    def run(self, fn):
        try:
            fn()
        except Exception as e:
            self.failures += 1
            self.count += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e))


def common_checks(c, lang):
    def startup_and_basics():
        d = c.new()
        c.check("eval 1+1", d.eval("1 + 1"), ("RETURN", 2))
        c.check("eval string", d.eval('"h\u00e9llo \U0001F600"'), ("RETURN", "h\u00e9llo \U0001F600"))
        c.check("bye on eof", d.close(), 0)

    def round_trips():
        d = c.new()
        ident = "sub ident { $_[0] }" if lang == "Perl" else "function ident($x) { return $x; }"
        d.eval_block(ident)
        for v in [0, 1, -5, 2**40, 1.5, "", "x" * 4097, "a\nb\"c\\d\u0001", "\u00e9\u20ac\U0001F600",
                  "e\u0301", [], [1, [2, [3]]], {"a": 1, "b": [True, None]}, True, False, None,
                  "\u2028\u2029", "x\u0000y"]:
            c.check("ident %r" % (v if not isinstance(v, str) or len(v) < 50 else v[:10]),
                    d.call("ident", v), ("RETURN", v))
        d.close()

    def protocol_faults():
        d = c.new()
        for raw in ["BOGUS", "EVAL", "EVAL {", "EVAL \"1\" trailing", "eval lower", "",
                    "CALL \"notalist\"", "EVAL " + "[" * 100000 + "]" * 100000]:
            d.send(None, raw=raw)
            v, _ = d.reply()
            c.check("fault %r -> ERROR" % raw[:30], v, "ERROR")
        d.send(None, raw='EVAL "1 + 1"\r')
        c.check("\\r\\n line end", d.reply(), ("RETURN", 2))
        c.check("usable after faults", d.eval("2 + 2"), ("RETURN", 4))
        d.close()

    def call_argument_texts():
        # Raw CALL lines, each sent three times: a driver may read the arguments of a function
        # it called before, or called last, by shorter ways (PHP: a natural number without
        # json_decode); every way must read them as JSON does, and refuse what JSON refuses.
        d = c.new()
        ident = "sub ident { $_[0] }" if lang == "Perl" else "function ident($x = null) { return $x; }"
        d.eval_block(ident)

        def same(got, want):  # (Perl has one kind of number: 5.0 comes back as 5)
            if isinstance(want, (int, float)) and not isinstance(want, bool):
                return isinstance(got, (int, float)) and not isinstance(got, bool) and got == want \
                    and (lang == "Perl" or type(got) is type(want))
            return type(got) is type(want) and got == want
        for args, want in [("[5]", 5), ("[0]", 0), ("[123456789012345678]", 123456789012345678),
                           ("[1234567890123456789]", 1234567890123456789), ("[-5]", -5), ("[ 7 ]", 7),
                           ('["5"]', "5"), ("[5.0]", 5.0), ("[5,6]", 5), ("[[5]]", [5]), ("[]", None),
                           ("[99999999999999999999]", 1e20), ("[05]", "ERROR"), ("[5]x", "ERROR"),
                           ("[5", "ERROR"), ("[55", "ERROR"), ("[5]]", "ERROR"), ("[1e2]", 100.0)]:
            for time_ in range(3):
                d.send(None, raw='CALL ["ident",%s]' % args)
                verb, value = d.reply()
                got = verb if verb != "RETURN" else value
                ok = same(got, want) if want != "ERROR" else verb in ("ERROR", "EXCEPT")
                c.check("CALL ident %s (%d)" % (args, time_ + 1), ok or (verb, value), True)
        c.check("in sync after", d.eval("1 + 1"), ("RETURN", 2))
        d.close()

    def stray_output():
        d = c.new()
        code = {'Perl': 'system("echo RETURN 42"); system("printf partial"); 7',
                'PHP': 'passthru("echo RETURN 42") . shell_exec("printf partial >&2") . 7'}[lang]
        c.check("stray output is not a frame", d.eval(code), lambda r: r[0] == "RETURN" and str(r[1]).endswith("7"))
        c.check("next request in sync", d.eval("1"), ("RETURN", 1))
        d.close()

    def stdin_protected():
        d = c.new()
        code = {'Perl': 'my $x = `cat`; length($x)', 'PHP': 'strlen(shell_exec("cat"))'}[lang]
        c.check("child reads /dev/null", d.eval(code), ("RETURN", 0))
        c.check("still in sync", d.eval("3"), ("RETURN", 3))
        d.close()

    def nested_calls():
        d = c.new()
        d.exports["inc"] = lambda x: x + 1
        c.check("export", d.request("EXPORT", "inc"), ("RETURN", None))
        c.check("call exported", d.eval("inc(41)"), ("RETURN", 42))

        def deep(n):
            if n == 0:
                return 0
            v, r = d.eval("deep(%d) + 1" % (n - 1))
            return r
        d.exports["deep"] = deep
        d.request("EXPORT", "deep")
        c.check("nested 20 deep", d.eval("deep(20)"), ("RETURN", 20))
        c.check("invalid export name", d.request("EXPORT", "bad name")[0], "EXCEPT")

        def fail():
            raise RuntimeError("boom")
        d.exports["fail"] = fail
        d.request("EXPORT", "fail")
        c.check("host exception", d.eval("fail()"), lambda r: r[0] == "EXCEPT" and "boom" in r[1])
        c.check("unknown host function", d.request("EXPORT", "nothere"), ("RETURN", None))
        c.check("host ERROR", d.eval("nothere()"), lambda r: r[0] == "ERROR" and "no such" in r[1])
        seen = []
        d.exports["peek"] = lambda: seen.append(d.eval({"Perl": "$fresh", "PHP": "$fresh"}[lang])) or 0
        d.request("EXPORT", "peek")
        d.eval_block({"Perl": "$fresh = 7; peek();", "PHP": "$fresh = 7; peek();"}[lang])
        c.check("a nested EVAL sees the globals of the running block", seen, [("RETURN", 7)])
        c.check("depth back to 1", d.eval("5"), ("RETURN", 5))
        d.close()

    def streaming():
        d = c.new()
        code = {'Perl': 'for my $i (1..3) { print "line $i\\n"; select(undef,undef,undef,0.3) } print "tail"; 1',
                'PHP': 'for ($i = 1; $i <= 3; $i++) { echo "line $i\\n"; usleep(300000); } echo "tail"; return 1;'}[lang]
        d.send("EVAL_BLOCK" if lang == "PHP" else "EVAL", code)
        t0 = time.monotonic()
        line = d.read_line()
        dt = time.monotonic() - t0
        c.check("first OUTPUT before the end", (line.startswith(b"OUTPUT"), dt < 0.5), (True, True))
        d.reply()
        c.check("stream content", d.take_output(), "line 2\nline 3\ntail")
        d.close()

    def interrupt():
        d = c.new()
        code = {'Perl': 'sleep 30; 1', 'PHP': 'sleep(30)'}[lang]
        d.send("EVAL", code)
        time.sleep(0.5)
        t0 = time.monotonic()
        d.interrupt()
        r = d.reply(timeout=5)
        c.check("interrupt -> EXCEPT", r, lambda r: r[0] == "EXCEPT" and "interrupt" in str(r[1]).lower())
        c.check("interrupt fast", time.monotonic() - t0 < 3, True)
        d.interrupt()     # idle: ignored
        time.sleep(0.3)
        c.check("idle interrupt ignored", d.eval("1"), ("RETURN", 1))
        loop = {'Perl': 'my $i = 0; while (1) { $i++ } 1', 'PHP': '$i = 0; while (true) { $i++; }'}[lang]
        d.send("EVAL_BLOCK", loop)
        time.sleep(0.5)
        d.interrupt()
        c.check("interrupt busy loop", d.reply(timeout=5)[0], "EXCEPT")
        c.check("usable after interrupt", d.eval("2"), ("RETURN", 2))
        noisy = {'Perl': 'while (1) { print "x" x 100, "\\n"; print STDERR "e\\n" }',
                 'PHP': 'while (true) { echo str_repeat("x", 100), "\\n"; fwrite(STDERR, "e\\n"); }'}[lang]
        for _ in range(3):
            d.send("EVAL_BLOCK", noisy)
            time.sleep(0.4)
            d.interrupt()
            c.check("interrupt while printing", d.reply(timeout=10)[0], "EXCEPT")
            c.check("frames intact", (d.stray, d.eval("3")), ([], ("RETURN", 3)))
            d.outputs = []
        d.close()

    def big(size):
        def big_payload():
            d = c.new(timeout=120)
            ident = "sub ident { $_[0] }" if lang == "Perl" else "function ident($x) { return $x; }"
            d.eval_block(ident)
            s = "x" * size
            t0 = time.monotonic()
            r = d.call("ident", s)
            dt = time.monotonic() - t0
            c.check("%d MiB round trip" % (size >> 20), r == ("RETURN", s), True)
            print("     %d MiB round trip: %.2fs" % (size >> 20, dt))
            s = "a\"\n\u00e9" * (size // 8)
            t0 = time.monotonic()
            r = d.call("ident", s)
            dt = time.monotonic() - t0
            c.check("%d MiB escaped round trip" % (size >> 20), r == ("RETURN", s), True)
            print("     %d MiB escape-heavy round trip: %.2fs" % (size >> 20, dt))
            d.close()
        return big_payload

    def run_extension():
        # [ext] RUN at the wire: the reply shapes, malformed requests, nesting.
        d = c.new()
        c.check("manifest offers RUN", "RUN" in d.manifest.get("extensions", []), True)

        def run(code, mode="input", unserializable="describe"):
            return d.request("RUN", {"code": code, "mode": mode, "unserializable": unserializable})
        perl = lang == "Perl"
        c.check("RUN definition", run("sub tri { my $n = shift; $n <= 1 ? $n : $n + tri($n - 1) }" if perl
                                      else "function tri($n) { return $n <= 1 ? $n : $n + tri($n - 1); }"), ("RETURN", {}))
        c.check("RUN call", run("tri(4)"), ("RETURN", {"value": 10}))
        c.check("RUN statements, then a value", run("print \"hi\\n\"; 5" if perl else 'echo "hi\\n"; 5'), ("RETURN", {"value": 5}))
        c.check("RUN output before the reply", d.take_output(), "hi\n")
        c.check("RUN expression mode", run("1 + 2", mode="expression"), ("RETURN", {"value": 3}))
        code = "sub { 1 }" if perl else "function () { return 1; }"
        verb, value = run(code)
        c.check("RUN describes", (verb, sorted(value)), ("RETURN", ["description", "type"]))
        c.check("RUN error mode", run(code, unserializable="error")[0], "ERROR")
        c.check("RUN syntax error", run("$x = = 1;")[0], "EXCEPT")
        for raw in ['RUN "just a string"', "RUN [1]", 'RUN {"mode": "input"}']:
            d.send(None, raw=raw)
            c.check("malformed %s -> ERROR" % raw, d.reply()[0], "ERROR")
        d.export("twice", lambda x: 2 * x)
        c.check("RUN nested call", run("$y = twice(7);\n$y + 1"), ("RETURN", {"value": 15}))
        c.check("usable after RUN", d.eval("2 + 2"), ("RETURN", 4))
        d.close()

    tests = [startup_and_basics, round_trips, protocol_faults, call_argument_texts, stray_output, stdin_protected,
             nested_calls, streaming, interrupt, run_extension]
    if c.args.big:
        tests += [big(1 << 20), big(16 << 20), big(64 << 20)]
    return tests


def perl_checks(c):
    def values_and_context():
        d = c.new()
        for code, want in [("(1, 2, 3)", [1, 2, 3]), ("scalar(my @a = (4, 5))", 2), ("()", None),
                           ("undef", None), ("0.1 + 0.2", 0.30000000000000004), ("42", 42), ('"42"', "42"),
                           ("1e20", 1e20), ("18446744073709551615", 18446744073709551615),
                           ('"caf\\xc3\\xa9"', "caf\u00e9"), ("chr(233)", "\u00e9"), ('"\\xff\\xfe"', "\u00ff\u00fe"),
                           ('"\\x{263a}"', "\u263a"), ("JSON::PP::true", True), ("1 == 1", True),
                           ("{ a => [1, undef] }", {"a": [1, None]}), ("\\1", True)]:
            c.check("eval %s" % code, d.eval(code), ("RETURN", want))
        for code in ["9**9**9", "-sin(9**9**9)", "sub { 1 }", "\\*STDOUT", "bless {}, 'Foo'",
                     "my $x = []; push @$x, $x; $x"]:
            c.check("unserializable %s" % code, d.eval(code)[0], "ERROR")
        d.eval_block("package WithJson; sub new { bless { v => $_[1] }, $_[0] } sub TO_JSON { { value => $_[0]{v} } }")
        c.check("TO_JSON", d.eval("WithJson->new(7)"), ("RETURN", {"value": 7}))
        c.check("still usable", d.eval("1"), ("RETURN", 1))
        d.close()

    def call_forms():
        d = c.new()
        d.eval_block("sub ident { $_[0] } sub p0() { 'p0' } our $cr = sub { $_[0] * 2 };"
                     "package Obj; sub new { bless {}, shift } sub twice { $_[1] * 2 } package main; our $obj = Obj->new;")
        for name, args, want in [("map { $_ + 1 }", [1, 2, 3], [2, 3, 4]), ("&$cr", [21], 42),
                                 ("&{ \\&ident }", ["x"], "x"), ("$obj->twice", [4], 8),
                                 ("scalar split", [" ", "a b c"], 3), ("split", [" ", "a b"], ["a", "b"]),
                                 ("sprintf", ["%s-%s", "a", "b"], "a-b"), ("sub { $_[0] + 1 }", [1], 2),
                                 ("$cr", [5], 10), ("Obj->new->twice", [3], 6), ("p0", [], "p0"),
                                 ("join", [",", 1, 2], "1,2"), ("reverse", [1, 2], [2, 1])]:
            c.check("CALL %s" % name, d.call(name, *args), ("RETURN", want))
        c.check("prototype () with an argument", d.call("p0", 1)[0], "EXCEPT")
        c.check("print", d.call("print", "printed"), ("RETURN", 1))
        c.check("print output", d.take_output(), "printed")
        c.check("undefined sub", d.call("nosuch", 1)[0], "EXCEPT")
        d.eval_block('open($fd, ">", "/tmp/bond-perl-harness.txt") or die')
        d.send("XCALL", ["syswrite", [[1, "$fd"], [0, "Hello"]]])
        c.check("XCALL syswrite", d.reply(), ("RETURN", 5))
        d.eval_block("close($fd)")
        with open("/tmp/bond-perl-harness.txt") as f:
            c.check("file written", f.read(), "Hello")
        os.unlink("/tmp/bond-perl-harness.txt")
        d.close()

    def scopes():
        d = c.new()
        d.eval_block("my $y = 1; our $z = 2; $w = 3;")
        c.check("my does not survive", d.eval("defined($y) ? 1 : 0"), ("RETURN", 0))
        c.check("our survives", d.eval("$z"), ("RETURN", 2))
        c.check("package var survives", d.eval("$main::w"), ("RETURN", 3))
        for name in ["$IN", "$OUT", "$TRANS", "$RBUF", "%TIED", "%ESC", "$J", "$GONE"]:
            c.check("driver variable %s invisible" % name, d.eval("use strict; %s" % name)[0], "EXCEPT")
        c.check("no strict by default", d.eval("$undeclared_thing"), ("RETURN", None))
        c.check("last outside a loop", d.eval_block("last;")[0], "EXCEPT")
        c.check("after last", d.eval("1"), ("RETURN", 1))
        c.check("STDIN is empty", d.eval("defined(scalar <STDIN>) ? 1 : 0"), ("RETURN", 0))
        d.eval_block("$/ = undef; $, = '-'; $\\ = '!';")
        c.check("$/ changed", d.eval("2"), ("RETURN", 2))
        d.eval_block("print 'a', 'b';")
        c.check("$, and $\\ honoured", d.take_output(), "a-b!")
        d.close()

    def errors_and_output():
        d = c.new()
        r = d.eval("die 'boom'")
        c.check("die string", r, lambda r: r[0] == "EXCEPT" and r[1].startswith("boom at "))
        c.check("die object", d.eval("die { a => 1 }"), lambda r: r[0] == "EXCEPT" and r[1].startswith("HASH("))
        d.eval_block('use warnings; my $u; my $s = "$u";')
        c.check("warning on STDERR", d.take_output("STDERR"), lambda t: "uninitialized" in t)
        d.eval_block('warn "careful\\n"; print STDERR "err\\n"; printf("%03d\\n", 7); syswrite(STDOUT, "sys\\n");')
        c.check("warn/STDERR/printf/syswrite", d.take_output(), "careful\nerr\n007\nsys\n")
        d.eval_block('binmode(STDOUT, ":utf8"); print chr(0x263a), chr(233), "\\n"; binmode(STDOUT);')
        c.check("binmode utf8", d.take_output(), "\u263a\u00e9\n")
        d.eval_block('print "caf\\xc3\\xa9 ", chr(233), "\\n";')
        c.check("bytes and Latin-1 output", d.take_output(), "caf\u00e9 \u00e9\n")
        d.close()
        t = c.new(trans_except=True)
        c.check("trans die object", t.eval("die { a => 1 }"), ("EXCEPT", {"a": 1}))
        c.check("trans die string", t.eval("die \"plain\\n\""), ("EXCEPT", "plain"))
        c.check("trans die code ref", t.eval("die sub { 1 }")[0], "ERROR")
        t.eval_block("package Err; sub TO_JSON { { error => $_[0]{m} } } package main;")
        c.check("trans die TO_JSON", t.eval("die bless { m => 'x' }, 'Err'"), ("EXCEPT", {"error": "x"}))
        c.check("trans usable", t.eval("1"), ("RETURN", 1))
        t.close()

    def exit_status():
        d = c.new()
        d.send("EVAL_BLOCK", "print 'bye'; exit 3;")
        try:
            r = d.reply(timeout=5)
        except DriverError:
            r = None
        c.check("exit 3 output", d.take_output(), "bye")
        c.check("exit status 3", d.close(), 3)

    return [values_and_context, call_forms, scopes, errors_and_output, exit_status]


def php_checks(c):
    def values():
        d = c.new()
        for code, want in [("1.0", 1.0), ("42", 42), ("'x'", "x"), ("[1, 2]", [1, 2]), ("['a' => 1]", {"a": 1}),
                           ("[]", []), ("null", None), ("true", True), ("0.1 + 0.2", 0.30000000000000004),
                           ("PHP_INT_MAX", 2**63 - 1), ("\"caf\\u{e9}\"", "caf\u00e9")]:
            c.check("eval %s" % code, d.eval(code), ("RETURN", want))
        for code, what in [('"\\xff"', "UTF-8"), ("NAN", "NaN"), ("INF", "Inf"), ("function () {}", "Closure"),
                           ("[1, function () {}]", "Closure"), ("fopen('php://memory', 'r')", "not supported")]:
            r = d.eval(code)
            c.check("unserializable %s" % code, r, lambda r, w=what: r[0] == "ERROR" and w.lower() in r[1].lower())
        d.eval_block("class JS implements JsonSerializable { function jsonSerialize(): mixed { return ['js' => 1]; } }")
        c.check("JsonSerializable", d.eval("new JS"), ("RETURN", {"js": 1}))
        d.close()

    def scope_and_calls():
        d = c.new()
        d.eval_block("$x = 1; function getx() { global $x; return $x; } class K { function m($a) { return $a * 2; }"
                     " static function s($a) { return $a + 1; } } $o = new K; $f = function ($a) { return -$a; };")
        c.check("global", d.eval("$x"), ("RETURN", 1))
        c.check("function sees global", d.call("getx"), ("RETURN", 1))
        d.eval_block("$x = 2; $new = 3;")
        c.check("block vars are global", d.call("getx"), ("RETURN", 2))
        c.check("new global", d.eval("$GLOBALS['new']"), ("RETURN", 3))
        d.eval_block("unset($x);")
        c.check("unset global", d.eval("isset($x)"), ("RETURN", False))
        d.eval_block("$a1 = 1; $b1 = &$a1; $b1 = 5;")
        c.check("references", d.eval("$a1"), ("RETURN", 5))
        for name, args, want in [("$o->m", [4], 8), ("K::s", [1], 2), ("$f", [3], -3), ("strtoupper", ["a"], "A"),
                                 ("(function ($a) { return $a . '!'; })", ["x"], "x!"), ("\\strlen", ["abc"], 3),
                                 ("_BOND_error_reporting", [], lambda v: v != 0)]:
            c.check("CALL %s" % name, d.call(name, *args), lambda r, w=want: r[0] == "RETURN" and (w(r[1]) if callable(w) else r[1] == w))
        c.check("undefined function", d.call("nosuch"), lambda r: r[0] == "EXCEPT" and "undefined function" in r[1])
        c.check("undefined in block", d.eval_block("nosuch();")[0], "EXCEPT")
        c.check("TypeError", d.call("strlen", [1])[0], "EXCEPT")
        c.check("parse error", d.eval('"')[0], "EXCEPT")
        d.send("XCALL", ["str_repeat", [[1, "strtoupper('ab')"], [0, 2]]])
        c.check("XCALL", d.reply(), ("RETURN", "ABAB"))
        c.check("no driver locals", d.eval("array_filter(array_keys(get_defined_vars()), function ($k) { return strpos($k, 'BOND') !== false; })"), ("RETURN", []))
        d.close()

    def errors_and_output():
        d = c.new()
        d.eval_block("echo $undefined1;")
        c.check("warning", d.take_output("STDERR"), "PHP[E_WARNING]: Undefined variable $undefined1\n")
        d.eval_block("echo @$undefined2;")
        c.check("@ silences", d.take_output(), "")
        d.call("_BOND_error_reporting", 0)
        d.eval_block("echo $undefined3;")
        c.check("level 0 silences", d.take_output(), "")
        d.call("_BOND_error_reporting", 32767)
        d.eval_block("ini_set('display_errors', '0'); echo $undefined4; ini_set('display_errors', 'stderr');")
        c.check("display_errors off", d.take_output(), "")
        d.eval_block("trigger_error('note');")
        c.check("user notice", d.take_output(), "PHP[E_USER_NOTICE]: note\n")
        c.check("user error", d.eval_block("trigger_error('fatal', E_USER_ERROR); echo 'not reached';"),
                lambda r: r[0] == "EXCEPT" and "fatal" in r[1])
        d.take_output()
        d.eval_block("echo 'a'; print 'b'; fwrite(STDOUT, 'c'); file_put_contents('php://stdout', 'd');"
                     "file_put_contents('php://output', 'e'); fwrite(STDERR, \"E\\n\"); error_log('logged');")
        c.check("all stdout ways", d.take_output("STDOUT"), "abcde")
        d.eval_block("ob_start(); echo 'hidden'; $got = ob_get_clean(); ob_end_clean(); echo \"after\\n\";")
        c.check("user output buffers", (d.eval("$got"), d.take_output("STDOUT")), (("RETURN", "hidden"), "after\n"))
        d.eval_block("$m = fopen('php://memory', 'w+'); fwrite($m, 'mem'); rewind($m); $mem = stream_get_contents($m);"
                     "$t = new SplTempFileObject(); $t->fwrite('tmp'); $t->rewind(); $tmp = $t->fgets();")
        c.check("php://memory and temp", d.eval("[$mem, $tmp]"), ("RETURN", ["mem", "tmp"]))
        c.check("stdin is empty", d.eval("[fgets(STDIN), file_get_contents('php://stdin')]"), ("RETURN", [False, ""]))
        d.close()
        t = c.new(trans_except=True)
        t.eval_block("class MyEx extends Exception implements JsonSerializable { function jsonSerialize(): mixed { return ['my' => $this->getMessage()]; } }")
        c.check("trans JsonSerializable", t.eval_block("throw new MyEx('m');"), ("EXCEPT", {"my": "m"}))
        c.check("trans plain", t.eval_block("throw new Exception('plain');"), ("EXCEPT", "plain"))
        t.close()

    def fatal_and_exit():
        d = c.new()
        d.send("EVAL_BLOCK", "ini_set('memory_limit', '16M'); $s = str_repeat('x', 64 << 20);")
        try:
            r = d.reply(timeout=10)
        except DriverError:
            r = None
        c.check("memory limit ends the process", (r, d.close() != 0, "memory" in d.stderr), (None, True, True))
        d = c.new()
        d.send("EVAL_BLOCK", "echo 'bye'; exit(3);")
        try:
            d.reply(timeout=5)
        except DriverError:
            pass
        c.check("exit output", d.take_output(), "bye")
        c.check("exit status 3", d.close(), 3)

    return [values, scope_and_calls, errors_and_output, fatal_and_exit]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lang")
    ap.add_argument("--trans", action="store_true", help="transparent exceptions")
    ap.add_argument("--cmd", help="shell command to run instead of the manifest's program")
    ap.add_argument("--no-def-args", action="store_true")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for init.wait (a command without banner)")
    ap.add_argument("--check", action="store_true", help="run the built-in checks")
    ap.add_argument("--big", action="store_true", help="with --check: 1/16/64 MiB payloads")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    if args.check:
        c = Checker(args.lang, args)
        specific = {"Perl": perl_checks, "PHP": php_checks}.get(args.lang, lambda c: [])
        for t in common_checks(c, args.lang) + specific(c):
            c.run(t)
        print("%s: %d checks, %d failures" % (args.lang, c.count, c.failures))
        sys.exit(1 if c.failures else 0)

    d = Driver(args.lang, trans_except=args.trans, command=args.cmd, def_args=not args.no_def_args,
               wait=not args.no_wait)
    d.exports["echo"] = lambda *a: list(a)

    def fail(*a):
        raise RuntimeError("fail called with %r" % (a,))
    d.exports["fail"] = fail
    print("READY (%s); type frames, e.g. EVAL \"1 + 1\"" % " ".join(d.argv), file=sys.stderr)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == "!INT":
            d.interrupt()
            continue
        d.send(None, raw=line)
        try:
            verb, value = d.reply()
        except DriverError as e:
            print("!! %s" % e)
            break
        for ch, text in d.outputs:
            print("OUTPUT %s %r" % (ch, text))
        d.outputs = []
        for s in d.stray:
            print("stray: %r" % s)
        d.stray = []
        print(verb, json.dumps(value))
        if verb == "BYE":
            break
    print("exit status:", d.close(), file=sys.stderr)


if __name__ == "__main__":
    main()
