#!/usr/bin/env bash
# Runs every test: the engine against real interpreters (locally and through a throwaway
# sshd on 127.0.0.1), and the workbench (screen tests, then end to end in tmux).
set -euo pipefail
cd "$(dirname "$0")/.."
BOND_TEST_SSH="$(scripts/test-sshd.sh)"
export BOND_TEST_SSH
# python-bond 1.4's own drivers, to show that our host runs another host's drivers unchanged.
compat="${TMPDIR:-/tmp}/bond-compat-$(id -u)"
if [ ! -d "$compat/python-bond-1.4" ] && mkdir -p "$compat" \
   && python3 -m pip download --no-deps -q python-bond==1.4 -d "$compat" 2>/dev/null; then
  tar xzf "$compat/python-bond-1.4.tar.gz" -C "$compat"
fi
[ -d "$compat/python-bond-1.4/bond/drivers" ] && export BOND_COMPAT_DRIVERS="$compat/python-bond-1.4/bond/drivers"
swift build --build-tests
swift test --skip-build
# No interpreter may outlive the tests: none left orphaned (RELIABILITY.md, "no child process left").
leftovers() { ps -eo pid=,ppid=,args= | awk '$2 == 1' | grep -E ' (python[0-9.]* -i|node -i|nodejs -i|perl -ne eval|php -a|ruby -ne eval|[^ ]*bin/exec/R --vanilla)( |$)' || true; }
for _ in $(seq 1 50); do [ -z "$(leftovers)" ] && break; sleep 0.1; done
if [ -n "$(leftovers)" ]; then echo "interpreters left running after the tests:"; leftovers; exit 1; fi
echo "no interpreter left running after the tests"
# The other direction of compatibility: python-bond 1.4's host drives our six drivers.
scripts/compat-python-bond.sh
# The frame and JSON decoder under libFuzzer for a bounded time (BOND_FUZZ_SECONDS, 0 skips).
if [ "${BOND_FUZZ_SECONDS:-30}" != 0 ]; then
  scripts/fuzz.sh "${BOND_FUZZ_SECONDS:-30}"
fi
# A smoke run of the benchmark (a debug build: figures are not judged, only that every one of
# them can be measured, in every language).
swift build --product bond-bench
.build/debug/bond-bench --quick > /dev/null
echo "bond-bench --quick measured every figure"
if [ -x scripts/workbench-e2e.sh ]; then
  swift build --product bond-workbench
  scripts/workbench-e2e.sh
fi
