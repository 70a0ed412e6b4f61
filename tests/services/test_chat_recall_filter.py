"""Recall that helps (#16): a turn never gets its own conversation back as memories, and
memories under the character's minimum score are not sent to the model."""

from __future__ import annotations

import asyncio

from carrier_studio.core.memory import MemoryFilter, MemoryRecord, Provenance
from carrier_studio.core.runtime.events import MemoriesRecalled
from carrier_studio.core.runtime.memory_hooks import DEFAULT_MIN_SCORE, min_score
from tests.fakes import text
from tests.services.test_chat_memory import _instructions, _status, _with_memory
from tests.services.test_chat_runtime import collect, workspace

PAST = [
    # From an earlier conversation (room 999): worth recalling.
    ("Sam's dog Biscuit is a corgi who is scared of the vacuum cleaner.", "999"),
    # Unrelated to anything asked below: scores low.
    ("The quarterly invoice for the studio rent is due on the fifth.", "999"),
]


def test_a_turn_recalls_other_conversations_not_its_own_and_nothing_under_the_minimum(
    tmp_path, keyring_backend
):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", memory={"enabled": True, "min_score": 0.3})
            chat, memory = _with_memory(ws, _status())
            service = await memory.ready()
            await service.remember(
                [MemoryRecord("Ada", t, "message", Provenance("chat", room)) for t, room in PAST]
            )
            server.script(text("Biscuit the corgi, of course."), text("Still Biscuit, the corgi."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            first = await collect(thread.send("What breed is my dog Biscuit?"))
            await chat.drain()  # the first turn is stored in memory, in this conversation
            own = await service.page(MemoryFilter(character="Ada", room=str(cid)))
            second = await collect(thread.send("Tell me again: what breed is my dog Biscuit?"))
            requests = server.requests
            await memory.close()
            return cid, first, own, second, requests

    cid, first, own, second, requests = asyncio.run(go())
    assert len(own.records) == 2, "the first turn was stored, with this conversation as room"

    for events, request in ((first, requests[0]), (second, requests[1])):
        recalled = next(e for e in events if isinstance(e, MemoriesRecalled))
        contents = [m.content for m in recalled.memories]
        assert any("corgi who is scared" in c for c in contents), contents
        # Under the minimum: not on the card, not in what the model received.
        assert all(m.score >= 0.3 for m in recalled.memories)
        assert "quarterly invoice" not in _instructions(request)
        assert "corgi who is scared" in _instructions(request)
    # The second turn does not get the first turn (already in its input) back as memories.
    recalled = next(e for e in second if isinstance(e, MemoriesRecalled))
    assert [m.content for m in recalled.memories] == [PAST[0][0]]
    sent = _instructions(requests[1]).split("# What you remember", 1)[1]
    assert "What breed is my dog Biscuit?" not in sent
    assert "Biscuit the corgi, of course." not in sent


def test_the_minimum_score_comes_from_the_character_with_a_measured_default() -> None:
    assert min_score({}) == DEFAULT_MIN_SCORE == 0.30
    assert min_score({"min_score": 0.5}) == 0.5
    assert min_score({"min_score": 0}) == 0.0
    for wrong in (1.5, -0.1, "high", True, None):
        assert min_score({"min_score": wrong}) == DEFAULT_MIN_SCORE
