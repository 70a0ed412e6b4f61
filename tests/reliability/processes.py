"""Real `carrier-studio` processes for the reliability tests, started together on a barrier."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.waiting import PROCESS_START_DEADLINE

BARRIER_CLI = Path(__file__).with_name("barrier_cli.py")
REPO = Path(__file__).resolve().parents[2]


def user_env(home: Path) -> dict[str, str]:
    """An environment whose profile folders all live under ``home`` (a fresh user)."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


class Together:
    """Processes that import first, then run their command at the same moment."""

    def __init__(self, barrier: Path) -> None:
        self.barrier = barrier
        barrier.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        """A process that runs ``args`` (barrier_cli.py's arguments after the barrier)."""
        proc = subprocess.Popen(
            [sys.executable, str(BARRIER_CLI), str(self.barrier), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def go(self) -> None:
        """Wait until every process is ready (or has died), then release them all."""
        deadline = time.monotonic() + PROCESS_START_DEADLINE
        while True:
            ready = len(list(self.barrier.glob("ready-*")))
            dead = sum(p.poll() is not None for p in self.procs)
            if ready + dead >= len(self.procs):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"only {ready} of {len(self.procs)} processes got ready")
            time.sleep(0.02)
        (self.barrier / "go").touch()

    def finish(self, timeout: float = PROCESS_START_DEADLINE) -> list[Finished]:
        results = []
        for proc in self.procs:
            out, err = proc.communicate(timeout=timeout)
            results.append(Finished(proc.returncode, out, err))
        return results
