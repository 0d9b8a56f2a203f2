### bond Python driver, stage 1: typed into the interpreter's prompt as one line.
### Lines starting with ### are removed by the manifest's substitution; the code is the
### single line below. It announces STAGE2, reads one JSON line {"code", "start"} from
### standard input, runs the stage-2 code in the global scope and calls its start function.
import sys, json; __BOND_w = sys.stdout.write("stage2\n".upper()); sys.stdout.flush(); __BOND_s = json.loads(getattr(sys.stdin, "buffer", sys.stdin).readline().decode("utf-8")); exec(__BOND_s["code"], globals()); __BOND_start(*__BOND_s["start"])
