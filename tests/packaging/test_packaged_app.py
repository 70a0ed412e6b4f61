"""Build the app with PyInstaller (packaging/build.sh) and check the bundle it makes.

Slow (a few minutes on 2 cores) and skipped unless CARRIER_BUILD_PACKAGE=1, which CI sets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "carrier-studio"
APP = DIST / ("carrier-studio.exe" if sys.platform == "win32" else "carrier-studio")
INTERNAL = DIST / "_internal"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("CARRIER_BUILD_PACKAGE") != "1",
        reason="builds the app with PyInstaller: set CARRIER_BUILD_PACKAGE=1",
    ),
]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who has never run the studio (all folders under tmp_path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "CARRIER_STUDIO"))}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    env["HOME"] = str(tmp_path / "home")
    for var, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        env[var] = str(tmp_path / "home" / folder)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def build_output() -> str:
    """Runs packaging/build.sh once for this module; it fails unless the bundle self-tests."""
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=40 * 60,
        cwd=ROOT.parent,  # the script must not depend on the caller's folder
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"packaging/build.sh failed:\n{output[-6000:]}"
    return output


@pytest.fixture
def app(build_output: str) -> Path:
    assert APP.is_file() and os.access(APP, os.X_OK)
    return APP


def _run(app: Path, *args: str, env: dict[str, str], timeout: float = 180) -> tuple[int, str]:
    done = subprocess.run(
        [str(app), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=env["HOME"],
    )
    return done.returncode, done.stdout + done.stderr


def test_build_script_reports_size_and_time(build_output: str) -> None:
    assert "self-test passed" in build_output
    assert re.search(r"build: ok: dist/carrier-studio/ is \S+ in \d+ files", build_output)
    assert re.search(r"build: built in \d+s", build_output)


def test_packaged_self_test_passes(app: Path, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    code, output = _run(app, "--self-test", env=_clean_env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert code == 0, output
    lines = output.splitlines()
    assert "self-test passed" in lines, output
    assert not [line for line in lines if line.startswith("FAIL")], output
    assert any(line.startswith("ok") and "sqlite-vec v" in line for line in lines), output
    assert any(line.startswith("ok") and re.search(r"\d+ pages open", line) for line in lines)
    for module in ("agents", "openai", "anthropic", "mcp", "discord"):
        assert f"ok    {module} imports" in lines, output


def test_packaged_self_test_on_x11(app: Path, tmp_path: Path) -> None:
    """The xcb platform plugin (what a Linux desktop uses) loads, under a virtual X server."""
    if not sys.platform.startswith("linux") or shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (apt-get install xvfb)")
    (tmp_path / "home").mkdir()
    display = f":{90 + os.getpid() % 500}"
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
        while not socket.exists() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.1)
        assert socket.exists(), "Xvfb did not start"
        env = _clean_env(tmp_path, DISPLAY=display)
        code, output = _run(app, "--self-test", env=env)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert code == 0, output
    assert "self-test passed" in output.splitlines(), output


def test_packaged_app_runs_a_tool_maker_server(app: Path, tmp_path: Path) -> None:
    """Tool-maker servers run through the app's own run-tool command (it has no separate
    Python): the MCP server library must be in the bundle and the file must run."""
    (tmp_path / "home").mkdir()
    tool = tmp_path / "probe.py"
    tool.write_text(
        "import sys\n"
        "from mcp.server.mcpserver import MCPServer\n"
        "server = MCPServer('probe')\n"
        "sys.stderr.write('tool ran as ' + __name__ + ' with ' + sys.argv[0] + '\\n')\n"
    )
    code, output = _run(app, "run-tool", str(tool), env=_clean_env(tmp_path))
    assert code == 0, output
    assert f"tool ran as __main__ with {tool}" in output


def test_packaged_doctor_sees_versions_and_sqlite_vec(app: Path, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = _clean_env(tmp_path)
    code, output = _run(app, "--workspace", str(tmp_path / "ws"), "doctor", env=env)
    assert code == 0, output
    assert re.search(r"sqlite-vec\s+loads \(sqlite-vec v", output), output
    assert re.search(r"Keyring backend\s+keyring\.backends\.", output), output
    # distribution metadata is bundled: the versions are known, as keyring's entry points are
    for dist in ("PySide6-Essentials", "apsw", "keyring", "openai-agents", "openai", "mcp"):
        line = next(line for line in output.splitlines() if line.split()[:1] == [dist])
        assert "not installed" not in line, line


def test_bundle_layout(build_output: str) -> None:
    resources = INTERNAL / "carrier_studio" / "resources"
    for relative in (
        "themes/base.qss",
        "themes/palettes.json",
        "icons/app.svg",
        "sql/0001_initial.sql",
        "seed/mcp_servers.json",
    ):
        assert (resources / relative).is_file(), relative
    assert sorted(p.name for p in (resources / "seed" / "characters").glob("*.json")) == sorted(
        p.name for p in (ROOT / "characters").glob("*.json")
    )
    assert list((INTERNAL / "sqlite_vec").glob("vec0.*")), "sqlite-vec's extension is missing"
    assert (INTERNAL / "certifi" / "cacert.pem").is_file()
    assert list(INTERNAL.glob("keyring-*.dist-info/entry_points.txt"))
    assert not list(INTERNAL.glob("*.dist-info/direct_url.json")), "names the build folder"
    plugins = INTERNAL / "PySide6" / "Qt" / "plugins"
    for plugin in (
        "platforms/libqoffscreen.so",
        "platforms/libqxcb.so",
        "imageformats/libqsvg.so",
        "iconengines/libqsvgicon.so",
    ):
        if sys.platform.startswith("linux"):
            assert (plugins / plugin).is_file(), plugin


def test_bundle_leaves_out_what_the_app_does_not_use(build_output: str) -> None:
    names = {p.name for p in INTERNAL.rglob("*")}
    for unwanted in ("QtWebEngineCore", "Qt6WebEngineCore", "Qt6Qml", "Qt6Quick", "Qt6Pdf"):
        assert not [n for n in names if unwanted in n], unwanted
    assert not (INTERNAL / "tkinter").exists() and not (INTERNAL / "torch").exists()
    # The memory needs numpy and onnxruntime; the dev-only heavyweights stay out.
    assert not (INTERNAL / "pytest").exists() and not (INTERNAL / "scipy").exists()


def test_bundle_carries_the_embedding_model(build_output: str) -> None:
    models = list(INTERNAL.rglob("all-MiniLM-L6-v2-int8/model.onnx"))
    assert models, "the offline embedder's model is in the bundle"
    assert models[0].stat().st_size > 10_000_000
    assert "memory: local store, embedder all-MiniLM-L6-v2-int8" in build_output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
def test_bundled_qt_plugins_find_their_libraries(build_output: str) -> None:
    """Each kept Qt plugin finds its libraries in the bundle, or is meant to use the system's.

    PyInstaller leaves some libraries to the system on purpose (libwayland-*, libGL/libEGL: they
    must match the user's compositor and driver). Any other library a plugin cannot find was
    missing on the build machine, so the bundle lacks it: install it there (see the README).
    """
    from PyInstaller.depend.dylib import include_library

    plugins = INTERNAL / "PySide6" / "Qt" / "plugins"
    lib = INTERNAL / "PySide6" / "Qt" / "lib"
    env = dict(os.environ, LD_LIBRARY_PATH=f"{lib}:{INTERNAL}")
    missing: dict[str, set[str]] = {}
    for plugin in sorted(plugins.rglob("*.so")):
        done = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, env=env)
        lost = {line.split()[0] for line in done.stdout.splitlines() if "not found" in line}
        if lost := {name for name in lost if include_library(name)}:
            missing[str(plugin.relative_to(plugins))] = lost
    assert not missing, missing
