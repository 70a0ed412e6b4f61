"""Reading studio.db into the OS page cache after a store opens (like pg_prewarm).

A recall at a million memories rescores ≈500 random rows of ``memory_vectors`` (1.5 GB). With
studio.db in the OS page cache that takes ≈5 ms; after a reboot each of those rows is a random
disk read, and a recall took 60–130 ms here until, hundreds of recalls later, the rows it needs
happened to be cached. Read from start to end instead, the file comes off the disk
sequentially, in ≈5–10 s per 2.5 GB on this machine's disk, after which recalls run as on a
cached file.

`Warmer` does that on a thread of its own, first the bit index chunks through SQLite (a first
recall loads them; ≈56 MB at a million, wherever the file keeps them), then the whole file with
plain reads (nothing that can lock, block a writer or hold back a checkpoint):

- It reads a step (1 MB) at a time, with the kernel's read-ahead turned off for its descriptor
  (``POSIX_FADV_RANDOM``), so one step is all it ever has in flight. Read through SQLite in key
  order instead, the kernel read ahead up to 8 MB at a time (this machine's ``read_ahead_kb``),
  and a recall starting meanwhile queued behind it: recall from opening got slower with
  warming than without (p50 83 against 65 ms, bench/memory.py, 3 Dec).
- After each step it leaves the disk alone as long as the step took (`REST`), so it takes
  half the disk's time at most: a disk that shares its bandwidth (a VM's, a cloud volume's)
  would otherwise make a recall wait behind it. It waits while a search is queued or running
  (`idle` clear). Its thread runs at the lowest CPU priority and in the idle I/O class where
  the OS gives a thread its own (Linux).
- It stops at half the memory the machine has available: past that, warming would push out
  what other programs use, and the OS would drop the first pages again.
- ``close`` stops it between two steps and waits for it.

Nothing here changes what a search returns: it reads the file earlier, that is all. The file
holds more than the vectors (keywords, conversations): read whole, it is read in order, which
is what makes it fast; the vector table's pages alone would be a read in many pieces.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform
import sys
import threading
import time
from pathlib import Path

import apsw

log = logging.getLogger(__name__)

#: Bytes read per step: a few milliseconds of disk, all a recall starting meanwhile waits for.
STEP = 1 << 20
#: Bit index chunks per step (≈56 KB each at 384-d).
CHUNK_STEP = 16
#: After each step, rest this many times as long as the step took.
REST = 1.0
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
    """Reads the file ``path`` into the OS cache on a thread of its own (see above).

    Args:
        path: studio.db.
        idle: Set while no search runs; the warmer waits for it before each step.
        step: Bytes per step (default `STEP`).
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
        #: Bytes read so far (of the whole file), and bit index chunks read before.
        self.read = 0
        self.chunks = 0
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
        try:
            self.outcome = self._warm()
        except (OSError, apsw.Error) as exc:
            # A cache, not data: recall still works, only slower until the file is cached.
            log.warning("memory store: reading %s ahead failed: %s", self.path, exc)
            self.outcome = "failed"
        finally:
            self.finished.set()

    def _warm(self) -> str:
        budget = self.budget
        if budget is None:
            available = available_memory()
            budget = int(available * SHARE) if available is not None else UNKNOWN_BUDGET
        if not self._chunks_first():
            return "closed"
        buffer = bytearray(self.step)
        with open(self.path, "rb", buffering=0) as handle:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_RANDOM)
            while True:
                if not self._wait_idle():
                    return "closed"
                if self.read >= budget:
                    return "budget"
                began = time.monotonic()
                got = handle.readinto(buffer)
                if not got:
                    return "done"
                self.read += got
                self._stop.wait((time.monotonic() - began) * REST)

    def _chunks_first(self) -> bool:
        """Read the bit index chunks (≈56 bytes a memory) before the rest: the first recall of a
        character loads them, and where the file keeps them, its reading from the start may
        reach seconds later. False when closing."""
        conn = apsw.Connection(str(self.path), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            (last,) = conn.execute("SELECT max(id) FROM memory_bit_chunks").fetchone()
            at = 1
            while last is not None and at <= last:
                if not self._wait_idle():
                    return False
                # Concatenating reads both blobs whole, through their overflow pages. Each
                # step is a read transaction of its own: no checkpoint waits for it long.
                (found,) = conn.execute(
                    "SELECT count(seqs || codes) FROM memory_bit_chunks WHERE id BETWEEN ? AND ?",
                    (at, at + CHUNK_STEP - 1),
                ).fetchone()
                self.chunks += found
                at += CHUNK_STEP
        except apsw.Error as exc:  # the rest is worth reading all the same
            log.warning("memory store: reading the bit index ahead failed: %s", exc)
        finally:
            conn.close()
        return True

    def _wait_idle(self) -> bool:
        """Wait until no search runs; False when closing."""
        while not self.idle.is_set():
            self.waiting.set()
            if self._stop.is_set():
                return False
            self.idle.wait(0.05)  # and look at _stop again: close never waits long
        self.waiting.clear()
        return not self._stop.is_set()


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
