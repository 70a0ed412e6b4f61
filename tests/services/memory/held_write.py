"""Hold a local store's next write transaction open, to test what reads do beside it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore


@contextmanager
def writes_held_open(store: SqliteMemoryStore) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Yield ``(inside, release)``: a write started in the block writes its rows and then waits,
    uncommitted, on the store's writer thread; ``inside`` is set once it waits there, and it
    commits when ``release`` is set. Leaving the block releases it and puts the store back."""
    inside, release = threading.Event(), threading.Event()
    real_write = store._write

    def held_write(conn, body, follow=None):
        def held():
            result = body()  # the rows are written, not committed
            inside.set()
            release.wait()
            return result

        return real_write(conn, held, follow)

    store._write = held_write
    try:
        yield inside, release
    finally:
        release.set()
        store._write = real_write
