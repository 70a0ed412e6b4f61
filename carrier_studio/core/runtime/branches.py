"""A conversation as a tree of messages: the branch shown, its alternatives, its history.

Each stored message names the one before it on its branch (``parent``; None: it starts the
conversation). Editing a user message adds a sibling of it; regenerating a reply adds a sibling
of the reply's first message under the same user message. The conversation keeps the last
message of the branch shown (its *leaf*); the branch is the walk from the leaf to the root.
This is how open-webui and LibreChat keep theirs (a ``parentMessageId`` per message).

The model sees the branch shown: the SDK history kept with the message that ended the branch's
last finished turn, or, for conversations stored before branches existed, the history rebuilt
from the branch's messages (`history_of`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from carrier_studio.core.runtime.attachments import user_content
from carrier_studio.core.runtime.transcript import (
    AssistantText,
    Stored,
    ToolCall,
    TranscriptItem,
    UserText,
)


@dataclass(frozen=True)
class Node:
    id: int
    parent: int | None
    #: Whether the SDK history after the turn this message ended is kept with it.
    saved: bool = False


class Tree:
    """The messages of one conversation, by parent."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes = {n.id: n for n in nodes}
        self.children: dict[int | None, list[int]] = {}
        for node in sorted(self.nodes.values(), key=lambda n: n.id):
            self.children.setdefault(node.parent, []).append(node.id)

    def path(self, leaf: int | None) -> list[int]:
        """The ids from the root to ``leaf``, in order."""
        ids: list[int] = []
        seen: set[int] = set()
        current = leaf
        while current is not None and current in self.nodes and current not in seen:
            seen.add(current)  # a loop in damaged data must not hang the chat
            ids.append(current)
            current = self.nodes[current].parent
        return ids[::-1]

    def siblings(self, node_id: int) -> tuple[int, ...]:
        """The alternatives at ``node_id``'s place, oldest first (itself among them)."""
        node = self.nodes.get(node_id)
        if node is None:
            return ()
        return tuple(self.children.get(node.parent, ()))

    def newest_leaf(self, node_id: int) -> int:
        """The end of the newest branch through ``node_id`` (where switching to it lands)."""
        current = node_id
        while self.children.get(current):
            current = self.children[current][-1]
        return current

    def saved_before(self, leaf: int | None) -> tuple[int | None, list[int]]:
        """The message nearest ``leaf`` on its branch that keeps a history, and the ids after
        it (None and the whole branch when no message on it keeps one)."""
        path = self.path(leaf)
        for index in range(len(path) - 1, -1, -1):
            if self.nodes[path[index]].saved:
                return path[index], path[index + 1 :]
        return None, path


def with_siblings(tree: Tree, stored: Sequence[Stored]) -> list[Stored]:
    """``stored`` with each item's alternatives, where it has any."""
    out = []
    for entry in stored:
        siblings = tree.siblings(entry.id)
        out.append(Stored(entry.id, entry.item, siblings if len(siblings) > 1 else ()))
    return out


def history_of(items: Iterable[TranscriptItem]) -> list[dict[str, Any]]:
    """SDK input items for a branch stored without its history: what was said and done."""
    history: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, UserText):
            history.append({"role": "user", "content": user_content(item.text, item.attachments)})
        elif isinstance(item, AssistantText) and item.text:
            history.append({"role": "assistant", "content": item.text})
        elif isinstance(item, ToolCall) and item.call_id:
            history.append(
                {
                    "type": "function_call",
                    "call_id": item.call_id,
                    "name": item.name,
                    "arguments": item.arguments or "{}",
                }
            )
            history.append(
                {"type": "function_call_output", "call_id": item.call_id, "output": item.result}
            )
    return history


def load_history(text: str | None) -> list[Any] | dict[str, Any] | None:
    """A kept history as stored: a list, or a dict naming the one it continues; None when
    there is none or it cannot be read."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list | dict) else None
