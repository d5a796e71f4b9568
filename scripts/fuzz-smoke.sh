#!/usr/bin/env bash
# Runs every fuzz target for a short while from its seeds; any crash fails the run.
#   scripts/fuzz-smoke.sh [seconds per target, default 20]
# For a long session: cd fuzz && cargo fuzz run -s none <target> corpus/<target> seeds/<target>
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-20}"
# Fuzz builds use their own flags: keep them apart from the workspace's build cache.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

for target in $(cargo fuzz list); do
    corpus="$(mktemp -d)"
    echo "==> fuzz $target for ${seconds}s"
    log="$corpus.log"
    # `-s none`: no sanitizer, so a stable toolchain builds it; panics still abort.
    if ! cargo fuzz run -s none "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$seconds" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed (reproducer in fuzz/artifacts/$target)" >&2
        exit 1
    fi
    grep -E "^Done" "$log"
    rm -rf "$corpus" "$log"
done
