"""`carrier-studio test` as a creator's CI runs it: a real process, the scripted LLM server,
JUnit XML read back by a parser, exit statuses 0/1/2, and a recorded suite replayed with no
server running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from carrier_studio import assets
from tests.fakes import running_server, text, tool_call
from tests.helpers.waiting import PROCESS_START_DEADLINE

MODEL = "openai-compatible:test-model@local"
LABEL = "test-model (openai-compatible at local)"

GREET = """\
character: Ada
description: Ada greets back.
turns:
  - user: Hello Ada
    expect:
      - contains: hello
      - max_chars: 200
"""
MATHS = """\
character: Ada
turns:
  - user: What is 6 times 7?
    expect:
      - tool_called: {name: calculate, arguments: {expression: 6 * 7}}
      - contains: "42"
"""
FAILING = """\
character: Ada
turns:
  - user: Tell me about breakfast
    expect:
      - contains: croissant
"""


def _workspace(tmp_path: Path, llm_url: str) -> tuple[Path, dict[str, str]]:
    workspace = tmp_path / "ws"
    (workspace / "characters").mkdir(parents=True)
    for source in assets.seed_characters_dir().glob("*.json"):
        data = json.loads(source.read_text())
        for key in ("model", "mcp_servers", "discord_config"):
            data.pop(key, None)
        (workspace / "characters" / source.name).write_text(json.dumps(data, indent=2))
    (workspace / "mcp_servers.json").write_text('{"mcpServers": {}}\n')
    for folder, files in {
        "passing": {"greet.yaml": GREET, "maths.yaml": MATHS},
        "failing": {"breakfast.yaml": FAILING, "greet.yaml": GREET},
        "broken": {"nobody.yaml": "character: Nobody\nturns: [{user: hi}]\n"},
    }.items():
        (workspace / "scenarios" / folder).mkdir(parents=True)
        for name, content in files.items():
            (workspace / "scenarios" / folder / name).write_text(content)
    config = tmp_path / "config" / "carrier-studio"
    config.mkdir(parents=True)
    settings = {
        "version": 2,
        "providers": {
            "default": {
                "provider": "openai-compatible",
                "model": "test-model",
                "endpoint": "local",
            },
            "endpoints": [{"name": "local", "base_url": llm_url}],
        },
    }
    (config / "settings.json").write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env.update(
        CARRIER_STUDIO_HOME=str(workspace),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.pop("QT_QPA_PLATFORM", None)
    return workspace, env


def _test(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carrier_studio", "test", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PROCESS_START_DEADLINE + 120,
        check=False,
    )


def _junit(path: Path) -> dict[str, dict[str, ET.Element]]:
    """model → scenario → testcase, as a JUnit consumer reads the file."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {
        suite.get("name"): {case.get("name"): case for case in suite.iter("testcase")}
        for suite in root.iter("testsuite")
    }


def _replies(path: Path) -> list[tuple[str, list[str], list[bool]]]:
    runs = json.loads(path.read_text())["runs"]
    return sorted(
        (r["scenario"], [t["reply"] for t in r["turns"]], [v["passed"] for v in r["verdicts"]])
        for r in runs
    )


@pytest.mark.slow
def test_passing_failing_and_unstartable_suites_then_replay_offline(tmp_path):
    with running_server() as server:
        workspace, env = _workspace(tmp_path, server.openai_base_url)
        scenarios = workspace / "scenarios"

        # A passing suite: exit 0, a JUnit suite per model with a case per scenario.
        server.script(
            text("Hello there, writer!"),
            tool_call("calculate", {"expression": "6 * 7"}),
            text("It is 42."),
        )
        # Relative targets are the shell's, as in CI (the process runs in the workspace).
        passing = _test(
            env, workspace, "scenarios/passing", "--model", MODEL, "--jobs", "1",
            "--junit", str(tmp_path / "pass.xml"), "--json", str(tmp_path / "pass.json"),
        )  # fmt: skip
        assert passing.returncode == 0, passing.stdout + passing.stderr
        assert "[2/2] PASS" in passing.stdout and "2 of 2 runs passed" in passing.stdout
        cases = _junit(tmp_path / "pass.xml")
        assert list(cases) == [LABEL]
        assert sorted(cases[LABEL]) == ["greet", "maths"]
        assert not any(list(case) and case[0].tag in ("failure", "error")
                       for case in cases[LABEL].values())  # fmt: skip

        # A failing suite: exit 1; the failure names the expectation's file and line.
        server.script(text("I like toast."), text("Hello again!"))
        failing = _test(
            env, workspace, "scenarios/failing", "--model", MODEL, "--jobs", "1",
            "--junit", str(tmp_path / "fail.xml"),
        )  # fmt: skip
        assert failing.returncode == 1, failing.stdout + failing.stderr
        assert "1 of 2 runs passed" in failing.stdout
        failed = _junit(tmp_path / "fail.xml")[LABEL]["breakfast"].find("failure")
        assert failed is not None
        assert failed.get("message").startswith("scenarios/failing/breakfast.yaml:5: turn 1:")
        assert "croissant" in failed.get("message")
        assert _junit(tmp_path / "fail.xml")[LABEL]["greet"].find("failure") is None

        # Could not start: no such character, a bad model string, a missing cassette.
        for args, words in [
            (["scenarios/broken", "--model", MODEL], 'the character "Nobody"'),
            (["scenarios/passing", "--model", "gpt-4"], '"gpt-4" is not a model'),
            (["scenarios/failing", "--model", MODEL, "--replay"], "no cassette"),
            (["Nobody-at-all"], "neither a scenario file or folder nor a character"),
        ]:
            result = _test(env, workspace, *args)
            assert result.returncode == 2, (args, result.stdout, result.stderr)
            assert words in result.stdout + result.stderr, (args, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr

        # Record the passing suite...
        server.script(
            text("Hello there, writer!"),
            tool_call("calculate", {"expression": "6 * 7"}),
            text("It is 42."),
        )
        recorded = _test(
            env, workspace, "scenarios/passing", "--model", MODEL, "--jobs", "1", "--record",
            "--json", str(tmp_path / "recorded.json"),
        )  # fmt: skip
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    # ... and replay it with the server stopped: nothing listens on its port any more.
    assert sorted(p.name for p in (scenarios / "passing").glob("*.cassette.json")) == [
        "greet.openai-compatible-test-model-local.cassette.json",
        "maths.openai-compatible-test-model-local.cassette.json",
    ]
    replayed = _test(
        env, workspace, "scenarios/passing", "--model", MODEL,
        "--replay", "--jobs", "4", "--junit", str(tmp_path / "replay.xml"),
        "--json", str(tmp_path / "replayed.json"),
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert _replies(tmp_path / "replayed.json") == _replies(tmp_path / "recorded.json")
    assert sorted(_junit(tmp_path / "replay.xml")[LABEL]) == ["greet", "maths"]

    # A matrix file names the models and scenarios (relative to itself) instead.
    matrix = workspace / "matrix.yaml"
    matrix.write_text(f"models: [{MODEL}]\nscenarios: [scenarios/passing]\njobs: 2\n")
    by_matrix = _test(env, tmp_path, "--matrix", str(matrix), "--replay")
    assert by_matrix.returncode == 0, by_matrix.stdout + by_matrix.stderr
    assert "Replaying 2 runs (2 scenarios), 2 at a time" in by_matrix.stdout
    matrix.write_text("models: [x]\ncolour: red\n")
    bad_matrix = _test(env, tmp_path, "--matrix", str(matrix))
    assert bad_matrix.returncode == 2 and "unknown field 'colour'" in bad_matrix.stderr

    # A changed scenario no longer fits its cassette, and the run says so.
    greet = scenarios / "passing" / "greet.yaml"
    greet.write_text(GREET.replace("Hello Ada", "Good morning Ada"))
    stale = _test(env, workspace, "scenarios/passing", "--model", MODEL, "--replay")
    assert stale.returncode == 2
    assert "the scenario's set-up or user turns changed since recording" in stale.stdout
    assert "re-record with --record" in stale.stdout
