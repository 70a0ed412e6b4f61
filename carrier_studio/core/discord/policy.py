"""When the Discord bot answers, and what it hands the agent: plain rules over plain data.

`should_answer` decides from an `IncomingMessage` (built by the service from discord.py's
message) and a `BotPolicy` (what the user set on the Discord page). The rules, in order:

1. never the bot's own messages;
2. no other bots, unless ``ignore_bots`` is off;
3. direct messages only when ``allow_dms`` is on (no mention is needed in a DM, and the channel
   allowlist does not apply to DMs);
4. in a server, only channels in ``channel_allowlist`` (ids or names; empty means every channel
   the bot can read);
5. with ``mentions_only``, only messages that mention the bot;
6. never an empty prompt (a bare mention).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from carrier_studio.core.discord.split import DISCORD_LIMIT, split_reply

__all__ = [
    "DISCORD_LIMIT",
    "BotPolicy",
    "IncomingMessage",
    "clean_prompt",
    "should_answer",
    "split_reply",
]


@dataclass(frozen=True)
class BotPolicy:
    mentions_only: bool = True
    allow_dms: bool = False
    #: Channel ids (int or digit strings) or names (``general`` or ``#general``); empty: all.
    channel_allowlist: frozenset[int | str] | set[int | str] = field(default_factory=frozenset)
    ignore_bots: bool = True

    def allows_channel(self, channel_id: int, channel_name: str) -> bool:
        if not self.channel_allowlist:
            return True
        wanted = {_channel_key(entry) for entry in self.channel_allowlist}
        return str(channel_id) in wanted or channel_name.strip().lstrip("#").lower() in wanted


def _channel_key(entry: int | str) -> str:
    return str(entry).strip().lstrip("#").lower()


@dataclass(frozen=True)
class IncomingMessage:
    id: int
    channel_id: int
    channel_name: str
    guild_id: int | None
    author_id: int
    author_is_bot: bool
    content: str
    mentions: list[int] = field(default_factory=list)
    is_dm: bool = False


# Reasons, so callers (and tests) can tell which rule said no.
ANSWER = "answer"
OWN_MESSAGE = "own message"
FROM_BOT = "from a bot"
DMS_OFF = "direct messages are off"
NOT_ALLOWED_CHANNEL = "channel not in the allowlist"
NOT_MENTIONED = "not mentioned"
EMPTY = "empty message"


def should_answer(
    message: IncomingMessage, bot_user_id: int, policy: BotPolicy
) -> tuple[bool, str]:
    """Whether the bot answers ``message``, and why (one of the reason constants)."""
    if message.author_id == bot_user_id:
        return False, OWN_MESSAGE
    if message.author_is_bot and policy.ignore_bots:
        return False, FROM_BOT
    if message.is_dm:
        if not policy.allow_dms:
            return False, DMS_OFF
    else:
        if not policy.allows_channel(message.channel_id, message.channel_name):
            return False, NOT_ALLOWED_CHANNEL
        if policy.mentions_only and bot_user_id not in message.mentions:
            return False, NOT_MENTIONED
    if not clean_prompt(message.content, bot_user_id):
        return False, EMPTY
    return True, ANSWER


def clean_prompt(content: str, bot_user_id: int) -> str:
    """The message without the bot's mention(s) (``<@id>`` or ``<@!id>``), trimmed.

    Only the spaces around a mention are collapsed; the rest (code indentation, line breaks)
    is kept as written.
    """
    cleaned = re.sub(rf"[ \t]*<@!?{int(bot_user_id)}>[ \t]*", " ", content)
    return cleaned.strip()
