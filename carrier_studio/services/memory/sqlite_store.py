"""The local memory store: studio.db (SQLite through apsw), FTS5 for keywords, a bit index for
vectors.

Why its own connection (``db.connect``) and worker thread rather than ``Database.run``: memory
work comes in big pieces — importing 100k memories, loading a character's vector index, a
re-embedding switch — and on the shared database thread each would queue chat's small writes
behind it. WAL lets this connection and the studio's one read and write side by side (SQLite
still takes one writer at a time; the busy timeout covers that). The connection also owns an
in-memory index that must follow exactly what that connection has committed.

Vector search is two passes: the packed sign bits of every vector of the character (loaded
lazily from ``memories.bits`` into a `BitIndex`) pick a few hundred candidates by Hamming
distance; their float vectors, read by primary key from ``memory_vectors``, are rescored
exactly. ``PRAGMA data_version`` tells when another connection committed anything; the
``memory_generation`` counter, bumped by every memory write, tells whether that was a memory
(the CLI, a second process) — then the indexes are rebuilt on next use — or only, say, chat
saving a message, which leaves them as they are.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import apsw
import numpy as np

from carrier_studio.core.memory.bitindex import BitIndex, codes_to_bytes, pack_signs, words_for
from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.core.memory.model import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryPage,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    SearchHit,
    StoredMemory,
)
from carrier_studio.core.memory.search import (
    Candidate,
    fts5_query,
    fts5_term,
    fuse,
    keyword_score,
    search_terms,
)
from carrier_studio.services.platform.db import connect, load_migrations, migrate

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_COLUMNS = (
    "m.seq, m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, m.speaker, "
    "m.created_at, m.importance, m.pinned, m.metadata"
)
#: Float vectors rescored per query; 200 gives recall@10 ≈ 0.99 on sentence embeddings.
DEFAULT_CANDIDATES = 200
#: A filter narrower than this many rows is searched exactly (all its vectors rescored).
EXACT_LIMIT = 5000
#: Hybrid search ranks keyword matches of the query's rarest words only, up to this many
#: matching memories in all: bm25 must score every match, so everyday words ("the", "what",
#: found in most of a million memories) would cost most of the query while saying little.
#: Those are left to the vector half. A keyword-only search uses every word.
KEYWORD_BUDGET = 4000
#: Vectors per transaction of a re-embedding switch (staging, then copying over).
_STAGE_CHUNK = 2000


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:  # records are UTC; a naive time is read as UTC, not local
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _record(row: Sequence[Any]) -> MemoryRecord:
    (_seq, mid, character, kind, content, client, room, message_id, speaker, created, imp, pinned,
     meta) = row  # fmt: skip
    return MemoryRecord(
        id=mid,
        character=character,
        kind=kind,
        content=content,
        provenance=Provenance(client=client, room=room, message_id=message_id, speaker=speaker),
        created_at=from_micros(created),
        importance=imp,
        pinned=bool(pinned),
        metadata=json.loads(meta),
    )


def _metadata_json(metadata) -> str:
    # Most memories carry none: skip the encoder (≈10% of a bulk insert).
    return json.dumps(dict(metadata), ensure_ascii=False) if metadata else "{}"


def _where(f: MemoryFilter) -> tuple[str, list[Any]]:
    """SQL conditions on ``memories m`` for a filter (always at least ``1``)."""
    parts, params = ["1"], []
    if f.character is not None:
        parts.append("m.character = ?")
        params.append(f.character)
    if f.kinds is not None:
        kinds = sorted(f.kinds)
        parts.append(f"m.kind IN ({','.join('?' * len(kinds))})" if kinds else "0")
        params.extend(kinds)
    if f.client is not None:
        parts.append("m.client = ?")
        params.append(f.client)
    if f.room is not None:
        parts.append("m.room = ?")
        params.append(f.room)
    if f.since is not None:
        parts.append("m.created_at >= ?")
        params.append(to_micros(f.since))
    if f.until is not None:
        parts.append("m.created_at < ?")
        params.append(to_micros(f.until))
    if f.pinned is not None:
        parts.append("m.pinned = ?")
        params.append(int(f.pinned))
    return " AND ".join(parts), params


def _narrows_beyond_character(f: MemoryFilter) -> bool:
    return any(
        value is not None for value in (f.kinds, f.client, f.room, f.since, f.until, f.pinned)
    )


def _give_way(since: float) -> None:
    """Pause a bulk job's thread between its transactions as long as the last one held the
    lock: back to back, they would starve another connection's writer, whose busy handler
    retries at intervals of up to 100 ms and would keep finding the lock taken."""
    time.sleep(min(0.1, max(0.002, time.perf_counter() - since)))


def _seq_list(seqs) -> str:
    # Integers from our own arrays, never user text: safe to inline, and faster than binding.
    return ",".join(str(int(s)) for s in seqs) or "NULL"


def _as_vector(vector: np.ndarray, dimension: int, what: str) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.size != dimension:
        raise EmbeddingSpaceError(
            f"{what} has {array.size} dimensions; this store's vectors have {dimension}"
        )
    if not np.all(np.isfinite(array)):
        raise MemoryStoreError(f"{what} has a value that is not a finite number")
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def _as_matrix(vectors: list[np.ndarray], dimension: int, ids: list[str]) -> np.ndarray:
    """Many vectors checked and normalised at once (per-row checks cost more than the insert)."""
    if not vectors:
        return np.empty((0, dimension), np.float32)
    sizes = [np.size(v) for v in vectors]
    for mid, size in zip(ids, sizes, strict=True):
        if size != dimension:
            raise EmbeddingSpaceError(
                f"the vector of {mid} has {size} dimensions; this store's vectors have {dimension}"
            )
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), dimension)
    if not np.all(np.isfinite(matrix)):
        raise MemoryStoreError("a vector has a value that is not a finite number")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


class SqliteMemoryStore:
    """`MemoryStore` on studio.db. Open with ``await SqliteMemoryStore.open(path)``."""

    name = "local"

    def __init__(self, path: Path | str, *, candidates: int = DEFAULT_CANDIDATES) -> None:
        self.path = Path(path)
        self.candidates = candidates
        self._conn: apsw.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-db")
        # Touched only on the worker thread:
        self._indexes: dict[str, BitIndex] = {}
        self._characters: set[str] | None = None
        self._data_version = -1
        self._generation = -1
        # How many memories each query word is in (capped), and the writes since counting:
        # chat asks with the same everyday words again and again.
        self._term_counts: dict[str, int] = {}
        self._writes_since_counting = 0

    @classmethod
    async def open(cls, path: Path | str, **kwargs: Any) -> SqliteMemoryStore:
        store = cls(path, **kwargs)
        try:
            await store._call(store._open)
        except BaseException:
            await store.close()
            raise
        return store

    def _open(self) -> None:
        try:
            conn = connect(self.path)
            # A bigger page cache keeps batched inserts with several indexes fast (≈8× here).
            conn.execute("PRAGMA cache_size=-64000")
            migrate(conn, load_migrations(), self.path)
            if self._switching(conn):  # a re-embedding switch was interrupted: finish it
                self._finish_switch(conn)
        except apsw.Error as exc:
            raise MemoryStoreError(f"cannot be opened ({exc})", path=self.path) from exc
        self._conn = conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        return await self._call(self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._conn
        if conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            # Another connection committed; if it wrote memories, what we hold may be stale.
            self._data_version = version
            generation = conn.execute(
                "SELECT value FROM memory_generation WHERE id = 1"
            ).fetchone()[0]
            if generation != self._generation:
                self._indexes.clear()
                self._characters = None
                self._term_counts.clear()
                self._generation = generation
        try:
            return fn(conn, *args)
        except apsw.Error as exc:
            raise MemoryStoreError(f"memory database error: {exc}", path=self.path) from exc

    def _write(self, conn: apsw.Connection, body: Callable[[], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another store may have written memories since we last looked: then our indexes
            # are dropped after this write, as on any read.
            (before,) = conn.execute("SELECT value FROM memory_generation WHERE id = 1").fetchone()
            result = body()
            # Tell other connections' stores that memories changed (ours is kept up to date
            # by the body itself).
            (generation,) = conn.execute(
                "UPDATE memory_generation SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if before != self._generation:
            self._indexes.clear()
            self._characters = None
            self._term_counts.clear()
        self._generation = generation
        return result

    # -- the space ---------------------------------------------------------------------------

    async def space(self) -> EmbeddingSpace | None:
        return await self._run(self._space)

    @staticmethod
    def _space(conn: apsw.Connection) -> EmbeddingSpace | None:
        row = conn.execute("SELECT embedder_id, dimension FROM memory_space").fetchone()
        return EmbeddingSpace(row[0], row[1]) if row else None

    def _claim_space(self, conn: apsw.Connection, space: EmbeddingSpace) -> None:
        current = self._space(conn)
        if current is None:
            conn.execute(
                "INSERT INTO memory_space (id, embedder_id, dimension) VALUES (1, ?, ?)",
                (space.embedder_id, space.dimension),
            )
        elif current != space:
            raise EmbeddingSpaceError(
                f"these vectors come from {space.embedder_id} ({space.dimension}-d) but the "
                f"local memory store holds vectors from {current.embedder_id} "
                f"({current.dimension}-d)",
                hint="Re-embed the memories first, or use the embedder the store was built with.",
            )

    # -- writing -----------------------------------------------------------------------------

    async def add(self, items: Sequence[StoredMemory], space: EmbeddingSpace) -> None:
        await self._run(self._add, list(items), space)

    def _add(self, conn: apsw.Connection, items: list[StoredMemory], space: EmbeddingSpace):
        vectors = _as_matrix(
            [i.vector for i in items], space.dimension, [i.record.id for i in items]
        )
        codes = pack_signs(vectors) if items else np.empty((0, words_for(space.dimension)))

        def body() -> tuple[list[tuple[int, str]], np.ndarray]:
            self._claim_space(conn, space)
            if not items:
                return [], np.empty(0, np.int64)
            ids = json.dumps([item.record.id for item in items])
            # Adding an id that is stored replaces it: undo, moves and imports can repeat.
            replaced = list(
                conn.execute(
                    "SELECT seq, character FROM memories WHERE id IN "
                    "(SELECT value FROM json_each(?))",
                    (ids,),
                )
            )
            if replaced:
                conn.execute(
                    f"DELETE FROM memories WHERE seq IN ({_seq_list(s for s, _ in replaced)})"
                )
            start = (conn.execute("SELECT max(seq) FROM memories").fetchone()[0] or 0) + 1
            seqs = np.arange(start, start + len(items), dtype=np.int64)
            blobs = codes_to_bytes(codes)
            conn.executemany(
                "INSERT INTO memories (seq, id, character, kind, content, client, room, "
                "message_id, speaker, created_at, importance, pinned, metadata, bits) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        int(seq),
                        r.id,
                        r.character,
                        r.kind,
                        r.content,
                        r.provenance.client,
                        r.provenance.room,
                        r.provenance.message_id,
                        r.provenance.speaker,
                        to_micros(r.created_at),
                        float(r.importance),
                        int(r.pinned),
                        _metadata_json(r.metadata),
                        blob,
                    )
                    for seq, r, blob in zip(seqs, (i.record for i in items), blobs, strict=True)
                ],
            )
            conn.executemany(
                "INSERT INTO memory_vectors (memory, vector) VALUES (?, ?)",
                [(int(s), v.tobytes()) for s, v in zip(seqs, vectors, strict=True)],
            )
            return replaced, seqs

        replaced, seqs = self._write(conn, body)
        self._writes_since_counting += len(items)
        # Committed: bring the in-memory indexes along.
        for seq, character in replaced:
            if character in self._indexes:
                self._indexes[character].remove([seq])
        characters = np.array([item.record.character for item in items], dtype=object)
        for character in set(characters.tolist()):
            if self._characters is not None:
                self._characters.add(character)
            index = self._indexes.get(character)
            if index is not None:
                mask = characters == character
                index.add(seqs[mask], codes[mask])

    async def update(self, record: MemoryRecord, vector: np.ndarray | None = None) -> None:
        await self._run(self._update, record, vector)

    def _update(self, conn: apsw.Connection, record: MemoryRecord, vector) -> None:
        def body() -> tuple[int, str, np.ndarray | None]:
            row = conn.execute(
                "SELECT seq, character FROM memories WHERE id = ?", (record.id,)
            ).fetchone()
            if row is None:
                raise MemoryStoreError(f"no memory with id {record.id} is stored")
            seq, old_character = row
            conn.execute(
                "UPDATE memories SET character=?, kind=?, content=?, client=?, room=?, "
                "message_id=?, speaker=?, created_at=?, importance=?, pinned=?, metadata=? "
                "WHERE seq=?",
                (
                    record.character,
                    record.kind,
                    record.content,
                    record.provenance.client,
                    record.provenance.room,
                    record.provenance.message_id,
                    record.provenance.speaker,
                    to_micros(record.created_at),
                    float(record.importance),
                    int(record.pinned),
                    _metadata_json(record.metadata),
                    seq,
                ),
            )
            code = None
            if vector is not None:
                space = self._space(conn)
                assert space is not None  # a stored memory means a recorded space
                new = _as_vector(vector, space.dimension, f"the new vector of {record.id}")
                code = pack_signs(new)
                conn.execute(
                    "UPDATE memory_vectors SET vector=? WHERE memory=?", (new.tobytes(), seq)
                )
                conn.execute("UPDATE memories SET bits=? WHERE seq=?", (code.tobytes(), seq))
                if self._switching(conn):  # the staged vector is of the old content
                    conn.execute("DELETE FROM memory_vectors_next WHERE memory=?", (seq,))
            return seq, old_character, code

        seq, old_character, code = self._write(conn, body)
        if self._characters is not None:
            self._characters.add(record.character)
        if code is not None or old_character != record.character:
            # The row moved between indexes or changed code: drop the affected ones, reload lazily.
            self._indexes.pop(old_character, None)
            self._indexes.pop(record.character, None)

    async def delete(self, ids: Sequence[str]) -> list[StoredMemory]:
        return await self._run(self._delete, list(ids))

    def _delete(self, conn: apsw.Connection, ids: list[str]) -> list[StoredMemory]:
        def body() -> list[tuple[int, StoredMemory]]:
            rows = list(
                conn.execute(
                    f"SELECT {_COLUMNS}, v.vector FROM memories m "
                    "JOIN memory_vectors v ON v.memory = m.seq "
                    "WHERE m.id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            )
            if rows:
                conn.execute(f"DELETE FROM memories WHERE seq IN ({_seq_list(r[0] for r in rows)})")
            return [
                (r[0], StoredMemory(_record(r[:-1]), np.frombuffer(r[-1], np.float32).copy()))
                for r in rows
            ]

        removed = self._write(conn, body)
        for seq, stored in removed:
            index = self._indexes.get(stored.record.character)
            if index is not None:
                index.remove([seq])
        order = {mid: n for n, mid in enumerate(ids)}
        return sorted((s for _, s in removed), key=lambda s: order.get(s.record.id, 0))

    async def replace_vectors(
        self, vectors: Sequence[tuple[str, np.ndarray]], space: EmbeddingSpace
    ) -> None:
        await self._run(self._replace_vectors, vectors, space)

    def _replace_vectors(self, conn: apsw.Connection, vectors, space: EmbeddingSpace) -> None:
        """Switch to new vectors without holding studio.db's write lock for long (chat's
        writes on the other connection give up after the 5 s busy timeout; row by row in one
        transaction, 150k memories held it ≈8 s).

        1. The new vectors go into ``memory_vectors_next`` in short transactions; the store
           keeps answering with the old ones.
        2. One short transaction checks that every memory has a new vector, records the new
           space and marks the switch as under way (``memory_switch``).
        3. Short transactions copy the staged vectors over, a chunk at a time. Meanwhile the
           store searches by keywords only (`_switching`), as it does whenever the query's
           space is not the store's, so no one ranks by a mix of old and new vectors. A crash
           here is finished on the next open (`_finish_switch`).
        """
        self._drop_staging(conn)
        conn.execute(
            "CREATE TABLE memory_vectors_next "
            "(memory INTEGER PRIMARY KEY, vector BLOB NOT NULL, bits BLOB NOT NULL) STRICT"
        )
        try:
            self._stage_vectors(conn, vectors, space)
            self._write(conn, lambda: self._begin_switch(conn, space))
        except BaseException:
            self._drop_staging(conn)
            raise
        self._finish_switch(conn)

    @staticmethod
    def _drop_staging(conn: apsw.Connection) -> None:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_schema WHERE name = 'memory_vectors_next'"
        ).fetchone()
        if not exists:
            return
        while True:  # emptied a chunk at a time: dropping a big table is one long write
            began = time.perf_counter()
            with conn:
                conn.execute(
                    "DELETE FROM memory_vectors_next WHERE memory IN "
                    f"(SELECT memory FROM memory_vectors_next LIMIT {_STAGE_CHUNK})"
                )
                if not conn.changes():
                    conn.execute("DROP TABLE memory_vectors_next")
                    return
            _give_way(began)

    @staticmethod
    def _stage_vectors(conn: apsw.Connection, vectors, space: EmbeddingSpace) -> None:
        chunk: list[tuple[str, np.ndarray]] = []

        def flush() -> None:
            ids = [mid for mid, _ in chunk]
            seqs = dict(
                conn.execute(
                    "SELECT id, seq FROM memories WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            )
            known = [(mid, vector) for mid, vector in chunk if mid in seqs]
            chunk.clear()
            if not known:
                return  # deleted meanwhile: nothing to re-embed
            matrix = _as_matrix([v for _, v in known], space.dimension, [m for m, _ in known])
            codes = codes_to_bytes(pack_signs(matrix))
            began = time.perf_counter()
            with conn:  # one short transaction per chunk
                conn.executemany(
                    "INSERT OR REPLACE INTO memory_vectors_next VALUES (?, ?, ?)",
                    [
                        (seqs[mid], row.tobytes(), code)
                        for (mid, _), row, code in zip(known, matrix, codes, strict=True)
                    ],
                )
            _give_way(began)

        for item in vectors:
            chunk.append(item)
            if len(chunk) >= _STAGE_CHUNK:
                flush()
        if chunk:
            flush()

    def _begin_switch(self, conn: apsw.Connection, space: EmbeddingSpace) -> None:
        current = self._space(conn)
        if current is not None and current != space:
            (missing,) = conn.execute(
                "SELECT count(*) FROM memories m WHERE NOT EXISTS "
                "(SELECT 1 FROM memory_vectors_next n WHERE n.memory = m.seq)"
            ).fetchone()
            if missing:
                raise EmbeddingSpaceError(
                    f"{missing} memories have no vector from {space.embedder_id}; the store "
                    f"keeps its {current.embedder_id} vectors",
                    hint="Run the re-embedding again: it covers memories added meanwhile.",
                )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS memory_switch (id INTEGER PRIMARY KEY CHECK (id = 1))"
        )
        conn.execute("INSERT OR IGNORE INTO memory_switch (id) VALUES (1)")
        conn.execute(
            "INSERT INTO memory_space (id, embedder_id, dimension) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET embedder_id=excluded.embedder_id, "
            "dimension=excluded.dimension",
            (space.embedder_id, space.dimension),
        )

    def _finish_switch(self, conn: apsw.Connection) -> None:
        """Copy the staged vectors over, a short transaction per chunk, then end the switch."""
        while True:
            began = time.perf_counter()
            done = self._write(conn, lambda: self._apply_chunk(conn))
            self._indexes.clear()
            if done:
                return
            _give_way(began)

    @staticmethod
    def _apply_chunk(conn: apsw.Connection) -> bool:
        row = conn.execute(
            f"SELECT max(memory) FROM (SELECT memory FROM memory_vectors_next "
            f"ORDER BY memory LIMIT {_STAGE_CHUNK})"
        ).fetchone()
        if row[0] is None:
            conn.execute("DROP TABLE memory_vectors_next")
            conn.execute("DROP TABLE IF EXISTS memory_switch")
            return True
        (last,) = row
        conn.execute(
            "UPDATE memory_vectors SET vector = n.vector FROM memory_vectors_next n "
            "WHERE n.memory <= ? AND n.memory = memory_vectors.memory",
            (last,),
        )
        conn.execute(
            "UPDATE memories SET bits = n.bits FROM memory_vectors_next n "
            "WHERE n.memory <= ? AND n.memory = memories.seq",
            (last,),
        )
        conn.execute("DELETE FROM memory_vectors_next WHERE memory <= ?", (last,))
        return False

    @staticmethod
    def _switching(conn: apsw.Connection) -> bool:
        """Whether a re-embedding switch is being applied (vectors of two spaces are stored)."""
        return (
            conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'memory_switch'").fetchone()
            is not None
        )

    # -- reading -----------------------------------------------------------------------------

    async def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        return await self._run(self._get, list(ids))

    @staticmethod
    def _get(conn: apsw.Connection, ids: list[str]) -> list[MemoryRecord]:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM memories m WHERE m.id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
        found = {r.id: r for r in map(_record, rows)}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    async def page(
        self, filter: MemoryFilter, cursor: str | None = None, limit: int = 200
    ) -> MemoryPage:
        return await self._run(self._page, filter, cursor, limit)

    @staticmethod
    def _page(conn, f: MemoryFilter, cursor: str | None, limit: int) -> MemoryPage:
        where, params = _where(f)
        if cursor is not None:
            try:
                created, seq = (int(part) for part in cursor.split(":"))
            except ValueError:
                raise MemoryStoreError(
                    f"not a page cursor of the local store: {cursor!r}"
                ) from None
            where += " AND (m.created_at, m.seq) < (?, ?)"
            params += [created, seq]
        rows = list(
            conn.execute(
                f"SELECT {_COLUMNS} FROM memories m WHERE {where} "
                "ORDER BY m.created_at DESC, m.seq DESC LIMIT ?",
                (*params, limit + 1),
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = f"{rows[-1][9]}:{rows[-1][0]}" if more and rows else None
        return MemoryPage([_record(r) for r in rows], next_cursor)

    async def count(self, filter: MemoryFilter) -> int:
        return await self._run(self._count, filter)

    @staticmethod
    def _count(conn, f: MemoryFilter) -> int:
        where, params = _where(f)
        return conn.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0]

    async def vectors(self, filter: MemoryFilter, limit: int = 5000) -> list[StoredMemory]:
        return await self._run(self._vectors, filter, limit)

    @staticmethod
    def _vectors(conn, f: MemoryFilter, limit: int) -> list[StoredMemory]:
        where, params = _where(f)
        rows = conn.execute(
            f"SELECT {_COLUMNS}, v.vector FROM memories m JOIN memory_vectors v "
            f"ON v.memory = m.seq WHERE {where} ORDER BY m.created_at DESC, m.seq DESC LIMIT ?",
            (*params, limit),
        )
        return [
            StoredMemory(_record(r[:-1]), np.frombuffer(r[-1], np.float32).copy()) for r in rows
        ]

    async def iter_all(self, batch: int = 500) -> AsyncIterator[list[StoredMemory]]:
        last = 0
        while True:
            rows = await self._run(self._batch_after, last, batch)
            if not rows:
                return
            last = rows[-1][0]
            yield [stored for _, stored in rows]

    @staticmethod
    def _batch_after(conn, last: int, batch: int) -> list[tuple[int, StoredMemory]]:
        rows = conn.execute(
            f"SELECT {_COLUMNS}, v.vector FROM memories m JOIN memory_vectors v "
            "ON v.memory = m.seq WHERE m.seq > ? ORDER BY m.seq LIMIT ?",
            (last, batch),
        )
        return [
            (r[0], StoredMemory(_record(r[:-1]), np.frombuffer(r[-1], np.float32).copy()))
            for r in rows
        ]

    # -- search ------------------------------------------------------------------------------

    async def search(self, query: MemoryQuery, vector: np.ndarray | None) -> list[SearchHit]:
        if query.mode == "semantic" and vector is None:
            raise MemoryStoreError("a semantic search needs the query's vector")
        return await self._run(self._search, query, vector)

    def _search(self, conn, query: MemoryQuery, vector: np.ndarray | None) -> list[SearchHit]:
        limit = max(0, query.limit)
        if limit == 0:
            return []
        f = query.filter
        semantic: dict[int, float] = {}
        keyword: dict[int, float] = {}
        q = None
        space = self._space(conn)
        if space is not None and vector is not None and self._switching(conn):
            if query.mode == "semantic":
                raise EmbeddingSpaceError(
                    "the memories are being switched to new vectors",
                    hint="Search by keywords, or again in a moment.",
                )
            vector = None  # half the vectors are new, half old: rank by words only
        if query.mode != "keyword" and vector is not None and space is not None:
            q = _as_vector(vector, space.dimension, "the query vector")
            semantic = self._semantic(conn, q, f, limit if query.mode == "semantic" else 2 * limit)
        terms = search_terms(query.text)
        if query.mode == "hybrid" and q is not None:
            terms = self._informative(conn, terms)  # without a vector, words are all there is
        if query.mode != "semantic":
            keyword = self._keyword(conn, terms, f, 2 * limit)
        if query.mode == "hybrid":
            # Complete each hit's parts, so the fused score compares like with like.
            missing_sem = [s for s in keyword if s not in semantic]
            if q is not None and missing_sem:
                semantic.update(self._rescore(conn, q, missing_sem, None))
            missing_kw = [s for s in semantic if s not in keyword]
            if missing_kw:
                keyword.update(self._keyword(conn, terms, f, len(missing_kw), missing_kw))
        seqs = set(semantic) | set(keyword)
        if not seqs:
            return []
        records = {
            r[0]: _record(r)
            for r in conn.execute(
                f"SELECT {_COLUMNS} FROM memories m WHERE m.seq IN ({_seq_list(seqs)})"
            )
        }
        candidates = [
            Candidate(records[s], semantic.get(s), keyword.get(s)) for s in seqs if s in records
        ]
        return fuse(candidates, query.mode, limit)

    def _informative(self, conn, terms: list[str]) -> list[str]:
        """The rarest terms whose matches add up to at most KEYWORD_BUDGET memories."""
        if self._writes_since_counting > KEYWORD_BUDGET // 10:
            self._term_counts.clear()  # counts may have drifted
            self._writes_since_counting = 0
        counts = {}
        for term in terms:
            found = self._term_counts.get(term)
            if found is None:
                found = conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM memories_fts "
                    "WHERE memories_fts MATCH ? LIMIT ?)",
                    (fts5_term(term), KEYWORD_BUDGET + 1),
                ).fetchone()[0]
                self._term_counts[term] = found
            counts[term] = found
        kept, spent = [], 0
        for term in sorted(terms, key=counts.__getitem__):
            if spent + counts[term] > KEYWORD_BUDGET:
                break
            kept.append(term)
            spent += counts[term]
        return kept

    def _keyword(
        self, conn, terms: list[str], f: MemoryFilter, want: int, among: list[int] | None = None
    ) -> dict[int, float]:
        match = fts5_query(terms)
        if match is None:
            return {}
        if among is not None:
            # These rows passed the filter already; FTS5 seeks them by rowid, fast.
            rows = conn.execute(
                "SELECT rowid, -bm25(memories_fts) FROM memories_fts "
                f"WHERE memories_fts MATCH ? AND rowid IN ({_seq_list(among)})",
                (match,),
            )
            return {seq: keyword_score(rank) for seq, rank in rows}
        where, params = _where(f)
        rows = conn.execute(
            "SELECT m.seq, -bm25(memories_fts) FROM memories_fts "
            "JOIN memories m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where} ORDER BY bm25(memories_fts) LIMIT ?",
            (match, *params, want),
        )
        return {seq: keyword_score(rank) for seq, rank in rows}

    def _index(self, conn, character: str, words: int) -> BitIndex:
        index = self._indexes.get(character)
        if index is None or index.words != words:
            index = BitIndex(words)
            rows = list(
                conn.execute("SELECT seq, bits FROM memories WHERE character = ?", (character,))
            )
            if rows:
                index.add_blobs(np.fromiter((r[0] for r in rows), np.int64, len(rows)),
                                b"".join(r[1] for r in rows))  # fmt: skip
            self._indexes[character] = index
        return index

    def _all_characters(self, conn) -> set[str]:
        if self._characters is None:
            self._characters = {
                r[0] for r in conn.execute("SELECT DISTINCT character FROM memories")
            }
        return self._characters

    def _semantic(self, conn, q: np.ndarray, f: MemoryFilter, want: int) -> dict[int, float]:
        narrowed = _narrows_beyond_character(f)
        where, params = _where(f)
        if narrowed:
            rows = [r[0] for r in conn.execute(
                f"SELECT m.seq FROM memories m WHERE {where} LIMIT ?", (*params, EXACT_LIMIT + 1)
            )]  # fmt: skip
            if len(rows) <= EXACT_LIMIT:
                return self._top(self._rescore(conn, q, rows, None), want)
        characters = (
            [f.character] if f.character is not None else sorted(self._all_characters(conn))
        )
        code = pack_signs(q)[0]
        indexes = [self._index(conn, c, code.size) for c in characters]
        total = sum(len(i) for i in indexes)
        # A fixed share of a big index keeps recall@10 ≈ 0.99 at a million (500 candidates).
        count = max(self.candidates, 4 * want, total // 2000)
        while True:
            candidates = np.concatenate(
                [i.nearest(code, count) for i in indexes] or [np.empty(0, np.int64)]
            )
            scored = self._rescore(conn, q, candidates, (where, params) if narrowed else None)
            if len(scored) >= want or count >= total:
                return self._top(scored, want)
            count *= 4  # the filter dropped too many candidates: look further

    @staticmethod
    def _rescore(conn, q: np.ndarray, seqs, condition) -> dict[int, float]:
        if len(seqs) == 0:
            return {}
        if condition is None:
            sql = f"SELECT memory, vector FROM memory_vectors WHERE memory IN ({_seq_list(seqs)})"
            params: list[Any] = []
        else:
            where, params = condition
            sql = (
                "SELECT m.seq, v.vector FROM memories m JOIN memory_vectors v ON v.memory = m.seq "
                f"WHERE m.seq IN ({_seq_list(seqs)}) AND {where}"
            )
        rows = list(conn.execute(sql, params))
        if not rows:
            return {}
        matrix = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
        scores = matrix @ q
        return {r[0]: float(s) for r, s in zip(rows, scores, strict=True)}

    @staticmethod
    def _top(scored: dict[int, float], want: int) -> dict[int, float]:
        best = sorted(scored.items(), key=lambda item: -item[1])[:want]
        return dict(best)

    async def warm(self, character: str) -> None:
        """Load ``character``'s vector index now (≈0.2 s per 100k memories) so its first
        recall does not wait for it: call when a chat with it opens."""
        await self._run(self._warm, character)

    def _warm(self, conn, character: str) -> None:
        space = self._space(conn)
        if space is not None:
            self._index(conn, character, words_for(space.dimension))

    # -- closing -----------------------------------------------------------------------------

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._call(conn.close)
        self._indexes.clear()
        self._executor.shutdown(wait=True)
