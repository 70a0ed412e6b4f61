"""The local memory store: studio.db (SQLite through apsw), FTS5 for keywords, a bit index for
vectors.

Why its own connection (``db.connect``) rather than ``Database.run``: memory work comes in big
pieces — importing 100k memories, loading a character's vector index, a re-embedding switch —
and on the shared database thread each would queue chat's small writes behind it. WAL lets this
connection and the studio's one read and write side by side (SQLite still takes one writer at a
time; the busy timeout covers that).

It runs on the same mechanism as `Database`, a `ThreadedConnection` (one worker thread that owns
the connection), but is not a second `Database`: opening differs (no damaged file is replaced
here, an interrupted re-embedding is finished) and so do its errors (`MemoryStoreError`).

Searches run on a second connection, query-only, on a thread of their own (``memory-read``),
and the Memory page's reads (page, count, get, the map's vectors) on a third (``memory-page``):
a recall or a page reads the last commit while an import's transaction is open instead of
queuing behind it on the writer's thread. The search state follows the writes by the
``memory_generation`` counter, which every memory write bumps (`sqlite_follow` says how);
another process writing memories (the CLI) shows as a generation with no edit filed, and the
indexes are then rebuilt on next use, while chat saving a message leaves them as they are.

This module is the store's face and its writes; the rest sits beside it: rows and filters
(`sqlite_rows`), search and the bit indexes (`sqlite_search`), the search thread
(`sqlite_follow`), the kept bit-index chunks (`sqlite_bits`), re-embedding (`sqlite_reembed`),
reading the vectors into the OS cache after opening (`sqlite_warm`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
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
    SearchHit,
    StoredMemory,
)
from carrier_studio.services.memory import sqlite_bits as bits
from carrier_studio.services.memory import sqlite_reembed as reembed
from carrier_studio.services.memory import sqlite_rows as rows
from carrier_studio.services.memory.sqlite_follow import Edit, ReadSide, SearchSide
from carrier_studio.services.memory.sqlite_rows import (
    COLUMNS,
    as_matrix,
    as_vector,
    metadata_json,
    read_space,
    seq_list,
    to_micros,
)
from carrier_studio.services.memory.sqlite_search import Searcher
from carrier_studio.services.memory.sqlite_warm import Warmer
from carrier_studio.services.platform.db import (
    ThreadedConnection,
    connect,
    load_migrations,
    migrate,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

# The search's tuning, read when a store is made (`Searcher` says what each one does).
#: Float vectors rescored per query; 200 gives recall@10 ≈ 0.99 on sentence embeddings.
DEFAULT_CANDIDATES = 200
#: A filter narrower than this many rows is searched exactly (all its vectors rescored).
EXACT_LIMIT = 5000
#: Hybrid search ranks keyword matches of the query's rarest words only, up to this many
#: matching memories in all: bm25 must score every match, so everyday words ("the", "what",
#: found in most of a million memories) would cost most of the query while saying little.
#: Those are left to the vector half. A keyword-only search uses every word.
KEYWORD_BUDGET = 4000


class SqliteMemoryStore(ThreadedConnection):
    """`MemoryStore` on studio.db. Open with ``await SqliteMemoryStore.open(path)``."""

    name = "local"
    #: The store's name in a sentence for the user.
    title = "the local store"

    def __init__(
        self, path: Path | str, *, candidates: int = DEFAULT_CANDIDATES, warm_vectors: bool = True
    ) -> None:
        super().__init__("memory-db")
        self.path = Path(path)
        # Searches: their own connection and thread, following this one's writes.
        self._search_side = SearchSide(
            self.path,
            Searcher(candidates, exact_limit=EXACT_LIMIT, keyword_budget=KEYWORD_BUDGET),
            self._keep_chunks,
        )
        self._changes = self._search_side.changes
        # The Memory page's reads: a query-only connection and thread of their own too.
        self._page_side = ReadSide(self.path)
        # The float vectors read into the OS cache in the background after opening, so
        # recall after a reboot soon runs as on a cached file (`sqlite_warm`).
        self.warmer = Warmer(self.path, self._search_side.idle) if warm_vectors else None

    @property
    def _searcher(self) -> Searcher:
        """The search state (on the search thread; tests look at it)."""
        return self._search_side.searcher

    @property
    def _indexes(self) -> dict[str, BitIndex]:
        """The bit index of each character searched so far (tests look at it)."""
        return self._searcher.indexes

    @classmethod
    async def open(cls, path: Path | str, **kwargs: Any) -> SqliteMemoryStore:
        store = cls(path, **kwargs)
        try:
            await store._call(store._open)
            await store._search_side.open()
            await store._page_side.open()
            if store.warmer is not None:
                store.warmer.start()
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
            if reembed.switching(conn):  # a re-embedding switch was interrupted: finish it
                reembed.finish_switch(conn, self._write, _nothing)
        except apsw.Error as exc:
            raise MemoryStoreError(f"cannot be opened ({exc})", path=self.path) from exc
        self._conn = conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        return await self._call(self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._conn
        if conn is None:
            raise MemoryStoreError("the local memory store is closed", path=self.path)
        try:
            return fn(conn, *args)
        except apsw.Error as exc:
            raise MemoryStoreError(f"memory database error: {exc}", path=self.path) from exc

    def _write(
        self,
        conn: apsw.Connection,
        body: Callable[[], T],
        follow: Callable[[T], Edit] | None = None,
    ) -> T:
        """Run ``body`` in a write transaction that bumps the memory generation; ``follow``
        turns its result into how the search state follows the write (by default the bit
        indexes are dropped and reloaded on next use)."""
        conn.execute("BEGIN IMMEDIATE")
        filed = None
        try:
            result = body()
            (generation,) = conn.execute(
                "UPDATE memory_generation SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
            edit: Edit = Searcher.drop_indexes if follow is None else follow(result)
            # Filed before COMMIT: no snapshot shows the generation before the commit does.
            self._changes.file(generation, edit)
            filed = generation
            conn.execute("COMMIT")
        except BaseException:
            if filed is not None:
                self._changes.failed(filed)  # the reader reloads rather than guess
            if not conn.getautocommit():
                conn.execute("ROLLBACK")
            raise
        return result

    def _keep_chunks(self, character: str, seqs: np.ndarray, codes: np.ndarray, at: int) -> None:
        """Keep as chunks an index the search side read from the rows (a cache: when memories
        changed since generation ``at``, it is not kept). Called on the search thread."""

        def keep(conn: apsw.Connection) -> None:
            try:
                bits.persist(conn, character, seqs, codes, at)
            except apsw.Error as exc:
                log.warning("memory store: the bit index of %s was not kept: %s", character, exc)

        try:
            self._executor.submit(self._guarded, keep)
        except RuntimeError:  # closing: the next opening reads the rows again
            pass

    # -- the space ---------------------------------------------------------------------------

    async def space(self) -> EmbeddingSpace | None:
        return await self._run(read_space)

    @staticmethod
    def _claim_space(conn: apsw.Connection, space: EmbeddingSpace) -> None:
        current = read_space(conn)
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

    async def add(
        self, items: Sequence[StoredMemory], space: EmbeddingSpace, *, keep_existing: bool = False
    ) -> int:
        return await self._run(self._add, list(items), space, keep_existing)

    def _add(
        self,
        conn: apsw.Connection,
        items: list[StoredMemory],
        space: EmbeddingSpace,
        keep_existing: bool = False,
    ) -> int:
        vectors = as_matrix(
            [i.vector for i in items], space.dimension, [i.record.id for i in items]
        )
        codes = pack_signs(vectors) if items else np.empty((0, words_for(space.dimension)))

        def body() -> tuple[list[tuple[int, str]], np.ndarray, np.ndarray]:
            nonlocal items, vectors, codes
            self._claim_space(conn, space)
            if not items:
                return [], np.empty(0, np.int64), codes
            ids = json.dumps([item.record.id for item in items])
            # Adding an id that is stored replaces it: undo, moves and imports can repeat.
            replaced = list(
                conn.execute(
                    "SELECT seq, character, id FROM memories WHERE id IN "
                    "(SELECT value FROM json_each(?))",
                    (ids,),
                )
            )
            if replaced and keep_existing:
                # Checked inside this write transaction: another process's import of the same
                # file cannot slip in between, so each memory is stored (and counted) once.
                stored = {row[2] for row in replaced}
                keep = [i for i, item in enumerate(items) if item.record.id not in stored]
                items = [items[i] for i in keep]
                vectors, codes = vectors[keep], codes[keep]
                replaced = []
                if not items:
                    return [], np.empty(0, np.int64), codes
            replaced = [(seq, character) for seq, character, _ in replaced]
            if replaced:
                conn.execute(
                    f"DELETE FROM memories WHERE seq IN ({seq_list(s for s, _ in replaced)})"
                )
                bits.remove(conn, replaced)
            characters = [item.record.character for item in items]
            bits.claim_new(conn, set(characters))
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
                        metadata_json(r.metadata),
                        blob,
                    )
                    for seq, r, blob in zip(seqs, (i.record for i in items), blobs, strict=True)
                ],
            )
            # The keyword index, in one statement (schema 12 dropped the per-row trigger).
            conn.execute(
                "INSERT INTO memories_fts (rowid, content) "
                "SELECT seq, content FROM memories WHERE seq BETWEEN ? AND ?",
                (int(seqs[0]), int(seqs[-1])),
            )
            conn.executemany(
                "INSERT INTO memory_vectors (memory, vector) VALUES (?, ?)",
                [(int(s), v.tobytes()) for s, v in zip(seqs, vectors, strict=True)],
            )
            of = np.array(characters, dtype=object)
            for character in set(characters):
                mask = of == character
                bits.put(conn, character, seqs[mask], codes[mask])
            return replaced, seqs, codes

        def follow(result) -> Edit:
            replaced, seqs, codes = result
            characters = [item.record.character for item in items]
            return lambda searcher: searcher.added(characters, seqs, codes, replaced)

        _replaced, seqs, _codes = self._write(conn, body, follow)
        return len(seqs)

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
                    metadata_json(record.metadata),
                    seq,
                ),
            )
            code = None
            if vector is not None:
                space = read_space(conn)
                assert space is not None  # a stored memory means a recorded space
                new = as_vector(vector, space.dimension, f"the new vector of {record.id}")
                code = pack_signs(new)
                conn.execute(
                    "UPDATE memory_vectors SET vector=? WHERE memory=?", (new.tobytes(), seq)
                )
                conn.execute("UPDATE memories SET bits=? WHERE seq=?", (code.tobytes(), seq))
                if reembed.switching(conn):  # the staged vector is of the old content
                    conn.execute("DELETE FROM memory_vectors_next WHERE memory=?", (seq,))
            if code is not None or old_character != record.character:
                bits.remove(conn, [(seq, old_character)])
                (blob,) = conn.execute("SELECT bits FROM memories WHERE seq=?", (seq,)).fetchone()
                bits.put(conn, record.character, np.array([seq], np.int64),
                         np.frombuffer(blob, "<u8").reshape(1, -1))  # fmt: skip
            return seq, old_character, code

        def follow(result) -> Edit:
            _seq, old_character, code = result
            return lambda searcher: searcher.updated(
                old_character, record.character, recoded=code is not None
            )

        self._write(conn, body, follow)

    async def delete(self, ids: Sequence[str]) -> list[StoredMemory]:
        return await self._run(self._delete, list(ids))

    def _delete(self, conn: apsw.Connection, ids: list[str]) -> list[StoredMemory]:
        def body() -> list[tuple[int, StoredMemory]]:
            found = list(
                conn.execute(
                    f"SELECT {COLUMNS}, v.vector FROM memories m "
                    "JOIN memory_vectors v ON v.memory = m.seq "
                    "WHERE m.id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            )
            if found:
                conn.execute(f"DELETE FROM memories WHERE seq IN ({seq_list(r[0] for r in found)})")
                bits.remove(conn, [(r[0], r[2]) for r in found])
            return [(r[0], rows.stored(r)) for r in found]

        def follow(removed) -> Edit:
            gone = [(seq, stored.record.character) for seq, stored in removed]
            return lambda searcher: searcher.removed(gone)

        removed = self._write(conn, body, follow)
        order = {mid: n for n, mid in enumerate(ids)}
        return sorted((s for _, s in removed), key=lambda s: order.get(s.record.id, 0))

    async def replace_vectors(
        self, vectors: Sequence[tuple[str, np.ndarray]], space: EmbeddingSpace
    ) -> None:
        await self._run(self._replace_vectors, vectors, space)

    def _replace_vectors(self, conn: apsw.Connection, vectors, space: EmbeddingSpace) -> None:
        """Switch to new vectors in short transactions (`sqlite_reembed` says how)."""
        # Each of its writes drops the search side's indexes (`_write`'s default).
        reembed.replace_vectors(conn, vectors, space, self._write, _nothing)

    # The steps of a switch, by their old names: a test takes them one by one to stop a switch
    # half-way.
    _drop_staging = staticmethod(reembed.drop_staging)
    _stage_vectors = staticmethod(reembed.stage_vectors)
    _begin_switch = staticmethod(reembed.begin_switch)

    # -- reading -----------------------------------------------------------------------------
    # The Memory page's reads run on a read side of their own (`ReadSide`, query-only): the
    # page then shows the last commit while an import holds the write lock, instead of waiting
    # behind the import's transactions on this thread, and its counts do not hold up a recall.
    # Each read is a read transaction of its own, begun after the call: a write this process
    # awaited (an edit, a delete, an undo) has committed by then, so the next read shows it.

    async def get(self, ids: Sequence[str]) -> list[MemoryRecord]:
        return await self._page_side.run(rows.get, list(ids))

    async def page(
        self, filter: MemoryFilter, cursor: str | None = None, limit: int = 200
    ) -> MemoryPage:
        return await self._page_side.run(rows.page, filter, cursor, limit)

    async def count(self, filter: MemoryFilter) -> int:
        return await self._page_side.run(rows.count, filter)

    async def vectors(self, filter: MemoryFilter, limit: int = 5000) -> list[StoredMemory]:
        return await self._page_side.run(rows.vectors, filter, limit)

    async def iter_all(self, batch: int = 500) -> AsyncIterator[list[StoredMemory]]:
        last = 0
        while True:
            found = await self._run(rows.batch_after, last, batch)
            if not found:
                return
            last = found[-1][0]
            yield [stored for _, stored in found]

    # -- search ------------------------------------------------------------------------------

    async def search(self, query: MemoryQuery, vector: np.ndarray | None) -> list[SearchHit]:
        if query.mode == "semantic" and vector is None:
            raise MemoryStoreError("a semantic search needs the query's vector")
        return await self._search_side.run(self._searcher.search, query, vector)

    async def warm(self, character: str) -> None:
        """Load ``character``'s vector index now (≈0.2 s per 100k memories) so its first
        recall does not wait for it: call when a chat with it opens."""
        await self._search_side.run(self._searcher.warm, character)

    # -- closing -----------------------------------------------------------------------------

    async def close(self) -> None:
        if self.warmer is not None:
            await asyncio.to_thread(self.warmer.close)  # stops between two steps
        await self._search_side.close()
        await self._page_side.close()
        await super().close()  # after the reader: it may have handed chunks to keep
        self._searcher.drop_indexes()


def _nothing() -> None:
    """The writes themselves tell the search side (`SqliteMemoryStore._write`)."""
