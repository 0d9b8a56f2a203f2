### bond Ruby driver, stage 1: typed into the interpreter as one line.
### The default command `ruby -ne 'eval $_'` evaluates each line of its input as it comes.
### Lines starting with ### are removed by the manifest's substitution; the code is the single
### line below. It announces STAGE2, reads one JSON line {"code", "start"} from standard input,
### evaluates the stage-2 code at the top level and calls its start function (which never
### returns). Its own locals live in this line's eval only.
require "json"; $stdin.binmode; $stdout.write("stage2\n".upcase); __BOND_s = JSON.parse($stdin.gets); eval(__BOND_s["code"], TOPLEVEL_BINDING, "bond-ruby-driver", 1); __BOND_start(*__BOND_s["start"])
