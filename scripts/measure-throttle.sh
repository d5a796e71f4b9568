#!/usr/bin/env bash
# Measures what rate limiting costs on the request path: the same hello route with and
# without limits that never refuse (route-wide and per-client buckets), wrk on loopback,
# alternating rounds. Needs the release binary and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/measure-common.sh
hello_module > "$work/wasmgate.toml"
cat >> "$work/wasmgate.toml" <<TOML
[[routes]]
method = "GET"
path = "/plain/{name}"
module = "hello"

[[routes]]
method = "GET"
path = "/limited/{name}"
module = "hello"
throttle = { rate = 1000000, burst = 1000000 }
client_throttle = { rate = 1000000, burst = 1000000 }
TOML
env -u RUST_BACKTRACE "$bin" up "$work/wasmgate.toml" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --data-dir "$work/data" >"$work/out" 2>"$work/err" &
pids+=("$!")
until grep -q "^wasmgate listening on" "$work/out"; do sleep 0.05; done
gw=$(sed -n 's/^wasmgate listening on //p' "$work/out")
wait_ready "$work/out"

declare -A total=([plain]=0 [limited]=0)
for round in $(seq "$rounds"); do
  for route in plain limited; do
    rps=$(wrk -t2 -c32 -d6s "$gw/$route/ada" | awk '/Requests\/sec/ {print int($2)}')
    echo "round $round, $route: $rps req/s"
    total[$route]=$(( ${total[$route]} + rps ))
  done
done
echo "mean: plain $(( total[plain] / rounds )) req/s, limited $(( total[limited] / rounds )) req/s," \
  "difference $(awk "BEGIN{printf \"%.1f\", (${total[limited]} - ${total[plain]}) * 100 / ${total[plain]}}")%"
