from __future__ import annotations

import numpy as np
import pytest

from carrier_studio.core.memory.projection import project_2d


def _plane(n: int, d: int = 384, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """n vectors that mostly vary along two known directions, with a little noise."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, 2)))
    # Centred, uncorrelated coordinates, so the sample's principal axes are exactly these two.
    raw = rng.normal(size=(n, 2))
    q, _ = np.linalg.qr(raw - raw.mean(axis=0))
    coords = q * np.array([5.0, 2.0]) * np.sqrt(n)
    data = coords @ basis.T + rng.normal(scale=0.01, size=(n, d)) + rng.normal(size=d)
    return data.astype(np.float32), coords


@pytest.mark.parametrize("n", [50, 2000])  # fewer, and many more, memories than dimensions
def test_the_map_recovers_the_two_directions_of_most_variance(n):
    data, coords = _plane(n)
    result = project_2d(data)
    assert result.points.shape == (n, 2)
    # Each axis is the known coordinate up to sign (the larger spread comes first).
    assert abs(np.corrcoef(result.points[:, 0], coords[:, 0])[0, 1]) > 0.999
    assert abs(np.corrcoef(result.points[:, 1], coords[:, 1])[0, 1]) > 0.999
    assert result.explained[0] > result.explained[1] > 0
    assert sum(result.explained) == pytest.approx(1.0, abs=5e-3)


def test_both_ways_of_computing_agree_with_a_plain_svd():
    data, _ = _plane(1000, d=40)
    centred = data.astype(np.float64) - data.mean(axis=0, dtype=np.float64)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    got = project_2d(data).points  # n > 2d: the scatter-matrix path
    for axis in range(2):
        sign = np.sign(expected[:, axis] @ got[:, axis])
        np.testing.assert_allclose(got[:, axis], sign * expected[:, axis], atol=1e-6)
    small = project_2d(data[:60]).points  # n < 2d: the direct SVD path
    _u, _s, vt = np.linalg.svd(centred[:60] - centred[:60].mean(axis=0), full_matrices=False)
    assert abs(np.corrcoef(small[:, 0], (centred[:60] - centred[:60].mean(0)) @ vt[0])[0, 1]) > (
        0.9999
    )


def test_the_sign_is_fixed_so_the_map_does_not_flip():
    data, _ = _plane(300)
    first = project_2d(data).points
    # The same memories in another order, or negated vectors, draw the same picture per memory.
    order = np.random.default_rng(1).permutation(len(data))
    np.testing.assert_allclose(project_2d(data[order]).points, first[order], atol=1e-6)
    # The rule: along each axis, the dimension with the largest loading grows to the right/up.
    flipped = project_2d(-data).points
    for axis in range(2):
        assert np.allclose(flipped[:, axis], first[:, axis], atol=1e-6) or np.allclose(
            flipped[:, axis], -first[:, axis], atol=1e-6
        )
    direction_probe = np.zeros((3, data.shape[1]), np.float32)
    direction_probe[1, 5] = 1.0  # two memories differ only along dimension 5
    direction_probe[2, 5] = 2.0
    probe = project_2d(direction_probe).points
    assert probe[2, 0] > probe[1, 0] > probe[0, 0], "larger along the loading's dimension → right"
    assert np.all(probe[:, 1] == 0), "no second direction: the y axis stays at zero"


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_memories_give_points_at_the_centre(n):
    result = project_2d(np.ones((n, 384), np.float32))
    assert result.points.shape == (n, 2)
    assert not result.points.any()
    assert result.explained == (0.0, 0.0)


def test_identical_memories_sit_together():
    result = project_2d(np.tile(np.arange(8, dtype=np.float32), (5, 1)))
    assert not result.points.any()


def test_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        project_2d(np.zeros(384, np.float32))
