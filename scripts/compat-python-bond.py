"""Our six drivers, started and used by a bond host that is not ours: python-bond 1.4.

Run by scripts/compat-python-bond.sh, which installs python-bond into a private virtual
environment and puts our Resources/drivers in place of its own. Prints 'N passed, N failed'.
"""
import os
import sys
import time
import traceback

import pexpect
from bond import make_bond, RemoteException, SerializationException, TerminatedException

results = {"passed": 0, "failed": 0}


def check(name, got, want):
    if got == want:
        results["passed"] += 1
        print("ok   " + name)
    else:
        results["failed"] += 1
        print("FAIL %s: got %r, want %r" % (name, got, want))


IDENT = {
    "Python": "def ident(x):\n    return x\n",
    "JavaScript": "function ident(x) { return x; }",
    "Perl": "sub ident { return $_[0]; }",
    "PHP": "function ident($x) { return $x; }",
    "Ruby": "def ident(x)\n  x\nend",
    "R": "ident <- function(x) x",
}
RAISE = {
    "Python": "raise ValueError('boom')",
    "JavaScript": "throw new Error('boom')",
    "Perl": "die 'boom';",
    "PHP": "throw new Exception('boom');",
    "Ruby": "raise ArgumentError, 'boom'",
    "R": "stop('boom')",
}
DOWN = {
    "Python": "def down_remote(n):\n    return 0 if n == 0 else 1 + down(n - 1)\n",
    "JavaScript": "function down_remote(n) { return n === 0 ? 0 : 1 + down(n - 1); }",
    "Perl": "sub down_remote { my $n = shift; return $n == 0 ? 0 : 1 + down($n - 1); }",
    "PHP": "function down_remote($n) { return $n == 0 ? 0 : 1 + down($n - 1); }",
    "Ruby": "def down_remote(n)\n  n == 0 ? 0 : 1 + down(n - 1)\nend",
    "R": "down_remote <- function(n) if (n == 0) 0L else 1L + down(n - 1L)",
}
# An argument that the driver cannot serialize, in a call of the exported function `twice`.
UNSENDABLE = {
    "Python": "twice(lambda: 1)",
    "JavaScript": "twice(function () {})",
    "Perl": "twice(sub { 1 })",
    "PHP": "twice(fopen('php://memory', 'r'))",
    "Ruby": "twice(Object.new)",
    "R": "twice(function() 1)",
}
SSH = os.environ.get("BOND_TEST_SSH")


def depth(b):
    """python-bond's own way to measure the nesting depth: bare RETURN lines until the bond
    terminates (a reply that reaches the driver's top level ends it), counted."""
    count = 0
    while count < 5:
        count += 1
        b._sendstate("RETURN", b.dumps(None))
        b._proc.timeout = 5
        try:
            b._repl()
        except (TerminatedException, pexpect.EOF):  # BYE, or the end of the output
            return count
        except pexpect.TIMEOUT:  # still running: the RETURN was taken at a deeper level
            pass
    return count

PROGRAM = {"Python": "python3", "JavaScript": "node", "Perl": "perl", "PHP": "php", "Ruby": "ruby", "R": "R"}

bonds = {}
for place in ["local"] + (["ssh"] if SSH else []):
    for lang in ["Python", "JavaScript", "Perl", "PHP", "Ruby", "R"]:
        name = "%s %s" % (lang, place)
        try:
            cmd = None if place == "local" else "%s %s" % (SSH, PROGRAM[lang])
            if place == "ssh" and lang == "Ruby":
                # python-bond quotes default arguments once, for the local command line only;
                # the remote shell would expand the "$_" of `ruby -ne 'eval $_'`. Quoted once
                # more by hand, as our host does itself.
                b = make_bond(lang, cmd, args=["-ne", "'eval $_'"], def_args=False, timeout=30)
            else:
                b = make_bond(lang, cmd, timeout=30)
            b.eval_block(IDENT[lang])
            value = {"a": [1, 2.5, u"h\u00e9llo \U0001F389", None, True, False], "b": ""}
            check(name + ": call round trip", b.call("ident", value), value)
            check(name + ": eval", b.eval("1 + 2"), 3)
            b.export(lambda x: x * 2, "twice")
            check(name + ": export", b.call("twice", 21), 42)
            b.eval_block(DOWN[lang])

            def down(n, b=b):
                return 0 if n == 0 else 1 + b.call("down_remote", n - 1)

            b.export(down, "down")
            check(name + ": recursion through the host", b.call("down_remote", 6), 6)
            try:
                b.eval_block(RAISE[lang])
                check(name + ": remote exception", "no exception", "RemoteException")
            except RemoteException as e:
                check(name + ": remote exception", "boom" in str(e), True)
            check(name + ": usable after the exception", b.eval("2 * 3"), 6)
            try:
                b.eval(UNSENDABLE[lang])
                check(name + ": an argument that cannot be sent", "no error", "SerializationException")
            except SerializationException as e:
                check(name + ": an argument that cannot be sent fails the request (remote)", e.side, "remote")
            check(name + ": usable after the serialization error", b.eval("2 * 4"), 8)
            if lang == "JavaScript":
                # Node's event loop runs between requests: a timer fires, and what it prints
                # while the bond is idle reaches this host with the next request
                b.eval_block("globalThis.fired = 0; setTimeout(() => { fired = 1; console.log('timer') }, 10)")
                deadline = time.time() + 10
                while b.eval("fired") != 1 and time.time() < deadline:
                    time.sleep(0.01)
                check(name + ": a timer fires between requests", b.eval("fired"), 1)
            if place == "local":
                bonds[lang] = b
            else:
                b.close()
            # A bare RETURN at the top level ends the driver: after an exception and after a
            # serialization error the depth is exactly one.
            for after in ("exception", "serialization error"):
                d = make_bond(lang, cmd, timeout=30) if not (place == "ssh" and lang == "Ruby") else \
                    make_bond(lang, cmd, args=["-ne", "'eval $_'"], def_args=False, timeout=30)
                d.export(lambda x: x * 2, "twice")
                try:
                    d.eval_block(RAISE[lang]) if after == "exception" else d.eval(UNSENDABLE[lang])
                except (RemoteException, SerializationException):
                    pass
                check("%s: depth after a %s" % (name, after), depth(d), 1)
                try:
                    d.close()
                except Exception:
                    pass
        except Exception:
            results["failed"] += 1
            print("FAIL %s: %s" % (name, traceback.format_exc()))

# The seed's bridge: a PHP function proxied to Perl, through python-bond.
if "PHP" in bonds and "Perl" in bonds:
    try:
        bonds["PHP"].proxy("explode", bonds["Perl"])
        check("PHP explode proxied to Perl", bonds["Perl"].eval('explode("=", "Mind=blown!")'), ["Mind", "blown!"])
    except Exception:
        results["failed"] += 1
        print("FAIL proxy: " + traceback.format_exc())
# Ruby and R through python-bond: a Ruby function proxied to R, and back.
if "Ruby" in bonds and "R" in bonds:
    try:
        bonds["Ruby"].eval_block("def explode(sep, s) = s.split(sep)")
        bonds["Ruby"].proxy("explode", bonds["R"])
        check("Ruby explode proxied to R", bonds["R"].eval('explode("=", "Mind=blown!")'), ["Mind", "blown!"])
        bonds["R"].eval_block("shout <- function(s) toupper(s)")
        bonds["R"].proxy("shout", bonds["Ruby"])
        check("R shout proxied to Ruby", bonds["Ruby"].eval("shout('hi')"), "HI")
    except Exception:
        results["failed"] += 1
        print("FAIL Ruby/R proxy: " + traceback.format_exc())
# Python to Python: python-bond picks PICKLE, the first protocol our driver offers, with
# transparent exceptions: any picklable value crosses, and exceptions are real objects.
for place in ["local"] + (["ssh"] if SSH else []):
    name = "Python PICKLE %s" % place
    try:
        b = make_bond("Python", None if place == "local" else "%s python3" % SSH, timeout=30)
        check(name + ": protocol", b._proto.__name__, "PICKLE")
        b.eval_block(IDENT["Python"])
        for value in [(1, "two", 3.0), {1, 2}, b"\x00\xff bytes", 1 << 100, complex(1, 2), {"k": [None, True]}]:
            check(name + ": %r crosses" % (value,), b.call("ident", value), value)
        try:
            b.eval_block("raise KeyError('boom')")
            check(name + ": a transparent exception", "no exception", "RemoteException")
        except RemoteException as e:
            check(name + ": a transparent exception is the exception object", (type(e.data), e.data.args), (KeyError, ("boom",)))

        def refuse(x):
            raise ValueError("no %s" % x)

        b.export(refuse, "refuse")
        b.eval_block("def caught():\n    try:\n        refuse(7)\n    except ValueError as e:\n        return ['ValueError', e.args[0]]\n")
        check(name + ": the host's exception is raised as itself", b.call("caught"), ["ValueError", "no 7"])
        b.export(lambda x: x * 2, "twice")
        try:
            b.eval(UNSENDABLE["Python"])
            check(name + ": an argument that cannot be pickled", "no error", "SerializationException")
        except SerializationException as e:
            check(name + ": an argument that cannot be pickled fails the request (remote)", e.side, "remote")
        check(name + ": output", b.eval("print('hi') or 5"), 5)
        check(name + ": depth after all that", depth(b), 1)
    except Exception:
        results["failed"] += 1
        print("FAIL %s: %s" % (name, traceback.format_exc()))
j = None
try:
    j = make_bond("Python", protocol="JSON", timeout=30)
    check("Python JSON on request: protocol", j._proto.__name__, "JSON")
    check("Python JSON on request: a call", j.call("sorted", [3, 1, 2]), [1, 2, 3])
    j.close()
except Exception:
    results["failed"] += 1
    print("FAIL Python JSON: " + traceback.format_exc())
for b in bonds.values():
    b.close()

print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
