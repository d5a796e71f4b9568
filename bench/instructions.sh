#!/usr/bin/env bash
# Counts the instructions wasmgate executes per request, scenario by scenario, under
# valgrind's callgrind: every thread, 1,000 requests on one kept-alive connection after a
# warm-up. Unlike req/s on a shared VM (±10% between runs), the count is the same on every
# run, so it settles ratios between scenarios that differ by one step (an authorizer, a
# throttle), and shows what a change to the request path gains. bench/run.sh gives the
# throughput and latency; this, their cost.
#
#   bench/instructions.sh                   # hello, plain, authorizer, jwt, throttled, echo-1k
#   bench/instructions.sh hello jwt
#   NO_BUILD=1 bench/instructions.sh        # what is built already
#   KEEP=1 bench/instructions.sh jwt        # keeps the callgrind dumps, for callgrind_annotate
#
# Needs valgrind (apt-get install valgrind), python3 and openssl. The pool is cut to four
# instances, as valgrind cannot map the default pool's reservation.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
unset RUST_BACKTRACE RUST_LIB_BACKTRACE # a backtrace per Store drop would dominate the count
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
work=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "callgrind dumps in $work" >&2
pids=()
. bench/lib.sh
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p wasmgate
  cargo build --release -q --target wasm32-wasip2 -p hello -p echo -p token-authorizer -p plain-hello
fi
wasm=$CARGO_TARGET_DIR/wasm32-wasip2/release
write_manifest "$work/gateway.toml" "$wasm"
# Without the routes that reserve instances (`concurrency`), more than the cut pool has;
# no scenario here uses them.
awk -v RS= -v ORS='\n\n' '!/\nconcurrency = /' "$work/gateway.toml" >"$work/gateway.toml.cut"
mv "$work/gateway.toml.cut" "$work/gateway.toml"
token=$(mint_jwt "$JWT_SECRET")
bearer="Bearer $(mint_demo_token bench)"

# Each scenario's method and path; some also send an authorization header or a JSON body
# of that many bytes.
declare -A requests=(
  [hello]="GET /hello/ada"
  [plain]="GET /plain/ada"
  [authorizer]="GET /private/ada"
  [jwt]="GET /jwt/ada"
  [throttled]="GET /throttled/ada"
  [echo-1k]="POST /echo/json"
)
declare -A headers=([authorizer]="$bearer" [jwt]="Bearer $token")
declare -A bodies=([echo-1k]=1024)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(hello plain authorizer jwt throttled echo-1k)

# `count` requests on one connection to the gateway at $1, as scenario $2.
drive() {
  read -r method path <<<"${requests[$2]}"
  python3 - "$1" "$method" "$path" "${headers[$2]:-}" "${bodies[$2]:-0}" "$3" <<'PY'
import http.client, sys, urllib.parse
url, method, path, authorization, size, count = sys.argv[1:7]
url = urllib.parse.urlsplit(url)
headers = {"authorization": authorization} if authorization else {}
body = None
if int(size):
    body = b'{"data":"' + b"x" * (int(size) - 11) + b'"}'
    headers["content-type"] = "application/json"
connection = http.client.HTTPConnection(url.hostname, url.port)
for _ in range(int(count)):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, (path, response.status)
PY
}

# One gateway under callgrind serves every scenario in turn; the counter is zeroed before
# and dumped after each.
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind" \
  "$CARGO_TARGET_DIR/release/wasmgate" up "$work/gateway.toml" --listen 127.0.0.1:0 \
  --workers 1 --max-instances 4 --admin-listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/stdout" 2>"$work/log" &
pid=$!
pids+=("$pid")
until grep -q "^wasmgate listening on" "$work/stdout" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.5
done
url=$(sed -n 's/^wasmgate listening on //p' "$work/stdout")
# It listens while big modules still compile: wait until every route serves.
admin=$(sed -n 's/^wasmgate admin API on //p' "$work/stdout")
until curl -sf "$admin/readyz" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "the gateway exited under valgrind:" >&2; cat "$work/log" >&2; exit 1; }
  sleep 0.5
done
count=1000 dumps=0
declare -A counted=()
for name in "${names[@]}"; do
  drive "$url" "$name" 200
  callgrind_control --zero "$pid" >/dev/null 2>&1
  drive "$url" "$name" $count
  callgrind_control --dump "$pid" >/dev/null 2>&1
  dump="$work/callgrind.$((++dumps))"
  deadline=$((SECONDS + 300))
  until [ -s "$dump" ]; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
      echo "no callgrind dump for $name:" >&2
      cat "$work/log" >&2
      exit 1
    fi
    sleep 0.2
  done
  sleep 0.5 # the dump's last lines
  counted[$name]=$(awk -v n=$count '/^(summary|totals):/ {print int($2 / n); exit}' "$dump")
  echo "$name: ${counted[$name]} instructions per request" >&2
done

echo
echo "| scenario | instructions per request | vs hello |"
echo "|---|---|---|"
for name in "${names[@]}"; do
  awk -v n="$name" -v i="${counted[$name]}" -v h="${counted[hello]:-0}" 'BEGIN {
    printf "| %s | %d | %s |\n", n, i, (h > 0) ? sprintf("%.3fx", h / i) : "" }'
done
