#!/usr/bin/env bash
# Fuzzes the frame and JSON decoding with libFuzzer for a bounded time (default 60 s):
#   scripts/fuzz.sh [SECONDS]
# The corpus starts from real protocol lines (Fuzz/corpus); findings are written to
# .build-fuzz/ and each one must become a case of Tests/BondTests/FuzzTests.swift.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build-fuzz
mkdir -p "$out/corpus"
[ -d .build/checkouts/swift-collections ] || swift package resolve >/dev/null
cols=.build/checkouts/swift-collections/Sources
build_module() {  # name, sources dir, extra flags
  local name=$1 dir=$2; shift 2
  [ -f "$out/lib$name.a" ] && return
  local sources=()
  mapfile -d '' sources < <(find "$dir" -name '*.swift' -print0)
  swiftc -O -parse-as-library -emit-module -emit-library -static -module-name "$name" -package-name swift_collections \
    -enable-upcoming-feature MemberImportVisibility -enable-experimental-feature BuiltinModule \
    -enable-experimental-feature Lifetimes -enable-experimental-feature InoutLifetimeDependence \
    -enable-experimental-feature AddressableParameters -enable-experimental-feature AddressableTypes \
    -emit-module-path "$out/$name.swiftmodule" -o "$out/lib$name.a" -I "$out" "$@" "${sources[@]}"
}
build_module InternalCollectionsUtilities "$cols/InternalCollectionsUtilities"
build_module OrderedCollections "$cols/OrderedCollections" -lInternalCollectionsUtilities
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name BondFuzz -I "$out" -L "$out" \
  -lOrderedCollections -lInternalCollectionsUtilities \
  Sources/Bond/JSON.swift Sources/Bond/ReceivedFrame.swift Sources/Bond/LineSplitter.swift Sources/Bond/BondValue.swift Sources/Bond/BytesBlocks.swift \
  Fuzz/FuzzStubs.swift Fuzz/FrameFuzzer.swift \
  -o "$out/frame-fuzzer"
cp Fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
"$out/frame-fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" "$out/corpus" 2>&1 | tail -5
