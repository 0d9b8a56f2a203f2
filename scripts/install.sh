#!/usr/bin/env bash
# Installs bond-workbench and bond-bench (release builds) into PREFIX/bin and the drivers into
# PREFIX/share/bond/drivers, where the programs find them from any directory:
#   scripts/install.sh [PREFIX]        (default /usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
swift build -c release --product bond-workbench
swift build -c release --product bond-bench
bin="$(swift build -c release --show-bin-path)"
install -d "$prefix/bin" "$prefix/share/bond"
install -m 755 "$bin/bond-workbench" "$bin/bond-bench" "$prefix/bin/"
rm -rf "$prefix/share/bond/drivers"
cp -r Resources/drivers "$prefix/share/bond/drivers"
echo "installed into $prefix (drivers in $prefix/share/bond/drivers)"
