#!/usr/bin/env bash
# Install the npm MCP servers the tests start for real (tests/mcp/node_modules), exactly as
# tests/mcp/package-lock.json pins them. Does nothing when they are installed and current.
#
#   bash scripts/install_test_mcp_servers.sh          # CI runs this before pytest
#   CARRIER_REQUIRE_MCP_SERVERS=1 uv run pytest ...   # then a missing server fails, not skips
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tests/mcp"
lock="$dir/package-lock.json"
stamp="$dir/node_modules/.carrier-lock-sha256"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install_test_mcp_servers: $tool is not on PATH (Node 20 or newer is needed)" >&2
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
  echo "install_test_mcp_servers: tests/mcp/node_modules is current"
  exit 0
fi

echo "install_test_mcp_servers: npm ci in tests/mcp (node $(node --version), npm $(npm --version))"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
echo "install_test_mcp_servers: done"
