"""Conversations store no secret: a key pasted into a message, echoed in a reply, quoted by a
provider's error or kept in the history is redacted before it reaches studio.db."""

from __future__ import annotations

import asyncio
import json

from carrier_studio.core.redaction import REDACTED, Redactor
from carrier_studio.core.runtime.transcript import AssistantText, Failure, UserText
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.platform.db import Database

KEY = "workspace-key-value-8812"


def test_every_text_written_is_redacted(tmp_path):
    redactor = Redactor()
    redactor.add(KEY)
    db_path = tmp_path / "studio.db"

    async def main():
        db = Database(db_path)
        await db.open()
        try:
            store = ConversationStore(db, redact=redactor.redact)
            cid = await store.create("Ada")
            await store.rename(cid, f"use {KEY}")
            await store.add_item(cid, UserText(f"here is my key: {KEY}"))
            await store.add_item(cid, AssistantText(f"Got it, {KEY}.", "Ada"))
            failure = Failure(f"401: Incorrect API key provided: {KEY}", f"Replace {KEY}.")
            await store.add_item(cid, failure)
            history = [{"role": "user", "content": f"here is my key: {KEY}"}]
            await store.save_history(cid, history, json.dumps({"input": KEY}))
            await store.record_run(
                cid,
                started_at="2026-01-01T00:00:00Z",
                duration_ms=1,
                agent="Ada",
                model="m",
                status="failed",
                error=f"rejected {KEY}",
            )
            conversation = await store.get(cid)
            messages = await store.messages(cid)
            return conversation, messages
        finally:
            await db.close()

    conversation, messages = asyncio.run(main())
    assert conversation.title == f"use {REDACTED}"
    assert conversation.history == [{"role": "user", "content": f"here is my key: {REDACTED}"}]
    assert json.loads(conversation.pending_state) == {"input": REDACTED}
    assert [m.content for m in messages][:2] == [
        f"here is my key: {REDACTED}",
        f"Got it, {REDACTED}.",
    ]
    assert messages[2].content == f"401: Incorrect API key provided: {REDACTED}"
    assert messages[2].meta["hint"] == f"Replace {REDACTED}."
    # Nothing on disk holds the key: the database, its WAL and shared-memory files.
    for path in tmp_path.iterdir():
        assert KEY.encode() not in path.read_bytes(), path.name
