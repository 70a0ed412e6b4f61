"""Start-up time: process start to the first paint of the main window, beside a bare window.

Run: ``uv run python bench/startup.py [--runs 7]``. Prints the median (and spread) over several
runs for Carrier Studio and for a bare PySide6 QMainWindow measured the same way in the same
script, and their ratio. Target: median ≤ 0.6 s and ≤ 1.5× the bare window.
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


def _time_to_paint(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("first-paint ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    fields = line.split()
    extra = fields[2] if len(fields) > 2 else ""
    return float(fields[1]) - start, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="carrier-bench-"))
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_DATA_HOME=str(root / "data"),
        XDG_STATE_HOME=str(root / "state"),
        XDG_CACHE_HOME=str(root / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    studio = [sys.executable, "-m", "carrier_studio", "gui", "--exit-after-first-paint"]
    bare = [sys.executable, "-c", BARE_WINDOW]
    # One warm-up run each: the first studio run seeds the workspace and fills the OS cache.
    _time_to_paint(studio, env)
    _time_to_paint(bare, env)
    studio_times, bare_times, heavy = [], [], set()
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        seconds, loaded = _time_to_paint(studio, env)
        studio_times.append(seconds)
        heavy.add(loaded)
        bare_times.append(_time_to_paint(bare, env)[0])
    s_med, b_med = statistics.median(studio_times), statistics.median(bare_times)
    print(f"platform: {env['QT_QPA_PLATFORM']}, runs: {args.runs}")
    print(
        f"carrier studio  median {s_med:.3f} s  (min {min(studio_times):.3f}, "
        f"max {max(studio_times):.3f})"
    )
    print(
        f"bare PySide6    median {b_med:.3f} s  (min {min(bare_times):.3f}, "
        f"max {max(bare_times):.3f})"
    )
    print(f"ratio           {s_med / b_med:.2f}x  (target: <= 1.5x and <= 0.6 s)")
    print(f"heavy SDKs imported before first paint: {', '.join(sorted(heavy))}")


if __name__ == "__main__":
    main()
