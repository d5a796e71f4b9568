#!/usr/bin/env bash
# Measures what the per-request metrics and the access log cost on the request path: the
# same hello route served with both off (`--metrics false --access-log false`), metrics
# only, access log only, and both on (the log written to a file), one gateway at a time,
# wrk on loopback, in a different order every round. With two or more cores, the gateway
# runs one worker pinned to CPU 1 and wrk one thread pinned to CPU 0, so the ratio is that
# of the gateway's own CPU cost per request, not of the scheduler's mood.
# Throughput on a shared VM moves by a tenth from one run to the next, so where valgrind is
# installed the script also counts the instructions the gateway executes per request
# (callgrind, all threads, 2,000 requests on one connection after a warm-up): the same
# number on every run, and the ratio that throughput tends to once the noise averages out.
# Needs the release binary and wrk (apt-get install wrk; valgrind for the counts).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/measure-common.sh
hello_module > "$work/wasmgate.toml"
cat >> "$work/wasmgate.toml" <<TOML
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
# utime + stime of process $1, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

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
  wait_ready "$dir/out"
  "${load_cpu[@]}" wrk -t"$wrk_threads" -c16 -d1s "$url/hello/ada" >/dev/null
  local before after out
  before=$(cpu_ticks "$pid")
  out=$("${load_cpu[@]}" wrk -t"$wrk_threads" -c16 -d6s "$url/hello/ada")
  after=$(cpu_ticks "$pid")
  # req/s, and the gateway's CPU time per request in µs (user + system, all its threads).
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    / requests in / {requests = $1}
    /Requests\/sec/ {rps = int($2)}
    END {printf "%d %.1f\n", rps, ticks / hz * 1e6 / requests}' <<<"$out"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

names=(off metrics log on)
declare -A rates=() costs=()
for round in $(seq "$rounds"); do
  # A different order every round, so no configuration always runs first or last.
  shift_by=$(( (round - 1) % ${#names[@]} ))
  order=("${names[@]:$shift_by}" "${names[@]:0:$shift_by}")
  for name in "${order[@]}"; do
    read -r rps cost < <(run "$name")
    echo "round $round, $name: $rps req/s, $cost µs CPU per request"
    rates[$name]+="$rps " costs[$name]+="$cost "
  done
done
echo "access-log lines written with both on: $(grep -c 'wasmgate::access' "$work/on/log" || true)"
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
off_rps=$(median "${rates[off]}") off_cost=$(median "${costs[off]}")
for name in "${names[@]}"; do
  rps=$(median "${rates[$name]}") cost=$(median "${costs[$name]}")
  # Throughput ratio, and the same ratio from CPU cost per request (steadier on a shared VM).
  awk -v n="$name" -v r="$rps" -v c="$cost" -v r0="$off_rps" -v c0="$off_cost" 'BEGIN {
    printf "median %-7s %6d req/s (%.3fx of off), %5.1f µs CPU per request (throughput at equal CPU %.3fx)\n",
      n, r, r / r0, c, c0 / c }'
done

command -v valgrind >/dev/null || { echo "(install valgrind for instruction counts)"; exit 0; }
# Instructions per request of the gateway with the flags of $1. The pooling allocator's
# reservation is cut to what valgrind can map (--max-instances 4).
instructions() {
  local name=$1 dir="$work/callgrind-$1" requests=2000
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # the flags are words
  env -u RUST_BACKTRACE valgrind --tool=callgrind --callgrind-out-file="$dir/out" \
    "$bin" up "$work/wasmgate.toml" --listen 127.0.0.1:0 --workers 1 --max-instances 4 \
    --admin-listen 127.0.0.1:0 --data-dir "$work/callgrind-data" ${flags[$name]} \
    >"$dir/stdout" 2>"$dir/log" &
  local pid=$!
  until grep -q "^wasmgate listening on" "$dir/stdout"; do sleep 0.2; done
  local url
  url=$(sed -n 's/^wasmgate listening on //p' "$dir/stdout")
  wait_ready "$dir/stdout"
  drive "$url" 300
  callgrind_control --zero "$pid" >/dev/null 2>&1
  drive "$url" $requests
  callgrind_control --dump "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  awk -v n=$requests '/^(summary|totals):/ {print int($2 / n); exit}' "$dir"/out.*
}
# $2 requests to the hello route at $1, one at a time on one kept-alive connection.
drive() {
  python3 - "$@" <<'PY'
import http.client, sys, urllib.parse
url, count = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection(url.hostname, url.port)
for _ in range(count):
    connection.request("GET", "/hello/ada")
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}
declare -A counts=()
for name in "${names[@]}"; do counts[$name]=$(instructions "$name"); done
for name in "${names[@]}"; do
  awk -v n="$name" -v i="${counts[$name]}" -v i0="${counts[off]}" 'BEGIN {
    printf "%-7s %7d instructions per request (throughput at equal speed %.3fx of off)\n",
      n, i, i0 / i }'
done
