"""A turn's memory recall started before the turn needs it (#21).

Recall (embedding the message, searching the store) took ~10 ms of a turn's first token, most of
it waiting for the embedder's and the store's threads. `RecallAhead` keeps one recall started
while the user types (the Chat page asks after a pause in typing) and hands it to the turn that
sends exactly that text to the same character, room and limit, while the memories are as they
were when it started (the memory service's write `generation`: an edit or delete on the Memory
page, a remembered turn, an import, a move or another store all change it); anything else gets
a fresh one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

#: A recall older than this is not reused: memories stored meanwhile (another conversation, a
#: Discord room) would be missing from it. The turn's own room is never recalled anyway.
MAX_AGE = 30.0


@dataclass(frozen=True)
class RecallKey:
    """What a recall's result depends on: the question, and the memories it searched
    (``memories``, `memories_version`)."""

    character: str
    text: str
    room: str
    client: str
    limit: int
    memories: object = None


def memories_version(memory: Any) -> object:
    """The open memory service's write generation (services.memory.service.MemoryService):
    equal only while no memory was written through it, and never equal across services (a
    store reopened after a settings change or a move). None while none is open."""
    return getattr(getattr(memory, "service", None), "generation", None)


def recall_is_free(memory: Any) -> bool:
    """Whether recalling ahead costs nothing but local work: the local store (not Supabase,
    which every pause in typing would query) and the local embedder (it has a model to `warm`),
    not a paid embeddings API, which would be asked at every pause."""
    service = getattr(memory, "service", None)
    embedder = getattr(service, "embedder", None)
    local = getattr(getattr(service, "store", None), "name", None) == "local"
    return local and embedder is not None and callable(getattr(embedder, "warm", None))


class RecallAhead:
    """One recall started ahead of its turn, taken (once) by the turn that asks the same."""

    def __init__(self) -> None:
        self._key: RecallKey | None = None
        self._task: asyncio.Future[Any] | None = None
        self._started = 0.0

    def start(self, key: RecallKey, recall: Callable[[], Awaitable[Any]]) -> None:
        """Start ``recall`` for ``key``, unless one for the same key is under way or fresh."""
        if key == self._key and self._task is not None and not self._stale():
            return
        self.cancel()
        self._key, self._started = key, time.monotonic()
        self._task = asyncio.ensure_future(recall())
        # Its failure is the turn's to report (it recalls again), not an orphan exception.
        self._task.add_done_callback(lambda f: f.cancelled() or f.exception())

    def take(self, key: RecallKey) -> asyncio.Future[Any] | None:
        """The recall started for ``key`` (None: none, another text, failed or too old)."""
        task, held = self._task, self._key
        self._task = self._key = None
        if task is None:
            return None
        failed = task.done() and (task.cancelled() or task.exception() is not None)
        if held != key or failed or time.monotonic() - self._started > MAX_AGE:
            task.cancel()
            return None
        return task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = self._key = None

    def _stale(self) -> bool:
        task = self._task
        failed = task is not None and task.done() and (task.cancelled() or task.exception())
        return bool(failed) or time.monotonic() - self._started > MAX_AGE
