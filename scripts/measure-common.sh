# Sourced by the measure-*.sh scripts, from the repository root: the release binary ($bin),
# the hello module ($hello, built if missing), the number of rounds ($rounds), wrk, a
# scratch folder ($work) removed at exit with every process in $pids, and `hello_module`.
bin=${WASMGATE_BIN:-target/release/wasmgate}
hello=$PWD/target/wasm32-wasip2/release/hello.wasm
rounds=${ROUNDS:-3}
[ -x "$bin" ] || { echo "build it first: cargo build --release -p wasmgate" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
[ -f "$hello" ] || cargo build --release --target wasm32-wasip2 --target-dir target -p hello
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
# The hello module's `[[modules]]` entry, for a manifest the script completes.
hello_module() { printf '[[modules]]\nname = "hello"\npath = "%s"\n\n' "$hello"; }
# Waits until the gateway whose stdout is in file $1 answers 200 on /readyz: it listens
# while big modules still compile.
wait_ready() {
  local admin
  admin=$(sed -n 's/^wasmgate admin API on //p' "$1")
  until curl -sf "$admin/readyz" >/dev/null; do sleep 0.05; done
}
