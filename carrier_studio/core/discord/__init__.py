"""The Discord bot's plain rules: when to answer, how to split a reply, what it reports.

No discord.py here (import-linter keeps it out of core); `services.discord` adapts.
"""

from carrier_studio.core.discord.policy import (
    BotPolicy,
    IncomingMessage,
    clean_prompt,
    should_answer,
)
from carrier_studio.core.discord.split import DISCORD_LIMIT, split_reply
from carrier_studio.core.discord.status import (
    ActivityEntry,
    ActivityKind,
    BotPhase,
    BotStatus,
    ChannelInfo,
    GuildInfo,
)

__all__ = [
    "DISCORD_LIMIT",
    "ActivityEntry",
    "ActivityKind",
    "BotPhase",
    "BotPolicy",
    "BotStatus",
    "ChannelInfo",
    "GuildInfo",
    "IncomingMessage",
    "clean_prompt",
    "should_answer",
    "split_reply",
]
