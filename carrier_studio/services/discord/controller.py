"""Starts and stops the Discord bot for the window (and headless mode), and relays what it says.

The bot itself is `DiscordBot`; this controller owns at most one at a time, builds its policy
from the settings, reads the token from the secret store, and tells its listeners about status
and activity so the page and the status bar follow along.
"""

from __future__ import annotations

from carrier_studio.core.discord import ActivityEntry, BotPhase, BotPolicy, BotStatus
from carrier_studio.core.events import Emitter
from carrier_studio.core.settings import DiscordSettings
from carrier_studio.services.chat import ChatService
from carrier_studio.services.discord.bot import DiscordBot
from carrier_studio.services.platform.secrets import SecretStore


def policy_from(settings: DiscordSettings) -> BotPolicy:
    allow: set[int | str] = set()
    for entry in settings.channel_allowlist:
        entry = entry.strip()
        if entry:
            allow.add(int(entry) if entry.isdigit() else entry)
    return BotPolicy(
        mentions_only=settings.mentions_only,
        allow_dms=settings.allow_dms,
        channel_allowlist=frozenset(allow),
    )


class DiscordController:
    def __init__(self, chat: ChatService, secrets: SecretStore, **bot_options: object) -> None:
        self._chat = chat
        self._secrets = secrets
        self._bot_options = bot_options
        self.bot: DiscordBot | None = None
        self.status = BotStatus(BotPhase.STOPPED, "stopped")
        #: Emits the bot's new `BotStatus`.
        self.status_changed: Emitter[BotStatus] = Emitter("Discord status")
        #: Emits each `ActivityEntry` (a message answered, skipped or failed).
        self.activity: Emitter[ActivityEntry] = Emitter("Discord activity")

    @property
    def running(self) -> bool:
        return self.bot is not None and self.bot.running

    def recent_activity(self) -> list[ActivityEntry]:
        return self.bot.recent_activity if self.bot is not None else []

    async def start(self, settings: DiscordSettings) -> BotStatus:
        """Start the bot as ``settings.character`` (stopping one that runs)."""
        await self.stop()
        self.bot = DiscordBot(
            lambda: self._secrets.get("DISCORD_BOT_TOKEN"),
            settings.character,
            self._chat,
            policy_from(settings),
            self._relay_status,
            self._relay_activity,
            **self._bot_options,  # type: ignore[arg-type]
        )
        return await self.bot.start()

    async def stop(self) -> None:
        if self.bot is not None:
            bot, self.bot = self.bot, None
            await bot.stop()

    def _relay_status(self, status: BotStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _relay_activity(self, entry: ActivityEntry) -> None:
        self.activity.emit(entry)
