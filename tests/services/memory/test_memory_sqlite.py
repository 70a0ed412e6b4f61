"""What only the local store does: its in-memory bit index follows every write (its own and
other connections'), narrow filters, common words, and recall against exact search."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    StoredMemory,
)
from carrier_studio.core.memory.bitindex import BitIndex, pack_signs
from carrier_studio.services.memory import sqlite_store as memory_sqlite
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore

DIM = 96
SPACE = EmbeddingSpace("sqlite-test", DIM)


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def near(v: np.ndarray, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    w = v + noise * rng.standard_normal(v.shape).astype(np.float32) / np.sqrt(DIM)
    return w / np.linalg.norm(w)


async def semantic_ids(store, q, f: MemoryFilter | None = None, k=5) -> list[str]:
    f = f or MemoryFilter()
    return [h.record.id for h in await store.search(MemoryQuery("", f, k, "semantic"), q)]


def test_the_index_follows_writes_from_this_and_other_connections(tmp_path):
    async def main():
        rng = np.random.default_rng(1)
        path = tmp_path / "studio.db"
        mine, other = await SqliteMemoryStore.open(path), await SqliteMemoryStore.open(path)
        try:
            vectors = unit(rng, 50)
            records = [MemoryRecord(character="Ada", content=f"m{i}") for i in range(50)]
            items = [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
            await mine.add(items, SPACE)
            await mine.warm("Ada")
            assert "Ada" in mine._indexes
            assert (await semantic_ids(mine, vectors[7]))[0] == records[7].id

            fresh = MemoryRecord(character="Ada", content="from the other process")
            target = unit(rng, 1)[0]
            await other.add([StoredMemory(fresh, target)], SPACE)
            assert (await semantic_ids(mine, near(target, rng)))[0] == fresh.id

            await mine.delete([records[7].id])
            assert records[7].id not in await semantic_ids(mine, vectors[7])
            moved = MemoryRecord(character="Bob", content="m3 for Bob", id=records[3].id)
            await mine.update(moved, target)
            ada = await semantic_ids(mine, target, MemoryFilter(character="Ada"))
            bob = await semantic_ids(mine, target, MemoryFilter(character="Bob"))
            assert moved.id not in ada and bob == [moved.id]
            assert (await semantic_ids(other, vectors[9]))[0] == records[9].id
        finally:
            await mine.close()
            await other.close()

    asyncio.run(main())


def test_other_tables_written_elsewhere_keep_the_index(tmp_path):
    """Chat saves a message through the studio's own connection before every recall: that
    must not make the store reload a character's whole index (seconds at a million)."""
    from carrier_studio.services.platform.db import connect

    async def main():
        rng = np.random.default_rng(3)
        path = tmp_path / "studio.db"
        store = await SqliteMemoryStore.open(path)
        try:
            vectors = unit(rng, 20)
            records = [MemoryRecord(character="Ada", content=f"m{i}") for i in range(20)]
            await store.add([StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)],
                            SPACE)  # fmt: skip
            await store.warm("Ada")
            index = store._indexes["Ada"]
            studio = connect(path)
            try:
                studio.execute("INSERT INTO conversations (character, title) VALUES ('Ada', 'x')")
                assert (await semantic_ids(store, vectors[4]))[0] == records[4].id
                assert store._indexes.get("Ada") is index, "kept: no memory changed"
                # A memory written by another connection does drop it.
                studio.execute("UPDATE memory_generation SET value = value + 1")
                await semantic_ids(store, vectors[4])
                assert store._indexes.get("Ada") is not index
            finally:
                studio.close()
        finally:
            await store.close()

    asyncio.run(main())


def test_narrow_filters_widen_the_candidates(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_sqlite, "EXACT_LIMIT", 5)

    async def main():
        rng = np.random.default_rng(2)
        store = await SqliteMemoryStore.open(tmp_path / "studio.db", candidates=4)
        try:
            vectors = unit(rng, 300)
            records = [
                MemoryRecord(character="Ada", content=f"m{i}", pinned=i % 10 == 0)
                for i in range(300)
            ]
            items = [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
            await store.add(items, SPACE)
            q = near(vectors[40], rng)
            hits = await store.search(MemoryQuery("", MemoryFilter(pinned=True), 8, "semantic"), q)
            assert len(hits) == 8 and all(h.record.pinned for h in hits)
            assert hits[0].record.id == records[40].id
            pinned = np.flatnonzero([r.pinned for r in records])
            exact = pinned[np.argsort(-(vectors[pinned] @ q))][:8]
            overlap = {records[i].id for i in exact} & {h.record.id for h in hits}
            assert len(overlap) >= 6  # approximate, but the widening looked far enough
        finally:
            await store.close()

    asyncio.run(main())


def test_hybrid_leaves_very_common_words_to_the_vectors(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_sqlite, "KEYWORD_BUDGET", 3)

    async def main():
        rng = np.random.default_rng(3)
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            texts = ["the cat", "the dog", "the bird", "the zebra", "a zebra crossing"]
            records = [MemoryRecord(character="Ada", content=t) for t in texts]
            vectors = unit(rng, len(texts))
            items = [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
            await store.add(items, SPACE)
            hybrid = await store.search(MemoryQuery("the zebra", limit=5), unit(rng, 1)[0])
            with_words = {h.record.content for h in hybrid if h.keyword is not None}
            assert with_words == {"the zebra", "a zebra crossing"}
            keyword = await store.search(MemoryQuery("the", mode="keyword", limit=10), None)
            assert len(keyword) == 4  # asked for on its own, a common word still matches
            no_vector = await store.search(MemoryQuery("the", limit=10), None)
            assert len(no_vector) == 4
        finally:
            await store.close()

    asyncio.run(main())


def test_recall_against_exact_search_on_clustered_vectors(tmp_path):
    """Sign-bit candidates + float rescoring find what exact search finds (quality, not
    speed: bench/memory.py measures speed)."""

    async def main():
        rng = np.random.default_rng(4)
        topics = unit(rng, 200)
        n = 20_000
        picks = rng.integers(0, 200, n)
        vectors = np.stack([near(topics[t], rng, 1.0) for t in picks])
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            records = [MemoryRecord(character="Ada", content=f"m{i}", id=str(i)) for i in range(n)]
            items = [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
            await store.add(items, SPACE)
            recalls = []
            for t in rng.integers(0, 200, 20):
                q = near(topics[t], rng, 1.0)
                exact = {str(i) for i in np.argsort(-(vectors @ q))[:10]}
                found = set(await semantic_ids(store, q, k=10))
                recalls.append(len(exact & found) / 10)
            assert np.mean(recalls) >= 0.95
        finally:
            await store.close()

    asyncio.run(main())


def test_bit_index_finds_nearest_codes_and_forgets_removed_rows():
    rng = np.random.default_rng(5)
    vectors = unit(rng, 500)
    index = BitIndex(words=2)
    index.add(np.arange(500), pack_signs(vectors))
    code = pack_signs(vectors[123])[0]
    assert 123 in index.nearest(code, 5)
    assert len(index.nearest(code, 5)) <= 10
    index.remove([123])
    assert 123 not in index.nearest(code, 5)
    assert len(index) == 499
    index.add(np.array([123]), pack_signs(vectors[123]))
    assert 123 in index.nearest(code, 1)
    with pytest.raises(ValueError):
        index.add(np.array([1, 2]), pack_signs(vectors[:1]))


def test_a_page_filtered_by_character_and_source_reads_only_those_rows(tmp_path):
    """The Memory page's query for one character's memories from one source seeks them by an
    index: without it, a source with no memories read all of the character's (0.48 s at 1M)."""
    from carrier_studio.core.memory import MemoryFilter
    from carrier_studio.services.memory import sqlite_rows
    from carrier_studio.services.platform.db import connect

    path = tmp_path / "studio.db"

    async def fill() -> None:
        store = await SqliteMemoryStore.open(path)
        await store.close()

    asyncio.run(fill())
    conn = connect(path)
    try:
        ran: list[tuple[str, tuple]] = []
        conn.exec_trace = lambda _cursor, sql, bindings: ran.append((sql, bindings)) or True
        f = MemoryFilter(character="Ada", kinds=frozenset({"message"}), client="instagram")
        sqlite_rows.page(conn, f, None, 200)  # the query the page makes, as it makes it
        conn.exec_trace = None
        ((sql, bindings),) = ran
        plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", bindings))
    finally:
        conn.close()
    assert "memories_character_client_newest (character=? AND client=?)" in plan, plan
