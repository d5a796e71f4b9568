#!/usr/bin/env sh
# Builds app.py into a plain wasi:http component (world `wasi:http/proxy`) with the Python
# example's pinned componentize-py.
#
#   bench/plain-python/build.sh OUTPUT
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
tools="${WASMGATE_TOOLCHAINS:-$root/target/toolchains}/python"
"$root/scripts/tool-venv.sh" "$tools" "componentize-py==0.25.1"
mkdir -p "$(dirname "$out")"
cd "$here"
"$tools/bin/componentize-py" --wit-path "$root/wit" --world wasi:http/proxy@0.2.12 \
  componentize app --output "$out" >&2
echo "$out"
