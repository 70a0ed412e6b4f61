"""What the Discord bot reports: its connection status, its recent activity, what it can see.

Plain data, so the Discord page, the status bar and headless mode read the same thing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from carrier_studio.core.status import State


class BotPhase(enum.Enum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"


#: How each phase shows in the status bar.
PHASE_STATE: dict[BotPhase, State] = {
    BotPhase.STOPPED: State.STOPPED,
    BotPhase.CONNECTING: State.STARTING,
    BotPhase.CONNECTED: State.RUNNING,
    BotPhase.RECONNECTING: State.STARTING,
    BotPhase.ERROR: State.ERROR,
}


@dataclass(frozen=True)
class BotStatus:
    phase: BotPhase
    #: One line for the status bar: "connected as Ada#1234", "the bot token was refused", …
    detail: str = ""
    #: The bot's user name once connected.
    user: str = ""
    #: Seconds Discord asked to wait (HTTP 429) while the bot is rate limited; else None.
    rate_limited_for: float | None = None

    @property
    def state(self) -> State:
        return PHASE_STATE[self.phase]


class ActivityKind(enum.Enum):
    #: A message was answered (``reply`` holds what was sent).
    REPLY = "reply"
    #: A message could not be answered (``error`` says why; the user was told in Discord).
    FAILED = "failed"
    #: Discord said 429; discord.py waits and retries by itself.
    RATE_LIMITED = "rate limited"
    #: Anything else worth showing: the initial message, a reconnect, a skipped setting.
    INFO = "info"


@dataclass(frozen=True)
class ActivityEntry:
    kind: ActivityKind
    at: datetime
    #: "#general (My Server)", "DM with sam"; empty for events that are not about a channel.
    channel: str = ""
    channel_id: int | None = None
    author: str = ""
    #: The message as the agent got it (mention removed), shortened for display.
    prompt: str = ""
    #: What was sent back (all chunks joined), shortened for display.
    reply: str = ""
    #: Seconds from the message's arrival to the last chunk sent.
    latency_s: float | None = None
    #: How many Discord messages the reply took.
    chunks: int = 0
    message_id: int | None = None
    #: For FAILED and INFO entries: what happened, in words.
    detail: str = ""


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    name: str
    #: "text", "voice", "news", "forum", "stage", "category" or "other".
    kind: str
    #: Whether the bot may post there; None when Discord did not say (no member data).
    can_send: bool | None = None
    #: Whether the policy's allowlist lets the bot answer there.
    allowed: bool = True


@dataclass(frozen=True)
class GuildInfo:
    id: int
    name: str
    channels: list[ChannelInfo] = field(default_factory=list)
