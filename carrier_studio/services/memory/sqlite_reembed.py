"""Re-embedding in the local memory store: switching every stored vector to a new embedder's
without holding studio.db's write lock for long.

Chat's writes on the other connection give up after the 5 s busy timeout; row by row in one
transaction, 150k memories held the lock ≈8 s. So a switch goes in three steps:

1. The new vectors go into ``memory_vectors_next`` in short transactions (`stage_vectors`); the
   store keeps answering with the old ones.
2. One short transaction checks that every memory has a new vector, records the new space and
   marks the switch as under way in ``memory_switch`` (`begin_switch`).
3. Short transactions copy the staged vectors over, a chunk at a time (`finish_switch`).
   Meanwhile the store searches by keywords only (`switching`), as it does whenever the query's
   space is not the store's, so no one ranks by a mix of old and new vectors. A crash here is
   finished on the next open.

The store's own write transaction (``SqliteMemoryStore._write``: BEGIN IMMEDIATE and the memory
generation) is passed in as ``write``, so a switch tells other connections that memories
changed, as every other write does. Everything here runs on the store's thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import apsw
import numpy as np

from carrier_studio.core.memory.bitindex import codes_to_bytes, pack_signs
from carrier_studio.core.memory.errors import EmbeddingSpaceError
from carrier_studio.core.memory.model import EmbeddingSpace
from carrier_studio.services.memory.sqlite_bits import invalidate as invalidate_bits
from carrier_studio.services.memory.sqlite_rows import as_matrix, read_space

T = TypeVar("T")
#: ``SqliteMemoryStore._write``: runs the body in one write transaction of the store.
Write = Callable[[apsw.Connection, Callable[[], T]], T]

#: Vectors per transaction of a re-embedding switch (staging, then copying over).
STAGE_CHUNK = 2000


def give_way(since: float) -> None:
    """Pause a bulk job's thread between its transactions as long as the last one held the
    lock: back to back, they would starve another connection's writer, whose busy handler
    retries at intervals of up to 100 ms and would keep finding the lock taken."""
    time.sleep(min(0.1, max(0.002, time.perf_counter() - since)))


def switching(conn: apsw.Connection) -> bool:
    """Whether a re-embedding switch is being applied (vectors of two spaces are stored)."""
    return (
        conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'memory_switch'").fetchone()
        is not None
    )


def replace_vectors(
    conn: apsw.Connection,
    vectors: Iterable[tuple[str, np.ndarray]],
    space: EmbeddingSpace,
    write: Write,
    indexes_stale: Callable[[], None],
) -> None:
    """The whole switch, steps 1 to 3; ``indexes_stale`` drops the store's bit indexes."""
    drop_staging(conn)
    create_staging(conn)
    try:
        stage_vectors(conn, vectors, space)
        write(conn, lambda: begin_switch(conn, space))
    except BaseException:
        drop_staging(conn)
        raise
    finish_switch(conn, write, indexes_stale)


def create_staging(conn: apsw.Connection) -> None:
    conn.execute(
        "CREATE TABLE memory_vectors_next "
        "(memory INTEGER PRIMARY KEY, vector BLOB NOT NULL, bits BLOB NOT NULL) STRICT"
    )


def drop_staging(conn: apsw.Connection) -> None:
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
                f"(SELECT memory FROM memory_vectors_next LIMIT {STAGE_CHUNK})"
            )
            if not conn.changes():
                conn.execute("DROP TABLE memory_vectors_next")
                return
        give_way(began)


def stage_vectors(
    conn: apsw.Connection, vectors: Iterable[tuple[str, np.ndarray]], space: EmbeddingSpace
) -> None:
    """Step 1: the new vectors of the memories still stored, a short transaction per chunk."""
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
        matrix = as_matrix([v for _, v in known], space.dimension, [m for m, _ in known])
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
        give_way(began)

    for item in vectors:
        chunk.append(item)
        if len(chunk) >= STAGE_CHUNK:
            flush()
    if chunk:
        flush()


def begin_switch(conn: apsw.Connection, space: EmbeddingSpace) -> None:
    """Step 2, inside a write transaction: check, record the new space, mark the switch."""
    current = read_space(conn)
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
    # The stored bit chunks are of the old vectors: each character's are rebuilt on its next
    # load after the switch (`sqlite_bits`; none is written while it runs).
    invalidate_bits(conn)
    conn.execute("CREATE TABLE IF NOT EXISTS memory_switch (id INTEGER PRIMARY KEY CHECK (id = 1))")
    conn.execute("INSERT OR IGNORE INTO memory_switch (id) VALUES (1)")
    conn.execute(
        "INSERT INTO memory_space (id, embedder_id, dimension) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET embedder_id=excluded.embedder_id, "
        "dimension=excluded.dimension",
        (space.embedder_id, space.dimension),
    )


def finish_switch(conn: apsw.Connection, write: Write, indexes_stale: Callable[[], None]) -> None:
    """Step 3: copy the staged vectors over, a short transaction per chunk, then end the
    switch."""
    while True:
        began = time.perf_counter()
        done = write(conn, lambda: _apply_chunk(conn))
        indexes_stale()
        if done:
            return
        give_way(began)


def _apply_chunk(conn: apsw.Connection) -> bool:
    row = conn.execute(
        f"SELECT max(memory) FROM (SELECT memory FROM memory_vectors_next "
        f"ORDER BY memory LIMIT {STAGE_CHUNK})"
    ).fetchone()
    if row[0] is None:
        conn.execute("DROP TABLE memory_vectors_next")
        conn.execute("DROP TABLE IF EXISTS memory_switch")
        invalidate_bits(conn)  # a write during the switch may have marked a character ready
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
