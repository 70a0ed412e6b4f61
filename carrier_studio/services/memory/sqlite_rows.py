"""Rows and filters of the local memory store: a `MemoryRecord` as a row of ``memories``, a
`MemoryFilter` as SQL conditions, the checks every stored vector passes, and the reads that are
only those (by id, a keyset page, a count, a filter's vectors, everything in batches).

Kept apart from `SqliteMemoryStore` so the store reads as what it does (write, search, switch
vectors) while the column list, the timestamp encoding and the filter's SQL are written once
here. Every function takes the connection and runs on one of the store's threads (the reads on
its query-only read side, `sqlite_follow`); none writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import apsw
import numpy as np

from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.core.memory.model import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryPage,
    MemoryRecord,
    Provenance,
    StoredMemory,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
#: The columns `record` reads, in its order (``seq`` first, ``created_at`` tenth).
COLUMNS = (
    "m.seq, m.id, m.character, m.kind, m.content, m.client, m.room, m.message_id, m.speaker, "
    "m.created_at, m.importance, m.pinned, m.metadata"
)


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:  # records are UTC; a naive time is read as UTC, not local
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def record(row: Sequence[Any]) -> MemoryRecord:
    """The record of a row of `COLUMNS`."""
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


def stored(row: Sequence[Any]) -> StoredMemory:
    """The record and vector of a row of `COLUMNS` followed by ``v.vector``."""
    return StoredMemory(record(row[:-1]), np.frombuffer(row[-1], np.float32).copy())


def metadata_json(metadata) -> str:
    # Most memories carry none: skip the encoder (≈10% of a bulk insert).
    return json.dumps(dict(metadata), ensure_ascii=False) if metadata else "{}"


def where(f: MemoryFilter) -> tuple[str, list[Any]]:
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
    if f.not_from is not None:
        # IS NOT compares NULL as a value: a memory without a room is never left out.
        parts.append("(m.client IS NOT ? OR m.room IS NOT ?)")
        params.extend(f.not_from)
    return " AND ".join(parts), params


def narrows_beyond_character(f: MemoryFilter) -> bool:
    return any(
        value is not None
        for value in (f.kinds, f.client, f.room, f.since, f.until, f.pinned, f.not_from)
    )


def seq_list(seqs: Iterable[Any]) -> str:
    # Integers from our own arrays, never user text: safe to inline, and faster than binding.
    return ",".join(str(int(s)) for s in seqs) or "NULL"


# -- vectors ---------------------------------------------------------------------------------


def as_vector(vector: np.ndarray, dimension: int, what: str) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.size != dimension:
        raise EmbeddingSpaceError(
            f"{what} has {array.size} dimensions; this store's vectors have {dimension}"
        )
    if not np.all(np.isfinite(array)):
        raise MemoryStoreError(f"{what} has a value that is not a finite number")
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def as_matrix(vectors: list[np.ndarray], dimension: int, ids: list[str]) -> np.ndarray:
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
    # Rows already of unit length are kept bit for bit: dividing again moves the last bit
    # (how depends on the CPU's BLAS), so a move or re-import would nudge every vector.
    unit = np.abs(norms - 1.0) <= 4 * np.finfo(np.float32).eps
    return np.where(unit | (norms == 0), matrix, matrix / np.where(norms > 0, norms, 1.0))


def read_space(conn: apsw.Connection) -> EmbeddingSpace | None:
    """The space the stored vectors are in (None while nothing was ever stored)."""
    row = conn.execute("SELECT embedder_id, dimension FROM memory_space").fetchone()
    return EmbeddingSpace(row[0], row[1]) if row else None


# -- reads -----------------------------------------------------------------------------------


def get(conn: apsw.Connection, ids: list[str]) -> list[MemoryRecord]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM memories m WHERE m.id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    )
    found = {r.id: r for r in map(record, rows)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def page(conn: apsw.Connection, f: MemoryFilter, cursor: str | None, limit: int) -> MemoryPage:
    """Newest first; the cursor is ``"created_at micros:seq"`` of the last row given."""
    condition, params = where(f)
    if cursor is not None:
        try:
            created, seq = (int(part) for part in cursor.split(":"))
        except ValueError:
            raise MemoryStoreError(f"not a page cursor of the local store: {cursor!r}") from None
        condition += " AND (m.created_at, m.seq) < (?, ?)"
        params += [created, seq]
    rows = list(
        conn.execute(
            f"SELECT {COLUMNS} FROM memories m WHERE {condition} "
            "ORDER BY m.created_at DESC, m.seq DESC LIMIT ?",
            (*params, limit + 1),
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1][9]}:{rows[-1][0]}" if more and rows else None
    return MemoryPage([record(r) for r in rows], next_cursor)


def count(conn: apsw.Connection, f: MemoryFilter) -> int:
    condition, params = where(f)
    return conn.execute(f"SELECT count(*) FROM memories m WHERE {condition}", params).fetchone()[0]


def vectors(conn: apsw.Connection, f: MemoryFilter, limit: int) -> list[StoredMemory]:
    condition, params = where(f)
    rows = conn.execute(
        f"SELECT {COLUMNS}, v.vector FROM memories m JOIN memory_vectors v "
        f"ON v.memory = m.seq WHERE {condition} ORDER BY m.created_at DESC, m.seq DESC LIMIT ?",
        (*params, limit),
    )
    return [stored(r) for r in rows]


def batch_after(conn: apsw.Connection, last: int, batch: int) -> list[tuple[int, StoredMemory]]:
    """Up to ``batch`` memories after row ``last``, in storage order, with their row numbers."""
    rows = conn.execute(
        f"SELECT {COLUMNS}, v.vector FROM memories m JOIN memory_vectors v "
        "ON v.memory = m.seq WHERE m.seq > ? ORDER BY m.seq LIMIT ?",
        (last, batch),
    )
    return [(r[0], stored(r)) for r in rows]
