#!/usr/bin/env bash
# Measures, with the release binary and examples/hello:
#   1. upload → first served response: POST the module, PUT a route, GET it (three curls);
#   2. a restart: process start → listening (compiled code comes from the data dir's cache),
#      and the latency of the first request after it;
#   3. the same start-up with an empty native-code cache (everything compiled again).
# Times are wall-clock milliseconds and include curl's own start-up (a few ms per call).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${WASMGATE_BIN:-target/release/wasmgate}
hello=target/wasm32-wasip2/release/hello.wasm
[ -x "$bin" ] || { echo "build it first: cargo build --release -p wasmgate" >&2; exit 1; }
[ -f "$hello" ] || cargo build --release --target wasm32-wasip2 --target-dir target -p hello

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
: > "$work/wasmgate.toml"
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

start() {
  env -u RUST_BACKTRACE "$bin" up "$work/wasmgate.toml" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --data-dir "$work/data" >"$work/out" 2>"$work/err" &
  pid=$!
  until grep -q "^wasmgate listening on" "$work/out"; do sleep 0.002; done
  gw=$(sed -n 's/^wasmgate listening on //p' "$work/out")
  admin=$(sed -n 's/^wasmgate admin API on //p' "$work/out")
  auth="Authorization: Bearer $(cat "$work/data/admin-token")"
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

start
t0=$(now)
curl -sf -H "$auth" --data-binary @"$hello" "$admin/modules/hello" >/dev/null
curl -sf -H "$auth" -X PUT "$admin/routes" \
  -d '{"method":"GET","path":"/hello/{name}","module":"hello"}' >/dev/null
curl -sf "$gw/hello/ada" >/dev/null
t1=$(now)
echo "upload → first served response: $(ms "$t0" "$t1") ms"
stop

t0=$(now); start; t1=$(now)
first=$(curl -sf -o /dev/null -w '%{time_total}' "$gw/hello/ada")
echo "restart (native code cached) → listening: $(ms "$t0" "$t1") ms; first request: $(awk "BEGIN{printf \"%.2f\", $first*1000}") ms"
stop

rm -rf "$work/data/native"; mkdir "$work/data/native"
t0=$(now); start; t1=$(now)
echo "restart with an empty native-code cache → listening: $(ms "$t0" "$t1") ms"
stop
