"""`carrier-studio memory import` as real processes: stopped halfway, or two at once.

Seen before: an import cancelled halfway deleted what it had added from a list made before it
started, and that list could hold rows another process had just stored; two imports of one file
at once counted some memories twice. Now each chunk's "is it stored already?" is decided inside
its own write transaction and a stopped import keeps what it committed, so the counts add up.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import numpy as np
import pytest

from carrier_studio.core.memory import EmbeddingSpace, MemoryRecord
from carrier_studio.core.memory.jsonl import header_line, record_line
from carrier_studio.services.memory.embedders import LOCAL_EMBEDDER_ID
from carrier_studio.services.memory.service import IMPORT_CHUNK
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.reliability.processes import Together, user_env

#: Four chunks (the last one short): a stop can land between commits.
COUNT = 3 * IMPORT_CHUNK + 500


def _export_file(path: Path) -> None:
    """An export in the workspace's own embedding space, so the import stores, not embeds."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((COUNT, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(header_line(EmbeddingSpace(LOCAL_EMBEDDER_ID, 384)) + "\n")
        for i, vector in enumerate(vectors):
            record = MemoryRecord("Ada", f"memory number {i} about the lighthouse")
            out.write(record_line(record, vector) + "\n")


def _stored(database: Path) -> int:
    """Memories in studio.db as another reader sees them (0 before the table exists)."""
    if not database.exists():
        return 0
    conn = apsw.Connection(str(database), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        conn.set_busy_timeout(5000)
        return conn.execute("SELECT count(*) FROM memories").fetchone()[0]
    except apsw.SQLError:  # the schema is not made yet
        return 0
    finally:
        conn.close()


def _check(database: Path) -> None:
    conn = apsw.Connection(str(database))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM memories").fetchone()[0] == COUNT
        ids = conn.execute("SELECT count(DISTINCT id) FROM memories").fetchone()[0]
        assert ids == COUNT
        vectors = conn.execute("SELECT count(*) FROM memory_vectors").fetchone()[0]
        assert vectors == COUNT, "every stored memory has its vector, no orphan vectors"
    finally:
        conn.close()


def _poll(predicate, timeout: float) -> None:
    """Poll another process's state until ``predicate()`` holds (no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not seen within {timeout} s"
        time.sleep(0.005)


def _command(workspace: Path, source: Path) -> list[str]:
    cli = [sys.executable, "-m", "carrier_studio", "--workspace", str(workspace)]
    return [*cli, "memory", "import", str(source)]


def _import(workspace: Path, source: Path, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(workspace, source),
        env=user_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _added(stdout: str) -> tuple[int, int]:
    """(added, skipped) from the import's summary line."""
    added = re.search(r"Added ([\d,]+) memories", stdout)
    assert added, stdout
    skipped = re.search(r"skipped ([\d,]+) already stored", stdout)
    return int(added[1].replace(",", "")), int(skipped[1].replace(",", "")) if skipped else 0


@pytest.mark.slow
def test_an_import_stopped_halfway_keeps_its_chunks_and_a_rerun_adds_the_rest(tmp_path):
    source, workspace = tmp_path / "backup.jsonl", tmp_path / "workspace"
    _export_file(source)
    database = workspace / "studio.db"
    proc = _import(workspace, source, tmp_path / "user")
    # Stopped (Ctrl+C) once a chunk is committed and before the last one is.
    _poll(lambda: _stored(database) > 0 or proc.poll() is not None, PROCESS_START_DEADLINE)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=PROCESS_START_DEADLINE)
    kept = _stored(database)
    assert 0 < kept < COUNT, f"the stop landed outside the import ({kept} stored): {err[-800:]}"
    assert proc.returncode == 130, err[-1500:]
    # What it says is what is there (the chunk being written when the stop came counts).
    assert f"Stopped: {kept:,} of {COUNT:,} memories" in out, out + err[-800:]

    again = subprocess.run(
        _command(workspace, source),
        env=user_env(tmp_path / "user"),
        capture_output=True,
        text=True,
        timeout=PROCESS_START_DEADLINE + 120,
    )
    assert again.returncode == 0, again.stderr[-1500:]
    assert _added(again.stdout) == (COUNT - kept, kept)
    _check(database)


@pytest.mark.slow
def test_two_imports_of_one_file_at_once_store_each_memory_once(tmp_path):
    source, workspace = tmp_path / "backup.jsonl", tmp_path / "workspace"
    _export_file(source)
    together = Together(tmp_path / "barrier")
    for i in range(2):
        together.spawn(
            ["--", "--workspace", str(workspace), "memory", "import", str(source)],
            user_env(tmp_path / f"user{i}"),
        )
    together.go()
    results = together.finish(timeout=PROCESS_START_DEADLINE + 120)
    failed = [r.stderr[-1500:] for r in results if r.returncode != 0]
    assert not failed, "\n---\n".join(failed)
    counts = [_added(r.stdout) for r in results]
    assert sum(added for added, _ in counts) == COUNT, counts
    assert all(added + skipped == COUNT for added, skipped in counts), counts
    _check(workspace / "studio.db")
