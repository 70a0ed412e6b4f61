"""Acknowledged writes to studio.db survive a crash and a power cut, and the file stays whole.

As SQLite's own crash tests do: a real writer (tests/reliability/durable_writer.py, a separate
process saving chat messages through the studio's `Database` and `db.connect` pragmas, one
transaction each, printing each id only after its commit returned) runs on `CrashPointVFS`,
which makes it SIGSTOP itself before a random share of its file operations — between two
writes of a commit, inside a checkpoint, just before a sync. Each time, the test copies
studio.db and its WAL (not the -shm: rebuilt from the WAL on open) and sends SIGCONT. Each
snapshot is then opened as the studio opens it after a crash: it must open, ``PRAGMA
integrity_check`` must say ok and every id printed before the stop must be there. 30 snapshots
per test. The writer is stopped whole, so a copy is never torn by a write in flight.

Two kinds of snapshot:

* **Process crash** (kill -9, a segfault, the OS killing it): the real files, as the OS sees
  them — every ``write()`` made, synced or not (the page cache survives a process). Catches a
  write acknowledged while still inside the process, and a commit torn between its writes
  that does not recover: with ``journal_mode=MEMORY`` or ``OFF`` (and ``synchronous=OFF``)
  about a third of the snapshots cannot be opened or fail integrity_check
  (`test_the_crash_test_catches_a_journal_kept_in_memory`). It cannot see a missing fsync:
  ``synchronous=OFF`` or ``NORMAL`` with WAL still pass.
* **Power cut**: `CrashPointVFS` keeps beside each file an image holding only the writes an
  ``xSync`` covered: what is left when the drive loses every unsynced write. With the
  studio's ``synchronous=FULL`` every snapshot keeps every acknowledged message; with
  ``NORMAL`` most snapshots miss the last few to twenty
  (`test_the_power_cut_test_catches_synchronous_normal`).

What neither can see: an OS or drive that acknowledges an fsync it did not do (macOS's
fsync without F_FULLFSYNC — ``fullfsync`` is set for that —, a drive cache that lies); a cut
that keeps *some* unsynced writes in any order (SQLite's crash tests write random unsynced
sectors; here every unsynced write is dropped, except part of the one sync being applied when
the writer stopped); torn sectors; directory entries (a file created, its directory never
synced); other writers of the same file at the same moment (the memory store's connection
uses the same `db.connect` pragmas, but is not the writer here).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest

from carrier_studio.services.platform.db import connect
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.reliability.processes import REPO

WRITER = Path(__file__).with_name("durable_writer.py")
SNAPSHOTS = 30
#: The share of the writer's file operations it stops itself before: 30 stops take 1–6 s.
STOP_CHANCE = 1 / 1000
#: The end of a hang, not a measure: the writer stops itself every ~0.2 s.
STOP_DEADLINE = 60.0

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGSTOP"), reason="stops the writer with SIGSTOP (POSIX)"
)


class Writer:
    """The writer process, its acknowledged ids, and stopping and resuming it."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.db = tmp / "workspace" / "studio.db"
        self.db.parent.mkdir()
        self.stderr_path = tmp / "writer.stderr"
        self.stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(self.db), *extra],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""
        self.ready = False
        self.acknowledged: list[int] = []

    def drain(self) -> None:
        """Read every line the writer has printed so far."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if line == b"ready":
                self.ready = True
            else:
                self.acknowledged.append(int(line))

    def wait_ready(self) -> None:
        """Until it opened the database (or died)."""
        deadline = time.monotonic() + PROCESS_START_DEADLINE
        while not self.ready:
            if self.proc.poll() is not None:
                raise AssertionError(f"the writer exited: {self.errors()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the writer did not get going: {self.errors()}")
            time.sleep(0.01)
            self.drain()

    def wait_stopped(self) -> set[int]:
        """Until it stops itself at a crash point; every id acknowledged before that."""
        deadline = time.monotonic() + STOP_DEADLINE
        while True:
            pid, status = os.waitpid(self.proc.pid, os.WNOHANG | os.WUNTRACED)
            if pid and os.WIFSTOPPED(status):
                break
            if pid:
                raise AssertionError(f"the writer ended (status {status}): {self.errors()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the writer did not stop in {STOP_DEADLINE} s")
            self.drain()  # keep its stdout flowing while it writes
            time.sleep(0.002)
        self.drain()  # stopped: nothing more can come
        return set(self.acknowledged)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def errors(self) -> str:
        self.stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.wait(timeout=PROCESS_START_DEADLINE)
        self.proc.stdout.close()
        self.stderr.close()


def _snapshot(source: Path, target: Path) -> None:
    """studio.db and its WAL as they are in ``source`` (missing ones stay missing)."""
    target.mkdir()
    for name in ("studio.db", "studio.db-wal"):
        if (source / name).exists():
            shutil.copyfile(source / name, target / name)


def _check(snapshot: Path, acknowledged: set[int]) -> str | None:
    """What is wrong with a snapshot after recovery, or None."""
    if not (snapshot / "studio.db").exists():
        return "studio.db itself is missing"
    try:
        conn = connect(snapshot / "studio.db")  # as the studio opens it: WAL recovered here
    except apsw.Error as exc:
        return f"cannot be opened: {exc!r}"
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            return f"integrity_check: {integrity[:5]}"
        present = {row[0] for row in conn.execute("SELECT id FROM messages")}
    except apsw.Error as exc:
        return f"cannot be read: {exc!r}"
    finally:
        conn.close()
    missing = acknowledged - present
    if missing:
        return (
            f"{len(missing)} of {len(acknowledged)} acknowledged ids missing: {sorted(missing)[:8]}"
        )
    return None


def _run(tmp_path: Path, *, power_cut: bool, writer_args: tuple[str, ...] = ()) -> list[str]:
    """Take SNAPSHOTS snapshots of a running writer; returns what was wrong with each."""
    image = tmp_path / "image"
    image.mkdir()
    args = (*writer_args, "--stop-chance", str(STOP_CHANCE))
    if power_cut:
        args += ("--image", str(image))
    writer = Writer(tmp_path, *args)
    taken: list[tuple[Path, set[int]]] = []
    try:
        writer.wait_ready()
        for i in range(SNAPSHOTS):
            acknowledged = writer.wait_stopped()
            try:
                _snapshot(image if power_cut else writer.db.parent, tmp_path / f"snap{i}")
            finally:
                writer.resume()
            taken.append((tmp_path / f"snap{i}", acknowledged))
            writer.drain()
    finally:
        writer.close()
    assert len(taken[-1][1]) > len(taken[0][1]), "the writer made no progress"
    problems = []
    for snapshot, acknowledged in taken:
        problem = _check(snapshot, acknowledged)
        if problem:
            problems.append(f"{snapshot.name} (writer pid {writer.proc.pid}): {problem}")
    return problems


@pytest.mark.slow
def test_a_process_crash_keeps_every_acknowledged_write(tmp_path):
    assert _run(tmp_path, power_cut=False) == []


@pytest.mark.slow
def test_a_power_cut_keeps_every_acknowledged_write(tmp_path):
    assert _run(tmp_path, power_cut=True) == []


@pytest.mark.slow
def test_the_power_cut_test_catches_synchronous_normal(tmp_path):
    """The check above is not vacuous: WAL + NORMAL syncs only at checkpoints."""
    problems = _run(tmp_path, power_cut=True, writer_args=("--synchronous", "NORMAL"))
    assert any("acknowledged ids missing" in p for p in problems), problems


@pytest.mark.slow
def test_the_crash_test_catches_a_journal_kept_in_memory(tmp_path):
    """The process-crash check is not vacuous: a commit torn without a journal on disk."""
    problems = _run(
        tmp_path, power_cut=False, writer_args=("--journal", "MEMORY", "--synchronous", "OFF")
    )
    assert any("integrity_check" in p or "cannot be" in p for p in problems), problems


def test_every_studio_db_connection_syncs_each_commit(tmp_path):
    """The setting the tests above rely on, as `db.connect` gives it to every user."""
    conn = connect(tmp_path / "studio.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA fullfsync").fetchone()[0] == 1
    finally:
        conn.close()
