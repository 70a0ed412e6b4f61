"""The local embedder keeps its promise whatever else is embedded with a text: a text's vector
in any batch is its batch-1 vector (the shipped model, real onnxruntime). The bar is what the
code promises, not a margin measured on one CPU; and a store embedded with the earlier model
is embedded again once."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest

from carrier_studio.core.memory import MemoryFilter, MemoryQuery, MemoryRecord
from carrier_studio.core.memory.errors import EmbeddingSpaceError
from carrier_studio.services.memory.embedders import LOCAL_EMBEDDER_ID, LocalEmbedder
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore

#: Short, long (cut at 256 tokens), non-Latin, emoji, empty: lengths from 2 to 256 tokens, so
#: every batch pads most of its texts.
VARIED = [
    "ok",
    "Hi!",
    "🙂",
    "🚀🔥💯 launch day!!!",
    "Sam is allergic to peanuts.",
    "Which foods make Sam ill?",
    "東京の天気は明日晴れるでしょう。",
    "Москва — столица России.",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "नमस्ते, आप कैसे हैं?",
    "Der Zug nach Berlin hat zwanzig Minuten Verspätung.",
    "I ❤️ NY 🗽 and 🍕 at 3am",
    "",
    "x",
    "🤖" * 10,
    "The quarterly revenue grew by twelve percent over last year.",
    "A long note about the garden, the weather, the river and a letter from a friend who "
    "moved to the city last winter and misses the village market on Sunday mornings.",
    "We moved the launch to Thursday because the venue flooded, and " * 12,
    "word " * 1000,
]
#: What LocalEmbedder promises: batching changes the speed, not the vectors.
SAME_VECTOR = 0.999


def test_a_texts_vector_does_not_depend_on_its_batch_mates():
    alone = LocalEmbedder(batch=1)
    try:
        reference = alone.embed_now(VARIED)
        for text, vector in zip(VARIED, reference, strict=True):
            np.testing.assert_allclose(alone.embed_now([text])[0], vector, atol=1e-6)
        shuffle = random.Random(22)
        worst = 1.0
        for size in (2, 3, 5, 8, 16, len(VARIED)):
            batched = LocalEmbedder(batch=size)
            try:
                for _ in range(3):
                    order = list(range(len(VARIED)))
                    shuffle.shuffle(order)
                    # Repeats too: a text batched with copies of itself and of others.
                    order += order[: size // 2]
                    vectors = batched.embed_now([VARIED[i] for i in order])
                    cosines = (vectors * reference[order]).sum(axis=1)
                    worst = min(worst, float(cosines.min()))
                    bad = [VARIED[order[n]][:20] for n in np.flatnonzero(cosines < SAME_VECTOR)]
                    assert not bad, f"batch of {size}: {bad} moved from their batch-1 vectors"
            finally:
                batched._release()
        assert worst >= SAME_VECTOR
    finally:
        alone._release()


def test_the_default_batches():
    assert LocalEmbedder().batch > 1


def test_memories_from_the_earlier_model_are_embedded_again(tmp_path):
    """The earlier, dynamically quantized model recorded "all-MiniLM-L6-v2-int8": a store it
    filled no longer matches the shipped embedder, and re-embedding switches it over."""

    class EarlierModel(LocalEmbedder):
        id = "all-MiniLM-L6-v2-int8"

    async def main():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        earlier = EarlierModel()
        await MemoryService(store, earlier).remember(
            [MemoryRecord(character="Ada", content="Sam is allergic.")]
        )
        service_now = MemoryService(store, LocalEmbedder())
        try:
            assert LOCAL_EMBEDDER_ID != EarlierModel.id
            stored = await store.space()
            assert stored is not None and stored != service_now.space
            query = MemoryQuery("What is Sam allergic to?", MemoryFilter(), 1, "semantic")
            with pytest.raises(EmbeddingSpaceError, match="all-MiniLM-L6-v2-int8"):
                await service_now.search(query)
            await service_now.reembed(service_now.embedder)
            assert (await store.space()).embedder_id == LOCAL_EMBEDDER_ID
            hits = await service_now.search(query)
            assert hits and hits[0].record.content == "Sam is allergic."
        finally:
            await service_now.close()
            await earlier.close()

    asyncio.run(main())
