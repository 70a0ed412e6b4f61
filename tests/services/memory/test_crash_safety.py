"""Kill -9 a process while it writes memories, 20 times: the database still opens, passes
``PRAGMA integrity_check``, holds every memory whose write had returned, and its kept bit
index agrees with the rows."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from carrier_studio.services.platform.db import connect
from tests.services.memory.test_bit_chunks import chunks_disagree

ROOT = Path(__file__).resolve().parents[3]
KILLS = 20


def _write_until_killed(db: Path, seed: int, after: int) -> list[str]:
    """Start a writer, kill -9 it once it has reported ``after`` ids; every id it reported."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.services.memory.crash_writer", str(db), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported: list[str] = []
    try:
        assert child.stdout is not None
        while len(reported) < after:
            line = child.stdout.readline()
            if not line:  # the writer stopped by itself: that is a failure, show why
                child.wait(timeout=30)
                raise AssertionError(f"writer exited early: {child.stderr.read()}")
            reported.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
        # Ids already in the pipe were printed after their write returned: they count too.
        reported += [line.strip() for line in child.stdout if line.strip()]
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    return reported


@pytest.mark.slow
def test_killed_writers_lose_nothing_that_was_written(tmp_path):
    db = tmp_path / "studio.db"
    rng = random.Random(1234)
    written: list[str] = []
    for kill in range(KILLS):
        written += _write_until_killed(db, seed=kill, after=rng.randint(1, 120))
    conn = connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        fts_ok = conn.execute(
            "INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)"
        )
        assert fts_ok.fetchall() == []  # raises if the full-text index disagrees with the rows
        stored = {row[0] for row in conn.execute("SELECT id FROM memories")}
        vectors = conn.execute(
            "SELECT count(*) FROM memories m JOIN memory_vectors v ON v.memory = m.seq"
        ).fetchone()[0]
        # The bit index kept in the database holds exactly the rows (a kill mid-write included).
        assert conn.execute("SELECT count(*) FROM memory_bit_ready").fetchone()[0] > 0
        assert chunks_disagree(conn) == []
    finally:
        conn.close()
    assert len(written) > KILLS
    missing = [mid for mid in written if mid not in stored]
    assert missing == []
    assert vectors == len(stored)  # every memory kept its vector: no half-written rows
