"""OpenAI's ``POST /v1/embeddings`` as the real API answers it, with deterministic vectors.

Each input text gets a unit vector seeded by its SHA-256, so equal texts embed equally across
calls and a test can compute the expected vector with `expected_embedding`. ``dimensions`` in the
request is honoured (text-embedding-3 models accept it); ``encoding_format`` may be ``float``
or ``base64`` (little-endian float32, what the openai client asks for by default).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import numpy as np

DEFAULT_DIMENSIONS = 1536


def expected_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)
    return v / np.linalg.norm(v)


def embeddings_body(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for an embeddings request body."""
    inputs = request.get("input")
    model = request.get("model")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not model or not isinstance(inputs, list) or not inputs:
        return 400, _invalid("'input' and 'model' are required")
    if len(inputs) > 2048:
        return 400, _invalid("'$.input' must have at most 2048 items")
    if not all(isinstance(text, str) and text for text in inputs):
        return 400, _invalid("'$.input' is invalid: each item must be a non-empty string")
    dimensions = request.get("dimensions") or DEFAULT_DIMENSIONS
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(inputs):
        vector = expected_embedding(text, dimensions)
        encoded: Any = (
            base64.b64encode(vector.astype("<f4").tobytes()).decode()
            if as_base64
            else [float(x) for x in vector]
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(text.split()) for text in inputs)
    return 200, {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _invalid(message: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
