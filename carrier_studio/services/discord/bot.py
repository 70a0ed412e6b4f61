"""The Discord bot: one character answers in Discord, one conversation per channel.

`DiscordBot` is the bot's public face, the one the controller, headless mode and the tests hold.
It puts together the three parts that do the work, each in its own module beside this one:

- `connection`: the discord.py client from login to close, reconnects and the status they show
  (a refused token, a dropped gateway, HTTP 429);
- `answering`: which messages to answer, the turn through the chat thread, the reply split and
  posted (de-duplication, reading back after a fresh IDENTIFY, refused approvals);
- `store`: which conversation each channel is (the SQL), so a restart continues where it
  stopped; and `reporting`: the status and the recent activity the listeners hear of.

discord.py (and aiohttp) are imported when the bot starts, not with this module (≈0.6 s).
"""

from __future__ import annotations

from carrier_studio.core.discord.policy import BotPolicy
from carrier_studio.core.discord.status import ActivityEntry, BotStatus, GuildInfo
from carrier_studio.services.chat import ChatService
from carrier_studio.services.discord.answering import Answering
from carrier_studio.services.discord.connection import (
    INTENT_REFUSED,
    NO_TOKEN,
    TOKEN_REFUSED,
    DiscordConnection,
    TokenSource,
    import_discord,
)
from carrier_studio.services.discord.reporting import ActivityCallback, BotReport, StatusCallback
from carrier_studio.services.discord.store import DiscordChannelStore


class DiscordBot:
    """One character on Discord. Create it, ``await start()``, ``await stop()``.

    ``token`` is the bot token or a function returning it (called in a thread, since a keyring
    may block); it is never logged. ``on_status`` gets a `BotStatus` on every change,
    ``on_activity`` an `ActivityEntry` per answered message (and per notable event). Both are
    called on the event loop and must not block.
    """

    def __init__(
        self,
        token: TokenSource,
        character: str,
        chat: ChatService,
        policy: BotPolicy | None = None,
        on_status: StatusCallback | None = None,
        on_activity: ActivityCallback | None = None,
        *,
        channels: DiscordChannelStore | None = None,
        name_authors: bool = True,
        guild_ready_timeout: float = 2.0,
        connect_timeout: float = 60.0,
        activity_limit: int = 100,
    ) -> None:
        self.character = character
        self._chat = chat
        self._report = BotReport(on_status, on_activity, activity_limit)
        self._answering = Answering(
            character,
            chat,
            channels or DiscordChannelStore(chat.conversations.db),
            self._report,
            policy or BotPolicy(),
            name_authors=name_authors,
        )
        self._link = DiscordConnection(
            token,
            character,
            self._answering,
            self._report,
            redact=self._redact,
            guild_ready_timeout=guild_ready_timeout,
            connect_timeout=connect_timeout,
        )
        self._answering.attach(self._link)

    @property
    def policy(self) -> BotPolicy:
        """Read for every message; ``mentions_only`` also sets the gateway intents at start."""
        return self._answering.policy

    @policy.setter
    def policy(self, policy: BotPolicy) -> None:
        self._answering.policy = policy

    @property
    def name_authors(self) -> bool:
        """Prefix channel messages with the author's name, so the agent can tell people apart."""
        return self._answering.name_authors

    @name_authors.setter
    def name_authors(self, value: bool) -> None:
        self._answering.name_authors = value

    @property
    def status(self) -> BotStatus:
        return self._report.status

    @property
    def recent_activity(self) -> list[ActivityEntry]:
        """Newest last, at most ``activity_limit`` entries."""
        return self._report.recent

    @property
    def running(self) -> bool:
        """Started and not stopped (connected, connecting or reconnecting)."""
        return self._link.client is not None

    async def start(self) -> BotStatus:
        """Log in and connect; returns once connected or failed (or after ``connect_timeout``,
        still connecting in the background). Does nothing while already started."""
        return await self._link.start(mentions_only=self.policy.mentions_only)

    async def stop(self) -> None:
        """Disconnect and release everything: running answers are cancelled and not sent."""
        await self._link.stop()

    def guilds_and_channels(self) -> list[GuildInfo]:
        """The servers the bot is in and their channels (empty until connected)."""
        return self._link.guilds_and_channels(self.policy)

    def _redact(self, token: str) -> None:
        # The chat's secret store owns the log redactor; a token read here joins it.
        redactor = getattr(getattr(self._chat, "secrets", None), "redactor", None)
        if redactor is not None:
            redactor.add(token)


__all__ = [
    "INTENT_REFUSED",
    "NO_TOKEN",
    "TOKEN_REFUSED",
    "DiscordBot",
    "DiscordChannelStore",
    "import_discord",
]
