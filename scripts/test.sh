#!/usr/bin/env bash
# Runs every test: the engine against real interpreters (locally and through a throwaway
# sshd on 127.0.0.1), and the workbench (screen tests, then end to end in tmux).
set -euo pipefail
cd "$(dirname "$0")/.."
BOND_TEST_SSH="$(scripts/test-sshd.sh)"
export BOND_TEST_SSH
swift build --build-tests
swift test --skip-build
# The frame and JSON decoder under libFuzzer for a bounded time (BOND_FUZZ_SECONDS, 0 skips).
if [ "${BOND_FUZZ_SECONDS:-30}" != 0 ]; then
  scripts/fuzz.sh "${BOND_FUZZ_SECONDS:-30}"
fi
if [ -x scripts/workbench-e2e.sh ]; then
  swift build --product bond-workbench
  scripts/workbench-e2e.sh
fi
