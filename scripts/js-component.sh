#!/usr/bin/env sh
# Builds a JavaScript handler into a wasi:http component with componentize-js (through jco),
# against a world that may import anything in the repository's wit/ (wasmgate's context,
# wasi:keyvalue, wasi:config):
#
#   scripts/js-component.sh FOLDER ENTRY OUT
#
# FOLDER holds ENTRY (e.g. app.js) and wit/world.wit; OUT is the .wasm to write. ENTRY and
# what it imports by relative path (e.g. guest-sdk/js/wasmgate.js) are bundled with rolldown
# first: componentize-js 0.23 takes one file. The toolchain is examples/js-hello's pinned
# node_modules (installed here with `npm ci` when missing). Exit status 3: Node.js or the
# npm packages could not be installed here.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
folder="$(cd "$1" && pwd)"
entry="$2"
out="$3"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
. "$root/scripts/node-env.sh"

tools="$root/examples/js-hello"
if [ ! -f "$tools/node_modules/.package-lock.json" ] ||
  [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
  if ! (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2); then
    echo "npm could not install componentize-js and jco (is the npm registry reachable?)" >&2
    exit 3
  fi
fi
PATH="$tools/node_modules/.bin:$PATH"

# The world, with wit/deps' wasi:http renamed to the version StarlingMonkey exports
# (0.2.10; the gateway links any 0.2.x). It is written under FOLDER: componentize-js reads
# it from inside its own sandbox, which sees only the working directory.
cd "$folder"
wit=".build/wit"
rm -rf "$wit"
mkdir -p "$wit/deps"
cp "$root"/wit/deps/*.wit "$root/wit/gateway.wit" "$wit/deps/"
sed -E 's/(wasi:http[^@ ]*)@0\.2\.[0-9]+/\1@0.2.10/g' "$root/wit/deps/http.wit" >"$wit/deps/http.wit"
cp wit/world.wit "$wit/world.wit"

# The WIT imports (`wasi:…`, `wasmgate:…`) stay imports of the bundle (one `--external`
# each: rolldown's comma-separated form does not take these ids).
set --
for id in $(grep -ho '"\(wasi\|wasmgate\):[^"]*"' "$entry" "$root/guest-sdk/js/wasmgate.js" |
  tr -d '"' | sort -u); do
  set -- "$@" --external "$id"
done
rolldown "$entry" --format esm --platform neutral "$@" --file .build/bundle.js \
  --logLevel warn >&2
mkdir -p "$(dirname "$out")"
jco componentize .build/bundle.js --wit "$wit" --world-name handler -o "$out" >&2
echo "$out"
