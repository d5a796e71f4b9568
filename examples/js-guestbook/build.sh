#!/usr/bin/env sh
# Builds app.js (with wasmgate's JavaScript helper, guest-sdk/js/wasmgate.js) into a
# wasi:http component that uses wasi:keyvalue, with componentize-js through jco.
#
#   examples/js-guestbook/build.sh [output]   # default: target/wasm32-wasip2/js-guestbook.wasm
#
# The toolchain is examples/js-hello's (Node.js 20+, or one from PyPI); the steps are
# scripts/js-component.sh's. Exit status 3: that toolchain could not be installed here.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
exec "$root/scripts/js-component.sh" "$here" app.js "${1:-$root/target/wasm32-wasip2/js-guestbook.wasm}"
