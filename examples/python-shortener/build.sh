#!/usr/bin/env sh
# Builds app.py (with wasmgate's Python helper, guest-sdk/python/wasmgate.py) into a
# wasi:http component with componentize-py, against wasmgate's `handler` world.
#
#   examples/python-shortener/build.sh [output]   # default: target/wasm32-wasip2/python-shortener.wasm
#
# componentize-py is installed, pinned, into target/toolchains/python (needs python3 with
# venv). Exit status 3: that toolchain could not be installed here.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/wasm32-wasip2/python-shortener.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac  # it runs from its own folder
tools="${WASMGATE_TOOLCHAINS:-$root/target/toolchains}/python"

"$root/scripts/tool-venv.sh" "$tools" "componentize-py==0.25.1"
mkdir -p "$(dirname "$out")"
cd "$here"
"$tools/bin/componentize-py" --wit-path "$root/wit" --world wasmgate:gateway/handler \
  componentize app -p . -p "$root/guest-sdk/python" --output "$out" >&2
echo "$out"
