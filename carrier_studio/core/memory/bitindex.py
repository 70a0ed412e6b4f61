"""A packed sign-bit index: the fast first pass of the local vector search.

Each vector is kept as its sign bits (384 dimensions → 6 × 64-bit words). The Hamming distance
between two such codes tracks the angle between the vectors well enough to pick a few hundred
candidates, which the store then rescores with the exact float vectors (recall@10 ≈ 0.98–0.99
with 200 candidates on real sentence embeddings). Words are stored word-major (one contiguous
array per word), so a query is a handful of vectorised XOR + popcount passes: ≈5 ms over a
million codes, where sqlite-vec's exact scan takes ≈900 ms here.
"""

from __future__ import annotations

import numpy as np

WORD_BITS = 64


def words_for(dimension: int) -> int:
    return (dimension + WORD_BITS - 1) // WORD_BITS


def pack_signs(vectors: np.ndarray) -> np.ndarray:
    """Sign bits of float vectors, shape (n, words) uint64 (little-endian bit order)."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    n, dim = vectors.shape
    padded = words_for(dim) * WORD_BITS
    signs = np.zeros((n, padded), dtype=bool)
    signs[:, :dim] = vectors > 0
    packed = np.packbits(signs, axis=1, bitorder="little")
    return packed.view("<u8").reshape(n, -1)


def codes_to_bytes(codes: np.ndarray) -> list[bytes]:
    """One blob per row, as stored beside each memory."""
    return [row.tobytes() for row in np.ascontiguousarray(codes, dtype="<u8")]


class BitIndex:
    """Codes and row ids of one group of memories (the store keeps one per character).

    Appends are buffered and deletions remembered; both are folded in before the next search,
    so a burst of small writes costs no full copies. Appends are folded into arrays with room
    to spare (a quarter more when they fill): copying a million codes for each import
    transaction's 500 took a recall during an import ≈20–40 ms.
    """

    def __init__(self, words: int) -> None:
        self.words = words
        self._n = 0
        self._row_buf = np.empty(0, dtype=np.int64)
        self._code_buf = np.empty((words, 0), dtype=np.uint64)  # word-major
        self._pending_rows: list[np.ndarray] = []
        self._pending_codes: list[np.ndarray] = []
        self._removed: set[int] = set()
        self._work: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def _rows(self) -> np.ndarray:
        return self._row_buf[: self._n]

    @property
    def _codes(self) -> np.ndarray:
        return self._code_buf[:, : self._n]

    def __len__(self) -> int:
        self._settle()
        return int(self._rows.size)

    def add(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Add ``rows`` (int64) with their ``codes`` (n, words)."""
        rows = np.asarray(rows, dtype=np.int64)
        codes = np.asarray(codes, dtype=np.uint64).reshape(rows.size, self.words)
        if self._removed:
            self._removed.difference_update(rows.tolist())
        self._pending_rows.append(rows)
        self._pending_codes.append(codes)

    def load(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Hold exactly ``rows`` with their ``codes``, given word-major (words, n) as the index
        keeps them: no copy (the store's persisted chunks arrive this way)."""
        codes = np.asarray(codes, dtype=np.uint64)
        if codes.shape != (self.words, rows.size):
            raise ValueError(f"codes of shape {codes.shape} for {rows.size} rows")
        self._row_buf = np.asarray(rows, dtype=np.int64)
        self._code_buf = np.ascontiguousarray(codes)
        self._n = rows.size
        self._pending_rows.clear()
        self._pending_codes.clear()
        self._removed.clear()

    def add_blobs(self, rows: np.ndarray, blobs: bytes) -> None:
        """Add rows whose codes arrive as the concatenation of their stored blobs."""
        codes = np.frombuffer(blobs, dtype="<u8").astype(np.uint64, copy=False)
        self.add(rows, codes.reshape(-1, self.words))

    def remove(self, rows) -> None:
        self._removed.update(int(r) for r in rows)

    def _settle(self) -> None:
        if self._pending_rows:
            added = sum(r.size for r in self._pending_rows)
            needed = self._n + added
            if needed > self._row_buf.size:
                capacity = max(needed, self._row_buf.size + self._row_buf.size // 4 + 1024)
                row_buf = np.empty(capacity, dtype=np.int64)
                code_buf = np.empty((self.words, capacity), dtype=np.uint64)
                row_buf[: self._n] = self._rows
                code_buf[:, : self._n] = self._codes
                self._row_buf, self._code_buf = row_buf, code_buf
            at = self._n
            for rows, codes in zip(self._pending_rows, self._pending_codes, strict=True):
                self._row_buf[at : at + rows.size] = rows
                self._code_buf[:, at : at + rows.size] = codes.T
                at += rows.size
            self._n = needed
            self._pending_rows.clear()
            self._pending_codes.clear()
        if self._removed:
            keep = ~np.isin(self._rows, np.fromiter(self._removed, dtype=np.int64))
            self._row_buf = self._rows[keep]
            self._code_buf = np.ascontiguousarray(self._codes[:, keep])
            self._n = self._row_buf.size
            self._removed.clear()

    def nearest(self, query_code: np.ndarray, count: int) -> np.ndarray:
        """Row ids of (about) the ``count`` codes nearest ``query_code`` in Hamming distance.

        Rows tied with the last one kept are included when they are few, so the result does not
        depend on their order in memory; it is never more than twice ``count``.
        """
        self._settle()
        n = self._rows.size
        if n <= count:
            return self._rows.copy()
        query = np.asarray(query_code, dtype=np.uint64).reshape(self.words)
        dist, scratch, bits = self._buffers(n)
        # The first word's count goes straight into the distances (no zeroing pass).
        np.bitwise_xor(self._codes[0], query[0], out=scratch)
        np.bitwise_count(scratch, out=dist)
        for w in range(1, self.words):
            np.bitwise_xor(self._codes[w], query[w], out=scratch)
            np.bitwise_count(scratch, out=bits)
            np.add(dist, bits, out=dist)
        near = _within(dist, count, self.words * WORD_BITS)
        # A histogram of the small integer distances finds the cut-off faster than a partition.
        hist = np.bincount(dist[near], minlength=self.words * WORD_BITS + 1)
        cut = int(np.searchsorted(np.cumsum(hist), count))
        inside = near[dist[near] < cut]
        on_edge = near[dist[near] == cut]
        room = count - inside.size
        if on_edge.size > room and inside.size + on_edge.size > 2 * count:
            on_edge = on_edge[:room]
        return self._rows[np.concatenate([inside, on_edge])]

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Work arrays for ``n`` rows, kept between searches: fresh ones (11 MB at a million)
        page-faulted in on every query, which cost more than the distances themselves
        (≈25 against ≈7 ms at a million on a busy 2-core machine). An index is searched from
        one thread at a time (the store's search thread)."""
        if self._work is None or self._work[0].size < n:
            capacity = self._row_buf.size
            self._work = (
                np.empty(capacity, dtype=np.uint16),
                np.empty(capacity, dtype=np.uint64),
                np.empty(capacity, dtype=np.uint8),
            )
        dist, scratch, bits = self._work
        return dist[:n], scratch[:n], bits[:n]


#: Every this-many-th distance is counted to guess the cut-off (`_within`).
SAMPLE = 16


def _within(dist: np.ndarray, count: int, most: int) -> np.ndarray:
    """Positions of a superset of the ``count`` smallest distances, in order: everything up to
    a cut-off guessed from a sample (with room to spare), or everything when the guess falls
    short. Counting all of a million distances took ≈3–5 ms; the sample and one comparison
    take a fraction of that, and what they keep is counted exactly after."""
    n = dist.size
    sample = dist[::SAMPLE]
    hist = np.bincount(sample, minlength=most + 1)
    # Twice the expected share of the sample, and at least a few rows of it.
    want = max(2 * count * sample.size // n, 8)
    guess = int(np.searchsorted(np.cumsum(hist), want))
    near = np.flatnonzero(dist <= guess)
    if near.size >= count:
        return near
    return np.arange(n)
