"""How the local store's search thread follows its write thread.

Searches run on a connection of their own, on a thread of their own (`SqliteMemoryStore`), so
a recall never queues behind an import's transaction: WAL lets a reader see the last commit
while a writer holds the write lock. The search state (`Searcher`: the bit index per
character) must then match the snapshot the search reads, not whatever the writer has done
since. It follows by ``memory_generation``, which every memory write bumps by one:

- The writer, inside its transaction, knows the generation its commit will make and how the
  search state follows the write (an `Edit`: add these rows' codes, drop that index). It files
  the edit under that generation *before* ``COMMIT``: a reader whose snapshot shows the
  generation applies it at once. (Filed after, a reader that sees the commit would have to
  wait for ``COMMIT`` to return, and that includes the WAL checkpoint SQLite runs when the WAL
  has grown: tens of milliseconds during an import.) Until the commit is visible no snapshot
  shows that generation, so the edit is not applied early.
- The reader opens a read transaction, reads the generation G of its snapshot and applies the
  edits from the generation it holds up to G, in order. A generation with no edit here —
  another process wrote memories, edits dropped because nobody searched for a long while —
  makes it forget everything and reload (the kept chunks, ≈0.1 s at 1M).
- A failed ``COMMIT`` takes its edit away and makes the reader forget everything at its next
  search: should another process commit the same generation number in between, the edit
  applied by mistake lasts one search at most (and rescoring reads the real rows).

So a recall right after the chat's own write sees it (the write's ``await`` returns after its
commit, which the reader's next snapshot shows), and never uses an index ahead of or behind
the rows it reads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import apsw
import numpy as np

from carrier_studio.core.memory.errors import MemoryStoreError
from carrier_studio.services.memory.sqlite_search import Searcher
from carrier_studio.services.platform.db import connect

T = TypeVar("T")

#: How the search state follows one committed write.
Edit = Callable[["Searcher"], None]

#: Edits kept for a reader that is not searching; beyond this it reloads instead (an import of
#: a million memories files 2,000, each holding its rows' codes).
KEEP = 256


class Changes:
    """The edits filed by the writer and taken by the reader, keyed by generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edits: dict[int, Edit] = {}
        self._failed = False

    # -- the writer's side --------------------------------------------------------------------

    def file(self, generation: int, edit: Edit) -> None:
        """Before committing the write that makes ``generation``."""
        with self._lock:
            self._edits[generation] = edit
            if len(self._edits) > KEEP:
                for old in sorted(self._edits)[: len(self._edits) - KEEP]:
                    del self._edits[old]  # the reader finds a gap and reloads

    def failed(self, generation: int) -> None:
        """The write that would have made ``generation`` did not commit."""
        with self._lock:
            self._edits.pop(generation, None)
            self._failed = True

    # -- the reader's side --------------------------------------------------------------------

    def take(self, held: int, seen: int) -> list[Edit] | None:
        """The edits bringing generation ``held`` to ``seen``, in order, or None when one is
        missing or a commit failed (then reload). Edits up to ``seen`` are dropped here."""
        with self._lock:
            edits = [self._edits.get(g) for g in range(held + 1, seen + 1)] if held >= 0 else []
            for g in [g for g in self._edits if g <= seen]:
                del self._edits[g]
            failed, self._failed = self._failed, False
        if held < 0 or failed or any(e is None for e in edits):
            return None
        return edits  # type: ignore[return-value]


class ReadSide:
    """A query-only connection to studio.db on a thread of its own; every call is one read
    transaction, begun when the call runs, so it shows every commit that came before it (a
    write this process awaited included) and never half of one that is still open.

    The Memory page's reads run on one (`SqliteMemoryStore`): a page or count then waits
    neither behind an import's transactions on the writer's thread nor behind a recall on the
    search thread, and a count that scans a character's memories (≈0.25 s at a million) does
    not hold up chat's recall.

    Args:
        path: studio.db.
        name: The thread's name.
    """

    def __init__(self, path: Path, name: str = "memory-page") -> None:
        self.path = path
        self._conn: apsw.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        try:
            conn = connect(self.path)
            conn.execute("PRAGMA cache_size=-64000")
            conn.execute("PRAGMA query_only=ON")
        except apsw.Error as exc:
            raise MemoryStoreError(f"cannot be opened ({exc})", path=self.path) from exc
        self._conn = conn

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on this side's connection, in one read transaction."""
        if self._conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        return await self._call(self._reading, fn, *args)

    def _reading(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._conn
        if conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        try:
            conn.execute("BEGIN")  # one snapshot for the whole call, begun now
            try:
                return fn(conn, *args)
            finally:
                conn.execute("COMMIT")
        except apsw.Error as exc:
            raise MemoryStoreError(f"memory database error: {exc}", path=self.path) from exc

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._call(conn.close)
        self._executor.shutdown(wait=True)


class SearchSide(ReadSide):
    """The store's search connection (query-only) on its own thread, and the search state,
    brought to each read transaction's snapshot by the edits the writer files in `changes`.

    Args:
        path: studio.db.
        searcher: The search state; touched only on this side's thread.
        keep: Called (on this thread) with (character, seqs, codes, generation) for an index
            read from the rows, for the writer to keep as chunks: this connection writes
            nothing.
    """

    def __init__(
        self,
        path: Path,
        searcher: Searcher,
        keep: Callable[[str, np.ndarray, np.ndarray, int], None],
    ) -> None:
        super().__init__(path, "memory-read")
        self.searcher = searcher
        self.changes = Changes()
        self._keep = keep
        self._held = -1  # the memory generation the search state is of
        #: Set while no search is queued or running: the vectors' warmer (`sqlite_warm`)
        #: reads only then, so a recall competes for the disk with one of its steps at most.
        self.idle = threading.Event()
        self.idle.set()
        self._searches = 0  # queued or running; counted on the event loop's thread

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        self._searches += 1
        self.idle.clear()
        try:
            return await super().run(fn, *args)
        finally:
            self._searches -= 1
            if self._searches == 0:
                self.idle.set()

    def _reading(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in one read transaction whose snapshot the search state is
        brought to first."""
        conn = self._conn
        if conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        try:
            conn.execute("BEGIN")
            try:
                (seen,) = conn.execute(
                    "SELECT value FROM memory_generation WHERE id = 1"
                ).fetchone()
                if seen != self._held:
                    edits = self.changes.take(self._held, seen)
                    if edits is None:
                        self.searcher.forget()
                    else:
                        for edit in edits:
                            edit(self.searcher)
                    self._held = seen
                result = fn(conn, *args)
            finally:
                conn.execute("COMMIT")
        except apsw.Error as exc:
            raise MemoryStoreError(f"memory database error: {exc}", path=self.path) from exc
        for character, seqs, codes in self.searcher.take_unkept():
            self._keep(character, seqs, codes, seen)
        return result
