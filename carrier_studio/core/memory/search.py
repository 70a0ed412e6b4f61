"""How a search's two halves become one ranking, shared by every store.

A store finds candidates two ways — by vector (cosine similarity of the query and the memory)
and by keyword (a full-text rank) — and hands them here with whatever parts it knows. The
combined score is a weighted sum of the parts, each on 0…1, so a hit that only one half found
still ranks by what it has, and the user sees the parts beside the total. Importance breaks
near-ties: it moves the score by at most ``IMPORTANCE_WEIGHT``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from carrier_studio.core.memory.model import MemoryRecord, SearchHit, SearchMode

#: Share of the hybrid score that comes from the vector half (the rest from keywords).
SEMANTIC_WEIGHT = 0.7
KEYWORD_WEIGHT = 1.0 - SEMANTIC_WEIGHT
#: How far importance (0…1) may move a score: enough to order near-ties, never more.
IMPORTANCE_WEIGHT = 0.02

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(slots=True)
class Candidate:
    """A memory one half of a search found, with the parts of its score known so far."""

    record: MemoryRecord
    semantic: float | None = None
    keyword: float | None = None


def search_terms(text: str) -> list[str]:
    """The words of a query, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)


def fts5_term(term: str) -> str:
    """One word as an FTS5 string (quoted, so no user text is read as FTS5 syntax)."""
    return '"' + term.replace('"', '""') + '"'


def fts5_query(text: str | list[str]) -> str | None:
    """A safe FTS5 MATCH expression: any of the query's words. None when it has no words."""
    terms = search_terms(text) if isinstance(text, str) else text
    if not terms:
        return None
    return " OR ".join(fts5_term(term) for term in terms)


def keyword_score(relevance: float) -> float:
    """A non-negative full-text relevance (e.g. ``-bm25()``, ``ts_rank``) mapped onto 0…1.

    ``r / (1 + r)`` keeps the order, needs no knowledge of the other hits, and is the same for
    both stores whatever the corpus size.
    """
    relevance = max(0.0, float(relevance))
    return relevance / (1.0 + relevance)


def combined_score(
    semantic: float | None, keyword: float | None, mode: SearchMode, importance: float = 0.5
) -> float:
    """The ranking score, 0…1, from a hit's parts (a missing part counts as 0)."""
    sem = min(1.0, max(0.0, semantic or 0.0))
    kw = min(1.0, max(0.0, keyword or 0.0))
    if mode == "semantic":
        base = sem
    elif mode == "keyword":
        base = kw
    else:
        base = SEMANTIC_WEIGHT * sem + KEYWORD_WEIGHT * kw
    tie = min(1.0, max(0.0, importance))
    return (1.0 - IMPORTANCE_WEIGHT) * base + IMPORTANCE_WEIGHT * tie


def fuse(candidates: Iterable[Candidate], mode: SearchMode, limit: int) -> list[SearchHit]:
    """Merge candidates by memory id (parts found twice are joined), rank, keep ``limit``.

    Ties are broken by newer first, then by id, so the order is stable across stores.
    """
    merged: dict[str, Candidate] = {}
    for candidate in candidates:
        seen = merged.get(candidate.record.id)
        if seen is None:
            merged[candidate.record.id] = Candidate(
                candidate.record, candidate.semantic, candidate.keyword
            )
            continue
        if candidate.semantic is not None:
            seen.semantic = candidate.semantic
        if candidate.keyword is not None:
            seen.keyword = candidate.keyword
    hits = [
        SearchHit(
            record=c.record,
            score=combined_score(c.semantic, c.keyword, mode, c.record.importance),
            semantic=c.semantic,
            keyword=c.keyword,
        )
        for c in merged.values()
        if (mode != "keyword" or c.keyword is not None)
    ]
    hits.sort(key=lambda h: (-h.score, -h.record.created_at.timestamp(), h.record.id))
    return hits[: max(0, limit)]
