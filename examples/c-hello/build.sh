#!/usr/bin/env sh
# Builds hello.c into a wasm32-wasi (preview 1) core module for the WAGI executor.
# Needs clang, lld, wasi-libc and the wasm32 compiler-rt: on Debian or Ubuntu,
#   apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32   (or -15-, -16-…)
#   examples/c-hello/build.sh [output]      # default: target/wasm32-wasip1/c-hello.wasm
set -eu
here="$(dirname "$0")"
out="${1:-$here/../../target/wasm32-wasip1/c-hello.wasm}"
mkdir -p "$(dirname "$out")"
# Debian's clang finds wasi-libc's headers and libraries under /usr for this target; with
# the WASI SDK, pass --sysroot=<wasi-sdk>/share/wasi-sysroot instead.
${CC:-clang} --target=wasm32-wasi -O2 -Wall -Werror -o "$out" "$here/hello.c"
echo "$out"
