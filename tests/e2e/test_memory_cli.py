"""`carrier-studio memory …` as a user runs it: a real process on a real workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.waiting import PROCESS_START_DEADLINE


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CARRIER_STUDIO_HOME": str(tmp_path / "workspace"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    return subprocess.run(
        [sys.executable, "-m", "carrier_studio", "memory", *args],
        env=env,
        capture_output=True,
        text=True,
        # A cold start alone can take a minute on a busy machine (and init loads the embedder
        # too): the deadline only ends a hang (see PROCESS_START_DEADLINE).
        timeout=PROCESS_START_DEADLINE + 120,
        check=False,
    )


@pytest.mark.slow
def test_import_search_stats_and_export_round_trip(tmp_path):
    source = tmp_path / "in.jsonl"
    lines = [
        {"character": "Ada", "kind": "fact", "content": "Ada keeps her notes in a green ledger."},
        {"character": "Ada", "kind": "note", "content": "The lighthouse novel is due in March."},
        {"character": "Mira", "kind": "fact", "content": "Mira paints with cobalt blue."},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    init = _cli(tmp_path, "init")
    assert init.returncode == 0, init.stderr
    assert "Ready." in init.stdout and "all-MiniLM-L6-v2" in init.stdout

    imported = _cli(tmp_path, "import", str(source))
    assert imported.returncode == 0, imported.stderr
    assert "Added 3 memories" in imported.stdout

    found = _cli(tmp_path, "search", "which colour does she paint with", "-k", "1")
    assert found.returncode == 0, found.stderr
    assert "cobalt blue" in found.stdout and "meaning" in found.stdout

    only_ada = _cli(tmp_path, "search", "ledger", "--character", "Ada", "--mode", "keyword")
    assert "green ledger" in only_ada.stdout and "Mira" not in only_ada.stdout

    stats = _cli(tmp_path, "stats")
    assert stats.returncode == 0, stats.stderr
    assert "Memories: 3" in stats.stdout
    assert "Ada: 2 (fact 1, note 1)" in stats.stdout

    out = tmp_path / "out.jsonl"
    exported = _cli(tmp_path, "export", str(out), "--character", "Ada")
    assert exported.returncode == 0, exported.stderr
    header, *written = [json.loads(line) for line in out.read_text().splitlines()]
    assert header["format"] == "carrier-studio-memory" and "vector" not in written[0]
    assert sorted(r["content"] for r in written) == sorted(
        line["content"] for line in lines if line["character"] == "Ada"
    )


def test_a_bad_import_file_names_the_line_and_adds_nothing(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps({"character": "Ada", "content": "fine"}) + "\n" + "{not json\n")
    result = _cli(tmp_path, "import", str(source))
    assert result.returncode == 1
    assert "line 2" in result.stderr
    stats = _cli(tmp_path, "stats")
    assert "Memories: 0" in stats.stdout


def test_init_supabase_prints_the_sql(tmp_path):
    result = _cli(tmp_path, "init", "--supabase")
    assert result.returncode == 0, result.stderr
    assert "create extension if not exists vector" in result.stdout.lower()
    assert "match_memories" in result.stdout
