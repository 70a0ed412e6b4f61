"""The Discord bot: one character answers in Discord, one conversation per channel.

`DiscordBot` runs discord.py on the caller's running event loop (the studio's qasync loop) and
hands each message it should answer (see `core.discord.policy`) to the character through the
`ChatService`, so Discord turns are stored in studio.db like any chat. Every channel is one room:
``discord_channels`` maps it to a conversation, so a restart continues where it stopped.

What it does about the things that go wrong:

- a refused token (401 on login, or close code 4004 on the gateway): status error "the bot token
  was refused", and no retry;
- a dropped gateway: discord.py reconnects by itself (RESUME, or a fresh IDENTIFY when Discord
  refuses the resume). Messages are deduplicated by id, so a replayed event is not answered
  twice; after a fresh IDENTIFY, the recently active channels are read back from the last
  message the bot had seen there, so a message posted while it was away is not lost;
- HTTP 429: discord.py waits and retries by itself; the bot observes the 429 (through an aiohttp
  trace) and says "rate limited, retrying in N s" in its status and activity until a request
  succeeds again;
- tools that need approval: nobody in Discord can approve them, so such calls are rejected at
  once (the model is told, and the rejection is stored in the conversation like any other) and
  the reply ends with a short note naming the tools that did not run.

discord.py (and aiohttp) are imported when the bot starts, not with this module (≈0.6 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import apsw

from carrier_studio.core.discord.policy import (
    BotPolicy,
    IncomingMessage,
    clean_prompt,
    should_answer,
)
from carrier_studio.core.discord.split import split_reply
from carrier_studio.core.discord.status import (
    ActivityEntry,
    ActivityKind,
    BotPhase,
    BotStatus,
    ChannelInfo,
    GuildInfo,
)
from carrier_studio.core.runtime.transcript import TurnReducer
from carrier_studio.services.chat.service import ChatService, ChatThread
from carrier_studio.services.platform.db import Database

if TYPE_CHECKING:
    import aiohttp
    import discord

log = logging.getLogger(__name__)

TokenSource = str | Callable[[], str | None]
StatusCallback = Callable[[BotStatus], None]
ActivityCallback = Callable[[ActivityEntry], None]

TOKEN_REFUSED = "the bot token was refused"
NO_TOKEN = "no bot token: add DISCORD_BOT_TOKEN in Settings"
INTENT_REFUSED = (
    "Discord refused the Message Content intent: turn it on for this bot in the Developer "
    "Portal, or let the bot answer mentions only"
)
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


def import_discord() -> Any:
    """discord.py, imported on first use.

    It imports the stdlib ``audioop`` for voice, which warns (DeprecationWarning) on Python
    3.11+; the bot uses no voice, so that one warning is silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
        import discord

    return discord


class DiscordChannelStore:
    """Which conversation each channel is, per character (table ``discord_channels``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def conversation_for(self, character: str, channel_id: int) -> int | None:
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
        self._token = token
        self.character = character
        self._chat = chat
        #: Read for every message; ``mentions_only`` also sets the gateway intents at start.
        self.policy = policy or BotPolicy()
        self._on_status = on_status
        self._on_activity = on_activity
        self._channels = channels or DiscordChannelStore(chat.conversations.db)
        #: Prefix channel messages with the author's name, so the agent can tell people apart.
        self.name_authors = name_authors
        self._guild_ready_timeout = guild_ready_timeout
        self._connect_timeout = connect_timeout

        self._status = BotStatus(BotPhase.STOPPED, "stopped")
        self._activity: deque[ActivityEntry] = deque(maxlen=activity_limit)
        self._client: discord.Client | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._user_id: int | None = None
        self._user_name = ""
        self._greeted = False
        self._starting = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._threads: dict[int, ChatThread] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._seen: OrderedDict[int, None] = OrderedDict()
        #: channel id → the newest message id seen there (for reading back after a re-IDENTIFY).
        self._last_seen: dict[int, int] = {}

    # -- public API --------------------------------------------------------------------------

    @property
    def status(self) -> BotStatus:
        return self._status

    @property
    def recent_activity(self) -> list[ActivityEntry]:
        """Newest last, at most ``activity_limit`` entries."""
        return list(self._activity)

    @property
    def running(self) -> bool:
        """Started and not stopped (connected, connecting or reconnecting)."""
        return self._client is not None

    async def start(self) -> BotStatus:
        """Log in and connect; returns once connected or failed (or after ``connect_timeout``,
        still connecting in the background). Does nothing while already started."""
        if self._client is not None or self._starting:
            return self._status
        self._starting = True
        try:
            return await self._start()
        finally:
            self._starting = False

    async def _start(self) -> BotStatus:
        self._stopping = False
        self._ready = asyncio.Event()
        self._greeted = False
        self._set(BotPhase.CONNECTING, "connecting…")
        token = await self._read_token()
        if self._stopping:
            return self._status
        if not token:
            self._set(BotPhase.ERROR, NO_TOKEN)
            return self._status
        if self.character not in await self._chat.characters_by_name():
            self._set(
                BotPhase.ERROR,
                f'the character "{self.character}" does not exist or cannot be read',
            )
            return self._status
        discord = import_discord()
        import aiohttp

        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        # Mentions and DMs carry their text without the privileged Message Content intent.
        intents.message_content = not self.policy.mentions_only
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._on_http_end)
        client = discord.Client(
            intents=intents,
            max_messages=None,
            guild_ready_timeout=self._guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),
            http_trace=trace,
        )
        client.on_ready = self._on_ready  # type: ignore[method-assign]
        client.on_resumed = self._on_resumed  # type: ignore[method-assign]
        client.on_disconnect = self._on_disconnect  # type: ignore[method-assign]
        client.on_message = self._on_message  # type: ignore[method-assign]
        self._client = client
        try:
            await client.login(token)
        except discord.LoginFailure:
            await self._fail(TOKEN_REFUSED)
            return self._status
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._fail(f"cannot reach Discord: {_reason(exc)}")
            return self._status
        except RuntimeError:
            if not self._stopping:  # stop() closed the session under the login: fine
                raise
        if self._stopping or self._client is not client or client.user is None:
            await client.close()
            return self._status
        # Known from login on: messages that come before READY has settled are not dropped.
        self._user_id, self._user_name = client.user.id, str(client.user)
        self._connect_task = asyncio.create_task(self._connect(client))
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait(
                {ready, self._connect_task},
                timeout=self._connect_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
            await asyncio.gather(ready, return_exceptions=True)
        return self._status

    async def stop(self) -> None:
        """Disconnect and release everything: running answers are cancelled and not sent."""
        self._stopping = True
        await self._release()
        self._set(BotPhase.STOPPED, "stopped")

    def guilds_and_channels(self) -> list[GuildInfo]:
        """The servers the bot is in and their channels (empty until connected)."""
        client = self._client
        if client is None or not client.is_ready():
            return []
        guilds = []
        for guild in sorted(client.guilds, key=lambda g: g.name.lower()):
            me = guild.me
            channels = []
            for channel in sorted(guild.channels, key=lambda c: (c.position, c.id)):
                kind = _channel_kind(channel)
                if kind == "category":
                    continue
                can_send = None
                if me is not None:
                    can_send = channel.permissions_for(me).send_messages
                allowed = self.policy.allows_channel(channel.id, channel.name)
                channels.append(ChannelInfo(channel.id, channel.name, kind, can_send, allowed))
            guilds.append(GuildInfo(guild.id, guild.name, channels))
        return guilds

    # -- connection --------------------------------------------------------------------------

    async def _read_token(self) -> str:
        source = self._token
        token = await asyncio.to_thread(source) if callable(source) else source
        token = (token or "").strip()
        redactor = getattr(getattr(self._chat, "secrets", None), "redactor", None)
        if token and redactor is not None:
            redactor.add(token)
        return token

    async def _connect(self, client: discord.Client) -> None:
        discord = import_discord()
        import aiohttp

        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            await self._fail(INTENT_REFUSED, from_connect=True)
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                await self._fail(TOKEN_REFUSED, from_connect=True)
            else:
                reason = f": {exc.reason}" if exc.reason else ""
                await self._fail(
                    f"Discord closed the connection (code {exc.code}{reason})", from_connect=True
                )
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._fail(f"lost the connection to Discord: {_reason(exc)}", from_connect=True)
        else:
            if not self._stopping:
                await self._fail("the connection to Discord ended", from_connect=True)

    async def _fail(self, reason: str, *, from_connect: bool = False) -> None:
        """Stop with an error status (no reconnect loop)."""
        if self._stopping:
            return
        log.warning("Discord bot for %s stopped: %s", self.character, reason)
        self._set(BotPhase.ERROR, reason)
        self._ready.set()
        await self._release(from_connect=from_connect)

    async def _release(self, *, from_connect: bool = False) -> None:
        client, self._client = self._client, None
        connect_task, self._connect_task = self._connect_task, None
        # Stop the runs first: their partial answers are stored, not sent.
        for thread in self._threads.values():
            thread.cancel()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if client is not None:
            await client.close()
        if connect_task is not None and not from_connect:
            try:
                await asyncio.wait_for(connect_task, timeout=10.0)
            except TimeoutError:
                log.warning("the Discord connection did not end in 10 s; cancelled")
        threads, self._threads = self._threads, {}
        for thread in threads.values():
            await thread.close()
        self._locks.clear()
        self._user_id = None

    def _set(self, phase: BotPhase, detail: str, **changes: Any) -> None:
        status = BotStatus(phase, detail, user=self._user_name, **changes)
        if status == self._status:
            return
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the bot
                log.exception("Discord status listener failed")

    def _connected(self) -> None:
        self._set(BotPhase.CONNECTED, f"connected as {self._user_name}")

    async def _on_ready(self) -> None:
        client = self._client
        if client is None or client.user is None:
            return
        self._user_id, self._user_name = client.user.id, str(client.user)
        self._connected()
        self._ready.set()
        if not self._greeted:
            self._greeted = True
            self._spawn(self._post_initial_message())
        else:
            # A fresh IDENTIFY after a lost session: Discord does not replay what was missed.
            self._spawn(self._read_back())

    async def _on_resumed(self) -> None:
        if self._client is not None:
            self._connected()
            self._info("reconnected to Discord (session resumed)")

    async def _on_disconnect(self) -> None:
        if self._client is None or self._stopping:
            return
        if self._status.phase in (BotPhase.CONNECTED, BotPhase.CONNECTING):
            self._set(BotPhase.RECONNECTING, "reconnecting…")

    async def _on_http_end(
        self,
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        status = params.response.status
        if status == 429:
            # Discord sends the wait in whole seconds (Retry-After) and, more precisely, in
            # X-RateLimit-Reset-After; discord.py reads the body, which is not ours to read.
            headers = params.response.headers
            try:
                wait = float(
                    headers.get("X-RateLimit-Reset-After") or headers.get("Retry-After") or 0
                )
            except ValueError:
                wait = 0.0
            route = f"{params.method} {params.url.path}"
            self._set(
                self._status.phase,
                f"rate limited, retrying in {wait:g} s",
                rate_limited_for=wait,
            )
            self._record(
                ActivityKind.RATE_LIMITED,
                detail=f"rate limited, retrying in {wait:g} s ({route})",
            )
        elif status < 300 and self._status.rate_limited_for is not None:
            if self._status.phase is BotPhase.CONNECTED:
                self._connected()
            else:
                self._set(self._status.phase, self._status.detail)

    # -- messages ----------------------------------------------------------------------------

    async def _on_message(self, message: discord.Message) -> None:
        if self._user_id is None or self._stopping:
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
        answer, reason = should_answer(incoming, self._user_id, self.policy)
        if not answer:
            log.debug("not answering message %s: %s", message.id, reason)
            return
        self._spawn(self._answer(message, incoming, time.monotonic()))

    async def _answer(
        self, message: discord.Message, incoming: IncomingMessage, arrived: float
    ) -> None:
        discord = import_discord()

        assert self._user_id is not None
        channel = message.channel
        label = _label(message)
        prompt = clean_prompt(incoming.content, self._user_id)
        author = message.author.display_name
        if self.name_authors and not incoming.is_dm:
            prompt = f"{author}: {prompt}"
        base = {
            "channel": label,
            "channel_id": channel.id,
            "author": author,
            "prompt": _short(prompt, 200),
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
                if self._stopping:
                    self._record(ActivityKind.INFO, **base, detail="not sent: the bot stopped")
                    return
                chunks = split_reply(reply) or [NO_ANSWER]
                reference = message.to_reference(fail_if_not_exists=False)
                for index, chunk in enumerate(chunks):
                    await channel.send(chunk, reference=reference if index == 0 else None)
            except discord.HTTPException as exc:
                self._record(
                    ActivityKind.FAILED,
                    **base,
                    latency_s=time.monotonic() - arrived,
                    detail=f"Discord refused the reply: {_reason(exc)}",
                )
                return
            except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the bot
                log.exception("answering a Discord message failed")
                # The conversation may be gone (deleted in the studio): open it afresh next time.
                stale = self._threads.pop(channel.id, None)
                if stale is not None:
                    await stale.close()
                self._record(
                    ActivityKind.FAILED,
                    **base,
                    latency_s=time.monotonic() - arrived,
                    detail=_reason(exc),
                )
                return
        self._record(
            ActivityKind.FAILED if failure else ActivityKind.REPLY,
            **base,
            reply=_short("\n".join(chunks), 300),
            latency_s=time.monotonic() - arrived,
            chunks=len(chunks),
            detail=failure,
        )

    async def _run(self, thread: ChatThread, prompt: str, author: str) -> tuple[str, str]:
        """Run one turn; returns (the reply to post, what went wrong or "")."""
        turn = TurnReducer(thread.character)
        stream = thread.send(prompt, client="discord", speaker=author)
        rounds, gave_up = 0, False
        while True:
            turn.done = None
            async for event in stream:
                turn.feed(event)
            done = turn.done
            if done is None or not done.pending_approvals or self._stopping:
                break
            if rounds == MAX_APPROVAL_ROUNDS:
                gave_up = True
                break
            rounds += 1
            # Nobody can approve from Discord: reject, and let the model answer without them.
            stream = thread.resolve(dict.fromkeys(done.pending_approvals, False))
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

    async def _thread_for(self, channel_id: int, label: str) -> ChatThread:
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

    async def _read_back(self) -> None:
        """After a fresh IDENTIFY, answer what was posted while the bot was away.

        Only the most recently active channels are read (``READ_BACK_CHANNELS``), each from the
        last message the bot had seen there.
        """
        discord = import_discord()

        client = self._client
        if client is None:
            return
        recent = sorted(self._last_seen.items(), key=lambda item: item[1], reverse=True)
        for channel_id, last in recent[:READ_BACK_CHANNELS]:
            channel = client.get_channel(channel_id) or client.get_partial_messageable(channel_id)
            try:
                async for message in channel.history(
                    limit=BACKFILL_LIMIT, after=discord.Object(last), oldest_first=True
                ):
                    await self._on_message(message)
            except discord.HTTPException as exc:
                log.info("could not read back channel %s: %s", channel_id, exc)

    async def _post_initial_message(self) -> None:
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
            self._info(f"initial message not posted: no channel {where!r} the bot can see")
            return
        try:
            for chunk in split_reply(text):
                await channel.send(chunk)
        except discord.HTTPException as exc:
            self._info(f"initial message not posted in #{channel.name}: {_reason(exc)}")
            return
        self._record(
            ActivityKind.INFO,
            channel=f"#{channel.name} ({channel.guild.name})",
            channel_id=channel.id,
            reply=_short(text, 300),
            detail="posted the initial message",
        )

    def _find_channel(self, where: str) -> Any:
        client = self._client
        if client is None:
            return None
        key = where.strip().lstrip("#").lower()
        for guild in client.guilds:
            for channel in guild.text_channels:
                if str(channel.id) == key or channel.name.lower() == key:
                    return channel
        return None

    # -- bookkeeping -------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Discord bot task failed", exc_info=task.exception())

    def _record(self, kind: ActivityKind, **fields: Any) -> None:
        entry = ActivityEntry(kind, datetime.now(UTC), **fields)
        self._activity.append(entry)
        if self._on_activity is not None:
            try:
                self._on_activity(entry)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the bot
                log.exception("Discord activity listener failed")

    def _info(self, detail: str) -> None:
        self._record(ActivityKind.INFO, detail=detail)


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


def _channel_kind(channel: Any) -> str:
    kind = getattr(getattr(channel, "type", None), "name", "other")
    return {"private": "dm"}.get(kind, kind)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


__all__ = ["DiscordBot", "DiscordChannelStore"]
