#!/usr/bin/env bash
# Measures what the per-request metrics and the access log cost on the request path: the
# same hello route served with both off (`--metrics false --access-log false`), metrics
# only, access log only, and both on (the log written to a file), one gateway at a time,
# wrk on loopback, in a different order every round. With two or more cores, the gateway
# runs one worker pinned to CPU 1 and wrk one thread pinned to CPU 0, so the ratio is that
# of the gateway's own CPU cost per request, not of the scheduler's mood.
# Needs the release binary and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/measure-common.sh
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/wasmgate.toml" <<TOML
[[modules]]
name = "hello"
path = "$hello"

[[routes]]
method = "GET"
path = "/hello/{name}"
module = "hello"
TOML

gateway_cpu=() load_cpu=() wrk_threads=2 workers=0
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  gateway_cpu=(taskset -c 1) load_cpu=(taskset -c 0) wrk_threads=1 workers=1
fi

declare -A flags=(
  [off]="--metrics false --access-log false"
  [metrics]="--access-log false"
  [log]="--metrics false"
  [on]=""
)
# One gateway at a time (idle ones would still tick on the measured core), started afresh
# for each run on a data dir that already holds the compiled module.
run() { # name → req/s
  local name=$1 dir="$work/$1"
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # the flags are words
  env -u RUST_BACKTRACE "${gateway_cpu[@]}" "$bin" up "$work/wasmgate.toml" --listen 127.0.0.1:0 \
    --workers "$workers" --admin-listen 127.0.0.1:0 --data-dir "$dir/data" ${flags[$name]} \
    >"$dir/out" 2>>"$dir/log" &
  local pid=$!
  pids+=("$pid")
  until grep -q "^wasmgate listening on" "$dir/out"; do sleep 0.05; done
  local url
  url=$(sed -n 's/^wasmgate listening on //p' "$dir/out")
  "${load_cpu[@]}" wrk -t"$wrk_threads" -c16 -d1s "$url/hello/ada" >/dev/null
  "${load_cpu[@]}" wrk -t"$wrk_threads" -c16 -d6s "$url/hello/ada" | awk '/Requests\/sec/ {print int($2)}'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

names=(off metrics log on)
declare -A total=([off]=0 [metrics]=0 [log]=0 [on]=0)
for round in $(seq "$rounds"); do
  # A different order every round, so no configuration always runs first or last.
  shift_by=$(( (round - 1) % ${#names[@]} ))
  order=("${names[@]:$shift_by}" "${names[@]:0:$shift_by}")
  for name in "${order[@]}"; do
    rps=$(run "$name")
    echo "round $round, $name: $rps req/s"
    total[$name]=$(( ${total[$name]} + rps ))
  done
done
echo "access-log lines written with both on: $(grep -c 'wasmgate::access' "$work/on/log" || true)"
for name in "${names[@]}"; do
  echo "mean $name: $(( total[$name] / rounds )) req/s," \
    "ratio to off $(awk "BEGIN{printf \"%.3f\", ${total[$name]} / ${total[off]}}")"
done
