"""Search in the local memory store, and the in-memory state that makes it fast.

Vector search is two passes: the packed sign bits of every vector of the character (loaded
lazily into a `BitIndex` from the chunks `sqlite_bits` keeps in studio.db) pick a few hundred
candidates by Hamming distance; their float vectors, read by primary key from
``memory_vectors``, are rescored exactly. A filter narrower than a character is searched
exactly when it holds few rows. Keywords go through FTS5 (bm25), and a hybrid search fuses
both (`core.memory.search.fuse`).

`Searcher` holds what the searches keep between calls: the bit index per character, the set of
characters, how many memories each query word is in. That state must follow exactly what the
store's snapshot holds, so the store's writes file how it follows them (`added`, `updated`,
`removed`, `drop_indexes`), the search thread applies them before it reads
(`sqlite_follow`), and it `forget`s everything when another connection wrote memories. It lives
on the store's search thread and is touched nowhere else.
"""

from __future__ import annotations

from typing import Any

import apsw
import numpy as np

from carrier_studio.core.memory.bitindex import BitIndex, pack_signs, words_for
from carrier_studio.core.memory.errors import EmbeddingSpaceError
from carrier_studio.core.memory.model import MemoryFilter, MemoryQuery, SearchHit
from carrier_studio.core.memory.search import (
    Candidate,
    fts5_query,
    fts5_term,
    fuse,
    keyword_score,
    search_terms,
)
from carrier_studio.services.memory import sqlite_bits
from carrier_studio.services.memory.sqlite_reembed import switching
from carrier_studio.services.memory.sqlite_rows import (
    COLUMNS,
    as_vector,
    narrows_beyond_character,
    read_space,
    record,
    seq_list,
    where,
)


class Searcher:
    """The local store's searches over one connection, with their indexes and counts.

    Args:
        candidates: Float vectors rescored per query at least.
        exact_limit: A filter narrower than this many rows is searched exactly.
        keyword_budget: Hybrid search ranks keyword matches of the query's rarest words only,
            up to this many matching memories in all.
    """

    def __init__(self, candidates: int, *, exact_limit: int, keyword_budget: int) -> None:
        self.candidates = candidates
        self.exact_limit = exact_limit
        self.keyword_budget = keyword_budget
        #: The bit index of each character searched so far.
        self.indexes: dict[str, BitIndex] = {}
        self._characters: set[str] | None = None
        # How many memories each query word is in (capped), and the writes since counting:
        # chat asks with the same everyday words again and again.
        self._term_counts: dict[str, int] = {}
        self._writes_since_counting = 0
        # Indexes read from the rows this search, for the writer to keep as chunks.
        self._unkept: list[tuple[str, np.ndarray, np.ndarray]] = []

    def take_unkept(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The indexes read from the rows since last asked: (character, seqs, codes)."""
        unkept, self._unkept = self._unkept, []
        return unkept

    # -- following the store's writes ---------------------------------------------------------

    def forget(self) -> None:
        """Another connection wrote memories: everything held may be stale."""
        self.indexes.clear()
        self._characters = None
        self._term_counts.clear()

    def drop_indexes(self) -> None:
        """The stored bits changed under the indexes (a re-embedding): reload them lazily."""
        self.indexes.clear()

    def added(
        self,
        characters: list[str],
        seqs: np.ndarray,
        codes: np.ndarray,
        replaced: list[tuple[int, str]],
    ) -> None:
        """Rows ``seqs`` (of ``characters``, with sign ``codes``) were committed, and the rows
        ``replaced`` (seq, character) that had their ids were deleted."""
        self._writes_since_counting += len(characters)
        for seq, character in replaced:
            if character in self.indexes:
                self.indexes[character].remove([seq])
        of = np.array(characters, dtype=object)
        for character in set(of.tolist()):
            if self._characters is not None:
                self._characters.add(character)
            index = self.indexes.get(character)
            if index is not None:
                mask = of == character
                index.add(seqs[mask], codes[mask])

    def updated(self, old_character: str, character: str, recoded: bool) -> None:
        """A row was rewritten, maybe for another character, maybe with a new vector."""
        if self._characters is not None:
            self._characters.add(character)
        if recoded or old_character != character:
            # The row moved between indexes or changed code: drop the affected ones, reload lazily.
            self.indexes.pop(old_character, None)
            self.indexes.pop(character, None)

    def removed(self, rows: list[tuple[int, str]]) -> None:
        """These rows (seq, character) were deleted."""
        for seq, character in rows:
            index = self.indexes.get(character)
            if index is not None:
                index.remove([seq])

    # -- searching ----------------------------------------------------------------------------

    def search(
        self, conn: apsw.Connection, query: MemoryQuery, vector: np.ndarray | None
    ) -> list[SearchHit]:
        limit = max(0, query.limit)
        if limit == 0:
            return []
        f = query.filter
        semantic: dict[int, float] = {}
        keyword: dict[int, float] = {}
        q = None
        space = read_space(conn)
        if space is not None and vector is not None and switching(conn):
            if query.mode == "semantic":
                raise EmbeddingSpaceError(
                    "the memories are being switched to new vectors",
                    hint="Search by keywords, or again in a moment.",
                )
            vector = None  # half the vectors are new, half old: rank by words only
        if query.mode != "keyword" and vector is not None and space is not None:
            q = as_vector(vector, space.dimension, "the query vector")
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
            r[0]: record(r)
            for r in conn.execute(
                f"SELECT {COLUMNS} FROM memories m WHERE m.seq IN ({seq_list(seqs)})"
            )
        }
        candidates = [
            Candidate(records[s], semantic.get(s), keyword.get(s)) for s in seqs if s in records
        ]
        return fuse(candidates, query.mode, limit)

    def warm(self, conn: apsw.Connection, character: str) -> None:
        """Load ``character``'s bit index now, if anything is stored."""
        space = read_space(conn)
        if space is not None:
            self._index(conn, character, words_for(space.dimension))

    def _informative(self, conn, terms: list[str]) -> list[str]:
        """The rarest terms whose matches add up to at most ``keyword_budget`` memories: bm25
        must score every match, so everyday words ("the", "what", found in most of a million
        memories) would cost most of the query while saying little. Those are left to the
        vector half. A keyword-only search uses every word."""
        budget = self.keyword_budget
        if self._writes_since_counting > budget // 10:
            self._term_counts.clear()  # counts may have drifted
            self._writes_since_counting = 0
        counts = {}
        for term in terms:
            found = self._term_counts.get(term)
            if found is None:
                found = conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM memories_fts "
                    "WHERE memories_fts MATCH ? LIMIT ?)",
                    (fts5_term(term), budget + 1),
                ).fetchone()[0]
                self._term_counts[term] = found
            counts[term] = found
        kept, spent = [], 0
        for term in sorted(terms, key=counts.__getitem__):
            if spent + counts[term] > budget:
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
                f"WHERE memories_fts MATCH ? AND rowid IN ({seq_list(among)})",
                (match,),
            )
            return {seq: keyword_score(rank) for seq, rank in rows}
        condition, params = where(f)
        rows = conn.execute(
            "SELECT m.seq, -bm25(memories_fts) FROM memories_fts "
            "JOIN memories m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {condition} ORDER BY bm25(memories_fts) LIMIT ?",
            (match, *params, want),
        )
        return {seq: keyword_score(rank) for seq, rank in rows}

    def _index(self, conn, character: str, words: int) -> BitIndex:
        index = self.indexes.get(character)
        if index is None or index.words != words:
            index = sqlite_bits.read_chunks(conn, character, words)
            if index is None:
                # Not kept in studio.db yet (or no longer): read the rows, and keep it there.
                # The search connection is query-only: the store's writer keeps them.
                seqs, blob, _generation = sqlite_bits.snapshot(conn, character)
                codes = np.frombuffer(blob, "<u8").reshape(seqs.size, words)
                index = BitIndex(words)
                index.add(seqs, codes)
                self._unkept.append((character, seqs, codes))
            self.indexes[character] = index
        return index

    def _all_characters(self, conn) -> set[str]:
        if self._characters is None:
            self._characters = {
                r[0] for r in conn.execute("SELECT DISTINCT character FROM memories")
            }
        return self._characters

    def _semantic(self, conn, q: np.ndarray, f: MemoryFilter, want: int) -> dict[int, float]:
        narrowed = narrows_beyond_character(f)
        condition, params = where(f)
        if narrowed:
            limit = self.exact_limit
            rows = [r[0] for r in conn.execute(
                f"SELECT m.seq FROM memories m WHERE {condition} LIMIT ?", (*params, limit + 1)
            )]  # fmt: skip
            if len(rows) <= limit:
                return _top(self._rescore(conn, q, rows, None), want)
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
            scored = self._rescore(conn, q, candidates, (condition, params) if narrowed else None)
            if len(scored) >= want or count >= total:
                return _top(scored, want)
            count *= 4  # the filter dropped too many candidates: look further

    @staticmethod
    def _rescore(conn, q: np.ndarray, seqs, condition) -> dict[int, float]:
        if len(seqs) == 0:
            return {}
        if condition is None:
            sql = f"SELECT memory, vector FROM memory_vectors WHERE memory IN ({seq_list(seqs)})"
            params: list[Any] = []
        else:
            where_sql, params = condition
            sql = (
                "SELECT m.seq, v.vector FROM memories m JOIN memory_vectors v ON v.memory = m.seq "
                f"WHERE m.seq IN ({seq_list(seqs)}) AND {where_sql}"
            )
        rows = list(conn.execute(sql, params))
        if not rows:
            return {}
        matrix = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
        scores = matrix @ q
        return {r[0]: float(s) for r, s in zip(rows, scores, strict=True)}


def _top(scored: dict[int, float], want: int) -> dict[int, float]:
    best = sorted(scored.items(), key=lambda item: -item[1])[:want]
    return dict(best)
