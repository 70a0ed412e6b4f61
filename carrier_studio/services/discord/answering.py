"""The Discord bot's answering: which messages to answer, running the turn, posting the reply.

Each message the policy says to answer (see `core.discord.policy`) goes to the character through
the `ChatService`, so Discord turns are stored in studio.db like any chat. Every channel is one
room: `DiscordChannelStore` maps it to a conversation, and one chat thread per channel answers
its messages one at a time, in order.

- Messages are deduplicated by id, so an event that discord.py replays after a RESUME is not
  answered twice; after a fresh IDENTIFY the recently active channels are read back from the
  last message the bot had seen there, so a message posted while it was away is not lost.
- Tools that need approval: nobody in Discord can approve them, so such calls are rejected at
  once (the model is told, and the rejection is stored in the conversation like any other) and
  the reply ends with a short note naming the tools that did not run.
- A reply longer than Discord allows is split (`core.discord.split`) and posted as a reply to
  the message, the first chunk referencing it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from carrier_studio.core.discord.policy import (
    BotPolicy,
    IncomingMessage,
    clean_prompt,
    should_answer,
)
from carrier_studio.core.discord.split import split_reply
from carrier_studio.core.discord.status import ActivityKind
from carrier_studio.core.runtime.transcript import TurnReducer
from carrier_studio.services.chat import ChatService, ChatThread
from carrier_studio.services.discord.connection import DiscordConnection, import_discord
from carrier_studio.services.discord.reporting import BotReport, reason, short
from carrier_studio.services.discord.store import DiscordChannelStore
from carrier_studio.services.providers import too_long

if TYPE_CHECKING:
    import discord

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side and I could not answer."
NO_ANSWER = "-# (no answer)"
#: How many times in a row a run may stop for approvals before the bot gives up on it.
MAX_APPROVAL_ROUNDS = 8
#: Message ids remembered for de-duplication.
SEEN_LIMIT = 5000
#: After a fresh IDENTIFY: how many recently active channels are read back, how far.
READ_BACK_CHANNELS = 20
BACKFILL_LIMIT = 50
#: Discord shows "typing…" for 10 s after each typing request.
TYPING_EVERY_S = 8.0


class Answering:
    """Answers as ``character`` on the messages the `DiscordConnection` hands it.

    It is the connection's `Listener`; call ``attach()`` with the connection before starting
    it. ``policy`` is read for every message, so a change applies to the next one.
    """

    def __init__(
        self,
        character: str,
        chat: ChatService,
        channels: DiscordChannelStore,
        report: BotReport,
        policy: BotPolicy,
        *,
        name_authors: bool = True,
    ) -> None:
        self.character = character
        self.policy = policy
        #: Prefix channel messages with the author's name, so the agent can tell people apart.
        self.name_authors = name_authors
        self._chat = chat
        self._channels = channels
        self._report = report
        self._link: DiscordConnection | None = None
        self._threads: dict[int, ChatThread] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._seen: OrderedDict[int, None] = OrderedDict()
        #: channel id → the newest message id seen there (for reading back after a re-IDENTIFY).
        self._last_seen: dict[int, int] = {}

    def attach(self, link: DiscordConnection) -> None:
        """The connection whose messages this answers (they are made for each other)."""
        self._link = link

    @property
    def _connection(self) -> DiscordConnection:
        assert self._link is not None, "Answering.attach() was not called"
        return self._link

    # -- the connection's Listener -----------------------------------------------------------

    async def check(self) -> str:
        if self.character not in await self._chat.characters_by_name():
            return f'the character "{self.character}" does not exist or cannot be read'
        return ""

    async def on_message(self, message: discord.Message) -> None:
        """Decide whether to answer ``message``; answering runs as a task of the connection."""
        link = self._connection
        if link.user_id is None or link.stopping:
            return
        if message.id in self._seen:
            log.debug("message %s seen already; not answered again", message.id)
            return
        self._seen[message.id] = None
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        channel_id = message.channel.id
        self._last_seen[channel_id] = max(self._last_seen.get(channel_id, 0), message.id)
        incoming = _incoming(message)
        answer, why = should_answer(incoming, link.user_id, self.policy)
        if not answer:
            log.debug("not answering message %s: %s", message.id, why)
            return
        link.spawn(self._answer(message, incoming, time.monotonic()))

    async def greet(self) -> None:
        """Post the character's ``discord_config.initial_message`` in its initial channel."""
        discord = import_discord()

        docs = await self._chat.characters_by_name()
        doc = docs.get(self.character)
        config = doc.section("discord_config") if doc is not None else {}
        where = str(config.get("initial_channel") or "").strip()
        text = str(config.get("initial_message") or "").strip()
        if not where or not text:
            return
        channel = self._find_channel(where)
        if channel is None:
            self._report.info(f"initial message not posted: no channel {where!r} the bot can see")
            return
        try:
            for chunk in split_reply(text):
                await channel.send(chunk)
        except discord.HTTPException as exc:
            self._report.info(f"initial message not posted in #{channel.name}: {reason(exc)}")
            return
        self._report.record(
            ActivityKind.INFO,
            channel=f"#{channel.name} ({channel.guild.name})",
            channel_id=channel.id,
            reply=short(text, 300),
            detail="posted the initial message",
        )

    async def read_back(self) -> None:
        """After a fresh IDENTIFY, answer what was posted while the bot was away.

        Only the most recently active channels are read (``READ_BACK_CHANNELS``), each from the
        last message the bot had seen there.
        """
        discord = import_discord()

        client = self._connection.client
        if client is None:
            return
        recent = sorted(self._last_seen.items(), key=lambda item: item[1], reverse=True)
        for channel_id, last in recent[:READ_BACK_CHANNELS]:
            channel = client.get_channel(channel_id) or client.get_partial_messageable(channel_id)
            try:
                async for message in channel.history(
                    limit=BACKFILL_LIMIT, after=discord.Object(last), oldest_first=True
                ):
                    await self.on_message(message)
            except discord.HTTPException as exc:
                log.info("could not read back channel %s: %s", channel_id, exc)

    def interrupt(self) -> None:
        for thread in self._threads.values():
            thread.cancel()

    async def close(self) -> None:
        threads, self._threads = self._threads, {}
        for thread in threads.values():
            await thread.close()
        self._locks.clear()

    # -- one answer --------------------------------------------------------------------------

    async def _answer(
        self, message: discord.Message, incoming: IncomingMessage, arrived: float
    ) -> None:
        discord = import_discord()

        link = self._connection
        assert link.user_id is not None
        channel = message.channel
        label = _label(message)
        prompt = clean_prompt(incoming.content, link.user_id)
        author = message.author.display_name
        if self.name_authors and not incoming.is_dm:
            prompt = f"{author}: {prompt}"
        base = {
            "channel": label,
            "channel_id": channel.id,
            "author": author,
            "prompt": short(prompt, 200),
            "message_id": message.id,
        }
        lock = self._locks.setdefault(channel.id, asyncio.Lock())
        async with lock:
            try:
                thread = await self._thread_for(channel.id, label)
                await _typing(channel)
                typing = asyncio.create_task(_keep_typing(channel))
                try:
                    reply, failure = await self._run(thread, prompt, author)
                finally:
                    typing.cancel()
                    await asyncio.gather(typing, return_exceptions=True)
                if link.stopping:
                    self._report.record(
                        ActivityKind.INFO, **base, detail="not sent: the bot stopped"
                    )
                    return
                chunks = split_reply(reply) or [NO_ANSWER]
                reference = message.to_reference(fail_if_not_exists=False)
                for index, chunk in enumerate(chunks):
                    await channel.send(chunk, reference=reference if index == 0 else None)
            except discord.HTTPException as exc:
                self._report.record(
                    ActivityKind.FAILED,
                    **base,
                    latency_s=time.monotonic() - arrived,
                    detail=f"Discord refused the reply: {reason(exc)}",
                )
                return
            except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the bot
                log.exception("answering a Discord message failed")
                # The conversation may be gone (deleted in the studio): open it afresh next time.
                stale = self._threads.pop(channel.id, None)
                if stale is not None:
                    await stale.close()
                self._report.record(
                    ActivityKind.FAILED,
                    **base,
                    latency_s=time.monotonic() - arrived,
                    detail=reason(exc),
                )
                return
        self._report.record(
            ActivityKind.FAILED if failure else ActivityKind.REPLY,
            **base,
            reply=short("\n".join(chunks), 300),
            latency_s=time.monotonic() - arrived,
            chunks=len(chunks),
            detail=failure,
        )

    async def _run(self, thread: ChatThread, prompt: str, author: str) -> tuple[str, str]:
        """Run one turn; returns (the reply to post, what went wrong or "")."""
        # The window a local server states (llama.cpp's -c): a guess too large sends more than
        # it holds, and the server refuses every message. Asked once per endpoint and model
        # (again after a while, or at once after a refusal as too long).
        await self._chat.learn_context_window(thread, cached=True)
        turn = TurnReducer(thread.character)
        stream = thread.send(prompt, client="discord", speaker=author)
        rounds, gave_up = 0, False
        while True:
            turn.done = None
            async for event in stream:
                turn.feed(event)
            done = turn.done
            if done is None or not done.pending_approvals or self._connection.stopping:
                break
            if rounds == MAX_APPROVAL_ROUNDS:
                gave_up = True
                break
            rounds += 1
            # Nobody can approve from Discord: reject, and let the model answer without them.
            stream = thread.resolve(dict.fromkeys(done.pending_approvals, False))
        if any(too_long(failure.hint) for failure in turn.failures()):
            # The server holds less than it stated (llama.cpp restarted with a smaller -c):
            # the next reply asks it again and fits to the window it states now.
            await self._chat.forget_context_window(thread)
        return bot_reply(turn, gave_up=gave_up)

    async def _thread_for(self, channel_id: int, label: str) -> ChatThread:
        """The channel's chat thread: its stored conversation, or a new one remembered for it."""
        thread = self._threads.get(channel_id)
        if thread is not None:
            return thread
        conversations = self._chat.conversations
        conversation_id = await self._channels.conversation_for(self.character, channel_id)
        thread = None
        if conversation_id is not None:
            try:
                thread = await self._chat.open(conversation_id)
            except KeyError:
                thread = None
        if thread is None:
            conversation_id = await conversations.create(self.character, f"Discord {label}")
            await self._channels.remember(self.character, channel_id, conversation_id, label)
            thread = await self._chat.open(conversation_id)
        self._threads[channel_id] = thread
        return thread

    def _find_channel(self, where: str) -> Any:
        """A text channel the bot can see, by id or name (with or without the ``#``)."""
        client = self._connection.client
        if client is None:
            return None
        key = where.strip().lstrip("#").lower()
        for guild in client.guilds:
            for channel in guild.text_channels:
                if str(channel.id) == key or channel.name.lower() == key:
                    return channel
        return None


def bot_reply(turn: TurnReducer, *, gave_up: bool = False) -> tuple[str, str]:
    """What the bot posts for a finished turn (before splitting), and what went wrong or "".

    Shared with the character tests' Discord rehearsal, so a rehearsed reply is the bot's own.
    """
    failures = turn.failures()
    failure = failures[-1].message if failures else ""
    if gave_up:
        failure = failure or "the agent kept asking for tools that need approval"
    refused = list(dict.fromkeys(a.tool for a in turn.approvals()))
    reply = "\n\n".join(text.strip() for text in turn.replies())
    if failure:
        reply = f"{reply}\n\n{SORRY}" if reply else SORRY
    if refused:
        names = ", ".join(f"`{name}`" for name in refused)
        reply += (
            f"\n\n-# Not run: {names}. It needs approval in Carrier Studio, and approvals "
            "cannot be given from Discord."
        )
    return reply.strip(), failure


async def _typing(channel: Any) -> None:
    """One typing request ("typing…" shows for 10 s); a failure is not worth failing over."""
    discord = import_discord()

    try:
        await channel.typing()
    except discord.HTTPException as exc:
        log.debug("typing indicator failed: %s", exc)


async def _keep_typing(channel: Any) -> None:
    """Keep "typing…" showing until cancelled."""
    while True:
        await asyncio.sleep(TYPING_EVERY_S)
        await _typing(channel)


def _incoming(message: discord.Message) -> IncomingMessage:
    guild = message.guild
    return IncomingMessage(
        id=message.id,
        channel_id=message.channel.id,
        channel_name=getattr(message.channel, "name", None) or "",
        guild_id=guild.id if guild is not None else None,
        author_id=message.author.id,
        author_is_bot=message.author.bot,
        content=message.content,
        mentions=[user.id for user in message.mentions],
        is_dm=guild is None,
    )


def _label(message: discord.Message) -> str:
    if message.guild is None:
        return f"DM with {message.author.name}"
    return f"#{getattr(message.channel, 'name', message.channel.id)} ({message.guild.name})"


__all__ = ["NO_ANSWER", "SORRY", "Answering"]
