#!/bin/sh
# make onnx-deps: what the ONNX export tests (cmd/graphtrain/export_test.go) run the exported
# files with, installed where missing:
#   - Debian's python3-onnx (for /usr/bin/python3): onnx.checker.check_model;
#   - node and npm (Debian's nodejs and npm) when there is no node;
#   - npm's onnxruntime-node, the version package-lock.json pins, in this directory's
#     node_modules (ignored by git), with --ignore-scripts: its install script only fetches
#     GPU extras from a host that cannot be reached here; the package itself carries the
#     Linux x64 runtime.
# It says one line per thing it installs, nothing when all is there. npm gets long timeouts and
# retries, so a slow registry makes the install slow, not failed.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "onnx-deps: $* missing: run 'sudo apt-get install $*' (or make onnx-deps as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "$@" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}

if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  echo "onnx-deps: installing python3-onnx (apt)"
  apt_install python3-onnx
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "onnx-deps: installing nodejs and npm (apt)"
  apt_install nodejs npm
fi

want=$(node -p "require('$dir/package.json').dependencies['onnxruntime-node']")
have=$(node -p "try { require('$dir/node_modules/onnxruntime-node/package.json').version } catch (e) { '' }")
if [ "$have" != "$want" ]; then
  echo "onnx-deps: installing onnxruntime-node $want (npm ci --ignore-scripts) in $dir/node_modules"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  try=1
  until (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
      --fetch-retries=5 --fetch-retry-mintimeout=20000 --fetch-retry-maxtimeout=120000 \
      --fetch-timeout=600000) >"$log" 2>&1; do
    if [ $try -ge 3 ]; then
      cat "$log" >&2
      echo "onnx-deps: npm ci failed $try times (its log above); the ONNX Runtime tests skip without it" >&2
      exit 1
    fi
    echo "onnx-deps: npm ci failed (try $try of 3), trying again in 15 s: $(tail -n 1 "$log")"
    try=$((try + 1))
    sleep 15
  done
fi

# The runtime must load: the native binding and libonnxruntime.so.
node -e "require('$dir/node_modules/onnxruntime-node')" || {
  echo "onnx-deps: onnxruntime-node is installed in $dir/node_modules but does not load" >&2
  exit 1
}
