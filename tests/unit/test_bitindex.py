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
