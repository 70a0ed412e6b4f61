"""BitIndex (core/memory/bitindex.py) holds exactly the rows added and not removed, whatever
the mix of loads, small appends (folded into spare room) and removals."""

from __future__ import annotations

import random

import numpy as np

from carrier_studio.core.memory.bitindex import BitIndex


def test_the_index_holds_exactly_what_was_added_and_not_removed():
    pick = random.Random(4)
    rng = np.random.default_rng(4)
    words = 2
    index = BitIndex(words)
    codes0 = rng.integers(0, 2**63, (words, 3000), dtype=np.uint64)
    index.load(np.frombuffer(np.arange(1, 3001, dtype="<i8").tobytes(), "<i8"), codes0)
    held = {int(s): tuple(codes0[:, i]) for i, s in enumerate(range(1, 3001))}
    seq = 3001
    for _step in range(300):
        if pick.random() < 0.7:
            n = pick.randint(1, 700)
            rows = np.arange(seq, seq + n, dtype=np.int64)
            codes = rng.integers(0, 2**63, (n, words), dtype=np.uint64)
            index.add(rows, codes)
            held.update({int(r): tuple(c) for r, c in zip(rows, codes, strict=True)})
            seq += n
        else:
            gone = pick.sample(sorted(held), min(len(held), pick.randint(1, 50)))
            index.remove(gone)
            for g in gone:
                del held[g]
        if pick.random() < 0.3:  # a search folds the pending writes in
            q = rng.integers(0, 2**63, words, dtype=np.uint64)
            found = index.nearest(q, 10)
            assert set(found.tolist()) <= held.keys()
            got = {int(r): tuple(index._codes[:, i]) for i, r in enumerate(index._rows)}
            assert got == held
    assert len(index) == len(held)
    got = {int(r): tuple(index._codes[:, i]) for i, r in enumerate(index._rows)}
    assert got == held
    # The nearest code to one held is itself.
    some = pick.choice(sorted(held))
    assert some in index.nearest(np.array(held[some], np.uint64), 1).tolist()


def _reference(codes: np.ndarray, rows: np.ndarray, query: np.ndarray, count: int) -> list[int]:
    """The rule `nearest` keeps, over every distance: the rows nearer than the cut-off and,
    in storage order, as many on it as fit unless they are few."""
    dist = np.bitwise_count(codes ^ query[:, None]).sum(axis=0)
    if rows.size <= count:
        return rows.tolist()
    cut = int(np.sort(dist)[count - 1])
    inside = np.flatnonzero(dist < cut)
    on_edge = np.flatnonzero(dist == cut)
    if on_edge.size > count - inside.size and inside.size + on_edge.size > 2 * count:
        on_edge = on_edge[: count - inside.size]
    return rows[np.concatenate([inside, on_edge])].tolist()


def test_nearest_keeps_the_same_rows_as_counting_every_distance():
    """`nearest` counts a sample of the distances to skip most of them; what it returns must be
    what counting all of them gives, for spread distances, heavy ties and a sample that
    guesses short (the rows the sample saw are all nearer than the rest)."""
    rng = np.random.default_rng(9)
    words = 6
    n = 20_000
    rows = np.arange(1, n + 1, dtype=np.int64) * 3
    spread = rng.integers(0, 2**63, (words, n), dtype=np.uint64)
    centre = rng.integers(0, 2**63, words, dtype=np.uint64)
    # Few distinct distances: each row is the centre with a handful of bits flipped.
    flips = np.zeros((words, n), dtype=np.uint64)
    for _ in range(3):
        flips |= np.uint64(1) << rng.integers(0, 64, (words, n)).astype(np.uint64)
    tied = centre[:, None] ^ (flips * (rng.random((words, n)) < 0.3))
    # The sampled positions (every 16th) all equal the query, every other row is far.
    short = np.full((words, n), ~np.uint64(0))
    short[:, ::16] = 0
    cases = [(spread, rng.integers(0, 2**63, words, dtype=np.uint64)), (tied, centre),
             (short, np.zeros(words, np.uint64))]  # fmt: skip
    for codes, query in cases:
        index = BitIndex(words)
        index.load(rows, codes)
        for count in (1, 10, 200, 534, 1300, 5000):
            got = index.nearest(query, count).tolist()
            assert got == _reference(codes, rows, query, count), count
