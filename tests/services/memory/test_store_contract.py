"""What every MemoryStore does, run against each store (see conftest.py: ``store_factory``).

Vectors here are hand-made in a small space (40 dimensions: not a multiple of 64, so code
padding is exercised) so each test knows the exact cosines it expects.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError

DIM = 40
SPACE = EmbeddingSpace("contract-test", DIM)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def vec(*parts: tuple[int, float]) -> np.ndarray:
    """A unit vector with the given (axis, weight) parts."""
    v = np.zeros(DIM, np.float32)
    for axis, weight in parts:
        v[axis] = weight
    return v / np.linalg.norm(v)


def axis(n: int) -> np.ndarray:
    return vec((n, 1.0))


def rec(content: str, n: int = 0, **kw) -> MemoryRecord:
    kw.setdefault("character", "Ada")
    kw.setdefault("created_at", T0 + timedelta(minutes=n))
    return MemoryRecord(content=content, **kw)


def run(store_factory, scenario):
    async def main():
        store = await store_factory()
        try:
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_add_then_get_keeps_every_field(store_factory):
    async def scenario(store):
        assert await store.space() is None
        record = MemoryRecord(
            character="Ada",
            content="Sam is allergic to peanuts — ü",
            kind="fact",
            provenance=Provenance("discord", room="chan-7", message_id="m1", speaker="sam"),
            created_at=datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC),
            importance=0.9,
            pinned=True,
            metadata={"tags": ["health"], "n": 3},
        )
        other = rec("second", 1)
        await store.add([StoredMemory(record, axis(1)), StoredMemory(other, axis(2))], SPACE)
        assert await store.space() == SPACE
        got = await store.get([other.id, "missing", record.id])
        assert got == [other, record]
        assert await store.count(MemoryFilter()) == 2

    run(store_factory, scenario)


def test_vectors_of_another_space_are_refused(store_factory):
    async def scenario(store):
        await store.add([StoredMemory(rec("a"), axis(0))], SPACE)
        with pytest.raises(EmbeddingSpaceError, match="contract-test"):
            await store.add([StoredMemory(rec("b"), axis(0))], EmbeddingSpace("other", DIM))
        with pytest.raises(EmbeddingSpaceError):
            bad = StoredMemory(rec("c"), np.ones(DIM + 1, np.float32))
            await store.add([bad], SPACE)
        assert await store.count(MemoryFilter()) == 1

    run(store_factory, scenario)


def test_adding_a_stored_id_replaces_it(store_factory):
    async def scenario(store):
        first = rec("old words", 0)
        await store.add([StoredMemory(first, axis(0))], SPACE)
        newer = MemoryRecord(**{**_fields(first), "content": "new words"})
        await store.add([StoredMemory(newer, axis(3))], SPACE)
        assert await store.get([first.id]) == [newer]
        assert await store.count(MemoryFilter()) == 1
        assert await store.search(MemoryQuery("old", mode="keyword"), None) == []
        hits = await store.search(MemoryQuery("x", mode="semantic", limit=1), axis(3))
        assert hits[0].record.id == first.id

    run(store_factory, scenario)


def test_keep_existing_adds_only_new_ids_and_counts_them(store_factory):
    # What a re-run import relies on: stored ids (and their edits) stay, only new ones are
    # written, and the count returned is what was written.
    async def scenario(store):
        first, second = rec("kept as edited", 0), rec("new", 1)
        assert await store.add([StoredMemory(first, axis(0))], SPACE) == 1
        older = MemoryRecord(**{**_fields(first), "content": "from the file"})
        added = await store.add(
            [StoredMemory(older, axis(3)), StoredMemory(second, axis(2))],
            SPACE,
            keep_existing=True,
        )
        assert added == 1
        assert await store.get([first.id, second.id]) == [first, second]
        hits = await store.search(MemoryQuery("x", mode="semantic", limit=1), axis(0))
        assert hits[0].record.id == first.id  # its vector stayed too
        both = [StoredMemory(first, axis(0)), StoredMemory(second, axis(2))]
        assert await store.add(both, SPACE, keep_existing=True) == 0
        assert await store.count(MemoryFilter()) == 2

    run(store_factory, scenario)


def _fields(record: MemoryRecord) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}


def test_update_changes_fields_and_vector(store_factory):
    async def scenario(store):
        a, b = rec("apples are red", 0), rec("the sky is blue", 1)
        await store.add([StoredMemory(a, axis(0)), StoredMemory(b, axis(1))], SPACE)
        edited = MemoryRecord(**{**_fields(a), "content": "pears are green", "pinned": True})
        await store.update(edited, axis(1) * 0.9 + axis(2) * 0.1)
        assert await store.get([a.id]) == [edited]
        assert await store.search(MemoryQuery("apples", mode="keyword"), None) == []
        assert [
            h.record.id for h in await store.search(MemoryQuery("pears", mode="keyword"), None)
        ] == [a.id]
        hits = await store.search(MemoryQuery("?", mode="semantic", limit=2), axis(2))
        assert hits[0].record.id == a.id
        # Without a vector the old one stays.
        await store.update(MemoryRecord(**{**_fields(edited), "importance": 0.1}))
        assert (await store.get([a.id]))[0].importance == pytest.approx(0.1)
        hits = await store.search(MemoryQuery("?", mode="semantic", limit=1), axis(2))
        assert hits[0].record.id == a.id
        with pytest.raises(MemoryStoreError):
            await store.update(rec("never stored"))

    run(store_factory, scenario)


def test_delete_returns_what_undo_needs(store_factory):
    async def scenario(store):
        keep, gone = rec("keep me", 0), rec("forget the password", 1, pinned=True)
        await store.add([StoredMemory(keep, axis(0)), StoredMemory(gone, axis(5))], SPACE)
        removed = await store.delete([gone.id, "missing"])
        assert [s.record for s in removed] == [gone]
        np.testing.assert_allclose(removed[0].vector, axis(5), atol=1e-6)
        assert await store.get([gone.id]) == []
        assert await store.count(MemoryFilter()) == 1
        assert await store.search(MemoryQuery("password", mode="keyword"), None) == []
        semantic = await store.search(MemoryQuery("?", mode="semantic"), axis(5))
        assert gone.id not in [h.record.id for h in semantic]
        await store.add(removed, SPACE)  # undo
        assert await store.get([gone.id]) == [gone]
        hits = await store.search(MemoryQuery("password", mode="keyword"), None)
        assert [h.record.id for h in hits] == [gone.id]
        assert (await store.search(MemoryQuery("?", mode="semantic", limit=1), axis(5)))[
            0
        ].record.id == gone.id

    run(store_factory, scenario)


def test_semantic_search_ranks_by_cosine(store_factory):
    async def scenario(store):
        weights = [0.95, 0.7, 0.4, 0.1]
        records = [rec(f"memory {i}", i) for i in range(len(weights))]
        vectors = [vec((0, w), (1 + i, float(np.sqrt(1 - w * w)))) for i, w in enumerate(weights)]
        far = rec("unrelated", 9)
        await store.add(
            [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
            + [StoredMemory(far, axis(30))],
            SPACE,
        )
        hits = await store.search(MemoryQuery("anything", mode="semantic", limit=3), axis(0))
        assert [h.record.id for h in hits] == [r.id for r in records[:3]]
        for hit, w in zip(hits, weights, strict=False):
            assert hit.semantic == pytest.approx(w, abs=1e-4)
            assert hit.keyword is None
            assert 0 <= hit.score <= 1
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    run(store_factory, scenario)


def test_keyword_search_matches_words_safely(store_factory):
    async def scenario(store):
        a = rec("Sam is allergic to peanuts", 0)
        b = rec("Peanuts and peanuts again: peanuts!", 1)
        c = rec("The launch moved to Thursday", 2)
        await store.add([StoredMemory(r, axis(i)) for i, r in enumerate((a, b, c))], SPACE)
        hits = await store.search(MemoryQuery("peanuts", mode="keyword"), None)
        assert {h.record.id for h in hits} == {a.id, b.id}
        for hit in hits:
            assert 0 < hit.keyword <= 1
            assert hit.semantic is None
        assert await store.search(MemoryQuery("zebra", mode="keyword"), None) == []
        # Query text is words, never search syntax.
        for text in ['"peanuts', "peanuts AND NOT)", "launch*", "NEAR(", "-", ""]:
            await store.search(MemoryQuery(text, mode="keyword"), None)
        hits = await store.search(MemoryQuery('launch" OR (', mode="keyword"), None)
        assert [h.record.id for h in hits] == [c.id]

    run(store_factory, scenario)


def test_hybrid_search_joins_both_parts(store_factory):
    async def scenario(store):
        both = rec("Ada loves green tea in the morning", 0)
        meaning = rec("a warm drink at dawn", 1)
        words = rec("tea towels are in the drawer", 2)
        neither = rec("the car needs new tyres", 3)
        await store.add(
            [
                StoredMemory(both, vec((0, 1.0), (1, 0.2))),
                StoredMemory(meaning, vec((0, 1.0), (2, 0.3))),
                StoredMemory(words, axis(10)),
                StoredMemory(neither, axis(11)),
            ],
            SPACE,
        )
        hits = await store.search(MemoryQuery("green tea", limit=3), axis(0))
        ids = [h.record.id for h in hits]
        assert ids[0] == both.id
        assert set(ids) == {both.id, meaning.id, words.id}
        top = hits[0]
        assert top.semantic == pytest.approx(float(vec((0, 1.0), (1, 0.2))[0]), abs=1e-4)
        assert top.keyword is not None and top.keyword > 0
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        # Without a query vector a hybrid search still finds the words.
        hits = await store.search(MemoryQuery("towels"), None)
        assert [h.record.id for h in hits] == [words.id]

    run(store_factory, scenario)


def test_filters_apply_to_every_mode_and_listing(store_factory):
    async def scenario(store):
        rows = [
            rec("tea fact", 0, kind="fact", provenance=Provenance("chat", room="r1")),
            rec("tea message", 1, provenance=Provenance("discord", room="r2")),
            rec("tea note pinned", 2, kind="note", pinned=True),
            rec("tea from Bob", 3, character="Bob"),
        ]
        await store.add(
            [StoredMemory(r, vec((0, 1.0), (i + 1, 0.1))) for i, r in enumerate(rows)], SPACE
        )
        cases = {
            MemoryFilter(character="Ada"): {0, 1, 2},
            MemoryFilter(character="Bob"): {3},
            MemoryFilter(kinds=frozenset({"fact", "note"})): {0, 2},
            MemoryFilter(kinds=frozenset()): set(),
            MemoryFilter(client="discord"): {1},
            MemoryFilter(room="r1"): {0},
            MemoryFilter(pinned=True): {2},
            MemoryFilter(pinned=False, character="Ada"): {0, 1},
            MemoryFilter(since=T0 + timedelta(minutes=1)): {1, 2, 3},
            MemoryFilter(until=T0 + timedelta(minutes=1)): {0},
            MemoryFilter(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)): {1, 2},
        }
        for f, expected in cases.items():
            want = {rows[i].id for i in expected}
            for mode in ("hybrid", "semantic", "keyword"):
                q = MemoryQuery("tea", filter=f, mode=mode)
                hits = await store.search(q, None if mode == "keyword" else axis(0))
                assert {h.record.id for h in hits} == want, (f, mode)
            assert await store.count(f) == len(want), f
            page = await store.page(f)
            assert {r.id for r in page.records} == want, f

    run(store_factory, scenario)


def test_paging_is_newest_first_and_complete(store_factory):
    async def scenario(store):
        records = [rec(f"m{i}", i % 7, character="Ada" if i % 3 else "Bob") for i in range(40)]
        await store.add([StoredMemory(r, axis(i % DIM)) for i, r in enumerate(records)], SPACE)
        for f in (MemoryFilter(), MemoryFilter(character="Ada")):
            seen, cursor = [], None
            while True:
                page = await store.page(f, cursor, limit=6)
                assert len(page.records) <= 6
                seen += page.records
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            expected = [r for r in records if f.character in (None, r.character)]
            assert len(seen) == len(expected)
            assert {r.id for r in seen} == {r.id for r in expected}
            times = [r.created_at for r in seen]
            assert times == sorted(times, reverse=True)
        empty = await store.page(MemoryFilter(character="nobody"))
        assert empty.records == [] and empty.next_cursor is None

    run(store_factory, scenario)


def test_vectors_and_iter_all_return_everything(store_factory):
    async def scenario(store):
        records = [rec(f"m{i}", i, character="Ada" if i % 2 else "Bob") for i in range(23)]
        vectors = [vec((i % DIM, 1.0), ((i + 1) % DIM, 0.5)) for i in range(23)]
        await store.add([StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)], SPACE)
        by_id = {r.id: (r, v) for r, v in zip(records, vectors, strict=True)}
        ada = await store.vectors(MemoryFilter(character="Ada"))
        assert {s.record.id for s in ada} == {r.id for r in records if r.character == "Ada"}
        for s in ada:
            np.testing.assert_allclose(s.vector, by_id[s.record.id][1], atol=1e-6)
        assert len(await store.vectors(MemoryFilter(), limit=5)) == 5
        batches = [batch async for batch in store.iter_all(batch=5)]
        assert all(len(b) <= 5 for b in batches)
        every = [s for b in batches for s in b]
        assert sorted(s.record.id for s in every) == sorted(by_id)
        for s in every:
            assert s.record == by_id[s.record.id][0]
            np.testing.assert_allclose(s.vector, by_id[s.record.id][1], atol=1e-6)

    run(store_factory, scenario)


def test_replace_vectors_switches_space_only_when_complete(store_factory):
    async def scenario(store):
        a, b = rec("a", 0), rec("b", 1)
        await store.add([StoredMemory(a, axis(0)), StoredMemory(b, axis(1))], SPACE)
        # Same space: a partial repair is fine.
        await store.replace_vectors([(a.id, axis(2))], SPACE)
        hits = await store.search(MemoryQuery("?", mode="semantic", limit=1), axis(2))
        assert hits[0].record.id == a.id
        new_space = EmbeddingSpace("contract-test-v2", 8)
        small = np.eye(8, dtype=np.float32)
        with pytest.raises(EmbeddingSpaceError):
            await store.replace_vectors([(a.id, small[0])], new_space)
        assert await store.space() == SPACE
        hits = await store.search(MemoryQuery("?", mode="semantic", limit=1), axis(1))
        assert hits[0].record.id == b.id
        await store.replace_vectors([(a.id, small[3]), (b.id, small[4])], new_space)
        assert await store.space() == new_space
        hits = await store.search(MemoryQuery("?", mode="semantic", limit=1), small[4])
        assert hits[0].record.id == b.id
        assert hits[0].semantic == pytest.approx(1.0, abs=1e-4)
        with pytest.raises(EmbeddingSpaceError):
            await store.add([StoredMemory(rec("c"), axis(0))], SPACE)

    run(store_factory, scenario)
