#!/usr/bin/env bash
# Vendors the WASI 0.2 WIT packages that wit/gateway.wit depends on into wit/deps/, taken
# from the source of the pinned `wasmtime-wasi-http` crate so that the host and the WIT
# always agree on interface versions.
#
#   scripts/vendor-wit.sh          refresh wit/deps/
#   scripts/vendor-wit.sh --check  fail if wit/deps/ drifted from the pinned crate
set -euo pipefail
cd "$(dirname "$0")/.."

src=$(cargo metadata --format-version 1 --locked 2>/dev/null \
  | python3 -c 'import json,sys,os
m=json.load(sys.stdin)
p=[p for p in m["packages"] if p["name"]=="wasmtime-wasi-http"][0]
print(os.path.join(os.path.dirname(p["manifest_path"]),"wit","deps"))')

if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$src" wit/deps >/dev/null; then
    echo "wit/deps/ differs from $src: run scripts/vendor-wit.sh" >&2
    exit 1
  fi
  echo "wit/deps/ matches the pinned wasmtime-wasi-http"
  exit 0
fi

rm -rf wit/deps
mkdir -p wit/deps
cp "$src"/*.wit wit/deps/
echo "vendored $(ls wit/deps | wc -l) WIT files from $src"
