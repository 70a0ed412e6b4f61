"""Reading the float vectors into the OS page cache after a store opens (like pg_prewarm).

A recall at a million memories rescores ≈500 random rows of ``memory_vectors`` (1.5 GB). With
studio.db in the OS page cache that takes ≈5 ms; after a reboot each of those rows is a random
disk read, and a recall took 60–130 ms here until, hundreds of recalls later, the rows it needs
happened to be cached. Read in key order instead, the table comes off the disk sequentially:
the whole of it (and, by the kernel's read-ahead, most of the file) in ≈2–8 s on this machine's
disk, after which recalls run as on a cached file.

`Warmer` does that on a thread of its own with a query-only connection of its own:

- It reads the table a step of rows at a time, each step a statement (a read transaction) of its
  own, so it never holds back a WAL checkpoint for long and never blocks a writer.
- It waits while a search runs (`idle` clear): a recall then competes with at most the one step
  in flight, not with the whole read. Its thread runs at the lowest CPU priority where the OS
  lets a thread have one (Linux).
- It stops at half the memory the machine has available (estimated from the file's bytes per
  row, which counts the other tables too, so it errs low): past that, warming would push out
  what other programs use, and the OS would drop the first pages again.
- ``close`` stops it between two steps and waits for it.

Nothing here changes what a search returns: it reads what a search would read, earlier.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform
import sys
import threading
from pathlib import Path

import apsw

from carrier_studio.services.platform.db import connect

log = logging.getLogger(__name__)

#: Rows read per step: ≈4 MB of 384-d vectors, a few milliseconds of disk, so a recall that
#: starts meanwhile waits little for the disk.
STEP = 2048
#: Share of the available memory warming may fill.
SHARE = 0.5
#: When the available memory cannot be read (not Linux, no sysconf figure): warm this much.
UNKNOWN_BUDGET = 512 << 20


def available_memory() -> int | None:
    """Bytes of memory the OS could give without swapping (``MemAvailable``), or None."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


class Warmer:
    """Reads ``memory_vectors`` of ``path`` in key order on a thread of its own (see above).

    Args:
        path: studio.db.
        idle: Set while no search runs; the warmer waits for it before each step.
        step: Rows of ``memory_vectors`` per step (default `STEP`).
        budget: Bytes of the file it may bring into the cache; by default `SHARE` of the
            available memory.
    """

    def __init__(
        self,
        path: Path,
        idle: threading.Event,
        *,
        step: int | None = None,
        budget: int | None = None,
    ) -> None:
        self.path = path
        self.idle = idle
        self.step = step or STEP
        self.budget = budget
        #: Rows read so far, by table.
        self.rows: dict[str, int] = {}
        #: Bytes SQLite read from the file so far.
        self.read = 0
        #: Why it stopped: "done", "budget", "closed", "failed", or None while it runs.
        self.outcome: str | None = None
        #: Set when it stopped, whatever the outcome.
        self.finished = threading.Event()
        #: Set while it waits for a search to end (tests look at it).
        self.waiting = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-warm", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop between two steps and wait for the thread (a step takes milliseconds)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        else:
            self.finished.set()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        _lowest_priority()
        conn = None
        try:
            conn = connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            # Its own page cache would only copy what the OS caches: keep it small.
            conn.execute("PRAGMA cache_size=64")
            self.outcome = self._warm(conn)
        except apsw.Error as exc:
            # A cache, not data: recall still works, only slower until the file is cached.
            log.warning("memory store: reading the vectors ahead failed: %s", exc)
            self.outcome = "failed"
        finally:
            if conn is not None:
                conn.close()
            self.finished.set()

    def _warm(self, conn: apsw.Connection) -> str:
        budget = self.budget
        if budget is None:
            available = available_memory()
            budget = int(available * SHARE) if available is not None else UNKNOWN_BUDGET
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        for table, key, reads, per_step in _parts(self.step):
            low, high = conn.execute(f"SELECT min({key}), max({key}) FROM {table}").fetchone()
            at = low if low is not None else 1
            while high is not None and at <= high:
                if not self._wait_idle():
                    return "closed"
                # Pages SQLite read from the file (its cache is too small to hold them): what
                # this warmer brought into the OS cache, the kernel's read-ahead aside.
                self.read = conn.status(apsw.SQLITE_DBSTATUS_CACHE_MISS)[0] * page_size
                if self.read >= budget:
                    return "budget"
                (found,) = conn.execute(
                    f"SELECT {reads} FROM {table} WHERE {key} BETWEEN ? AND ?",
                    (at, at + per_step - 1),
                ).fetchone()
                self.rows[table] = self.rows.get(table, 0) + found
                at += per_step
        self.read = conn.status(apsw.SQLITE_DBSTATUS_CACHE_MISS)[0] * page_size
        return "done"

    def _wait_idle(self) -> bool:
        """Wait until no search runs; False when closing."""
        while not self.idle.is_set():
            self.waiting.set()
            if self._stop.is_set():
                return False
            self.idle.wait(0.05)  # and look at _stop again: close never waits long
        self.waiting.clear()
        return not self._stop.is_set()


def _parts(step: int) -> list[tuple[str, str, str, int]]:
    """What to read, in order: (table, its integer key, an expression over a step's rows that
    reads their pages, rows per step). Each step is ≈4 MB at 384-d when ``step`` is `STEP`."""
    return [
        # The bit index chunks (≈56 KB each): the first recall of a character loads them. A
        # concatenation reads both blobs whole, through all of their overflow pages.
        ("memory_bit_chunks", "id",
         "count(seqs || codes)", max(1, step // 32)),
        # Every recall rescores ≈500 of these rows; counting steps through their leaf pages.
        ("memory_vectors", "memory", "count(*)", step),
        # The ten rows a recall returns.
        ("memories", "seq", "count(*)", 4 * step),
    ]  # fmt: skip


#: ``ioprio_set``'s system call number by machine (Linux has no libc wrapper for it).
IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "arm64": 30}
#: The idle I/O class (3 << IOPRIO_CLASS_SHIFT): its reads go to the disk only when nothing
#: else waits (mq-deadline, bfq), and the kernel's read-ahead for it inherits the class.
IOPRIO_IDLE = 3 << 13


def _lowest_priority() -> None:
    """Run this thread at the lowest CPU and I/O priority: on Linux a thread has a nice value
    and an I/O class of its own (elsewhere ``setpriority`` would lower the whole process, so it
    is left as it is; there the pause while a search runs is all)."""
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, tid, 19)
    number = IOPRIO_SET.get(platform.machine())
    if number is not None:
        with contextlib.suppress(OSError, AttributeError):
            # IOPRIO_WHO_PROCESS (1) with a thread id sets that thread's class only.
            ctypes.CDLL(None, use_errno=True).syscall(number, 1, tid, IOPRIO_IDLE)
