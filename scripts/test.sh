#!/usr/bin/env bash
# Runs every test: the engine against real interpreters (locally and through a throwaway
# sshd on 127.0.0.1), and the workbench (screen tests, then end to end in tmux).
set -euo pipefail
cd "$(dirname "$0")/.."
BOND_TEST_SSH="$(scripts/test-sshd.sh)"
export BOND_TEST_SSH
# Three test hosts (network namespaces, each with its own address and sshd) for the tests of
# many machines, partitions and dead hosts; they need root (BOND_TEST_HOSTS_SKIP=1 skips them,
# as their tests skip when BOND_TEST_HOSTS is not set). Taken down again at the end.
if [ "$(id -u)" = 0 ] && [ "${BOND_TEST_HOSTS_SKIP:-}" != 1 ]; then
  BOND_TEST_HOSTS="$(scripts/test-hosts.sh up 2>/dev/null)"
  # (BOND_SSH: the ssh command of BondGroup, so that the guide's example reaches h1..h3 as written.)
  BOND_SSH="$BOND_TEST_HOSTS"
  export BOND_TEST_HOSTS BOND_SSH
  trap 'scripts/test-hosts.sh down 2>/dev/null' EXIT
fi
# python-bond 1.4's own drivers, to show that our host runs another host's drivers unchanged.
compat="${TMPDIR:-/tmp}/bond-compat-$(id -u)"
if [ ! -d "$compat/python-bond-1.4" ] && mkdir -p "$compat" \
   && python3 -m pip download --no-deps -q python-bond==1.4 -d "$compat" 2>/dev/null; then
  tar xzf "$compat/python-bond-1.4.tar.gz" -C "$compat"
fi
[ -d "$compat/python-bond-1.4/bond/drivers" ] && export BOND_COMPAT_DRIVERS="$compat/python-bond-1.4/bond/drivers"
swift build --build-tests
# The tests over the test hosts run on their own, after the others: they run one at a time
# and for long (partitions, kills), and would hold one of swift-testing's few threads meanwhile.
swift test --skip-build --skip 'TestHostTests|AsyncTests|ExecutorTests'
# The async face's tests on their own too: one of them checks that a trivial task on the
# cooperative pool answers within 100 ms while 64 calls wait, which other suites starting
# interpreters on the same two processors would make a test of the machine's load. So do the
# workbench executor's (its bonds run on the async face): the other suites' blocking calls,
# made from swift-testing's tasks, hold the pool's few threads for seconds at a time.
swift test --skip-build --filter 'AsyncTests|ExecutorTests'
[ -z "${BOND_TEST_HOSTS:-}" ] || swift test --skip-build --filter TestHostTests
# The engine under ThreadSanitizer, a bounded part of it (its own build, .build-tsan; about
# 3 minutes of tests): blocking suites, then the async face's apart, as above. BOND_TSAN_FILTER
# picks the suites instead, "skip" skips it; scripts/tsan.sh alone runs the whole engine set.
if [ -n "${BOND_TSAN_FILTER:-}" ]; then
  [ "$BOND_TSAN_FILTER" = skip ] || scripts/tsan.sh "$BOND_TSAN_FILTER"
else
  scripts/tsan.sh \
    'EngineTests|ArgumentTests|ProtocolFaultTests|CrossLanguageTests|ObjectTests|ObjectLanguageTests|ObjectProxyTests|LifecycleTests|HostDeathTests|BrokenDriverTests' \
    'AsyncTests|ExecutorTests'
fi
# No interpreter may outlive the tests: none left orphaned (docs/reliability.md, "Closing").
leftovers() { ps -eo pid=,ppid=,args= | awk '$2 == 1' | grep -E '[ /](python[0-9.]* -i|node -i|nodejs -i|perl -ne eval|php -a|ruby -ne eval|[^ ]*bin/exec/R --vanilla)( |$)' || true; }
for _ in $(seq 1 50); do [ -z "$(leftovers)" ] && break; sleep 0.1; done
if [ -n "$(leftovers)" ]; then echo "interpreters left running after the tests:"; leftovers; exit 1; fi
echo "no interpreter left running after the tests"
# Nor a test process of this checkout: one that outlived its `swift test` would keep its
# interpreters, which are then no orphans (it happened once, holding two busy loops).
strays() { pgrep -af "$PWD/\.build[^ ]*/bondPackageTests\.xctest" || true; }
for _ in $(seq 1 50); do [ -z "$(strays)" ] && break; sleep 0.1; done
if [ -n "$(strays)" ]; then echo "test processes left running after the tests:"; strays; exit 1; fi
# Nor on any test host (the remote side of a dropped link goes within the sshd's keep-alives).
if [ -n "${BOND_TEST_HOSTS:-}" ]; then
  for h in h1 h2 h3; do
    for _ in $(seq 1 100); do [ -z "$(scripts/test-hosts.sh procs "$h")" ] && break; sleep 0.1; done
    if [ -n "$(scripts/test-hosts.sh procs "$h")" ]; then
      echo "processes left running on test host $h:"; scripts/test-hosts.sh procs "$h"; exit 1
    fi
  done
  echo "nothing left running on the test hosts"
fi
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
