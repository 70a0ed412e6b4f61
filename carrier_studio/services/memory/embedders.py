"""Embedders: the offline local model (the default) and OpenAI's embeddings API.

`LocalEmbedder` runs the int8 ONNX export of all-MiniLM-L6-v2 that ships in the package
(resources/models/all-MiniLM-L6-v2-int8, made by scripts/export_embedding_model.py) with
onnxruntime + tokenizers + numpy: no torch, no download, works offline. The model is loaded on
first use, on the embedder's own worker thread, where every batch also runs.

`OpenAIEmbedder` calls ``/v1/embeddings`` with the key from the secret store, in batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from carrier_studio import assets
from carrier_studio.core.errors import CarrierError, ProviderError
from carrier_studio.services.platform.secrets import SecretStore

#: The folder under resources/models that holds the shipped model.
LOCAL_MODEL = "all-MiniLM-L6-v2-int8"
#: What the memory stores record as the vectors' origin. It names the model file's make, not
#: only the folder: stores embedded with another make (the dynamically quantized
#: "all-MiniLM-L6-v2-int8" of before) are embedded again once, when the memory opens.
LOCAL_EMBEDDER_ID = "all-MiniLM-L6-v2-int8-static"
LOCAL_DIMENSION = 384
#: The model was trained on at most 256 word pieces; longer texts are cut there.
LOCAL_MAX_TOKENS = 256
#: Texts per model call by default; see `LocalEmbedder`.
LOCAL_BATCH = 16


class EmbedderError(CarrierError):
    """An embedder cannot start or cannot embed (a missing or damaged model file…)."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32, copy=False)


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX), 384-d, mean pooling + L2 norm.

    A text's vector does not depend on the texts embedded with it: the model's activation
    scales are constants fixed at export (static quantization) and padded positions are masked
    out, so batching changes only the speed (batched vs alone: cosine ≥ 0.999, in practice
    identical to float rounding). The figures are in docs/performance.md.

    Args:
        model_dir: The folder with model.onnx and tokenizer.json (default: the shipped one).
        batch: Texts per model call. Texts are sorted by token count first, so each call pads
            little. Batches of 8 and 16 ran ≈1.6× the batch-1 rate on chat-length sentences;
            32 and 64 were slower.
        threads: onnxruntime threads. One keeps a core free for the window and the database.
    """

    id = LOCAL_EMBEDDER_ID
    dimension = LOCAL_DIMENSION

    def __init__(
        self, model_dir: Path | None = None, *, batch: int = LOCAL_BATCH, threads: int = 1
    ) -> None:
        self.model_dir = model_dir or assets.resource("models", LOCAL_MODEL)
        self.batch = max(1, batch)
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self.embed_now, texts
        )

    async def warm(self) -> None:
        """Load the model now (on the embedder's thread) without embedding anything, so the
        first real request does not wait for it."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    def embed_now(self, texts: Sequence[str]) -> np.ndarray:
        """Embed on the calling thread (scripts and benchmarks; `embed` for the loop)."""
        if not texts:
            return np.empty((0, self.dimension), np.float32)
        self._load()
        encoded = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
        out = np.empty((len(encoded), self.dimension), np.float32)
        for start in range(0, len(order), self.batch):
            chosen = order[start : start + self.batch]
            out[chosen] = self._run([encoded[i].ids for i in chosen])
        return out

    def _load(self) -> None:
        if self._session is not None:
            return
        model, vocab = self.model_dir / "model.onnx", self.model_dir / "tokenizer.json"
        for path in (model, vocab):
            if not path.is_file():
                raise EmbedderError(
                    "the local embedding model is missing",
                    path=path,
                    hint="Reinstall Carrier Studio, or run scripts/export_embedding_model.py.",
                )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(vocab))
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime and tokenizers raise plain errors
            raise EmbedderError(f"the local embedding model cannot be loaded: {exc}",
                                path=self.model_dir) from exc  # fmt: skip
        tokenizer.enable_truncation(LOCAL_MAX_TOKENS)
        tokenizer.no_padding()  # each batch is padded here, to its own longest text
        self._tokenizer, self._session = tokenizer, session

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), np.int64)  # 0 is [PAD]
        mask = np.zeros_like(ids)
        for row, text_ids in enumerate(token_ids):
            ids[row, : len(text_ids)] = text_ids
            mask[row, : len(text_ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalise(pooled)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._release)
        self._executor.shutdown(wait=True)

    def _release(self) -> None:
        self._session = self._tokenizer = None


class OpenAIEmbedder:
    """OpenAI embeddings (``text-embedding-3-small`` by default), key ``OPENAI_API_KEY``.

    Args:
        secrets: Where the key is read from (on first use, off the loop).
        base_url: An OpenAI-compatible server instead of api.openai.com.
        dimensions: Vector size; text-embedding-3 models can shorten their vectors.
        batch: Texts per request (the API takes up to 2048).
    """

    def __init__(
        self,
        secrets: SecretStore,
        *,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        base_url: str | None = None,
        batch: int = 256,
    ) -> None:
        self._secrets = secrets
        self.model = model
        self.dimension = dimensions
        self.id = f"openai:{model}:{dimensions}"
        self.base_url = base_url or None
        self.batch = batch
        self._client: Any = None

    async def _connect(self) -> Any:
        if self._client is None:
            key = await asyncio.to_thread(self._secrets.get, "OPENAI_API_KEY")
            if not key:
                raise ProviderError(
                    "no OpenAI API key is set, so OpenAI embeddings cannot be made",
                    hint="Add it under Settings → Model providers, or use the local embedder.",
                )
            import openai

            self._client = openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=1)
        return self._client

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dimension), np.float32)
        from carrier_studio.services.providers import provider_error as _provider_error

        client = await self._connect()
        label = f"OpenAI embeddings ({self.model})"
        parts = []
        for start in range(0, len(texts), self.batch):
            # The API refuses empty strings; a blank embeds like a space.
            chunk = [text if text.strip() else " " for text in texts[start : start + self.batch]]
            try:
                response = await client.embeddings.create(
                    model=self.model, input=chunk, dimensions=self.dimension
                )
            except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
                raise _provider_error(exc, label) from exc
            rows = sorted(response.data, key=lambda item: item.index)
            vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
            if vectors.shape != (len(chunk), self.dimension):
                raise ProviderError(
                    f"{label} returned vectors of shape {vectors.shape}, "
                    f"expected {(len(chunk), self.dimension)}"
                )
            parts.append(_normalise(vectors))
        return np.concatenate(parts)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
