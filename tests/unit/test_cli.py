"""The command line as a user runs it: a real process with its own user folders."""

from __future__ import annotations

import os
import subprocess
import sys

from carrier_studio import __version__
from tests.helpers.waiting import PROCESS_START_DEADLINE


def _run(tmp_path, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.pop("CARRIER_STUDIO_HOME", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "carrier_studio", *args],
        capture_output=True,
        text=True,
        env=env,
        # A cold start alone can take a minute on a busy machine, and the self-test took 105 s
        # there: the deadline only ends a hang (see PROCESS_START_DEADLINE).
        timeout=PROCESS_START_DEADLINE + 120,
    )


def test_version(tmp_path):
    done = _run(tmp_path, "--version")
    assert done.returncode == 0
    assert __version__ in done.stdout


def test_doctor_reports_without_printing_secrets(tmp_path):
    secret = "sk-doctor-should-never-print-this-0123"
    workspace = tmp_path / "ws"
    done = _run(
        tmp_path,
        "--workspace",
        str(workspace),
        "doctor",
        env_extra={"OPENAI_API_KEY": secret},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert secret not in out + done.stderr
    assert "sqlite-vec" in out and "loads (sqlite-vec v" in out
    assert "OpenAI API key" in out and "set (from environment)" in out
    assert "Anthropic API key" in out and "not set" in out
    assert str(workspace) in out
    assert "keyring.backends.fail.Keyring (NONE available" in out
    assert "node" in out and "npm" in out
    assert "apsw" in out and "PySide6-Essentials" in out
    # doctor never loads Qt: it must work on a server without a display.
    assert (workspace / "mcp_servers.json").exists()


def test_doctor_on_a_file_says_what_is_wrong(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    done = _run(tmp_path, "--workspace", str(target), "doctor")
    assert done.returncode == 1
    assert f"{target}: is a file, not a folder" in done.stderr


def test_headless_has_its_own_help(tmp_path):
    done = _run(tmp_path, "headless", "--help")
    assert done.returncode == 0
    assert "--discord CHARACTER" in done.stdout


def test_self_test_checks_every_part_and_passes(tmp_path):
    done = _run(tmp_path, "--self-test", env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "self-test passed"
    for part in ("studio.db", "sqlite-vec", "pages open", "agents imports", "discord imports"):
        assert any(part in line and line.startswith("ok") for line in lines), part
    assert not any(line.startswith("FAIL") for line in lines)
