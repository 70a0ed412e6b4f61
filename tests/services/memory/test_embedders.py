"""The local ONNX embedder (the real shipped model) and the OpenAI embedder (the real openai
client against a local server speaking the /v1/embeddings wire format)."""

from __future__ import annotations

import asyncio
import shutil
import threading

import numpy as np
import pytest

from carrier_studio.core.errors import ProviderError
from carrier_studio.core.memory import Embedder
from carrier_studio.services.memory.embedders import EmbedderError, LocalEmbedder, OpenAIEmbedder
from carrier_studio.services.platform.secrets import SecretStore
from tests.fakes import ScriptedLLMServer, error
from tests.fakes.openai_embeddings import expected_embedding


def test_local_embedder_embeds_by_meaning():
    async def main():
        embedder = LocalEmbedder()
        try:
            assert isinstance(embedder, Embedder)
            texts = [
                "Sam is allergic to peanuts.",
                "Which foods make Sam ill?",
                "The quarterly revenue grew by twelve percent.",
                "",
                "word " * 1000,  # longer than the model's 256 tokens: cut, not refused
            ]
            vectors = await embedder.embed(texts)
            assert vectors.shape == (5, 384) and vectors.dtype == np.float32
            np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
            related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
            assert related > unrelated + 0.2
            # Batched (the default) or one at a time, a text gets its own vector.
            alone = LocalEmbedder(batch=1)
            try:
                one_by_one = await alone.embed(texts)
            finally:
                await alone.close()
            assert np.all((one_by_one * vectors).sum(axis=1) >= 0.999)
            assert (await embedder.embed([])).shape == (0, 384)
        finally:
            await embedder.close()

    asyncio.run(main())


def test_local_embedder_runs_off_the_loop():
    async def main():
        embedder = LocalEmbedder()
        seen: list[str] = []
        original = embedder.embed_now

        def spy(texts):
            seen.append(threading.current_thread().name)
            return original(texts)

        embedder.embed_now = spy  # type: ignore[method-assign]
        try:
            await embedder.embed(["hello"])
        finally:
            await embedder.close()
        assert seen and seen[0] != threading.current_thread().name

    asyncio.run(main())


def test_local_embedder_without_its_model_says_where(tmp_path):
    shutil.copy(LocalEmbedder().model_dir / "tokenizer.json", tmp_path / "tokenizer.json")

    async def main():
        embedder = LocalEmbedder(tmp_path)
        try:
            with pytest.raises(EmbedderError, match="missing") as caught:
                await embedder.embed(["hi"])
            assert caught.value.path == tmp_path / "model.onnx"
        finally:
            await embedder.close()

    asyncio.run(main())


def _secrets(tmp_path, keyring_backend, key: str | None) -> SecretStore:
    store = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    if key:
        store.set("OPENAI_API_KEY", key)
    return store


def test_openai_embedder_batches_over_the_wire(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            secrets = _secrets(tmp_path, keyring_backend, "sk-test-123")
            embedder = OpenAIEmbedder(
                secrets, base_url=server.openai_base_url, dimensions=64, batch=2
            )
            try:
                texts = ["one", "two", "three", ""]
                vectors = await embedder.embed(texts)
            finally:
                await embedder.close()
            assert embedder.id == "openai:text-embedding-3-small:64"
            assert vectors.shape == (4, 64)
            for text, vector in zip(texts, vectors, strict=True):
                np.testing.assert_allclose(vector, expected_embedding(text or " ", 64), atol=1e-6)
            calls = [r for r in server.requests if r.path == "/v1/embeddings"]
            assert [c.body["input"] for c in calls] == [["one", "two"], ["three", " "]]
            assert all(c.body["model"] == "text-embedding-3-small" for c in calls)
            assert calls[0].headers["authorization"] == "Bearer sk-test-123"

    asyncio.run(main())


def test_openai_embedder_errors_are_worded(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            no_key = OpenAIEmbedder(
                _secrets(tmp_path, keyring_backend, None), base_url=server.openai_base_url
            )
            with pytest.raises(ProviderError, match="no OpenAI API key"):
                await no_key.embed(["x"])
            await no_key.close()
            embedder = OpenAIEmbedder(
                _secrets(tmp_path, keyring_backend, "sk-bad"), base_url=server.openai_base_url
            )
            server.script(error(401, "Incorrect API key provided"))
            try:
                with pytest.raises(ProviderError, match="refused the API key"):
                    await embedder.embed(["x"])
            finally:
                await embedder.close()

    asyncio.run(main())
