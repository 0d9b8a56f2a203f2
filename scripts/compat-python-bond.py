"""Our six drivers, started and used by a bond host that is not ours: python-bond 1.4.

Run by scripts/compat-python-bond.sh, which installs python-bond into a private virtual
environment and puts our Resources/drivers in place of its own. Prints 'N passed, N failed'.
"""
import os
import sys
import traceback

from bond import make_bond, RemoteException

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
SSH = os.environ.get("BOND_TEST_SSH")
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
            if place == "local":
                bonds[lang] = b
            else:
                b.close()
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
for b in bonds.values():
    b.close()

print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
