"""Which memories a turn may recall: a room on a public platform keeps its memories to itself.

A Discord DM, or one server's channel, is private to the people in it: what was said there must
not come back in another room, where other people read the reply. So a Discord turn recalls
only the Discord memories of its own room. Everything else is shared by every room: the
studio's own chats, notes, facts, imports and Instagram posts were written by the character's
owner, who may see them all. A studio chat (or any client not listed in `PRIVATE_ROOMS`)
recalls every memory, Discord ones included, since only the owner reads it.

A store cannot filter "other rooms of this client" in one query together with the room boost
the recall does, so the caller asks for `fetch_limit` hits and keeps the allowed ones with
`recallable`.
"""

from __future__ import annotations

from collections.abc import Sequence

from carrier_studio.core.memory.model import Provenance, SearchHit

#: The clients whose rooms are private to themselves.
PRIVATE_ROOMS: frozenset[str] = frozenset({"discord"})
#: How many more hits a private room's recall asks for, since other rooms' are dropped after.
OVERFETCH = 4


def is_private(client: str | None) -> bool:
    """Whether a turn from ``client`` must not see other rooms' memories of that client."""
    return client in PRIVATE_ROOMS


def may_recall(memory: Provenance, *, client: str | None, room: str | None) -> bool:
    """Whether a turn from ``client`` in ``room`` may recall a memory from ``memory``."""
    if not is_private(client):
        return True
    return memory.client != client or memory.room == room


def fetch_limit(client: str | None, limit: int) -> int:
    """How many hits to ask the store for, so ``limit`` remain after `recallable`."""
    return limit * OVERFETCH if is_private(client) else limit


def recallable(
    hits: Sequence[SearchHit], *, client: str | None, room: str | None, limit: int
) -> list[SearchHit]:
    """The first ``limit`` of ``hits`` (best first) that a turn from ``client`` in ``room``
    may recall; a turn from a client without private rooms gets ``hits`` as they are."""
    if not is_private(client):
        return list(hits)
    kept = [hit for hit in hits if may_recall(hit.record.provenance, client=client, room=room)]
    return kept[:limit]


__all__ = ["OVERFETCH", "PRIVATE_ROOMS", "fetch_limit", "is_private", "may_recall", "recallable"]
