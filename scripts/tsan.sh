#!/usr/bin/env bash
# Runs the engine's tests under ThreadSanitizer, in a build of their own (.build-tsan):
#   scripts/tsan.sh                 every engine suite (BondTests)
#   scripts/tsan.sh FILTER          only the tests that match FILTER (as swift test --filter)
# Any data race reported fails the run, as does any failing test. The tests run one at a time
# (the sanitizer slows them several times over, and their time limits assume a free processor).
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-BondTests}"
scratch=.build-tsan
swift build --build-tests --sanitize=thread --scratch-path "$scratch"
log="$scratch/tsan-$(date +%s).log"
# halt_on_error: the first race fails the run; second_deadlock_stack: both stacks of a lock-order report.
status=0
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  swift test --skip-build --no-parallel --sanitize=thread --scratch-path "$scratch" --filter "$filter" 2>&1 | tee "$log" || status=$?
if grep -q "WARNING: ThreadSanitizer" "$log"; then
  echo "ThreadSanitizer reported a data race (see $log)"
  exit 1
fi
[ "$status" = 0 ] || { echo "tests failed under ThreadSanitizer (see $log)"; exit "$status"; }
echo "ThreadSanitizer: clean ($filter)"
