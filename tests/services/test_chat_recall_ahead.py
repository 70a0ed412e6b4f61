"""Recall ahead of Send (#21): the Chat page asks the thread to recall the draft after a pause in
typing; a message sent with that text uses it, a message with any other text recalls afresh, and
the recalled memories reach the model's instructions either way. Real local store and embedder,
real SDK and client against the scripted server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from carrier_studio.core.memory import MemoryRecord, Provenance
from carrier_studio.core.runtime.events import Done, MemoriesRecalled
from carrier_studio.services.chat import thread as thread_module
from carrier_studio.services.chat.recall import recall_is_free
from tests.fakes import text
from tests.services.test_chat_memory import FACTS, _instructions, _status, _with_memory
from tests.services.test_chat_runtime import collect, workspace

TEA = "Which tea should I make this evening?"
STORM = "There is a storm coming tonight."


def _turn(draft: str, sent: str, tmp_path, keyring_backend, between=None):
    """Recall ``draft`` ahead, then (after ``between(service, records)``, a change to the
    memories) send ``sent``: (events, texts recalled, instructions, what reached the server and
    the stored transcript, as text)."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", memory={"min_score": 0.15})
            chat, memory = _with_memory(ws, _status())
            service = await memory.ready()
            old = datetime.now(UTC) - timedelta(days=3)
            records = [
                MemoryRecord("Ada", f, "fact", Provenance("user"), created_at=old, importance=0.8)
                for f in FACTS
            ]
            await service.remember(records)
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            await thread._ensure_agent()  # the page's conversation is ready while one types
            asked: list[str] = []
            recall = memory.recall

            async def counted(character, query, **kwargs):
                asked.append(query)
                return await recall(character, query, **kwargs)

            memory.recall = counted
            thread.recall_ahead(draft)
            assert thread._ahead._task is not None, "the draft's recall did not start"
            await asyncio.wait({thread._ahead._task})
            assert asked == [draft]
            if between is not None:
                await between(service, records)
            server.script(text("Noted."))
            events = await collect(thread.send(sent))
            await chat.drain()
            stored = await ws.conversations.messages(cid)
            await memory.close()
            sent_bodies = json.dumps([r.body for r in server.requests])
            transcript = repr([(m.kind, m.content, m.meta) for m in stored])
            return events, asked, _instructions(server.requests[0]), sent_bodies, transcript

    return asyncio.run(go())


def test_a_message_sent_as_drafted_uses_the_recall_made_while_typing(tmp_path, keyring_backend):
    events, asked, instructions, _, _ = _turn(TEA, TEA, tmp_path, keyring_backend)

    assert asked == [TEA], "Send recalled again instead of using the draft's recall"
    recalled = next(e for e in events if isinstance(e, MemoriesRecalled))
    assert "lapsang" in recalled.memories[0].content
    assert "lapsang souchong" in instructions  # the memories still reach the prompt
    assert isinstance(events[-1], Done) and events[-1].completed


def test_an_edited_message_is_not_served_the_drafts_recall(tmp_path, keyring_backend):
    events, asked, instructions, _, _ = _turn(TEA, STORM, tmp_path, keyring_backend)

    assert asked == [TEA, STORM], "the edited text was not recalled afresh"
    recalled = next(e for e in events if isinstance(e, MemoriesRecalled))
    assert "Biscuit" in recalled.memories[0].content, [m.content for m in recalled.memories]
    assert "Biscuit" in instructions
    assert "lapsang" not in instructions, "the stale recall of the draft reached the prompt"


async def _delete_the_tea(service, records) -> None:
    """As the Memory page deletes: through the open service."""
    await service.delete([records[0].id])


async def _edit_the_tea(service, records) -> None:
    await service.update(replace(records[0], content="Sam has given up tea for hot chocolate."))


def test_a_memory_deleted_after_the_drafts_recall_does_not_reach_the_model(
    tmp_path, keyring_backend
):
    events, asked, _, sent, transcript = _turn(TEA, TEA, tmp_path, keyring_backend, _delete_the_tea)

    assert "lapsang" not in sent, "the deleted memory was sent to the model"
    assert "lapsang" not in transcript, "the deleted memory was stored in the transcript"
    assert asked == [TEA, TEA], "Send used the draft's recall from before the delete"
    assert isinstance(events[-1], Done) and events[-1].completed


def test_a_memory_edited_after_the_drafts_recall_reaches_the_model_as_edited(
    tmp_path, keyring_backend
):
    events, asked, instructions, sent, transcript = _turn(
        TEA, TEA, tmp_path, keyring_backend, _edit_the_tea
    )

    assert "lapsang" not in sent and "lapsang" not in transcript, "the old text was used"
    assert "hot chocolate" in instructions
    assert asked == [TEA, TEA], "Send used the draft's recall from before the edit"


def test_recalling_ahead_is_only_for_a_local_store_and_embedder():
    """Each pause in typing would otherwise be a request: to Supabase, or to a paid embedder."""

    class Store:
        def __init__(self, name: str) -> None:
            self.name = name

    class LocalEmbedder:
        async def warm(self) -> None: ...

    class PaidEmbedder:
        pass

    class Controller:
        def __init__(self, store, embedder) -> None:
            self.service = type("Service", (), {"store": store, "embedder": embedder})()

    assert recall_is_free(Controller(Store("local"), LocalEmbedder()))
    assert not recall_is_free(Controller(Store("supabase"), LocalEmbedder()))
    assert not recall_is_free(Controller(Store("local"), PaidEmbedder()))
    assert not recall_is_free(type("Closed", (), {"service": None})())


def test_the_run_is_set_up_while_the_memories_are_recalled(tmp_path, keyring_backend, monkeypatch):
    """The SDK's run set-up (~9 ms of the loop) no longer waits for the recall: the run reaches
    its model-input filter while the recall is still held, and the filter waits for it."""
    monkeypatch.setattr(thread_module, "RECALL_WAIT", 60.0)  # held longer than this test waits

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", memory={"min_score": 0.15})
            chat, memory = _with_memory(ws, _status())
            service = await memory.ready()
            old = datetime.now(UTC) - timedelta(days=3)
            await service.remember(
                [MemoryRecord("Ada", f, "fact", Provenance("user"), created_at=old) for f in FACTS]
            )
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            await thread._ensure_agent()
            recall, held = memory.recall, asyncio.Event()

            async def held_recall(*args, **kwargs):
                await held.wait()
                return await recall(*args, **kwargs)

            memory.recall = held_recall
            reached = asyncio.Event()
            with_memories = thread._with_memories

            def noting(data):
                reached.set()
                return with_memories(data)

            thread._with_memories = noting
            server.script(text("A strong lapsang, as always?"))
            turn = asyncio.ensure_future(collect(thread.send(TEA)))
            try:
                await asyncio.wait_for(reached.wait(), 10)
                overlapped = not server.requests  # and the request waits for the memories
            except TimeoutError:
                overlapped = False
            held.set()
            events = await turn
            await chat.drain()
            await memory.close()
            return overlapped, events, _instructions(server.requests[0])

    overlapped, events, instructions = asyncio.run(go())

    assert overlapped, "the run was set up only after the recall"
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("MemoriesRecalled") < kinds.index("TextDelta"), kinds
    assert "lapsang souchong" in instructions


def test_a_turn_cancelled_before_its_request_still_stores_the_message(
    tmp_path, keyring_backend, monkeypatch
):
    """The writes held for the request are not lost with a turn that never sends one."""
    monkeypatch.setattr(thread_module, "RECALL_WAIT", 60.0)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            chat, memory = _with_memory(ws, _status())
            await memory.ready()
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            await thread._ensure_agent()
            recalling, held = asyncio.Event(), asyncio.Event()

            async def held_recall(*args, **kwargs):
                recalling.set()
                await held.wait()
                return []

            memory.recall = held_recall
            turn = asyncio.ensure_future(collect(thread.send(TEA)))
            await recalling.wait()
            turn.cancel()
            await asyncio.gather(turn, return_exceptions=True)
            await thread.close()
            stored = await ws.conversations.messages(cid)
            await memory.close()
            return [(m.kind, m.content) for m in stored], server.requests

    stored, requests = asyncio.run(go())

    assert requests == []
    assert stored == [("user", TEA)]


def test_stop_while_the_memories_are_recalled_ends_the_turn_without_waiting_for_them(
    tmp_path, keyring_backend, monkeypatch
):
    monkeypatch.setattr(thread_module, "RECALL_WAIT", 60.0)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            chat, memory = _with_memory(ws, _status())
            await memory.ready()
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            await thread._ensure_agent()
            recalling = asyncio.Event()

            async def endless_recall(*args, **kwargs):
                recalling.set()
                await asyncio.Event().wait()

            memory.recall = endless_recall
            # The run starts beside the recall: Stop once its model-input filter waits for it.
            waiting, with_memories = asyncio.Event(), thread._with_memories

            def noting(data):
                waiting.set()
                return with_memories(data)

            thread._with_memories = noting
            turn = asyncio.ensure_future(collect(thread.send(TEA)))
            await recalling.wait()
            await asyncio.wait_for(waiting.wait(), 10)  # bounds a hang, times nothing
            assert thread.session._result is not None
            thread.cancel()
            try:
                events = await asyncio.wait_for(turn, 10)
            except TimeoutError:
                events = None
            stored = await ws.conversations.messages(cid)
            await memory.close()
            return events, [m.kind for m in stored], server.requests

    events, kinds, requests = asyncio.run(go())

    assert events is not None, "Stop waited for the recall"
    assert isinstance(events[-1], Done) and not events[-1].completed
    assert not any(isinstance(e, MemoriesRecalled) for e in events)
    assert requests == [] and kinds[0] == "user"


def test_the_writes_before_the_request_start_only_once_it_reached_the_server(
    tmp_path, keyring_backend, monkeypatch
):
    """The user's message, the title and the memories are stored after the request has gone:
    not as the run's model-input filter runs, where the client still had steps to take."""
    # A first run in a process builds the SDK's and client's models (~0.3 s): past the bound.
    monkeypatch.setattr(thread_module, "HOLD_WRITES", 60.0)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", memory={"min_score": 0.0})
            chat, memory = _with_memory(ws, _status())
            service = await memory.ready()
            old = datetime.now(UTC) - timedelta(days=2)
            await service.remember(
                [MemoryRecord("Ada", FACTS[0], "fact", Provenance("user"), created_at=old)]
            )
            store = chat.conversations
            cid = await store.create("Ada")
            thread = await ws.open(cid, chat)
            await thread._ensure_agent()
            seen: list[tuple[str, int]] = []
            add_item, rename = store.add_item, store.rename

            async def noting_add_item(conversation_id, item):
                seen.append((type(item).__name__, len(server.requests)))
                return await add_item(conversation_id, item)

            async def noting_rename(conversation_id, title):
                seen.append(("title", len(server.requests)))
                return await rename(conversation_id, title)

            store.add_item, store.rename = noting_add_item, noting_rename
            server.script(text("A strong lapsang, as always?"))
            events = await collect(thread.send(TEA))
            await chat.drain()
            await memory.close()
            return seen, events

    seen, events = asyncio.run(go())

    assert isinstance(events[-1], Done) and events[-1].completed
    before = {name: requests for name, requests in seen}
    assert set(before) >= {"UserText", "title", "Memories"}, seen
    assert all(before[name] == 1 for name in ("UserText", "title", "Memories")), seen
