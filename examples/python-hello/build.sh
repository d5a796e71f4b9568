#!/usr/bin/env sh
# Builds app.py into a wasi:http component with componentize-py (PyPI), against wasmgate's
# `handler` world (wit/handler.wit: wasi:http/proxy plus the gateway context import).
#
#   examples/python-hello/build.sh [output]   # default: target/wasm32-wasip2/python-hello.wasm
#
# componentize-py is installed, pinned, into target/toolchains/python (needs python3 with
# venv). Exit status 3: that toolchain could not be installed here.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/wasm32-wasip2/python-hello.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac  # it runs from its own folder
tools="${WASMGATE_TOOLCHAINS:-$root/target/toolchains}/python"

"$root/scripts/tool-venv.sh" "$tools" "componentize-py==0.25.1"
mkdir -p "$(dirname "$out")"
cd "$here"
"$tools/bin/componentize-py" --wit-path "$root/wit" --world wasmgate:gateway/handler \
  componentize app --output "$out" >&2
echo "$out"
