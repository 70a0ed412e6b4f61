"""A character's greeting opens a conversation; export to Markdown/JSON; search finds text."""

from __future__ import annotations

import json

from carrier_studio.core.characters.greeting import greetings
from carrier_studio.core.runtime.export import to_json, to_markdown
from carrier_studio.services.chat.greeting import greet, greeting_choice, next_greeting
from tests.fakes import text, tool_call
from tests.services.test_chat_runtime import collect, run, workspace

CARD = {
    "first_mes": "*waves* Hello {{user}}, I am {{char}}.",
    "alternate_greetings": ["Back again, {{user}}?", "Ahoy."],
}


def test_greetings_read_the_card_fields_with_macros():
    from carrier_studio.core.characters.document import CharacterDoc

    doc = CharacterDoc({"name": "Ada", "card": CARD})
    assert greetings(doc) == ["*waves* Hello you, I am Ada.", "Back again, you?", "Ahoy."]
    assert greetings(CharacterDoc({"name": "Bo"})) == []


def test_a_character_card_import_keeps_its_greetings():
    from carrier_studio.core.characters.formats import export_card_v2, import_character

    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {"name": "Wren", "description": "A lighthouse keeper.", **CARD},
    }
    doc = import_character(card).doc
    assert greetings(doc) == ["*waves* Hello you, I am Wren.", "Back again, you?", "Ahoy."]
    exported = export_card_v2(doc).data["data"]
    assert exported["first_mes"] == CARD["first_mes"]
    assert exported["alternate_greetings"] == CARD["alternate_greetings"]


def test_the_greeting_opens_the_conversation_and_the_model_sees_it(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", card=CARD)
            doc = (await ws.chat.characters_by_name())["Ada"]
            cid = await ws.conversations.create("Ada")
            assert await greet(ws.conversations, cid, doc)
            assert await greeting_choice(ws.conversations, cid, doc) == (0, 3)
            assert await next_greeting(ws.conversations, cid, doc)
            assert await greeting_choice(ws.conversations, cid, doc) == (1, 3)
            server.script(text("Indeed."))
            thread = await ws.open(cid)
            await collect(thread.send("Yes, again."))
            # Past its greeting, the conversation keeps it.
            assert await greeting_choice(ws.conversations, cid, doc) is None
            assert not await next_greeting(ws.conversations, cid, doc)
            return await ws.conversations.messages(cid), server.requests

    messages, requests = run(go())
    assert [(m.kind, m.content) for m in messages] == [
        ("assistant", "Back again, you?"),
        ("user", "Yes, again."),
        ("assistant", "Indeed."),
    ]
    sent = requests[0].body["messages"]
    roles = [(m["role"], m.get("content")) for m in sent if m["role"] != "system"]
    assert roles == [("assistant", "Back again, you?"), ("user", "Yes, again.")]


def test_export_and_search_across_conversations(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(tool_call("calculate", {"expression": "6 * 7"}), text("It is 42."))
            first = await ws.conversations.create("Ada")
            thread = await ws.open(first)
            await collect(thread.send("What is 6 times 7?"))
            server.script(text("Tides rise twice a day."))
            second = await ws.conversations.create("Ada")
            await collect((await ws.open(second)).send("Tell me about the sea"))
            stored = await ws.conversations.transcript(first)
            # Search looks into message text (the reply), not only titles.
            found = await ws.conversations.list("Ada", "twice a DAY")
            other = await ws.conversations.list("Bo", "twice a day")
            return stored, [s.id for s in found], other, second

    stored, found, other, second = run(go())
    assert found == [second] and other == []
    markdown = to_markdown("Maths", "Ada", stored)
    assert markdown.startswith("# Maths\n")
    assert "**You:**\n\nWhat is 6 times 7?" in markdown
    assert "**Ada:**\n\nIt is 42." in markdown
    assert "> Tool `calculate`" in markdown and "result: 42" in markdown
    document = json.loads(to_json("Maths", "Ada", stored))
    assert document["version"] == 1 and document["character"] == "Ada"
    kinds = [i["item"] for i in document["items"]]
    assert kinds == ["user", "tool", "assistant"]
    assert document["items"][1]["result"] == "42"
