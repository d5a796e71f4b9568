#!/usr/bin/env bash
# Vendors the WASI 0.2 WIT packages that wit/gateway.wit depends on into wit/deps/, taken
# from the source of the pinned `wasmtime-wasi-http` crate so that the host and the WIT
# always agree on interface versions. The packages wasmgate implements itself (OWN below,
# e.g. wasi:keyvalue) live beside them and are left alone.
#
#   scripts/vendor-wit.sh          refresh wit/deps/
#   scripts/vendor-wit.sh --check  fail if wit/deps/ drifted from the pinned crate
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages of wit/deps/ that are not wasmtime-wasi-http's.
OWN="keyvalue.wit config.wit"

src=$(cargo metadata --format-version 1 --locked 2>/dev/null \
  | python3 -c 'import json,sys,os
m=json.load(sys.stdin)
p=[p for p in m["packages"] if p["name"]=="wasmtime-wasi-http"][0]
print(os.path.join(os.path.dirname(p["manifest_path"]),"wit","deps"))')

own() { case " $OWN " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "${1:-}" = "--check" ]; then
  for file in "$src"/*.wit; do
    if ! cmp -s "$file" "wit/deps/$(basename "$file")"; then
      echo "wit/deps/$(basename "$file") differs from $src: run scripts/vendor-wit.sh" >&2
      exit 1
    fi
  done
  for file in wit/deps/*.wit; do
    name=$(basename "$file")
    if [ ! -e "$src/$name" ] && ! own "$name"; then
      echo "wit/deps/$name is neither in $src nor one of ours ($OWN)" >&2
      exit 1
    fi
  done
  echo "wit/deps/ matches the pinned wasmtime-wasi-http (and holds our $OWN)"
  exit 0
fi

for file in wit/deps/*.wit; do
  own "$(basename "$file")" || rm -f "$file"
done
cp "$src"/*.wit wit/deps/
echo "vendored $(ls "$src" | wc -l) WIT files from $src"
