#!/usr/bin/env sh
# Creates, once, a Python virtual environment holding pinned build tools from PyPI; the
# language examples' build scripts use it (componentize-py; Node.js where none is installed).
#
#   scripts/tool-venv.sh DIR REQUIREMENT...     e.g. target/toolchains/python componentize-py==0.25.1
#
# Exit status 3 when the tools cannot be installed here (no python3, no venv module, no
# network): callers report that as a missing toolchain, not as a broken build.
set -eu
dir="$1"
shift
wanted="$*"
stamp="$dir/.wasmgate-installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: install Python 3.9 or later (Debian: apt-get install python3 python3-venv)" >&2
  exit 3
fi
rm -rf "$dir"
if ! python3 -m venv "$dir" >&2; then
  echo "python3 cannot create a virtual environment: install its venv module (Debian: apt-get install python3-venv)" >&2
  exit 3
fi
if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2; then
  echo "pip could not install $wanted (is PyPI reachable?)" >&2
  exit 3
fi
echo "$wanted" >"$stamp"
