#!/usr/bin/env bash
# Runs the engine's tests under ThreadSanitizer, in a build of their own (.build-tsan):
#   scripts/tsan.sh                 the whole engine set, in two groups, and the workbench's tests
#   scripts/tsan.sh FILTER...       each FILTER (as swift test --filter) a group of its own
#                                   (:blocking, :async, :workbench: the three groups below)
# The whole engine set is every suite of BondTests but the test hosts' (TestHostTests: they
# need scripts/test-hosts.sh's network namespaces and run apart in scripts/test.sh), in two
# groups, as scripts/test.sh runs them without the sanitizer: the blocking suites, then the
# async face's (AsyncTests, and the workbench's executor, ExecutorTests, whose bonds use it)
# apart, since the blocking suites' calls hold the cooperative pool's few threads; then the
# workbench's other suites (a few seconds: its screen, model and handle tests). Alone, it
# starts (or reuses) the test sshd for the remote cases, and runs the compatibility suites
# when python-bond 1.4's drivers are at hand (BOND_COMPAT_DRIVERS, or where scripts/test.sh
# fetches them).
# Every group runs even when one before it failed; a data race reported, or a failing test,
# fails the run. The tests run one at a time (the sanitizer slows them several times over,
# and their time limits assume a free processor).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-tsan
if [ "$#" = 0 ]; then
  set -- :blocking :async :workbench
  what="the whole engine set, and the workbench's tests"
  if [ -z "${BOND_TEST_SSH:-}" ]; then
    BOND_TEST_SSH="$(scripts/test-sshd.sh)"
    export BOND_TEST_SSH
  fi
  compat="${TMPDIR:-/tmp}/bond-compat-$(id -u)/python-bond-1.4/bond/drivers"
  if [ -z "${BOND_COMPAT_DRIVERS:-}" ] && [ -d "$compat" ]; then
    export BOND_COMPAT_DRIVERS="$compat"
  fi
fi
what="${what:-$*}"
swift build --build-tests --sanitize=thread --scratch-path "$scratch"
failed=()
run=$(date +%s)
number=0
for group in "$@"; do
  number=$((number + 1))
  case "$group" in
    :blocking) selection=(--filter 'BondTests\.' --skip 'BondTests\.(TestHostTests|AsyncTests)/') ;;
    :async) selection=(--filter 'BondTests\.AsyncTests/|WorkbenchTests\.ExecutorTests/') ;;
    :workbench) selection=(--filter 'WorkbenchTests\.' --skip 'WorkbenchTests\.ExecutorTests/') ;;
    *) selection=(--filter "$group") ;;
  esac
  log="$scratch/tsan-$run-$number.log"
  echo "ThreadSanitizer: ${selection[*]}"
  # halt_on_error=0: every race of the group is reported (and any fails it);
  # second_deadlock_stack: both stacks of a lock-order report.
  status=0
  TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    swift test --skip-build --no-parallel --sanitize=thread --scratch-path "$scratch" "${selection[@]}" 2>&1 \
    | tee "$log" || status=$?
  if grep -q "WARNING: ThreadSanitizer" "$log"; then
    echo "ThreadSanitizer reported a data race (see $log)"
    failed+=("$group")
  elif [ "$status" != 0 ]; then
    echo "tests failed under ThreadSanitizer (see $log)"
    failed+=("$group")
  fi
done
if [ "${#failed[@]}" != 0 ]; then
  echo "ThreadSanitizer: failed (${failed[*]})"
  exit 1
fi
echo "ThreadSanitizer: clean ($what)"
