"""Searches run on the local store's own read connection and thread (sqlite_store,
sqlite_follow): a recall does not queue behind an import's open transaction, it sees the last
commit and never half of one, and the store's own writes are followed without reloading."""

from __future__ import annotations

import asyncio

import numpy as np

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.sqlite_follow import Changes
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.platform.db import connect
from tests.services.memory.held_write import writes_held_open

SPACE = EmbeddingSpace("follow-test", 64)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, SPACE.dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _memory(i: int, v: np.ndarray) -> StoredMemory:
    record = MemoryRecord(
        id=f"m{i:06d}", character="Ada", content=f"memory number {i}",
        provenance=Provenance(client="test"),
    )  # fmt: skip
    return StoredMemory(record, v)


async def _nearest(store: SqliteMemoryStore, q: np.ndarray) -> list[str]:
    query = MemoryQuery("", MemoryFilter(character="Ada"), 5, "semantic")
    return [h.record.id for h in await store.search(query, q)]


def test_a_recall_answers_while_an_import_transaction_is_open(tmp_path):
    rng = np.random.default_rng(1)
    old, new = _unit(rng, 300), _unit(rng, 200)

    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            await store.add([_memory(i, v) for i, v in enumerate(old)], SPACE)
            await store.warm("Ada")
            with writes_held_open(store) as (inside, release):
                importing = asyncio.ensure_future(
                    store.add([_memory(1000 + i, v) for i, v in enumerate(new)], SPACE)
                )
                await asyncio.to_thread(inside.wait)
                # The write transaction is open on the store's writer thread. On that thread
                # this recall would wait for it forever; the guard turns that hang into a
                # failure.
                during = await asyncio.wait_for(_nearest(store, old[7]), 60)
                assert during[0] == "m000007"
                assert not importing.done()
                assert await asyncio.wait_for(_nearest(store, new[3]), 60) != ["m001003"]
                assert all(not i.startswith("m001") for i in await _nearest(store, new[3]))
                release.set()
                assert await importing == 200
            # Read your writes: the import's commit is seen by the next recall.
            assert (await _nearest(store, new[3]))[0] == "m001003"
            assert (await _nearest(store, old[7]))[0] == "m000007"
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_recall_right_after_each_write_sees_it(tmp_path):
    rng = np.random.default_rng(2)
    vectors = _unit(rng, 400)

    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            await store.add([_memory(i, v) for i, v in enumerate(vectors[:300])], SPACE)
            await store.warm("Ada")
            await store.add([_memory(i, v) for i, v in enumerate(vectors[300:], 300)], SPACE)
            assert (await _nearest(store, vectors[350]))[0] == "m000350"
            await store.delete(["m000350", "m000010"])
            assert "m000350" not in await _nearest(store, vectors[350])
            assert "m000010" not in await _nearest(store, vectors[10])
            record = MemoryRecord(id="m000020", character="Ada", content="changed",
                                  provenance=Provenance(client="test"))  # fmt: skip
            await store.update(record, vectors[399])
            assert set((await _nearest(store, vectors[399]))[:2]) == {"m000020", "m000399"}
            assert "m000020" not in (await _nearest(store, vectors[20]))[:1]
            assert len(store._indexes["Ada"]) == 398
        finally:
            await store.close()

    asyncio.run(scenario())


def test_an_add_and_a_delete_keep_the_index_object(tmp_path):
    rng = np.random.default_rng(3)
    vectors = _unit(rng, 100)

    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            await store.add([_memory(i, v) for i, v in enumerate(vectors[:80])], SPACE)
            await store.warm("Ada")
            index = store._indexes["Ada"]
            await store.add([_memory(i, v) for i, v in enumerate(vectors[80:], 80)], SPACE)
            await store.delete(["m000005"])
            assert (await _nearest(store, vectors[90]))[0] == "m000090"
            assert store._indexes["Ada"] is index  # followed by its edits
            assert len(index) == 99
            # Another connection writing memories is a generation with no edit: reload.
            conn = connect(tmp_path / "studio.db")
            try:
                with conn:
                    conn.execute("UPDATE memory_generation SET value = value + 1")
            finally:
                conn.close()
            assert (await _nearest(store, vectors[90]))[0] == "m000090"
            assert store._indexes["Ada"] is not index
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_failed_commit_or_a_gap_makes_the_search_side_reload():
    changes = Changes()
    first, second = (lambda s: None), (lambda s: None)
    changes.file(5, first)
    changes.file(6, second)
    assert changes.take(4, 6) == [first, second]
    changes.file(7, first)
    changes.failed(7)  # COMMIT failed: another process may commit generation 7 instead
    assert changes.take(6, 7) is None
    changes.file(8, first)
    assert changes.take(7, 8) == [first]  # only once
    # Another process committed generation 9 in the instant before a failed COMMIT of ours
    # was taken back, and a search applied our edit meanwhile: the next search reloads.
    changes.file(9, first)
    assert changes.take(8, 9) == [first]
    changes.failed(9)
    changes.file(10, first)
    assert changes.take(9, 10) is None
    changes.file(11, first)
    assert changes.take(10, 11) == [first]
    assert changes.take(11, 12) is None  # generation 12 was not this store's
    changes.file(13, first)
    assert changes.take(-1, 13) is None  # nothing held yet


def test_a_recall_sees_a_turn_remembered_just_before_it(tmp_path):
    from carrier_studio.services.memory.embedders import LocalEmbedder
    from carrier_studio.services.memory.service import MemoryService

    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        service = MemoryService(store, LocalEmbedder())
        try:
            seen = []
            for n in range(5):
                record = MemoryRecord(
                    id=f"turn{n}", character="Ada",
                    content=f"Ada's sister number {n} keeps bees on a rooftop in Lisbon",
                    provenance=Provenance(client="chat", room="other"),
                )  # fmt: skip
                # As ChatService.remember_later: the write runs in the background.
                writing = asyncio.ensure_future(service.remember([record]))
                await asyncio.sleep(0)  # the write has started
                hits = await service.recall("Ada", "who keeps bees in Lisbon?", room="this")
                seen.append(f"turn{n}" in [h.record.id for h in hits])
                await writing
            assert seen == [True] * 5
        finally:
            await service.close()

    asyncio.run(scenario())
