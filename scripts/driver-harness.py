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
                 drivers=DRIVERS, timeout=10.0, env=None):
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
        if "wait" in init:
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
            self.send_line(verb + " " + json.dumps(payload))

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
        return Driver(self.lang, command=self.args.cmd, def_args=not self.args.no_def_args, **kw)

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
        c.check("host ERROR", d.eval("nothere()"), lambda r: r[0] == "EXCEPT" and "no such" in r[1])
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

    tests = [startup_and_basics, round_trips, protocol_faults, stray_output, stdin_protected,
             nested_calls, streaming, interrupt]
    if c.args.big:
        tests += [big(1 << 20), big(16 << 20), big(64 << 20)]
    return tests


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lang")
    ap.add_argument("--trans", action="store_true", help="transparent exceptions")
    ap.add_argument("--cmd", help="shell command to run instead of the manifest's program")
    ap.add_argument("--no-def-args", action="store_true")
    ap.add_argument("--check", action="store_true", help="run the built-in checks")
    ap.add_argument("--big", action="store_true", help="with --check: 1/16/64 MiB payloads")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    if args.check:
        c = Checker(args.lang, args)
        for t in common_checks(c, args.lang):
            c.run(t)
        print("%s: %d checks, %d failures" % (args.lang, c.count, c.failures))
        sys.exit(1 if c.failures else 0)

    d = Driver(args.lang, trans_except=args.trans, command=args.cmd, def_args=not args.no_def_args)
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
