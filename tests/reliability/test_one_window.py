"""One window per workspace (#16), with real `carrier-studio` processes: a second start on a
workspace that has a window brings that window forward and exits; the CLI is not blocked."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from carrier_studio.services.platform.window_claim import lock_path
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.reliability.processes import user_env


def _studio(workspace: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "carrier_studio", "--workspace", str(workspace), *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _log(home: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in home.rglob("carrier-studio.log"))


def _wait_for(what: str, predicate, process: subprocess.Popen[str]) -> None:
    """Poll another process's observable state (its files) until ``predicate`` holds."""
    deadline = time.monotonic() + PROCESS_START_DEADLINE
    while not predicate():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the first window exited ({process.returncode}): {err}{out}")
        assert time.monotonic() < deadline, f"{what} within {PROCESS_START_DEADLINE} s"
        time.sleep(0.05)


def test_a_second_start_brings_the_first_window_forward_and_exits(tmp_path):
    home = tmp_path / "home"
    workspace = tmp_path / "workspace"
    env = {**user_env(home), "QT_QPA_PLATFORM": "offscreen"}
    first = _studio(workspace, env)
    try:
        lock = lock_path(home / "data" / "carrier-studio" / "windows", workspace)
        # The window holds the lock, and its session is built (the log names the workspace).
        _wait_for(
            "the first window to start",
            lambda: lock.exists()
            and lock.read_text().strip() == str(first.pid)
            and f"workspace {workspace}" in _log(home),
            first,
        )

        second = _studio(workspace, env)
        out, err = second.communicate(timeout=PROCESS_START_DEADLINE)
        assert second.returncode == 0, err
        assert f"already has {workspace} open (process {first.pid})" in err
        assert "brought forward" in err
        assert first.poll() is None  # the first window is still there…
        _wait_for(  # …and came forward for the second start
            "the first window to come forward",
            lambda: f"a second start on this workspace (process {second.pid})" in _log(home),
            first,
        )

        # Command-line tools are other writers with their own locks: not blocked by the window.
        doctor = _studio(workspace, env, "doctor")
        out, err = doctor.communicate(timeout=PROCESS_START_DEADLINE)
        assert doctor.returncode == 0, err
        assert "already has" not in err
    finally:
        first.terminate()
        try:
            first.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            first.kill()
            first.communicate()
