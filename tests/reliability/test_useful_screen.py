"""The first screen is useful before any SDK is imported (#15): a real window process on a fresh
profile lists the seeded characters while agents, openai, anthropic, mcp, numpy and onnxruntime
are still unloaded.

Before, the session's chat service imported the agents SDK (~3.7 s of CPU here) ahead of the
Characters list, and the memory store (numpy) opened while the list loaded; bench/startup.py
times the same marks.
"""

from __future__ import annotations

import subprocess
import sys

from carrier_studio import assets
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.reliability.processes import REPO, user_env


def _marks(stdout: str) -> dict[str, dict[str, str]]:
    marks = {}
    for line in stdout.splitlines():
        name, _when, *fields = line.split()
        marks[name] = dict(field.split("=", 1) for field in fields)
    return marks


def test_a_fresh_profile_lists_its_characters_before_any_sdk_is_imported(tmp_path):
    env = {**user_env(tmp_path / "user"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "carrier_studio", "gui", "--exit-after-first-paint"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_START_DEADLINE,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    marks = _marks(done.stdout)
    assert marks["first-paint"]["imported"] == "none"
    useful = marks["useful"]
    seeded = len(list(assets.seed_characters_dir().glob("*.json")))
    assert useful["page"] == "characters" and int(useful["rows"]) == seeded, useful
    assert useful["imported"] == "none", f"imported before the list showed: {useful}"
