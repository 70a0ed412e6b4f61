"""Memory around chat turns, end to end: the real local store and embedder, the real agents SDK
and OpenAI client against the scripted server, studio.db on disk."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from carrier_studio.core.memory import MemoryFilter, MemoryRecord, Provenance
from carrier_studio.core.runtime.events import Done, MemoriesRecalled
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.chat import ChatService
from carrier_studio.services.conversations import ConversationStore
from carrier_studio.services.memory_control import MemoryController
from tests.fakes import text
from tests.services.test_chat_runtime import collect, workspace

FACTS = [
    "Sam's favourite tea is a smoky lapsang souchong, brewed strong.",
    "Sam is writing a novel about a lighthouse keeper in Cornwall.",
    "Sam's cat is called Biscuit and hates thunderstorms.",
    "Sam does not like coffee at all.",
]


def _with_memory(ws, status: StatusBoard) -> tuple[ChatService, MemoryController]:
    controller = MemoryController(ws.root / "studio.db", ws.settings, ws.secrets, status)
    chat = ChatService(
        ConversationStore(ws.db), ws.characters, ws.settings, ws.secrets, memory=controller
    )
    return chat, controller


def _status() -> StatusBoard:
    status = StatusBoard()
    status.add("memory", "Memory")
    return status


def _instructions(request) -> str:
    body = request.body
    messages = body.get("messages") or []
    return "\n".join(
        m.get("content", "") for m in messages if m.get("role") in ("system", "developer")
    )


def test_a_turn_recalls_relevant_memories_and_is_remembered(tmp_path, keyring_backend):
    status = _status()

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            chat, memory = _with_memory(ws, status)
            service = await memory.ready()
            old = datetime.now(UTC) - timedelta(days=3)
            await service.remember(
                [
                    MemoryRecord(
                        "Ada", fact, "fact", Provenance("user"), created_at=old, importance=0.8
                    )
                    for fact in FACTS
                ]
            )
            server.script(text("A strong lapsang, as always?"), text("Biscuit must hate this."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            first = await collect(thread.send("Which tea should I make this evening?"))
            second = await collect(thread.send("There is a storm coming tonight."))
            await chat.drain()
            stored = await service.page(MemoryFilter(character="Ada", room=str(cid)))
            transcript = await ws.conversations.messages(cid)
            history = list(thread.session.history)
            await memory.close()
            return first, second, stored, transcript, history, server.requests, cid

    first, second, stored, transcript, history, requests, cid = asyncio.run(go())

    recalled = next(e for e in first if isinstance(e, MemoriesRecalled))
    assert recalled.memories, "a memory was recalled"
    top = recalled.memories[0]
    assert "lapsang" in top.content, [m.content for m in recalled.memories]
    assert top.semantic is not None and top.semantic > 0.3
    assert top.client == "user" and top.kind == "fact"
    assert isinstance(first[-1], Done) and first[-1].completed

    storm = next(e for e in second if isinstance(e, MemoriesRecalled))
    assert "Biscuit" in storm.memories[0].content, [m.content for m in storm.memories]

    # The model saw the recalled memory in its instructions for that turn…
    assert "lapsang souchong" in _instructions(requests[0])
    assert "# What you remember" in _instructions(requests[0])
    # …but the conversation's history holds only what was said.
    assert "What you remember" not in json.dumps(history)

    # The turn is stored with where it came from.
    by_content = {r.content: r for r in stored.records}
    asked = by_content["Which tea should I make this evening?"]
    answered = by_content["A strong lapsang, as always?"]
    assert (asked.provenance.client, asked.provenance.speaker) == ("chat", "user")
    assert (answered.provenance.client, answered.provenance.speaker) == ("chat", "Ada")
    assert asked.provenance.room == str(cid) and asked.kind == "message"

    # The transcript keeps what was recalled, so reopening shows it per reply.
    kinds = [m.kind for m in transcript]
    assert kinds == ["user", "memories", "assistant", "user", "memories", "assistant"]
    saved = json.loads(transcript[1].content)
    assert saved[0]["memory_id"] == top.memory_id and saved[0]["score"] == top.score

    assert status.get("memory").state is State.STOPPED  # closed at the end


def test_memory_off_for_a_character_recalls_and_stores_nothing(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", memory={"enabled": False})
            chat, memory = _with_memory(ws, _status())
            service = await memory.ready()
            await service.remember([MemoryRecord("Ada", FACTS[0], "fact")])
            server.script(text("Hello."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            events = await collect(thread.send("Which tea should I make?"))
            await chat.drain()
            count = await service.count(MemoryFilter(character="Ada"))
            instructions = _instructions(server.requests[0])
            await memory.close()
            return events, count, instructions

    events, count, instructions = asyncio.run(go())
    assert not [e for e in events if isinstance(e, MemoriesRecalled)]
    assert count == 1, "only the memory written by the test"
    assert "lapsang" not in instructions


def test_a_memory_store_that_cannot_open_does_not_stop_the_chat(tmp_path, keyring_backend):
    status = _status()

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            settings = ws.settings.settings
            memory_settings = settings.memory.model_copy(update={"backend": "supabase"})
            ws.settings.settings = settings.model_copy(update={"memory": memory_settings})
            chat, memory = _with_memory(ws, status)
            server.script(text("Still here."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            events = await collect(thread.send("Hello?"))
            await chat.drain()
            await memory.start()
            error = status.get("memory")
            await memory.close()
            return events, error

    events, error = asyncio.run(go())
    assert isinstance(events[-1], Done) and events[-1].completed
    assert events[-1].final_text == "Still here."
    assert error.state is State.ERROR
    assert "no Supabase URL" in error.detail


def test_switching_the_embedder_reopens_memory_and_asks_for_re_embedding(tmp_path, keyring_backend):
    """The stored vectors stay usable by keywords until they are re-embedded; then meaning
    search works in the new space and the status bar is clear again."""
    from carrier_studio.services.embedders import OpenAIEmbedder

    status = _status()

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            _chat, memory = _with_memory(ws, status)
            service = await memory.ready()
            await service.remember([MemoryRecord("Ada", fact, "fact") for fact in FACTS])
            settings = ws.settings.settings
            switched = settings.memory.model_copy(update={"embedder": "openai"})
            ws.settings.save(settings.model_copy(update={"memory": switched}))
            assert memory.reopening is not None, "saving the settings reopens the memory"
            await memory.reopening
            assert memory.service is not service
            due = status.get("memory")
            keyword_only = await memory.recall("Ada", "lapsang")
            new = OpenAIEmbedder(ws.secrets, base_url=server.openai_base_url)
            await memory.service.reembed(new)
            await memory.refresh_status()
            after = status.get("memory")
            by_meaning = await memory.recall("Ada", "Biscuit hates thunderstorms")
            await memory.close()
            return due, keyword_only, after, by_meaning

    due, keyword_only, after, by_meaning = asyncio.run(go())
    assert due.state is State.ERROR and "re-embed" in due.detail
    assert (
        keyword_only
        and keyword_only[0].semantic is None
        and "lapsang" in (keyword_only[0].record.content)
    )
    assert after.state is State.RUNNING and "4 memories" in after.detail
    assert by_meaning[0].semantic is not None
