"""Start-up time as a person waits for it: process start to a useful screen, beside a bare window.

Run: ``uv run python bench/startup.py [--runs 7]``. For each run it measures, in one script and
interleaved so both see the same machine load:

- a bare PySide6 QMainWindow: process start to its first paint (the floor for any Qt app here);
- Carrier Studio on an existing profile: first paint of the frame, and the *useful screen* — the
  first page's first load finished (the Characters list filled, its rows counted);
- Carrier Studio on a fresh profile (new user folders every run: the workspace is seeded);
- the first click answered: the second character opened, clicked as soon as the list shows
  (while the SDK warm-up starts in its thread), until the page has finished opening it.

Bytecode is cached (written by the warm-up runs), as after a user's first start.

Targets: first paint ≤ 1.5× the bare window; useful screen ≤ 2 s on an existing profile, with no
SDK (agents, openai, anthropic, mcp) imported before it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_WINDOW = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel

app = QApplication(sys.argv)
window = QMainWindow()
window.setCentralWidget(QLabel("bare"))
window.resize(1180, 760)

class FirstPaint(QObject):
    done = False
    def eventFilter(self, obj, event):
        if obj is window and event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            print(f"first-paint {time.time():.6f}", flush=True)
            QTimer.singleShot(0, app.quit)
        return False

watcher = FirstPaint()
window.installEventFilter(watcher)
window.show()
app.exec()
"""


def _marks(cmd: list[str], env: dict[str, str]) -> dict[str, tuple[float, str]]:
    """Seconds from spawn to each mark line the process prints (``first-paint``, ``useful``)."""
    start = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    marks = {}
    for line in done.stdout.splitlines():
        fields = line.split()
        if fields and fields[0] in ("first-paint", "useful", "answered"):
            marks[fields[0]] = (float(fields[1]) - start, " ".join(fields[2:]))
    if done.returncode != 0 or "first-paint" not in marks:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return marks


def _profile(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_DATA_HOME=str(root / "data"),
        XDG_STATE_HOME=str(root / "state"),
        XDG_CACHE_HOME=str(root / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.pop("CARRIER_STUDIO_HOME", None)
    # A user's install has bytecode cached after the first start; this machine's environment
    # sets PYTHONDONTWRITEBYTECODE, which made every run compile ~300 modules (0.7 s) again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _line(label: str, values: list[float], base: float | None = None) -> str:
    median = statistics.median(values)
    ratio = f"  {median / base:.2f}x the bare window" if base else ""
    return (
        f"{label:<34} median {median:.3f} s  (min {min(values):.3f}, max {max(values):.3f}){ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="carrier-bench-"))
    existing = _profile(root / "existing")
    studio = [sys.executable, "-m", "carrier_studio", "gui", "--exit-after-first-paint"]
    bare = [sys.executable, "-c", BARE_WINDOW]
    # One warm-up run each: the first studio run seeds the workspace and fills the OS cache.
    _marks(studio, existing)
    _marks(bare, existing)
    times: dict[str, list[float]] = {k: [] for k in ("bare", "paint", "useful", "fresh", "click")}
    notes: set[str] = set()
    for run in range(args.runs):  # interleaved, so all see the same machine load
        marks = _marks(studio, existing)
        times["paint"].append(marks["first-paint"][0])
        times["useful"].append(marks["useful"][0])
        notes.add(marks["useful"][1])
        times["click"].append(float(marks["answered"][1].split("=")[1]) / 1000)
        times["bare"].append(_marks(bare, existing)["first-paint"][0])
        fresh = _marks(studio, _profile(root / f"fresh-{run}"))
        times["fresh"].append(fresh["useful"][0])
        notes.add(fresh["useful"][1])
    base = statistics.median(times["bare"])
    load = os.getloadavg()[0]
    print(f"platform: {existing['QT_QPA_PLATFORM']}, runs: {args.runs}, load average {load:.2f}")
    print(_line("bare PySide6 window, first paint", times["bare"]))
    print(_line("studio, first paint of the frame", times["paint"], base))
    print(_line("studio, useful screen", times["useful"], base))
    print(_line("studio, useful screen, fresh profile", times["fresh"], base))
    print(_line("studio, first click answered (opens a character)", times["click"]))
    print(f"what the useful screen showed: {'; '.join(sorted(notes))}")


if __name__ == "__main__":
    main()
