"""Conversations in studio.db: titles, messages, SDK history, paused runs, approvals, runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import apsw

from carrier_studio.core.redaction import Redactor
from carrier_studio.core.runtime.attachments import redact_around_images
from carrier_studio.core.runtime.branches import Node, Tree, history_of, load_history, with_siblings
from carrier_studio.core.runtime.transcript import Stored, TranscriptItem, decode, encode
from carrier_studio.core.settings import (
    ConversationModel,
    dump_conversation_model,
    load_conversation_model,
)
from carrier_studio.services.platform.db import Database


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    character: str
    title: str
    updated_at: str
    messages: int


@dataclass(frozen=True)
class StoredMessage:
    """One stored row as it is in studio.db (`transcript` decodes rows into items)."""

    id: int
    kind: str
    agent: str
    content: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    id: int
    character: str
    title: str
    history: list[dict[str, Any]]
    pending_state: str | None
    #: The model chosen for this conversation in the Chat page (None: its character's).
    model_choice: ConversationModel = None


def _starts_with(history: list[Any], before: list[Any]) -> bool:
    return len(before) <= len(history) and all(
        json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
        for a, b in zip(history, before, strict=False)
    )


_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

#: The tool_approvals "character" that holds the workspace-wide policies.
WORKSPACE_WIDE = "*"


class ConversationStore:
    """Conversations, their messages, history and runs in studio.db.

    Args:
        db: The workspace's studio.db.
        redact: Applied to every text written (messages, titles, history, paused runs, run
            errors), so a key pasted into a chat or echoed in a provider error is never
            stored. The session passes the workspace's `Redactor`; the default knows only
            credential shapes.
    """

    def __init__(self, db: Database, *, redact: Callable[[str], str] | None = None) -> None:
        self._db = db
        self._redact = redact or Redactor().redact

    def redact(self, text: str) -> str:
        """``text`` as this store would write it (for what is shown, not only what is kept)."""
        return self._redact(text)

    @property
    def db(self) -> Database:
        """The database this store lives in (other stores of the same workspace share it)."""
        return self._db

    async def list(
        self, character: str | None = None, search: str = ""
    ) -> list[ConversationSummary]:
        """Newest first; ``search`` matches titles and message text (case-insensitive)."""

        def query(conn: apsw.Connection) -> list[ConversationSummary]:
            sql = (
                "SELECT c.id, c.character, c.title, c.updated_at,"
                " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
                " FROM conversations c WHERE 1=1"
            )
            args: list[Any] = []
            if character is not None:
                sql += " AND c.character = ?"
                args.append(character)
            if search.strip():
                needle = f"%{search.strip()}%"
                sql += (
                    " AND (c.title LIKE ? OR EXISTS (SELECT 1 FROM messages m"
                    " WHERE m.conversation_id = c.id AND m.content LIKE ?))"
                )
                args += [needle, needle]
            sql += " ORDER BY c.updated_at DESC, c.id DESC"
            return [ConversationSummary(*row) for row in conn.execute(sql, args)]

        return await self._db.run(query)

    async def create(self, character: str, title: str = "New conversation") -> int:
        def insert(conn: apsw.Connection) -> int:
            conn.execute(
                "INSERT INTO conversations (character, title) VALUES (?, ?)", (character, title)
            )
            return conn.last_insert_rowid()

        return await self._db.run(insert)

    async def get(self, conversation_id: int) -> Conversation:
        def read(conn: apsw.Connection) -> Conversation:
            row = conn.execute(
                "SELECT id, character, title, history, pending_state, model_choice"
                " FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if row is None:
                raise KeyError(conversation_id)
            model = load_conversation_model(row[5])
            return Conversation(row[0], row[1], row[2], json.loads(row[3]), row[4], model)

        return await self._db.run(read)

    async def rename(self, conversation_id: int, title: str) -> None:
        await self._exec(
            f"UPDATE conversations SET title = ?, updated_at = {_NOW} WHERE id = ?",
            (self._redact(title), conversation_id),
        )

    async def set_model_choice(self, conversation_id: int, choice: ConversationModel) -> None:
        """Remember the model chosen for this conversation (None: back to its character's)."""
        await self._exec(
            "UPDATE conversations SET model_choice = ? WHERE id = ?",
            (dump_conversation_model(choice), conversation_id),
        )

    async def delete(self, conversation_id: int) -> None:
        await self._exec("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    async def messages(self, conversation_id: int) -> list[StoredMessage]:
        def read(conn: apsw.Connection) -> list[StoredMessage]:
            rows = conn.execute(
                "SELECT id, kind, agent, content, meta FROM messages WHERE conversation_id = ?"
                " ORDER BY id",
                (conversation_id,),
            )
            return [StoredMessage(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

        return await self._db.run(read)

    async def transcript(self, conversation_id: int) -> list[Stored]:
        """The branch shown as typed transcript items, each with its alternatives (rows of
        unknown kinds are skipped)."""

        def read(conn: apsw.Connection) -> tuple[Tree, list[StoredMessage]]:
            tree = self._tree(conn, conversation_id)
            path = tree.path(self._leaf(conn, conversation_id))
            return tree, self._rows(conn, path)

        tree, rows = await self._db.run(read)
        decoded = ((r.id, decode(r.kind, r.agent, r.content, r.meta)) for r in rows)
        items = [Stored(row_id, item) for row_id, item in decoded if item is not None]
        return with_siblings(tree, items)

    # -- branches (core/runtime/branches.py) ----------------------------------------------------

    @staticmethod
    def _tree(conn: apsw.Connection, conversation_id: int) -> Tree:
        rows = conn.execute(
            "SELECT id, parent_id, history IS NOT NULL FROM messages WHERE conversation_id = ?",
            (conversation_id,),
        )
        return Tree(Node(r[0], r[1], bool(r[2])) for r in rows)

    @staticmethod
    def _leaf(conn: apsw.Connection, conversation_id: int) -> int | None:
        row = conn.execute(
            "SELECT leaf_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def _rows(conn: apsw.Connection, ids: list[int]) -> list[StoredMessage]:
        by_id = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in conn.execute(
                f"SELECT id, kind, agent, content, meta FROM messages WHERE id IN ({marks})", chunk
            ):
                by_id[r[0]] = StoredMessage(r[0], r[1], r[2], r[3], json.loads(r[4]))
        return [by_id[i] for i in ids if i in by_id]

    async def parent_of(self, conversation_id: int, message_id: int) -> int | None:
        def read(conn: apsw.Connection) -> int | None:
            row = conn.execute(
                "SELECT parent_id FROM messages WHERE id = ? AND conversation_id = ?",
                (message_id, conversation_id),
            ).fetchone()
            if row is None:
                raise KeyError(message_id)
            return row[0]

        return await self._db.run(read)

    async def branch_from(self, conversation_id: int, message_id: int | None) -> None:
        """The next message stored follows ``message_id`` (None: starts the conversation
        anew), beside what already follows it: an edit or a regenerated reply."""
        await self._exec(
            "UPDATE conversations SET leaf_id = ? WHERE id = ?", (message_id, conversation_id)
        )

    async def switch_to(self, conversation_id: int, message_id: int) -> int:
        """Show the newest branch through ``message_id`` (one of an item's alternatives);
        returns the branch's last message."""

        def switch(conn: apsw.Connection) -> int:
            tree = self._tree(conn, conversation_id)
            if message_id not in tree.nodes:
                raise KeyError(message_id)
            leaf = tree.newest_leaf(message_id)
            conn.execute(
                f"UPDATE conversations SET leaf_id = ?, updated_at = {_NOW} WHERE id = ?",
                (leaf, conversation_id),
            )
            return leaf

        return await self._db.run(switch)

    async def history_at(self, conversation_id: int, message_id: int | None) -> list[Any]:
        """The SDK history the model had after ``message_id`` on its branch (None: before
        the first message): the history kept with the branch's last finished turn, else (a
        conversation stored before branches existed) rebuilt from the branch's messages."""

        def read(conn: apsw.Connection) -> tuple[list[Any] | None, list[StoredMessage]]:
            saved, rest = self._tree(conn, conversation_id).saved_before(message_id)
            history = None if saved is None else self._kept_history(conn, saved)
            return history, [] if history is not None else self._rows(conn, rest)

        history, rows = await self._db.run(read)
        if history is not None:
            return history
        items = (decode(r.kind, r.agent, r.content, r.meta) for r in rows)
        return history_of(i for i in items if i is not None)

    @staticmethod
    def _kept_history(conn: apsw.Connection, message_id: int) -> list[Any] | None:
        """The history kept with a message: a whole list, or (to keep a long conversation's
        rows linear in its length, not quadratic) ``{"after": id, "items": [...]}``, the items
        a turn added to the history kept with an earlier message of its branch."""
        parts: list[list[Any]] = []
        current: int | None = message_id
        while current is not None and len(parts) < 100_000:
            row = conn.execute("SELECT history FROM messages WHERE id = ?", (current,)).fetchone()
            kept = load_history(row[0]) if row else None
            if isinstance(kept, list):
                parts.append(kept)
                return [item for part in reversed(parts) for item in part]
            if not isinstance(kept, dict) or not isinstance(kept.get("items"), list):
                return None
            parts.append(kept["items"])
            after = kept.get("after")
            current = after if isinstance(after, int) else None
        return None

    async def delete_branch(self, conversation_id: int, message_id: int) -> None:
        """Forget ``message_id`` and everything after it on any branch (a failed reply that a
        retry replaces)."""
        await self._exec(
            "DELETE FROM messages WHERE id = ? AND conversation_id = ?",
            (message_id, conversation_id),
        )

    async def add_item(self, conversation_id: int, item: TranscriptItem) -> int:
        """Store one transcript item at the end of the conversation; returns its row id."""
        kind, agent, content, meta = encode(item)
        meta_json = redact_around_images(json.dumps(meta or {}), self._redact)
        return await self._add_row(
            conversation_id, kind, self._redact(content), agent=agent, meta=json.loads(meta_json)
        )

    async def _add_row(
        self,
        conversation_id: int,
        kind: str,
        content: str,
        *,
        agent: str = "",
        meta: dict[str, Any] | None = None,
    ) -> int:
        def insert(conn: apsw.Connection) -> int:
            with conn:
                # It follows the last message of the branch shown, and becomes that.
                conn.execute(
                    "INSERT INTO messages (conversation_id, kind, agent, content, meta, parent_id)"
                    " VALUES (?, ?, ?, ?, ?, (SELECT leaf_id FROM conversations WHERE id = ?))",
                    (
                        conversation_id,
                        kind,
                        agent,
                        content,
                        json.dumps(meta or {}),
                        conversation_id,
                    ),
                )
                message_id = conn.last_insert_rowid()
                conn.execute(
                    f"UPDATE conversations SET leaf_id = ?, updated_at = {_NOW} WHERE id = ?",
                    (message_id, conversation_id),
                )
            return message_id

        return await self._db.run(insert)

    async def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Forget a turn's messages (retry replaces them)."""
        await self._exec(
            "DELETE FROM messages WHERE conversation_id = ? AND id >= ?",
            (conversation_id, message_id),
        )

    async def save_history(
        self, conversation_id: int, history: list[Any], pending_state: str | None
    ) -> None:
        """What the model sees next; also kept with the branch's last message, so switching
        back to this branch later gives the model this history again."""
        text = redact_around_images(json.dumps(history), self._redact)
        pending = pending_state and redact_around_images(pending_state, self._redact)

        def save(conn: apsw.Connection) -> None:
            with conn:
                conn.execute(
                    f"UPDATE conversations SET history = ?, pending_state = ?, updated_at = {_NOW}"
                    " WHERE id = ?",
                    (text, pending, conversation_id),
                )
                if pending_state:
                    return  # a paused turn has not ended: its history is the one before it
                leaf = self._leaf(conn, conversation_id)
                if leaf is None:
                    return
                tree = self._tree(conn, conversation_id)
                base, _ = tree.saved_before(tree.nodes[leaf].parent if leaf in tree.nodes else None)
                kept = text
                before = None if base is None else self._kept_history(conn, base)
                if before is not None and _starts_with(json.loads(text), before):
                    added = json.loads(text)[len(before) :]
                    kept = json.dumps({"after": base, "items": added})
                conn.execute("UPDATE messages SET history = ? WHERE id = ?", (kept, leaf))

        await self._db.run(save)

    async def rename_character(self, old: str, new: str) -> None:
        """Everything kept under a character's name follows it to its new name."""

        def rename(conn: apsw.Connection) -> None:
            with conn:
                for table in ("conversations", "tool_approvals", "discord_channels"):
                    conn.execute(
                        f"UPDATE {table} SET character = ? WHERE character = ?", (new, old)
                    )

        await self._db.run(rename)

    async def remembered(self, character: str) -> dict[str, str]:
        def read(conn: apsw.Connection) -> dict[str, str]:
            rows = conn.execute(
                "SELECT tool, policy FROM tool_approvals WHERE character = ?", (character,)
            )
            return dict(rows)

        return await self._db.run(read)

    async def remember(self, character: str, tool: str, policy: str) -> None:
        await self._exec(
            "INSERT INTO tool_approvals (character, tool, policy) VALUES (?, ?, ?)"
            " ON CONFLICT (character, tool) DO UPDATE SET policy = excluded.policy",
            (character, tool, policy),
        )

    async def workspace_policies(self) -> dict[str, str]:
        """The policies set for every character (the MCP page); a character's own override."""
        return await self.remembered(WORKSPACE_WIDE)

    async def set_workspace_policy(self, tool: str, policy: str) -> None:
        await self.remember(WORKSPACE_WIDE, tool, policy)

    async def record_run(
        self,
        conversation_id: int,
        *,
        started_at: str,
        duration_ms: int,
        agent: str,
        model: str,
        status: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        error: str | None = None,
    ) -> None:
        await self._exec(
            "INSERT INTO runs (conversation_id, started_at, duration_ms, agent, model, status,"
            " input_tokens, output_tokens, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                started_at,
                duration_ms,
                agent,
                model,
                status,
                input_tokens,
                output_tokens,
                error and self._redact(error),
            ),
        )

    async def _exec(self, sql: str, args: tuple[Any, ...]) -> None:
        await self._db.run(lambda conn: conn.execute(sql, args).fetchall())
