"""The Discord bot's repository: which conversation each channel is (table ``discord_channels``).

Every channel (or DM) the bot answers in is one room of the studio's chat: this table maps it to
a conversation per character, so a restart of the bot, or of the studio, continues the same
conversation. The SQL lives here and nowhere else in the bot.
"""

from __future__ import annotations

import apsw

from carrier_studio.services.platform.db import Database


class DiscordChannelStore:
    """Which conversation each channel is, per character (table ``discord_channels``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def conversation_for(self, character: str, channel_id: int) -> int | None:
        """The conversation ``character`` holds in ``channel_id``, if it has one yet."""

        def read(conn: apsw.Connection) -> int | None:
            row = conn.execute(
                "SELECT conversation_id FROM discord_channels"
                " WHERE character = ? AND channel_id = ?",
                (character, channel_id),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._db.run(read)

    async def remember(
        self, character: str, channel_id: int, conversation_id: int, label: str
    ) -> None:
        """Make ``conversation_id`` the channel's conversation (replacing an older one)."""

        def write(conn: apsw.Connection) -> None:
            conn.execute(
                "INSERT INTO discord_channels (character, channel_id, conversation_id, label)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (character, channel_id) DO UPDATE SET"
                " conversation_id = excluded.conversation_id, label = excluded.label",
                (character, channel_id, conversation_id, label),
            )

        await self._db.run(write)

    async def rooms(self, character: str) -> dict[int, int]:
        """channel id → conversation id for ``character``."""

        def read(conn: apsw.Connection) -> dict[int, int]:
            rows = conn.execute(
                "SELECT channel_id, conversation_id FROM discord_channels WHERE character = ?",
                (character,),
            )
            return {int(a): int(b) for a, b in rows}

        return await self._db.run(read)


__all__ = ["DiscordChannelStore"]
