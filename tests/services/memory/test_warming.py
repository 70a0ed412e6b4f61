"""The local store reads studio.db into the OS cache after opening (sqlite_warm): all of it, in
steps that wait while a search runs, within a memory budget, stopped by close. What a search
returns does not depend on it (it only reads)."""

from __future__ import annotations

import asyncio
import threading

import apsw
import numpy as np

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory import sqlite_warm
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.memory.sqlite_warm import Warmer

SPACE = EmbeddingSpace("warm-test", 64)
#: Long enough that a wait which should end does; the tests never time anything.
PATIENCE = 60


def _memories(start: int, n: int, character: str = "Ada") -> list[StoredMemory]:
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((n, SPACE.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        StoredMemory(
            MemoryRecord(id=f"m{start + i:06d}", character=character, content=f"memory {i}",
                         provenance=Provenance(client="test")),
            v,
        )
        for i, v in enumerate(vectors)
    ]  # fmt: skip


def _filled(path, n: int) -> None:
    async def fill():
        store = await SqliteMemoryStore.open(path, warm_vectors=False)
        try:
            await store.add(_memories(0, n // 2), SPACE)
            await store.add(_memories(n // 2, n - n // 2, "Bo"), SPACE)
            await store.delete(["m000003"])  # a gap in the row numbers
        finally:
            await store.close()

    asyncio.run(fill())


def _idle() -> threading.Event:
    idle = threading.Event()
    idle.set()
    return idle


def test_it_reads_the_bit_index_chunks_and_the_whole_file(tmp_path):
    path = tmp_path / "studio.db"
    _filled(path, 3000)
    conn = apsw.Connection(str(path))
    (chunks,) = conn.execute("SELECT count(*) FROM memory_bit_chunks").fetchone()
    conn.close()
    assert chunks >= 2
    warmer = Warmer(path, _idle(), step=4096)
    warmer.start()
    assert warmer.finished.wait(PATIENCE)
    warmer.close()
    assert warmer.outcome == "done"
    assert warmer.read == path.stat().st_size > 3000 * SPACE.dimension * 4
    assert warmer.chunks == chunks


def test_it_waits_while_a_search_runs_and_close_stops_it(tmp_path):
    path = tmp_path / "studio.db"
    _filled(path, 500)
    idle = threading.Event()  # a search is running
    warmer = Warmer(path, idle, step=4096)
    warmer.start()
    assert warmer.waiting.wait(PATIENCE)
    assert warmer.read == 0
    warmer.close()
    assert warmer.finished.is_set()
    assert warmer.outcome == "closed"
    assert warmer.read == 0
    # And once the search is over, it goes on.
    idle.set()
    warmer = Warmer(path, idle, step=4096)
    warmer.start()
    assert warmer.finished.wait(PATIENCE)
    assert warmer.outcome == "done"
    assert warmer.read == path.stat().st_size


def test_it_stops_at_its_memory_budget(tmp_path):
    path = tmp_path / "studio.db"
    _filled(path, 3000)
    warmer = Warmer(path, _idle(), step=4096, budget=16 * 4096)
    warmer.start()
    assert warmer.finished.wait(PATIENCE)
    assert warmer.outcome == "budget"
    assert warmer.read == 16 * 4096 < path.stat().st_size
    assert sqlite_warm.available_memory() is None or sqlite_warm.available_memory() > 0


def test_a_new_store_is_read_too(tmp_path):
    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            assert store.warmer is not None
            assert await asyncio.to_thread(store.warmer.finished.wait, PATIENCE)
            assert store.warmer.outcome == "done"
            assert store.warmer.read == (tmp_path / "studio.db").stat().st_size
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_store_pauses_it_during_searches_and_stops_it_on_close(tmp_path, monkeypatch):
    path = tmp_path / "studio.db"
    _filled(path, 1000)
    # The store's warmer starts reading only when the test says, once a search runs.
    go = threading.Event()
    run = Warmer._run

    def gated(warmer):
        go.wait()
        run(warmer)

    monkeypatch.setattr(Warmer, "_run", gated)
    held, release = threading.Event(), threading.Event()

    def hold(conn):
        held.set()
        release.wait()

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        side, warmer = store._search_side, store.warmer
        assert warmer is not None
        holding = asyncio.ensure_future(side.run(hold))
        closing = None
        try:
            await asyncio.to_thread(held.wait, PATIENCE)
            assert not side.idle.is_set()
            go.set()
            assert await asyncio.to_thread(warmer.waiting.wait, PATIENCE)
            assert warmer.read == 0
            closing = asyncio.ensure_future(store.close())
            # The store's close stops the warmer first, while the search still runs.
            assert await asyncio.to_thread(warmer.finished.wait, PATIENCE)
            assert warmer.outcome == "closed"
            assert warmer.read == 0
        finally:
            go.set()
            release.set()
            await holding
            await (closing or store.close())

    asyncio.run(scenario())


def test_searches_mark_the_side_idle_again_and_answer_the_same(tmp_path):
    path = tmp_path / "studio.db"
    _filled(path, 400)

    async def scenario():
        query = MemoryQuery("", MemoryFilter(character="Ada"), 5, "semantic")
        vector = _memories(0, 8)[7].vector
        found = {}
        for warm in (False, True):
            store = await SqliteMemoryStore.open(path, warm_vectors=warm)
            try:
                if store.warmer is not None:
                    assert await asyncio.to_thread(store.warmer.finished.wait, PATIENCE)
                found[warm] = [(h.record.id, h.score) for h in await store.search(query, vector)]
                assert store._search_side.idle.is_set()
            finally:
                await store.close()
        assert found[True] == found[False]
        assert found[True][0][0] == "m000007"

    asyncio.run(scenario())
