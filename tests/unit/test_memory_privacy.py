"""The memory-privacy rule: a Discord turn recalls no other Discord room's memories."""

from __future__ import annotations

from carrier_studio.core.memory import MemoryRecord, Provenance, SearchHit
from carrier_studio.core.memory.privacy import fetch_limit, may_recall, recallable


def _hit(content: str, client: str, room: str | None = None, score: float = 0.5) -> SearchHit:
    return SearchHit(MemoryRecord("Juniper", content, provenance=Provenance(client, room)), score)


HITS = [
    _hit("My locker code is 4471", "discord", "dm-7", 0.9),
    _hit("The locker room opens at nine", "discord", "general", 0.8),
    _hit("Lockers are on the second floor", "user", None, 0.7),
    _hit("We talked about lockers in the studio", "chat", "12", 0.6),
    _hit("A post about lockers", "instagram", "3", 0.5),
]


def _texts(hits: list[SearchHit]) -> list[str]:
    return [hit.record.content for hit in hits]


def test_a_discord_turn_keeps_its_own_room_and_everything_not_from_discord():
    kept = recallable(HITS, client="discord", room="general", limit=10)
    assert _texts(kept) == [
        "The locker room opens at nine",
        "Lockers are on the second floor",
        "We talked about lockers in the studio",
        "A post about lockers",
    ]


def test_a_dm_stays_in_its_dm():
    kept = _texts(recallable(HITS, client="discord", room="dm-7", limit=10))
    assert "My locker code is 4471" in kept
    assert "The locker room opens at nine" not in kept


def test_a_discord_turn_without_a_room_recalls_no_discord_memory():
    kept = recallable(HITS, client="discord", room=None, limit=10)
    assert not [hit for hit in kept if hit.record.provenance.client == "discord"]


def test_studio_turns_recall_every_room_as_the_store_ranked_them():
    for client in ("chat", None):
        assert recallable(HITS, client=client, room="12", limit=2) == HITS


def test_the_limit_applies_after_dropping_other_rooms():
    kept = recallable(HITS, client="discord", room="general", limit=2)
    assert _texts(kept) == ["The locker room opens at nine", "Lockers are on the second floor"]


def test_a_private_room_asks_the_store_for_more_so_the_limit_can_still_be_met():
    assert fetch_limit("discord", 5) == 20
    assert fetch_limit("chat", 5) == 5
    assert fetch_limit(None, 5) == 5


def test_may_recall_is_the_rule_for_one_memory():
    dm = Provenance("discord", "dm-7")
    assert may_recall(dm, client="discord", room="dm-7")
    assert not may_recall(dm, client="discord", room="general")
    assert may_recall(dm, client="chat", room="12")
    assert may_recall(Provenance("user"), client="discord", room="general")
