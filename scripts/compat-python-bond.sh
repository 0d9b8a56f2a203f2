#!/usr/bin/env bash
# Shows that a bond host that is not ours, python-bond 1.4 (from PyPI), starts and uses our
# six drivers through their manifests, locally and (with $BOND_TEST_SSH) over ssh.
# python-bond is installed in a private virtual environment whose drivers folder is replaced
# by a copy of Resources/drivers; nothing else is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/bond-compat-venv-$(id -u)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import bond" 2>/dev/null \
  || "$venv/bin/python" -m pip install -q --disable-pip-version-check python-bond==1.4 pexpect setuptools
site="$("$venv/bin/python" -c 'import bond, os; print(os.path.dirname(bond.__file__))')"
rm -rf "$site/drivers"
cp -r Resources/drivers "$site/drivers"
"$venv/bin/python" scripts/compat-python-bond.py
