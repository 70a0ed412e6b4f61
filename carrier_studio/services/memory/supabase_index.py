"""The Supabase vector index, built in the background after a COPY move (#21).

A move over the database URL ends once its rows are stored (`supabase_copy`): the HNSW index is
then built by `IndexBuild`, on the move's connection in a thread of its own, with CREATE INDEX
CONCURRENTLY (searches answer meanwhile by an exact scan, writes go on). That build is most of a
move's time (≈2.4 s of 3.1 s per 10k memories here); `memories_status()` says while it runs (an
advisory lock the building session holds, so a second studio does not build it twice). If the
app quits meanwhile, the server goes on and finishes it (measured on a direct connection: its
session ends only when it answers; a client killed mid-build here, the index was valid and the
status clear 2.5 s later; a pooler may end the session sooner); a build the server stops (its
session terminated, a crash) leaves the index invalid and the store flagged, and the next open
with the database URL builds it again (`SupabaseMemoryStore.open`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from carrier_studio.core.memory.errors import MemoryStoreError
from carrier_studio.services.memory.supabase_copy import CopyLoader

log = logging.getLogger(__name__)


def build_index(loader: CopyLoader, *, connect: bool = False) -> None:
    """Build the vector index a move left (blocking; `IndexBuild` runs it in a thread):
    concurrently, then record it. With ``connect``, on a new connection (a build resumed on
    opening the store). Another session building it already: nothing to do here."""
    import psycopg

    if connect:
        loader.connect()
    try:
        (statement,) = loader.execute("select public.memories_index_build_begin()").fetchone()  # type: ignore[misc]
        if statement is None:
            return
        loader.execute(statement)
        loader.execute("select public.memories_index_build_end()")
    except psycopg.Error as exc:
        if loader.stopping:
            raise MemoryStoreError(
                "the vector index build was stopped", where=loader.where
            ) from None
        raise loader.sql_error("building the vector index", exc) from None


class IndexBuild:
    """A vector index build in the background, on ``loader``'s connection (or a new one with
    ``connect``) in a daemon thread of its own: it outlives the store that started it (a move
    closes its target store at once; the thread's reference keeps this object alive) and never
    holds up the app's exit (the server finishes the build alone, or, stopped, leaves it for the
    next open). ``done`` resolves when it ends; ``failure`` says why it failed, if it did."""

    def __init__(self, loader: CopyLoader, *, connect: bool = False) -> None:
        self.where = loader.where
        self._loader = loader
        loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = loop.create_future()
        self.done.add_done_callback(self._log_failure)
        self._stopped = False
        #: Why the build failed (its message, password left out), for the status line.
        self.failure: str | None = None
        threading.Thread(
            target=self._run, args=(loop, connect), name="supabase-index-build", daemon=True
        ).start()

    @property
    def running(self) -> bool:
        return not self.done.done()

    def _run(self, loop: asyncio.AbstractEventLoop, connect: bool) -> None:
        error: BaseException | None = None
        try:
            build_index(self._loader, connect=connect)
        except BaseException as exc:  # noqa: BLE001 - handed to the loop below
            error = exc
        finally:
            self._loader.close_blocking()

        def settle() -> None:
            if self.done.done():
                return
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)

        # The loop may be gone (the app quit meanwhile): the store's status says the rest.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle)

    async def stop(self) -> None:
        """Stop the build (the server cancels it; the index stays to build) and wait for it."""
        self._stopped = True
        await asyncio.to_thread(self._loader.close_blocking)
        with contextlib.suppress(Exception):
            await asyncio.shield(self.done)

    def _log_failure(self, done: asyncio.Future[None]) -> None:
        # Nobody may await it (the store that started it is closed): the log keeps why it
        # failed, and `failure` lets the store's status line say so.
        if done.cancelled() or self._stopped:
            return
        exc = done.exception()
        if exc is not None:
            self.failure = getattr(exc, "message", None) or str(exc)
            log.warning("Supabase vector index build: %s", exc)
