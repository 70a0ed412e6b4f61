"""Edit and branch (#16): an edited message or a regenerated reply keeps the earlier one as an
alternative; the model sees exactly the branch shown, after a restart too."""

from __future__ import annotations

import json

import pytest

from carrier_studio.core.runtime.transcript import AssistantText, UserText
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.platform.db import Database, connect, load_migrations, migrate
from tests.fakes import text
from tests.services.test_chat_runtime import PROVIDERS, collect, run, texts, workspace


def said(request) -> list[tuple[str, str]]:
    """What a chat-completions or Anthropic request shows the model: (role, text) in order."""
    out = []
    for message in request.body["messages"]:
        content = message.get("content")
        if isinstance(content, list):  # Anthropic's blocks
            content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
        if message["role"] in ("user", "assistant"):
            out.append((message["role"], content))
    return out


def shown(stored) -> list[str]:
    return [s.item.text for s in stored if isinstance(s.item, UserText | AssistantText)]


@pytest.mark.parametrize("provider", ["openai-compatible", PROVIDERS[2]])
def test_edit_regenerate_switch_and_restart_send_the_branch_shown(
    tmp_path, keyring_backend, provider
):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(
                text("Hi Sam."),
                text("Tea is nice."),
                text("Coffee is nice."),
                text("Coffee is great."),
                text("You like tea."),
                text("You like coffee."),
            )
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            await collect(thread.send("My name is Sam."))
            await collect(thread.send("I like tea."))
            tea = (await ws.conversations.transcript(cid))[2]
            # Edit the second message: the first branch stays.
            assert texts(await collect(thread.edit(tea.id, "I like coffee."))) == "Coffee is nice."
            edited = await ws.conversations.transcript(cid)
            # Regenerate the reply: the first reply stays as an alternative.
            assert texts(await collect(thread.retry())) == "Coffee is great."
            regenerated = await ws.conversations.transcript(cid)
            # Back to the first branch, then a restart: the model sees that branch.
            await thread.switch(tea.id)
            second = await ws.open(cid, ws.service())
            reopened = second.transcript
            await collect(second.send("What do I like?"))
            # And back to the coffee branch: its newest reply is the one shown and sent.
            coffee = next(i for i in reopened[2].siblings if i != tea.id)
            await second.switch(coffee)
            await collect(second.send("What do I like?"))
            last = await ws.conversations.transcript(cid)
            return server.requests, edited, regenerated, reopened, last

    requests, edited, regenerated, reopened, last = run(go())
    first_turn = [("user", "My name is Sam."), ("assistant", "Hi Sam.")]
    assert said(requests[2]) == [*first_turn, ("user", "I like coffee.")]
    assert said(requests[3]) == said(requests[2])  # the regenerated reply saw the same
    assert said(requests[4]) == [
        *first_turn,
        ("user", "I like tea."),
        ("assistant", "Tea is nice."),
        ("user", "What do I like?"),
    ]
    assert said(requests[5]) == [
        *first_turn,
        ("user", "I like coffee."),
        ("assistant", "Coffee is great."),
        ("user", "What do I like?"),
    ]
    assert shown(edited) == ["My name is Sam.", "Hi Sam.", "I like coffee.", "Coffee is nice."]
    assert len(edited[2].siblings) == 2 and edited[2].siblings.index(edited[2].id) == 1
    assert shown(regenerated)[-1] == "Coffee is great."
    assert len(regenerated[3].siblings) == 2 and regenerated[3].siblings[-1] == regenerated[3].id
    assert shown(reopened) == ["My name is Sam.", "Hi Sam.", "I like tea.", "Tea is nice."]
    assert shown(last)[2:] == ["I like coffee.", "Coffee is great.", "What do I like?"] + [
        "You like coffee."
    ]


def test_a_conversation_stored_before_branches_reads_and_edits(tmp_path):
    """Rows written by schema 8 (no parents) read as one branch; editing an early message
    rebuilds what the model saw before it from the stored messages."""
    path = tmp_path / "studio.db"
    conn = connect(path)
    migrate(conn, load_migrations()[:8])
    conn.execute(
        "INSERT INTO conversations (id, character, title, history) VALUES (1, 'Ada', 't', ?)",
        (json.dumps([{"role": "user", "content": "a"}]),),
    )
    for kind, content in [("user", "a"), ("assistant", "A"), ("user", "b"), ("assistant", "B")]:
        conn.execute(
            "INSERT INTO messages (conversation_id, kind, content) VALUES (1, ?, ?)",
            (kind, content),
        )
    conn.close()

    async def go():
        db = Database(path)
        await db.open()
        try:
            store = ConversationStore(db)
            stored = await store.transcript(1)
            before_b = await store.history_at(1, await store.parent_of(1, stored[2].id))
            at_end = await store.history_at(1, stored[-1].id)
            return stored, before_b, at_end
        finally:
            await db.close()

    stored, before_b, at_end = run(go())
    assert shown(stored) == ["a", "A", "b", "B"]
    assert all(not s.siblings for s in stored)
    assert before_b == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "A"}]
    assert at_end == [{"role": "user", "content": "a"}]  # the stored history, as it was


def test_kept_histories_grow_with_the_conversation_not_its_square(tmp_path):
    """Each turn keeps only what it added to the history before it; the model still gets the
    whole history at every point, and a branch keeps its own."""
    from carrier_studio.core.runtime.transcript import AssistantText as Reply

    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            store = ConversationStore(db)
            cid = await store.create("Ada")
            history, at = [], {}
            for turn in range(30):
                await store.add_item(cid, UserText(f"q{turn}"))
                reply = await store.add_item(cid, Reply("a" * 200, "Ada", final=True))
                history = [*history, {"role": "user", "content": f"q{turn}"}, {"a": turn}]
                await store.save_history(cid, history, None)
                at[reply] = list(history)
            # A branch from turn 10: its history goes on from there.
            tenth = list(at)[9]
            await store.branch_from(cid, tenth)
            await store.add_item(cid, UserText("other"))
            side = await store.add_item(cid, Reply("b", "Ada", final=True))
            await store.save_history(cid, [*at[tenth], {"side": 1}], None)
            got = {r: await store.history_at(cid, r) for r in [*at, side]}
            kept = await db.run(
                lambda c: c.execute("SELECT sum(length(history)) FROM messages").fetchone()[0]
            )
            return at, got, side, tenth, kept, len(json.dumps(history))
        finally:
            await db.close()

    at, got, side, tenth, kept, whole = run(go())
    assert all(got[r] == h for r, h in at.items())
    assert got[side] == [*at[tenth], {"side": 1}]
    assert kept < 3 * whole  # whole histories at every turn: about 15 times it
