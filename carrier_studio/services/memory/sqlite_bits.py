"""The bit index kept in studio.db, so opening a store reads it instead of rebuilding it.

Building a character's `BitIndex` from ``memories.bits`` reads one row per memory (an index
lookup, a row, a Python tuple each): 3.5 s for a million. The same codes, kept in
``memory_bit_chunks`` as a few hundred long blobs per million memories (row numbers and codes
of up to `CHUNK` memories each, word-major as `BitIndex` holds them), load in ≈0.1 s.

The chunks are written by the store's own write transactions, beside the rows they describe
(`put`, `remove`), so a crash leaves both or neither: they cannot go stale or be torn the way a
file beside the database could. ``memory_bit_ready`` names the characters whose chunks are
complete; a character not named (a database from before schema 10, a re-embedding's new
vectors, an edit that found the chunks disagreeing with the rows) is loaded from
``memories.bits`` as before and its chunks are written then (`load`). Writes to a character that
is not ready leave its chunks alone: the rebuild will read them from the rows.

Chunk ``first_seq`` keys order a character's chunks; a chunk holds the row numbers from its key
up to the next chunk's, sorted. New rows have the highest numbers, so they go to the last chunk,
which is split into whole chunks as it fills.
"""

from __future__ import annotations

from collections.abc import Iterable

import apsw
import numpy as np

from carrier_studio.core.memory.bitindex import BitIndex

#: Rows per chunk: small enough that a chat turn's new memory rewrites ≈56 KB (384-d),
#: large enough that a million rows are ≈1,000 blobs.
CHUNK = 1024
#: How much of studio.db `read_chunks` maps (the whole file, in practice).
MMAP_BYTES = 1 << 40


def is_ready(conn: apsw.Connection, character: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM memory_bit_ready WHERE character = ?", (character,)).fetchone()
        is not None
    )


def read_chunks(conn: apsw.Connection, character: str, words: int) -> BitIndex | None:
    """``character``'s index from its chunks, or None when they are not ready (or are of
    another code width: a re-embedding to another dimension)."""
    if not is_ready(conn, character):
        return None
    seq_parts, code_parts = [], []
    # Read through a memory map: the blobs' overflow pages are then copied straight from the
    # OS cache instead of through SQLite's page cache, 3× faster here (0.07 against 0.24 s per
    # million). Only for this read: a disk error under a map is a SIGBUS, not an exception.
    conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    try:
        found = conn.execute(
            "SELECT seqs, codes FROM memory_bit_chunks WHERE character = ? ORDER BY first_seq",
            (character,),
        ).fetchall()
    finally:
        conn.execute("PRAGMA mmap_size=0")
    for seqs, codes in found:
        if len(codes) != len(seqs) * words:  # 8-byte seqs, 8-byte words
            return None
        seq_parts.append(seqs)
        code_parts.append(codes)
    rows = np.frombuffer(b"".join(seq_parts), dtype="<i8").astype(np.int64, copy=False)
    matrix = np.empty((words, rows.size), dtype=np.uint64)
    at = 0
    for part in code_parts:
        n = len(part) // (8 * words)
        matrix[:, at : at + n] = np.frombuffer(part, dtype="<u8").reshape(words, n)
        at += n
    index = BitIndex(words)
    index.load(rows, matrix)
    return index


def snapshot(conn: apsw.Connection, character: str) -> tuple[np.ndarray, bytes, int]:
    """``character``'s row numbers and packed codes from ``memories.bits``, with the memory
    generation they are of (read in one transaction, so the three agree)."""
    with conn:  # a read transaction: rows and generation from one snapshot
        (generation,) = conn.execute("SELECT value FROM memory_generation WHERE id = 1").fetchone()
        found = conn.execute(
            "SELECT seq, bits FROM memories WHERE character = ?", (character,)
        ).fetchall()
    seqs = np.fromiter((r[0] for r in found), np.int64, len(found))
    return seqs, b"".join(r[1] for r in found), generation


def persist(
    conn: apsw.Connection, character: str, seqs: np.ndarray, codes: np.ndarray, generation: int
) -> bool:
    """Write ``character``'s chunks from a `snapshot` and mark them ready, unless memories
    changed since (then False: the next load tries again). Never waits long for the write lock:
    this is a cache, and chat's writes come first."""
    order = np.argsort(seqs, kind="stable")
    blobs = list(_chunk_blobs(seqs[order], np.asarray(codes)[order]))  # before taking the lock
    conn.setbusytimeout(0)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except apsw.BusyError:
        return False
    finally:
        conn.setbusytimeout(5000)
    try:
        (now,) = conn.execute("SELECT value FROM memory_generation WHERE id = 1").fetchone()
        switching = conn.execute(
            "SELECT 1 FROM sqlite_schema WHERE name = 'memory_switch'"
        ).fetchone()
        if now != generation or switching:  # a re-embedding's half-copied bits are no base
            conn.execute("ROLLBACK")
            return False
        _drop(conn, character)
        conn.executemany(
            "INSERT INTO memory_bit_chunks (character, first_seq, seqs, codes) VALUES (?,?,?,?)",
            [(character, first, s, c) for first, s, c in blobs],
        )
        conn.execute("INSERT INTO memory_bit_ready (character) VALUES (?)", (character,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True


# -- following writes (inside the store's write transaction) ----------------------------------


def put(conn: apsw.Connection, character: str, seqs: np.ndarray, codes: np.ndarray) -> None:
    """Rows ``seqs`` with ``codes`` (n, words) were stored for ``character``."""
    if len(seqs) == 0 or not is_ready(conn, character):
        return
    order = np.argsort(seqs, kind="stable")
    seqs = np.asarray(seqs, np.int64)[order]
    codes = np.asarray(codes, np.uint64)[order]
    chunks = _chunk_keys(conn, character)
    if chunks.size == 0:
        for first, s, c in _chunk_blobs(seqs, codes):
            _insert(conn, character, first, s, c)
        return
    # Each new row goes to the chunk whose range holds it (the first chunk for a row below all).
    at = np.maximum(np.searchsorted(chunks, seqs, side="right") - 1, 0)
    for slot in np.unique(at):
        mask = at == slot
        old_seqs, old_codes = _read(conn, character, int(chunks[slot]))
        merged = np.concatenate([old_seqs, seqs[mask]])
        if np.unique(merged).size != merged.size:
            invalidate(conn, [character])  # the chunks disagree with the rows: rebuild
            return
        order = np.argsort(merged, kind="stable")
        _replace(conn, character, int(chunks[slot]), merged[order],
                 np.concatenate([old_codes, codes[mask]])[order])  # fmt: skip


def remove(conn: apsw.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """These rows (seq, character) were deleted."""
    by_character: dict[str, list[int]] = {}
    for seq, character in rows:
        by_character.setdefault(character, []).append(int(seq))
    for character, gone in by_character.items():
        if not is_ready(conn, character):
            continue
        chunks = _chunk_keys(conn, character)
        gone_seqs = np.array(sorted(gone), np.int64)
        at = np.searchsorted(chunks, gone_seqs, side="right") - 1
        if chunks.size == 0 or at.min() < 0:
            invalidate(conn, [character])
            continue
        for slot in np.unique(at):
            old_seqs, old_codes = _read(conn, character, int(chunks[slot]))
            keep = ~np.isin(old_seqs, gone_seqs[at == slot])
            if int((~keep).sum()) != int((at == slot).sum()):
                invalidate(conn, [character])  # a row the chunks did not hold
                break
            _replace(conn, character, int(chunks[slot]), old_seqs[keep], old_codes[keep])


def claim_new(conn: apsw.Connection, characters: Iterable[str]) -> None:
    """Mark characters that have no memories yet as ready, before their first rows are stored:
    their chunks then grow with them, and a bulk import into a new character needs no rebuild."""
    for character in characters:
        if (
            not is_ready(conn, character)
            and not conn.execute(
                "SELECT 1 FROM memories WHERE character = ? LIMIT 1", (character,)
            ).fetchone()
        ):
            conn.execute("INSERT INTO memory_bit_ready (character) VALUES (?)", (character,))


def invalidate(conn: apsw.Connection, characters: Iterable[str] | None = None) -> None:
    """Forget the chunks of these characters (all when None): they are rebuilt on next load."""
    if characters is None:
        conn.execute("DELETE FROM memory_bit_ready")
        conn.execute("DELETE FROM memory_bit_chunks")
        return
    for character in characters:
        conn.execute("DELETE FROM memory_bit_ready WHERE character = ?", (character,))
        _drop(conn, character)


# -- plumbing ---------------------------------------------------------------------------------


def _chunk_blobs(seqs: np.ndarray, codes: np.ndarray):
    if len(seqs) == 0:
        return
    codes = np.asarray(codes, np.uint64).reshape(len(seqs), -1)
    for start in range(0, len(seqs), CHUNK):
        part = slice(start, start + CHUNK)
        yield (int(seqs[start]), np.ascontiguousarray(seqs[part], "<i8").tobytes(),
               np.ascontiguousarray(codes[part].T, "<u8").tobytes())  # fmt: skip


def _chunk_keys(conn: apsw.Connection, character: str) -> np.ndarray:
    found = conn.execute(
        "SELECT first_seq FROM memory_bit_chunks WHERE character = ? ORDER BY first_seq",
        (character,),
    ).fetchall()
    return np.fromiter((r[0] for r in found), np.int64, len(found))


def _read(conn: apsw.Connection, character: str, first: int) -> tuple[np.ndarray, np.ndarray]:
    seqs, codes = conn.execute(
        "SELECT seqs, codes FROM memory_bit_chunks WHERE character = ? AND first_seq = ?",
        (character, first),
    ).fetchone()
    rows = np.frombuffer(seqs, "<i8").astype(np.int64)
    words = len(codes) // max(1, len(seqs))
    return rows, np.frombuffer(codes, "<u8").reshape(words, rows.size).T.astype(np.uint64)


def _replace(
    conn: apsw.Connection, character: str, first: int, seqs: np.ndarray, codes: np.ndarray
) -> None:
    conn.execute(
        "DELETE FROM memory_bit_chunks WHERE character = ? AND first_seq = ?", (character, first)
    )
    for key, s, c in _chunk_blobs(seqs, codes):
        _insert(conn, character, key, s, c)


def _insert(conn: apsw.Connection, character: str, first: int, seqs: bytes, codes: bytes) -> None:
    conn.execute(
        "INSERT INTO memory_bit_chunks (character, first_seq, seqs, codes) VALUES (?,?,?,?)",
        (character, first, seqs, codes),
    )


def _drop(conn: apsw.Connection, character: str) -> None:
    conn.execute("DELETE FROM memory_bit_chunks WHERE character = ?", (character,))
