#!/usr/bin/env python3
"""Round trips with two or more versions of a driver, timed side by side (a development tool).

Starts each driver folder's driver (as scripts/driver-cost.py does), defines `ident` and the
callback loop of bond-bench, and hands their pipes to a small C program that times round
trips with each in turn, block by block, with a random pause before each (as bond-bench
does): the way to tell whether a change to a driver makes its round trip faster, free of the
host's own cost. A change that only moves work after the reply (where a round trip does not
wait for it) shows here and not in driver-cost.py.

  driver-roundtrip.py PHP /old/drivers -               # the old drivers against this tree's ('-')
  driver-roundtrip.py PHP - - --callbacks              # this tree's against itself: the noise
  driver-roundtrip.py Perl /a /b --blocks 40 --pause 0 # back to back, without pauses
"""

import argparse
import os
import subprocess
import sys
import tempfile
import importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))


def driver_cost():
    spec = importlib.util.spec_from_file_location("driver_cost", os.path.join(HERE, "driver-cost.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("language")
    parser.add_argument("drivers", nargs="+", help="driver folders (as BOND_DRIVERS), '-' for this tree's")
    parser.add_argument("--callbacks", action="store_true", help="time callbacks instead of calls")
    parser.add_argument("--block", type=int, default=1000, help="round trips per block (default 1000)")
    parser.add_argument("--blocks", type=int, default=25, help="timed blocks of each driver (default 25)")
    parser.add_argument("--pause", type=int, default=1000, help="longest pause before a round trip, ns (default 1000; 0: none)")
    args = parser.parse_args()
    dc = driver_cost()
    with tempfile.TemporaryDirectory() as folder:
        program = os.path.join(folder, "driver-roundtrip")
        subprocess.run(["cc", "-O2", "-o", program, os.path.join(HERE, "driver-roundtrip.c")], check=True)
        bonds, fds = [], []
        for drivers in args.drivers:
            if drivers == "-":
                os.environ.pop("BOND_DRIVERS", None)
            else:
                os.environ["BOND_DRIVERS"] = drivers
            bond = dc.bench_bond(args.language, args.callbacks)
            bonds.append(bond)
            fds += [bond.proc.stdout.fileno(), bond.proc.stdin.fileno()]
        command = [program, str(args.block), str(args.blocks), str(args.pause), "callback" if args.callbacks else "call"]
        result = subprocess.run(command + [str(fd) for fd in fds], pass_fds=fds)
        for bond in bonds:  # (their output is non-blocking now: not read to the end)
            bond.proc.stdin.close()
            bond.proc.kill()
            bond.proc.wait()
        sys.exit(result.returncode)


if __name__ == "__main__":
    main()
