# Sourced by the measure-*.sh scripts, from the repository root: the release binary ($bin),
# the hello module ($hello, built if missing), the number of rounds ($rounds), wrk, and a
# scratch folder ($work).
bin=${WASMGATE_BIN:-target/release/wasmgate}
hello=$PWD/target/wasm32-wasip2/release/hello.wasm
rounds=${ROUNDS:-3}
[ -x "$bin" ] || { echo "build it first: cargo build --release -p wasmgate" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
[ -f "$hello" ] || cargo build --release --target wasm32-wasip2 --target-dir target -p hello
work=$(mktemp -d)
