"""What a chat turn does before its request and what waits (#21): the model's request leaves
before the user's message, the title and the recalled memories are stored, and they are still
stored in order, before the reply. Real SDK, client, scripted server, store and embedder."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from carrier_studio.core.memory import MemoryRecord, Provenance
from carrier_studio.core.runtime.events import Done, MemoriesRecalled
from carrier_studio.core.runtime.transcript import Memories, UserText
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.memory.controller import MemoryController
from tests.fakes import text
from tests.services.test_chat_memory import _status
from tests.services.test_chat_runtime import collect, workspace


def test_the_request_leaves_before_the_message_and_memories_are_stored(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", memory={"min_score": 0.0})
            store = ConversationStore(ws.db)
            memory = MemoryController(ws.root / "studio.db", ws.settings, ws.secrets, _status())
            chat = ChatService(
                store,
                ws.characters,
                ws.settings,
                ws.secrets,
                memory=memory,
                clients=ws.chat.clients,
            )
            service = await memory.ready()
            old = datetime.now(UTC) - timedelta(days=2)
            fact = "Sam's favourite tea is a smoky lapsang souchong."
            record = MemoryRecord("Ada", fact, "fact", Provenance("user"), created_at=old)
            await service.remember([record])
            cid = await store.create("Ada")
            thread = await ws.open(cid, chat)

            # Every write the turn starts before its request is held until the request has
            # reached the server: a turn that waited for one of them would never send it.
            released = asyncio.Event()
            held: list[str] = []
            add_item, rename = store.add_item, store.rename

            async def held_add_item(conversation_id, item):
                if isinstance(item, UserText | Memories):
                    held.append(type(item).__name__)
                    await released.wait()
                return await add_item(conversation_id, item)

            async def held_rename(conversation_id, title):
                held.append("title")
                await released.wait()
                return await rename(conversation_id, title)

            store.add_item, store.rename = held_add_item, held_rename
            # And they stay held until the model's reply has ended, so a reply stored without
            # waiting for them would come first in the transcript.
            replied = asyncio.Event()
            send = thread.session.send

            def send_noting_the_end(*args, **kwargs):
                async def events():
                    async for event in send(*args, **kwargs):
                        if isinstance(event, Done):
                            replied.set()
                        yield event

                return events()

            thread.session.send = send_noting_the_end

            async def release_on_request() -> bool:
                try:
                    await server.wait_for_requests(1, within=20)
                except TimeoutError:
                    return False  # the turn waits for a held write: let it go, and fail
                else:
                    await replied.wait()
                finally:
                    released.set()
                return True

            server.script(text("A strong lapsang, as always?"))
            events, sent_first = await asyncio.gather(
                collect(thread.send("Which tea should I make?")), release_on_request()
            )
            stored = await ws.conversations.messages(cid)
            summary = next(c for c in await store.list("Ada", "") if c.id == cid)
            await memory.close()
            return events, sent_first, held, stored, summary, server.requests

    events, sent_first, held, stored, summary, requests = asyncio.run(go())

    assert sent_first, f"the request waited for a write the turn started first ({held})"
    assert len(requests) == 1
    assert any(isinstance(e, MemoriesRecalled) for e in events), "a memory was recalled"
    assert isinstance(events[-1], Done) and events[-1].completed
    assert sorted(held) == ["Memories", "UserText", "title"], held
    # Stored all the same, and in the order they happened, before the reply.
    assert [m.kind for m in stored] == ["user", "memories", "assistant"]
    assert stored[0].content == "Which tea should I make?"
    assert summary.title == "Which tea should I make?"
