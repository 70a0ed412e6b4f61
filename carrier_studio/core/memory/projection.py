"""A 2D picture of a character's memories: the first two principal components of their vectors.

PCA through numpy's SVD, with no sklearn: centre the vectors, take the two directions of most
variance, and project. The sign of each direction is fixed (its largest loading is positive),
so the same memories always draw the same map, and a map redrawn after one more memory does
not flip over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Projection:
    #: (n, 2) float64 coordinates, centred on the mean memory.
    points: np.ndarray
    #: Share of the total variance each of the two axes explains (0…1 each; 0 when there is none).
    explained: tuple[float, float]


def project_2d(vectors: np.ndarray) -> Projection:
    """Project ``vectors`` (n, d) onto their first two principal components.

    Fewer than two memories, or memories that all lie on a line, still give n points: the
    missing axes are zero. Works in float64 so the result does not depend on how the vectors
    were stored.
    """
    data = np.asarray(vectors, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"expected an (n, d) array of vectors, got shape {data.shape}")
    n, d = data.shape
    points = np.zeros((n, 2), dtype=np.float64)
    if n < 2 or d == 0:
        return Projection(points, (0.0, 0.0))
    centred = data - data.mean(axis=0)
    # The right singular vectors of the centred data are the principal directions. With many
    # more memories than dimensions, the (d, d) scatter matrix has the same ones and is far
    # cheaper to decompose (384² instead of n × 384).
    if n > 2 * d:
        _u, singular, vt = np.linalg.svd(centred.T @ centred, hermitian=True)
        variances = singular
    else:
        _u, singular, vt = np.linalg.svd(centred, full_matrices=False)
        variances = singular**2
    total = float(variances.sum())
    axes = min(2, vt.shape[0])
    explained = [0.0, 0.0]
    for axis in range(axes):
        direction = vt[axis]
        # Deterministic sign: the loading with the largest magnitude is positive.
        if direction[np.argmax(np.abs(direction))] < 0:
            direction = -direction
        share = float(variances[axis]) / total if total > 0 else 0.0
        if share <= 1e-12:
            continue  # no variance along this axis: leave it at zero, not at rounding noise
        points[:, axis] = centred @ direction
        explained[axis] = share
    return Projection(points, (explained[0], explained[1]))
