"""The keyword index is filled by the store once per batch (schema 12, no per-row trigger):
it holds exactly the stored rows' words, and keyword ranking is what FTS5 computes from the
rows themselves (its own 'rebuild')."""

from __future__ import annotations

import asyncio
import random

import numpy as np

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.platform.db import connect

SPACE = EmbeddingSpace("fts-test", 16)
WORDS = ["coffee", "garden", "rain", "piano", "harbour", "lantern", "cedar", "moss", "ember"]
QUERIES = ["coffee", "garden rain", "piano lantern moss", "ember", "cedar harbour coffee"]


def _corpus(seed: int, n: int, start: int = 0) -> list[StoredMemory]:
    pick = random.Random(seed)
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, SPACE.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        StoredMemory(
            MemoryRecord(
                id=f"m{start + i:05d}",
                character="Ada",
                content=" ".join(pick.choices(WORDS, k=pick.randint(1, 12))),
                provenance=Provenance(client="test"),
            ),  # fmt: skip
            vectors[i],
        )
        for i in range(n)
    ]


def _ranked(conn, match: str) -> list[tuple[int, float]]:
    return conn.execute(
        "SELECT rowid, round(bm25(memories_fts), 9) FROM memories_fts WHERE memories_fts MATCH ?"
        " ORDER BY bm25(memories_fts), rowid",
        (match,),
    ).fetchall()


def test_keywords_are_indexed_per_batch_exactly_as_from_the_rows(tmp_path):
    path = tmp_path / "studio.db"

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            await store.add(_corpus(1, 400), SPACE)
            await store.add(_corpus(2, 300, 400), SPACE)
            await store.add(_corpus(3, 50, 100), SPACE)  # replaces 50 stored ids
            await store.add(_corpus(4, 60, 650), SPACE, keep_existing=True)  # 50 kept, 10 new
            await store.delete(["m00005", "m00420"])
            hits = await store.search(
                MemoryQuery("piano lantern", MemoryFilter(character="Ada"), 5, "keyword"), None
            )
            assert hits and all("piano" in h.record.content for h in hits[:1])
        finally:
            await store.close()

    asyncio.run(scenario())
    conn = connect(path)
    try:
        # Raises if the full-text index disagrees with the rows.
        conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)")
        before = {q: _ranked(conn, " OR ".join(q.split())) for q in QUERIES}
        assert all(before.values())
        (stored,) = conn.execute("SELECT count(*) FROM memories").fetchone()
        assert stored == 708
        with conn:  # FTS5 reindexes every row from the memories table itself
            conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')")
        after = {q: _ranked(conn, " OR ".join(q.split())) for q in QUERIES}
        assert after == before
    finally:
        conn.close()
