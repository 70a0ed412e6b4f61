#!/usr/bin/env bash
# Build the one-folder app (dist/carrier-studio/) with PyInstaller, then run the built app's own
# --self-test offscreen and fail unless it passes. Prints the bundle size and the build time.
#
#     bash packaging/build.sh            # from any folder; extra arguments go to pyinstaller
#     bash packaging/build.sh --clean    # e.g. throw PyInstaller's caches away first
#
# Idempotent: each run replaces dist/carrier-studio/ (work files go to build/pyinstaller/).
set -euo pipefail

PYINSTALLER_VERSION="6.22.3"
HOOKS_CONTRIB_VERSION="2026.9"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
started=$SECONDS

if ! command -v uv >/dev/null 2>&1; then
    echo "build: uv is needed (https://docs.astral.sh/uv/); e.g. python3 -m pip install uv" >&2
    exit 2
fi

# The project's environment (uv run syncs it from uv.lock), plus PyInstaller at the pinned
# version when the lock does not bring it.
python="$(uv run --quiet python -c 'import sys; print(sys.executable)')"
have="$("$python" -c 'import PyInstaller; print(PyInstaller.__version__)' 2>/dev/null || true)"
if [ "$have" != "$PYINSTALLER_VERSION" ]; then
    echo "build: installing pyinstaller==$PYINSTALLER_VERSION (found: ${have:-none})"
    uv pip install --quiet --python "$python" "pyinstaller==$PYINSTALLER_VERSION" \
        "pyinstaller-hooks-contrib==$HOOKS_CONTRIB_VERSION"
fi

echo "build: pyinstaller $PYINSTALLER_VERSION, packaging/carrier-studio.spec"
"$python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    "$@" packaging/carrier-studio.spec

app="$ROOT/dist/carrier-studio/carrier-studio"
[ -x "$app" ] || app="$app.exe"
if [ ! -x "$app" ]; then
    echo "build: FAILED, no executable at dist/carrier-studio/carrier-studio" >&2
    exit 1
fi
# libpython alone is stripped (see the spec): the rest comes from wheels, prebuilt as they are.
if [ "$(uname -s)" = "Linux" ] && command -v strip >/dev/null 2>&1; then
    find "$ROOT/dist/carrier-studio" -name 'libpython3*.so*' -type f -exec strip --strip-unneeded {} +
fi
built=$((SECONDS - started))

# The built app checks itself: window (offscreen), studio.db + sqlite-vec, theme, icons, every
# page, and that the SDKs import. No display is used even when one is there.
echo "build: running the packaged app's --self-test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$app" --self-test 2>&1 \
    | tee "$log" || status=$?
if [ "$status" -ne 0 ] || ! grep -qx "self-test passed" "$log"; then
    echo "build: FAILED, the packaged app's --self-test did not pass (exit $status)" >&2
    exit 1
fi

size="$(du -sh "$ROOT/dist/carrier-studio" | cut -f1)"
files="$(find "$ROOT/dist/carrier-studio" -type f | wc -l | tr -d ' ')"
echo "build: ok: dist/carrier-studio/ is $size in $files files"
echo "build: built in ${built}s, checked in $((SECONDS - started - built))s"
