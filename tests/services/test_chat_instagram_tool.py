"""A character with Instagram turned on can queue a post from a chat, after the user approves."""

from __future__ import annotations

import asyncio

from PIL import Image

from carrier_studio.core.runtime.events import ApprovalRequested, Done, ToolCallFinished
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.instagram.queue import InstagramQueue
from tests.fakes import text, tool_call
from tests.services.test_chat_runtime import collect, workspace


def _jpeg(path):
    Image.new("RGB", (1080, 1080), (40, 90, 160)).save(path, "JPEG", quality=90)
    return path


def test_queue_post_asks_first_then_queues_as_the_character(tmp_path, keyring_backend):
    photo = _jpeg(tmp_path / "harbour.jpg")

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("mira.json", instagram={"enabled": True})
            queue = InstagramQueue(ws.db, tmp_path / "ws-instagram")
            chat = ChatService(
                ConversationStore(ws.db),
                ws.characters,
                ws.settings,
                ws.secrets,
                instagram=queue,
                clients=ws.chat.clients,  # closed with the workspace
            )
            server.script(
                tool_call(
                    "queue_instagram_post",
                    {"files": [str(photo)], "caption": "Blue hour at the harbour #watercolour"},
                ),
                text("Queued it for you."),
            )
            cid = await ws.conversations.create("Mira")
            thread = await ws.open(cid, chat)
            first = await collect(thread.send("Post my harbour picture"))
            before = await queue.list()
            approval = next(e for e in first if isinstance(e, ApprovalRequested))
            second = await collect(thread.resolve({approval.approval_id: True}))
            after = await queue.list()
            ada_tools = [t["function"]["name"] for t in server.requests[0].body.get("tools", [])]
            return first, before, second, after, ada_tools

    first, before, second, after, tools = asyncio.run(go())
    assert "queue_instagram_post" in tools
    assert isinstance(first[-1], Done) and first[-1].pending_approvals, "it asked first"
    assert before == [], "nothing is queued before the user approves"
    finished = next(e for e in second if isinstance(e, ToolCallFinished))
    assert "queued" in finished.result.lower()
    (post,) = after
    assert post.character == "Mira"
    assert post.caption == "Blue hour at the harbour #watercolour"
    assert post.media[0].source == str(photo)


def test_characters_without_instagram_do_not_get_the_tool(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            queue = InstagramQueue(ws.db, tmp_path / "ws-instagram")
            chat = ChatService(
                ConversationStore(ws.db),
                ws.characters,
                ws.settings,
                ws.secrets,
                instagram=queue,
                clients=ws.chat.clients,  # closed with the workspace
            )
            server.script(text("Hi."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid, chat)
            await collect(thread.send("Hello"))
            return [t["function"]["name"] for t in server.requests[0].body.get("tools", [])]

    tools = asyncio.run(go())
    assert "queue_instagram_post" not in tools and "calculate" in tools
