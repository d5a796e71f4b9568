#!/usr/bin/env sh
# Builds hello.c into a wasm32-wasi (preview 1) core module for the WAGI executor.
# Needs clang, lld, wasi-libc and the wasm32 compiler-rt: on Debian or Ubuntu,
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
#
#   examples/c-hello/build.sh [output]      # default: target/wasm32-wasip1/c-hello.wasm
#
# Exit status 3: that toolchain is not installed.
set -eu
here="$(dirname "$0")"
out="${1:-$here/../../target/wasm32-wasip1/c-hello.wasm}"
cc="${WASI_CC:-clang}"
# Debian's clang finds wasi-libc's headers and libraries under /usr for this target; with
# the WASI SDK, set WASI_CC="<wasi-sdk>/bin/clang --sysroot=<wasi-sdk>/share/wasi-sysroot".
if ! command -v "${cc%% *}" >/dev/null 2>&1; then
  echo "$cc not found: install clang, lld, wasi-libc and libclang-rt-dev-wasm32" >&2
  exit 3
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf '#include <stdio.h>\nint main(void) { return puts("") < 0; }\n' >"$probe/probe.c"
if ! $cc --target=wasm32-wasi -o "$probe/probe.wasm" "$probe/probe.c" 2>"$probe/said"; then
  echo "$cc cannot link for wasm32-wasi: install lld, wasi-libc and libclang-rt-dev-wasm32 ($(cat "$probe/said"))" >&2
  exit 3
fi
mkdir -p "$(dirname "$out")"
$cc --target=wasm32-wasi -O2 -Wall -Werror -o "$out" "$here/hello.c"
echo "$out"
