#!/usr/bin/env bash
# Installs everything the whole test suite needs, then runs it. Extra arguments go to pytest.
#
# - Python packages: from uv.lock (uv run --locked does it).
# - The real-model group (tests/realmodel): llama.cpp's server (the prebuilt xllamacpp wheel) +
#   SmolLM2 in a venv of their own, installed once and cached (~15 s the first time).
# - MCP test servers from npm (tests/mcp), when that group is present.
# - The MCP conformance suite from npm, with the Node 22 it needs (tests/conformance).
# The groups that need these set-ups are required here (not skipped): a missing piece fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"

# Each set-up phase is timed; the table is printed before the tests start (pytest prints its
# own duration last). .ci/run passes in the phases it timed before this script.
phases="${CARRIER_CI_PHASES:-}"
timed() {  # timed NAME COMMAND...: run it, and note how long it took
    local name="$1" start=$SECONDS
    shift
    "$@"
    phases+="$(printf '%-18s %4d s' "$name" $((SECONDS - start)))"$'\n'
}

timed "Python env" uv sync --locked --quiet

timed "npm MCP servers" bash scripts/npm_ci.sh tests/mcp
export CARRIER_REQUIRE_MCP_SERVERS=1

# The official MCP conformance suite (tests/conformance), on its own Node 22 from npm.
timed "MCP conformance" bash scripts/npm_ci.sh tests/conformance
export CARRIER_REQUIRE_CONFORMANCE=1

model_env() { CARRIER_REAL_MODEL_PYTHON="$(bash scripts/real_model_env.sh | tail -n 1)"; }
timed "real-model env" model_env
export CARRIER_REAL_MODEL_PYTHON CARRIER_REQUIRE_REAL_MODEL=1

printf '\nset-up phases:\n%s\n' "$phases"
exec uv run --locked pytest "$@"
