#!/usr/bin/env sh
# Builds app.js into a plain wasi:http component with the JavaScript example's toolchain
# (componentize-js through jco, installed by examples/js-hello/build.sh).
#
#   bench/plain-js/build.sh OUTPUT
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
# The example's build installs the toolchain (and checks it works).
"$root/examples/js-hello/build.sh" "$(dirname "$out")/js-hello.wasm" >/dev/null
. "$root/scripts/node-env.sh"
# componentize-js sees only its working directory: the app and its WIT are copied there,
# wasi:http renamed to the version StarlingMonkey exports (as the example's build does).
build="$here/.build"
rm -rf "$build"
mkdir -p "$build/wit/deps"
cp "$here/app.js" "$build/"
cp "$here/world.wit" "$build/wit/"
cp "$root"/wit/deps/*.wit "$build/wit/deps/"
sed -E 's/(wasi:http[^@ ]*)@0\.2\.[0-9]+/\1@0.2.10/g' "$root/wit/deps/http.wit" >"$build/wit/deps/http.wit"
cd "$build"
"$root/examples/js-hello/node_modules/.bin/jco" componentize app.js --wit wit --world-name plain -o "$out" >&2
echo "$out"
