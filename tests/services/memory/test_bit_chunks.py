"""The bit index kept in studio.db (services/memory/sqlite_bits.py): the chunks always hold
exactly the stored rows' codes, whatever writes, reopenings, crashes and re-embeddings happen;
when they cannot be trusted they are rebuilt from the rows, never searched."""

from __future__ import annotations

import asyncio
import dataclasses
import random

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
from carrier_studio.services.memory import sqlite_bits
from carrier_studio.services.memory import sqlite_reembed as reembed
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.platform.db import connect, load_migrations, migrate

SPACE = EmbeddingSpace("chunk-test", 64)
WORDS = 1


def chunks_disagree(conn) -> list[str]:
    """What is wrong with the chunks of the ready characters ([] when they match the rows)."""
    problems = []
    for (character,) in conn.execute("SELECT character FROM memory_bit_ready").fetchall():
        rows = dict(
            conn.execute("SELECT seq, bits FROM memories WHERE character = ?", (character,))
        )
        index = sqlite_bits.read_chunks(conn, character, WORDS)
        if index is None:
            problems.append(f"{character}: ready but unreadable")
            continue
        index._settle()
        held = {
            int(s): index._codes[:, i].astype("<u8").tobytes() for i, s in enumerate(index._rows)
        }
        if len(held) != len(index._rows):
            problems.append(f"{character}: a row twice")
        if held != rows:
            problems.append(
                f"{character}: {len(held.keys() - rows.keys())} extra, "
                f"{len(rows.keys() - held.keys())} missing, "
                f"{sum(held[k] != rows[k] for k in held.keys() & rows.keys())} other codes"
            )
        keys = [r[0] for r in conn.execute(
            "SELECT first_seq FROM memory_bit_chunks WHERE character = ? ORDER BY first_seq",
            (character,))]  # fmt: skip
        seqs = sorted(held)
        if keys and (keys[0] != seqs[0] or len(keys) > len(seqs)):
            problems.append(f"{character}: chunk keys {keys[:3]}… for rows from {seqs[0]}")
    return problems


def _unit(rng: np.random.Generator, n: int = 1) -> np.ndarray:
    v = rng.standard_normal((n, SPACE.dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _memory(i: int, character: str, vector: np.ndarray, tag: str = "") -> StoredMemory:
    record = MemoryRecord(character=character, content=f"memory {i} {tag}", id=f"m{i:06d}",
                          provenance=Provenance("chat"))  # fmt: skip
    return StoredMemory(record, vector)


async def _nearest_ids(store: SqliteMemoryStore, q: np.ndarray, character: str) -> list[str]:
    hits = await store.search(MemoryQuery("", MemoryFilter(character=character), 10,
                                          "semantic"), q)  # fmt: skip
    # An index the search read from the rows is kept by the store's writer thread, after the
    # search returned: wait for that thread's queue before looking at the chunks.
    await store._run(lambda conn: None)
    return [h.record.id for h in hits]


def test_chunks_follow_every_kind_of_write_and_reopening(tmp_path, monkeypatch):
    # Small chunks, so the writes below split, empty and merge many of them.
    monkeypatch.setattr(sqlite_bits, "CHUNK", 7)
    rng = np.random.default_rng(5)
    pick = random.Random(5)
    path = tmp_path / "studio.db"

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        vectors: dict[str, np.ndarray] = {}
        characters: dict[str, str] = {}
        next_id = 0
        try:
            for step in range(120):
                action = pick.random()
                if action < 0.45 or not vectors:
                    batch = []
                    for _ in range(pick.choice((1, 2, 5, 20))):
                        character = pick.choice(("Ada", "Bob", "Cy"))
                        if vectors and pick.random() < 0.1:  # an id stored again: replaced
                            i = int(pick.choice(sorted(vectors))[1:])
                        else:
                            i, next_id = next_id, next_id + 1
                        item = _memory(i, character, _unit(rng)[0])
                        batch = [b for b in batch if b.record.id != item.record.id] + [item]
                    await store.add(batch, SPACE)
                    for item in batch:
                        vectors[item.record.id] = item.vector
                        characters[item.record.id] = item.record.character
                elif action < 0.65:
                    gone = pick.sample(sorted(vectors), min(len(vectors), pick.choice((1, 3, 9))))
                    await store.delete(gone)
                    for mid in gone:
                        del vectors[mid], characters[mid]
                elif action < 0.85:
                    mid = pick.choice(sorted(vectors))
                    (record,) = await store.get([mid])
                    moved = pick.choice(("Ada", "Bob", "Cy"))
                    new = _unit(rng)[0] if pick.random() < 0.5 else None
                    await store.update(dataclasses.replace(record, character=moved), new)
                    characters[mid] = moved
                    if new is not None:
                        vectors[mid] = new
                elif action < 0.95:  # searching loads (and keeps) the chunks
                    character = pick.choice(("Ada", "Bob", "Cy"))
                    await _nearest_ids(store, _unit(rng)[0], character)
                else:  # closed and opened again: the next search reads the chunks
                    await store.close()
                    store = await SqliteMemoryStore.open(path)
                if step % 10 == 9:
                    conn = connect(path)
                    try:
                        assert chunks_disagree(conn) == [], f"after step {step}"
                    finally:
                        conn.close()
            # Every character loaded from its chunks answers as exact search does.
            await store.close()
            store = await SqliteMemoryStore.open(path)
            for character in ("Ada", "Bob", "Cy"):
                mine = [m for m in vectors if characters[m] == character]
                q = _unit(rng)[0]
                exact = sorted(mine, key=lambda m: -float(vectors[m] @ q))[:10]
                assert await _nearest_ids(store, q, character) == exact
        finally:
            await store.close()
        conn = connect(path)
        try:
            ready = {r[0] for r in conn.execute("SELECT character FROM memory_bit_ready")}
            assert ready == {"Ada", "Bob", "Cy"}  # kept, not rebuilt on every load
            assert chunks_disagree(conn) == []
        finally:
            conn.close()

    asyncio.run(scenario())


def test_a_store_reopened_reads_the_chunks_not_the_rows(tmp_path, monkeypatch):
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(1)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        await store.add([_memory(i, "Ada", v) for i, v in enumerate(_unit(rng, 3000))], SPACE)
        await store.close()
        read_rows = []
        real_snapshot = sqlite_bits.snapshot
        monkeypatch.setattr(sqlite_bits, "snapshot",
                            lambda *a: read_rows.append(a[1]) or real_snapshot(*a))  # fmt: skip
        store = await SqliteMemoryStore.open(path)
        try:
            await store.warm("Ada")
            assert len(store._indexes["Ada"]) == 3000
            assert read_rows == []  # a new character's chunks grew with its rows
        finally:
            await store.close()

    asyncio.run(scenario())


def _schema_9_database(path, rng) -> dict[str, np.ndarray]:
    """A studio.db as schema 9 left it, with memories written by that version's SQL."""
    conn = connect(path)
    try:
        migrate(conn, load_migrations()[:9], path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 9
        vectors = _unit(rng, 500)
        with conn:
            conn.execute("INSERT INTO memory_space VALUES (1, ?, ?)", (SPACE.embedder_id, 64))
            for i, v in enumerate(vectors):
                code = np.packbits(v > 0, bitorder="little").tobytes()
                conn.execute(
                    "INSERT INTO memories (seq, id, character, kind, content, client, created_at,"
                    " bits) VALUES (?, ?, ?, 'message', ?, 'chat', ?, ?)",
                    (i + 1, f"m{i:06d}", "Ada" if i % 3 else "Bob", f"old {i}", i, code),
                )
                conn.execute("INSERT INTO memory_vectors VALUES (?, ?)", (i + 1, v.tobytes()))
    finally:
        conn.close()
    return {f"m{i:06d}": v for i, v in enumerate(vectors)}


def test_a_schema_9_database_keeps_its_memories_and_gets_its_chunks(tmp_path):
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(9)
    vectors = _schema_9_database(path, rng)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            assert await store.count(MemoryFilter()) == 500
            q = _unit(rng)[0]
            ada = [m for m in vectors if int(m[1:]) % 3]
            exact = sorted(ada, key=lambda m: -float(vectors[m] @ q))[:10]
            assert await _nearest_ids(store, q, "Ada") == exact  # from the rows, then kept
            await store.add([_memory(900, "Ada", q, "new")], SPACE)
            assert (await _nearest_ids(store, q, "Ada"))[0] == "m000900"
        finally:
            await store.close()
        conn = connect(path)
        try:
            assert conn.execute("PRAGMA user_version").fetchone()[0] >= 10
            ready = {r[0] for r in conn.execute("SELECT character FROM memory_bit_ready")}
            assert ready == {"Ada"}  # Bob was never searched: read from the rows when he is
            assert chunks_disagree(conn) == []
        finally:
            conn.close()

    asyncio.run(scenario())


def test_chunks_that_disagree_with_the_rows_are_rebuilt_not_searched(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_bits, "CHUNK", 64)
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(3)
    vectors = _unit(rng, 200)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            await store.add([_memory(i, "Ada", v) for i, v in enumerate(vectors)], SPACE)
        finally:
            await store.close()
        # Damage the kept chunks behind the store's back: a row they do not know about is
        # deleted through the store, which finds the disagreement and drops them.
        conn = connect(path)
        try:
            with conn:
                conn.execute("DELETE FROM memory_bit_chunks WHERE first_seq = "
                             "(SELECT max(first_seq) FROM memory_bit_chunks)")  # fmt: skip
        finally:
            conn.close()
        store = await SqliteMemoryStore.open(path)
        try:
            await store.delete(["m000198"])  # in the chunk removed
            conn = connect(path)
            try:
                assert conn.execute("SELECT count(*) FROM memory_bit_ready").fetchone() == (0,)
            finally:
                conn.close()
            q = vectors[195]  # a row of the chunk removed: found again after the rebuild
            assert (await _nearest_ids(store, q, "Ada"))[0] == "m000195"
            conn = connect(path)
            try:
                assert chunks_disagree(conn) == []
                assert conn.execute("SELECT count(*) FROM memory_bit_ready").fetchone() == (1,)
            finally:
                conn.close()
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_failed_write_leaves_rows_and_chunks_as_they_were(tmp_path, monkeypatch):
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(4)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            await store.add([_memory(i, "Ada", v) for i, v in enumerate(_unit(rng, 50))], SPACE)
            real_put = sqlite_bits.put

            def put_then_fail(*args):
                real_put(*args)
                raise OSError("disk gone after the chunks were written")

            monkeypatch.setattr(sqlite_bits, "put", put_then_fail)
            with pytest.raises(OSError):
                await store.add([_memory(50, "Ada", _unit(rng)[0])], SPACE)
        finally:
            await store.close()
        conn = connect(path)
        try:
            assert conn.execute("SELECT count(*) FROM memories").fetchone() == (50,)
            assert chunks_disagree(conn) == []
        finally:
            conn.close()

    asyncio.run(scenario())


def test_a_re_embedding_rebuilds_the_chunks_from_the_new_vectors(tmp_path):
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(6)
    new_space = EmbeddingSpace("chunk-test-2", 64)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            await store.add([_memory(i, "Ada", v) for i, v in enumerate(_unit(rng, 300))], SPACE)
            await store.warm("Ada")
            fresh = _unit(rng, 300)
            await store.replace_vectors([(f"m{i:06d}", v) for i, v in enumerate(fresh)],
                                        new_space)  # fmt: skip
            q = fresh[42]
            assert (await _nearest_ids(store, q, "Ada"))[0] == "m000042"
        finally:
            await store.close()
        conn = connect(path)
        try:
            assert chunks_disagree(conn) == []
        finally:
            conn.close()
        store = await SqliteMemoryStore.open(path)  # from the chunks written after the switch
        try:
            assert (await _nearest_ids(store, fresh[7], "Ada"))[0] == "m000007"
        finally:
            await store.close()

    asyncio.run(scenario())


def test_an_index_loaded_half_way_through_a_switch_is_not_kept(tmp_path, monkeypatch):
    """Loaded while some rows have new codes and some old, an index must not be kept as the
    character's chunks: after the switch they would hold old codes."""
    monkeypatch.setattr(reembed, "STAGE_CHUNK", 100)
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(8)
    new_space = EmbeddingSpace("chunk-test-2", 64)
    fresh = _unit(rng, 300)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            await store.add([_memory(i, "Ada", v) for i, v in enumerate(_unit(rng, 300))], SPACE)

            def half_a_switch(conn) -> None:
                reembed.create_staging(conn)
                reembed.stage_vectors(conn, [(f"m{i:06d}", v) for i, v in enumerate(fresh)],
                                      new_space)  # fmt: skip
                store._write(conn, lambda: reembed.begin_switch(conn, new_space))
                store._write(conn, lambda: reembed._apply_chunk(conn))  # 100 of 300 copied

            await store._run(half_a_switch)
            store._searcher.drop_indexes()
            await store.warm("Ada")  # reads the rows: a third new codes, two thirds old
        finally:
            await store.close()
        store = await SqliteMemoryStore.open(path)  # finishes the switch
        try:
            assert (await _nearest_ids(store, fresh[250], "Ada"))[0] == "m000250"
        finally:
            await store.close()
        conn = connect(path)
        try:
            assert chunks_disagree(conn) == []
        finally:
            conn.close()

    asyncio.run(scenario())


def test_chunks_are_not_kept_when_memories_changed_while_they_were_read(tmp_path):
    path = tmp_path / "studio.db"
    rng = np.random.default_rng(2)

    async def scenario():
        store = await SqliteMemoryStore.open(path)
        try:
            await store.add([_memory(i, "Ada", v) for i, v in enumerate(_unit(rng, 20))], SPACE)
        finally:
            await store.close()

    asyncio.run(scenario())
    conn = connect(path)
    try:
        with conn:
            conn.execute("DELETE FROM memory_bit_ready")
        seqs, blob, generation = sqlite_bits.snapshot(conn, "Ada")
        with conn:  # another store's write in between
            conn.execute("UPDATE memory_generation SET value = value + 1")
        codes = np.frombuffer(blob, "<u8").reshape(seqs.size, WORDS)
        assert not sqlite_bits.persist(conn, "Ada", seqs, codes, generation)
        assert conn.execute("SELECT count(*) FROM memory_bit_ready").fetchone() == (0,)
        assert sqlite_bits.persist(conn, "Ada", seqs, codes, generation + 1)
        assert chunks_disagree(conn) == []
    finally:
        conn.close()
