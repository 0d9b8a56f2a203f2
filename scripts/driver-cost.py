#!/usr/bin/env python3
"""The work a driver does per request, without the waiting of a round trip (a development tool).

Starts a driver the way the host does (plain pipes), defines `ident` (or, for callbacks, a loop
that calls the exported `cb`), then writes N requests at once and reads the N replies: the
driver never waits for a request, so its CPU time per request (from the kernel's accounting
of the child) is the cost of its own code, free of the scheduling noise that moves round-trip
figures between runs. With --instructions it runs the interpreter under callgrind twice and
prints the instructions per request, an exact figure to compare two versions of a driver.

With --one-at-a-time (and --instructions) each request waits for the reply to the last, and
the interpreter runs on one processor (taskset -c 1), where the drivers read blocking: the
instructions of a round trip as a host makes it, start to end, without the spinning of a
wait. --limit counts the same for bond-bench's limit loop in that language (its program,
taken from Sources/bond-bench/PipeLoop.swift, echoing ["ident",[i]]), to set a driver's call
next to the bare work of a request.

  driver-cost.py PHP                      # CPU time per call, 1 000 000 calls
  driver-cost.py PHP --callbacks          # per callback (the driver calls cb(i) in a loop)
  driver-cost.py JavaScript --instructions
  driver-cost.py PHP --instructions --one-at-a-time [--limit]
  driver-cost.py JavaScript --instructions --one-at-a-time --method   # a handle's method call
  driver-cost.py JavaScript --instructions --one-at-a-time --handles  # a handle made and dropped
  BOND_DRIVERS=/other/drivers driver-cost.py Perl   # another copy of the drivers
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Resources", "drivers")

IDENT = {
    "Python": "def ident(x):\n    return x\n",
    "JavaScript": "function ident(x) { return x; }",
    "Perl": "sub ident { return $_[0]; }",
    "PHP": "function ident($x) { return $x; }",
    "Ruby": "def ident(x)\n  x\nend",
    "R": "ident <- function(x) x",
}
LOOP = {
    "Python": "def _bond_bench_loop(n):\n    for i in range(n):\n        cb(i)\n",
    "JavaScript": "function _bond_bench_loop(n) { for (let i = 0; i < n; i++) cb(i); }",
    "Perl": "sub _bond_bench_loop { my $n = shift; cb($_) for 0 .. $n - 1; return; }",
    "PHP": "function _bond_bench_loop($n) { for ($i = 0; $i < $n; $i++) cb($i); }",
    "Ruby": "def _bond_bench_loop(n)\n  i = 0\n  while i < n\n    cb(i)\n    i += 1\n  end\nend",
    "R": "`_bond_bench_loop` <- function(n) { for (i in seq_len(n)) cb(i); NULL }",
}
# bond-bench's box (ObjectFigures.swift): a class whose method `ident` returns its argument, and
# the expression that makes one.
BOX = {
    "Python": ("class _BondBenchBox:\n    def ident(self, x):\n        return x\n", "_BondBenchBox()"),
    "JavaScript": ("globalThis._BondBenchBox = class { ident(x) { return x; } };", "new _BondBenchBox()"),
    "Perl": ("package _BondBenchBox; sub new { return bless {}, shift } sub ident { return $_[1] } package main;",
             "_BondBenchBox->new"),
    "PHP": ("class _BondBenchBox { function ident($x) { return $x; } }", "new _BondBenchBox()"),
}
# `R` is a shell script that starts the interpreter's binary: callgrind must follow the exec.
VALGRIND_OPTIONS = {"R": ["--trace-children=yes"]}


def driver_folder(language):
    for root in os.environ.get("BOND_DRIVERS", "").split(":") + [ROOT]:
        if root and os.path.exists(os.path.join(root, language, "bond.json")):
            return os.path.join(root, language)
    sys.exit("no driver for %s" % language)


# Extensions switched on at start-up when the driver offers them (--no-extensions: none, as
# python-bond's host starts a driver).
SWITCHED_ON = ["BYTES", "OBJECTS"]


class Bond:
    """A driver started over plain pipes, up to READY, then raw frames."""

    def __init__(self, language, prefix=()):
        folder = driver_folder(language)
        with open(os.path.join(folder, "bond.json")) as f:
            manifest = json.load(f)
        init = manifest["init"]
        self.proc = subprocess.Popen(list(prefix) + manifest["command"][0], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self.seen = b""
        if init.get("wait"):
            self.wait_for(init["wait"].encode())
        self.send(init["probe"].encode())
        self.wait_for(rb"STAGE1\r?\n")
        with open(os.path.join(folder, init["stage1"]["file"])) as f:
            stage1 = f.read()
        if init["stage1"].get("sub"):
            pattern, replacement = init["stage1"]["sub"]
            stage1 = re.sub(pattern, replacement, stage1)
        stage1 = stage1.strip()
        self.send(stage1.encode())
        self.wait_for(rb"STAGE2\r?\n")
        with open(os.path.join(folder, init["stage2"]["file"])) as f:
            # (The extensions our host switches on for a driver that offers them, as it does.)
            offered = [e for e in manifest.get("extensions", []) if e in SWITCHED_ON]
            start = ["JSON", False] + ([offered] if offered else [])
            self.send(json.dumps({"code": f.read(), "start": start}).encode())
        self.wait_for(rb"READY\r?\n")

    def wait_for(self, pattern):
        while not re.search(pattern, self.seen):
            byte = self.proc.stdout.read(1)
            if not byte:
                sys.exit("the driver ended during start-up: %r" % self.seen[-500:])
            self.seen += byte
        self.seen = b""

    def send(self, line):
        self.proc.stdin.write(line + b"\n")

    def request(self, verb, payload):
        self.send(verb.encode() + b" " + json.dumps(payload).encode())
        reply = self.proc.stdout.readline()
        if not reply.startswith(b"RETURN"):
            sys.exit("%s failed: %r" % (verb, reply))
        return json.loads(reply[len(b"RETURN "):])

    def stream(self, requests, replies):
        """Writes `requests` from a thread while reading `replies` lines; returns the seconds."""
        start = time.perf_counter()
        writer = threading.Thread(target=self.proc.stdin.write, args=(requests,))
        writer.start()
        left = replies
        while left:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                sys.exit("the driver ended while answering")
            left -= chunk.count(b"\n")
        writer.join()
        return time.perf_counter() - start

    def finish(self):
        """Closes the input and reaps the driver: (user, system) CPU seconds."""
        self.proc.stdin.close()
        while os.read(self.proc.stdout.fileno(), 1 << 16):
            pass
        _, _, usage = os.wait4(self.proc.pid, 0)
        return usage.ru_utime, usage.ru_stime


def limit_program(language):
    """bond-bench's limit loop for `language` (the command line in PipeLoop.swift)."""
    source = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "bond-bench",
                               "PipeLoop.swift")).read()
    case = re.search(r'case "%s":\s*return \[(.*?)#"""\n(.*?)\n\s*"""#\]' % re.escape(language), source, re.S)
    # R's loop is a `let loop` string with DRIVER standing for its stage 2's path.
    loop = re.search(r'case "%s":.*?let loop = #"""\n(.*?)\n\s*"""#\s*return \[(.*?), loop' % re.escape(language),
                     source, re.S) if not case else None
    if not case and not loop:
        sys.exit("no limit loop for %s" % language)
    head_text, body = (case.group(1), case.group(2)) if case else (loop.group(2), loop.group(1))
    head = [json.loads(word) for word in re.findall(r'"[^"]*"', head_text)]
    lines = body.split("\n")
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    body = "\n".join(l[indent:] for l in lines)
    if loop:
        body = body.replace("DRIVER", os.path.join(driver_folder(language), "stage2.R"))
    return head + [body]


def bench_bond(language, callbacks, prefix=()):
    """A driver with bond-bench's `ident` defined, and for callbacks `cb` exported and the loop
    that calls it; for --method and --handles, bond-bench's box too (and for --method a handle of
    one, as `bond.handle`)."""
    bond = Bond(language, prefix)
    bond.request("EVAL_BLOCK", IDENT[language])
    if callbacks:
        bond.request("EXPORT", "cb")
        bond.request("EVAL_BLOCK", LOOP[language])
    if WHAT[0] in ("method", "handle"):
        if language not in BOX:
            sys.exit("no box for %s" % language)
        bond.request("EVAL_BLOCK", BOX[language][0])
        bond.handle = bond.request("OBJECT", BOX[language][1])["id"]
    return bond


# What is measured: "call", "callback", "method" (OCALL of a handle's `ident`) or "handle" (an
# OBJECT made, its RELEASE riding on the next request, as bond-bench's handles figure does).
WHAT = ["call"]


def request_line(language, bond, i):
    """The i-th request of a --method or --handles run (the first handle of --handles is the one
    bench_bond made)."""
    if WHAT[0] == "method":
        return b'OCALL [%d,"ident",[%d],"error"]' % (bond.handle, i)
    return b'RELEASE [%d]\nOBJECT %s' % (bond.handle + i, json.dumps(BOX[language][1]).encode())


def run_one_at_a_time(language, n, callbacks, limit, prefix=()):
    """Each request waits for the last reply (see --one-at-a-time)."""
    prefix = ["taskset", "-c", "1"] + list(prefix)
    if limit:
        proc = subprocess.Popen(prefix + limit_program(language), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, bufsize=0)
        for i in range(n):
            proc.stdin.write(b'["ident",[%d]]\n' % i)
            proc.stdout.readline()
        proc.stdin.close()
        proc.wait()
        return
    bond = bench_bond(language, callbacks, prefix)
    if callbacks:
        bond.send(b'CALL ["_bond_bench_loop",[%d]]' % n)
        for i in range(n):
            bond.proc.stdout.readline()
            bond.send(b"RETURN %d" % i)
        bond.proc.stdout.readline()
    elif WHAT[0] in ("method", "handle"):
        for i in range(n):
            bond.send(request_line(language, bond, i))
            bond.proc.stdout.readline()
    else:
        for i in range(n):
            bond.send(b'CALL ["ident",[%d]]' % i)
            bond.proc.stdout.readline()
    bond.finish()


# bond-bench's bare start-up commands (Machine.bareCommands in Sources/bond-bench/BondBench.swift).
BARE = {"Python": ["python3", "-c", "pass"], "JavaScript": ["node", "-e", "0"], "Perl": ["perl", "-e", "1"],
        "PHP": ["php", "-r", ""], "Ruby": ["ruby", "-e", "0"], "R": ["R", "--vanilla", "--quiet", "--no-echo", "-e", "0"]}


def run_startup(language, bare, prefix=()):
    """Start-up as bond-bench times it: to the first EVAL answered, then the end of input; or
    the bare interpreter's own start and exit."""
    if bare:
        subprocess.run(list(prefix) + BARE[language], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        return
    bond = Bond(language, prefix)
    bond.request("EVAL", "1")
    bond.finish()


def run(language, n, callbacks, prefix=()):
    bond = bench_bond(language, callbacks, prefix)
    if callbacks:
        requests = b'CALL ["_bond_bench_loop",[%d]]\n' % n + b"RETURN 1\n" * n
    elif WHAT[0] in ("method", "handle"):
        requests = b"".join(request_line(language, bond, i) + b"\n" for i in range(n))
    else:
        requests = b'CALL ["ident",[1]]\n' * n
    wall = bond.stream(requests, n + 1 if callbacks else n)
    return (wall,) + bond.finish()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("language")
    parser.add_argument("-n", type=int, default=None, help="requests (default 1 000 000; 10 000 and 40 000 with --instructions, 2 000 and 8 000 one at a time; "
                        "with --instructions, N/4 and N)")
    parser.add_argument("--no-extensions", action="store_true",
                        help="start the driver with no extension switched on (as python-bond's host does)")
    parser.add_argument("--callbacks", action="store_true", help="measure callbacks (CALL from the driver, RETURN from here)")
    parser.add_argument("--method", action="store_true",
                        help="measure a handle's method calls (OCALL of bond-bench's box, OBJECTS extension)")
    parser.add_argument("--handles", action="store_true",
                        help="measure handles made and dropped (OBJECT of bond-bench's box, each released on the next)")
    parser.add_argument("--instructions", action="store_true", help="count instructions per request with callgrind")
    parser.add_argument("--one-at-a-time", action="store_true",
                        help="with --instructions: each request waits for the last reply, on one processor")
    parser.add_argument("--limit", action="store_true",
                        help="with --one-at-a-time: bond-bench's limit loop instead of the driver (calls)")
    parser.add_argument("--startup", action="store_true",
                        help="with --instructions: the instructions of a start-up to the first EVAL answered, "
                             "and of the bare interpreter's start and exit")
    args = parser.parse_args()
    if args.no_extensions:
        SWITCHED_ON[:] = []
    what = "callback" if args.callbacks else "method" if args.method else "handle" if args.handles else "call"
    if [args.callbacks, args.method, args.handles].count(True) > 1:
        sys.exit("--callbacks, --method and --handles measure one thing each: name one")
    if (args.method or args.handles) and args.no_extensions:
        sys.exit("--method and --handles need the OBJECTS extension")
    WHAT[0] = what
    if (args.one_at_a_time or args.limit) and not args.instructions:
        sys.exit("--one-at-a-time and --limit go with --instructions")
    if args.startup:
        counts = []
        for bare in (False, True):
            with tempfile.TemporaryDirectory() as folder:
                prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(folder, "%p.callgrind")] \
                    + VALGRIND_OPTIONS.get(args.language, [])
                run_startup(args.language, bare, prefix)
                counts.append(sum(int([l for l in open(os.path.join(folder, name)) if l.startswith(("summary:", "totals:"))][0]
                                      .split()[1]) for name in os.listdir(folder)))
        print("%s start-up: %d instructions, the bare interpreter %d (+%d)" % (args.language, counts[0], counts[1],
                                                                              counts[0] - counts[1]))
        return
    if args.instructions:
        counts = []
        sizes = (2000, 8000) if args.one_at_a_time or args.limit else (10000, 40000)
        if args.n:
            sizes = (args.n // 4, args.n)
        for n in sizes:
            with tempfile.TemporaryDirectory() as folder:
                # One file per process (%p): with --trace-children, the interpreter's is the largest.
                prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(folder, "%p.callgrind")] \
                    + VALGRIND_OPTIONS.get(args.language, [])
                if args.one_at_a_time or args.limit:
                    run_one_at_a_time(args.language, n, args.callbacks, args.limit, prefix)
                else:
                    run(args.language, n, args.callbacks, prefix)
                totals = []
                for name in os.listdir(folder):
                    summary = [l for l in open(os.path.join(folder, name)) if l.startswith(("summary:", "totals:"))]
                    totals.append(int(summary[0].split()[1]))
                counts.append(max(totals))
        who = "limit loop" if args.limit else what
        print("%s %s: %d instructions per %s" % (args.language, who, (counts[1] - counts[0]) / (sizes[1] - sizes[0]), what))
        return
    n = args.n or 1000000
    wall, user, system = run(args.language, n, args.callbacks)
    print("%s %s: %.2f us of the driver's CPU per %s (user %.2f, system %.2f); %.2f us of wall time"
          % (args.language, what, (user + system) / n * 1e6, what, user / n * 1e6, system / n * 1e6, wall / n * 1e6))


if __name__ == "__main__":
    main()
