"""The Discord bot. Other features use only these names: how the bot words a finished turn
(`bot_reply`, `NO_ANSWER`) and its policy from the settings (`policy_from`), which the
character tests' Discord rehearsal follows exactly."""

from carrier_studio.services.discord.answering import MAX_APPROVAL_ROUNDS, NO_ANSWER, bot_reply
from carrier_studio.services.discord.controller import policy_from

__all__ = ["MAX_APPROVAL_ROUNDS", "NO_ANSWER", "bot_reply", "policy_from"]
