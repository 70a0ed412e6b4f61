"""The Discord bot's connection: one discord.py client from login to close, and its status.

`DiscordConnection` runs discord.py on the caller's running event loop (the studio's qasync
loop) and reports every change of phase through the `BotReport`. What it does about the things
that go wrong:

- a refused token (401 on login, or close code 4004 on the gateway): status error "the bot token
  was refused", and no retry;
- a dropped gateway: discord.py reconnects by itself (RESUME, or a fresh IDENTIFY when Discord
  refuses the resume); after a fresh IDENTIFY the `Listener` is asked to read back what it
  missed, since Discord does not replay it;
- HTTP 429: discord.py waits and retries by itself; the connection observes the 429 (through an
  aiohttp trace) and says "rate limited, retrying in N s" in its status and activity until a
  request succeeds again.

The messages themselves are the `Listener`'s business (`answering.Answering`). discord.py (and
aiohttp) are imported when the bot starts, not with this module (≈0.6 s).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from carrier_studio.core.discord.policy import BotPolicy
from carrier_studio.core.discord.status import (
    ActivityKind,
    BotPhase,
    BotStatus,
    ChannelInfo,
    GuildInfo,
)
from carrier_studio.services.discord.reporting import BotReport, reason

if TYPE_CHECKING:
    import aiohttp
    import discord

log = logging.getLogger(__name__)

TokenSource = str | Callable[[], str | None]

TOKEN_REFUSED = "the bot token was refused"
NO_TOKEN = "no bot token: add DISCORD_BOT_TOKEN in Settings"
INTENT_REFUSED = (
    "Discord refused the Message Content intent: turn it on for this bot in the Developer "
    "Portal, or let the bot answer mentions only"
)


def import_discord() -> Any:
    """discord.py, imported on first use.

    It imports the stdlib ``audioop`` for voice, which warns (DeprecationWarning) on Python
    3.11+; the bot uses no voice, so that one warning is silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
        import discord

    return discord


class Listener(Protocol):
    """What the connection needs of the side that answers messages."""

    async def check(self) -> str:
        """Why the bot cannot run (empty when it can); asked before logging in."""
        ...

    async def on_message(self, message: discord.Message) -> None: ...

    async def greet(self) -> None:
        """The first READY of a start: post the character's initial message."""
        ...

    async def read_back(self) -> None:
        """A later READY (a fresh IDENTIFY): answer what was posted while away."""
        ...

    def interrupt(self) -> None:
        """Stop the running answers; their partial replies are stored, not sent."""
        ...

    async def close(self) -> None:
        """Release what answering holds (chat threads) once the client is closed."""
        ...


class DiscordConnection:
    """One bot user's gateway connection; ``start()`` and ``stop()`` it, any number of times.

    ``token`` is the bot token or a function returning it (called in a thread, since a keyring
    may block); it is never logged, and ``redact`` is given it so logs never show it either.
    """

    def __init__(
        self,
        token: TokenSource,
        character: str,
        listener: Listener,
        report: BotReport,
        *,
        redact: Callable[[str], None] | None = None,
        guild_ready_timeout: float = 2.0,
        connect_timeout: float = 60.0,
    ) -> None:
        self._token = token
        self._character = character
        self._listener = listener
        self._report = report
        self._redact = redact
        self._guild_ready_timeout = guild_ready_timeout
        self._connect_timeout = connect_timeout
        self._client: discord.Client | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._greeted = False
        self._starting = False
        self._tasks: set[asyncio.Task[Any]] = set()
        #: The bot's own user, known from login until the connection is released.
        self.user_id: int | None = None
        self.user_name = ""

    @property
    def client(self) -> discord.Client | None:
        """The discord.py client while started, else None."""
        return self._client

    @property
    def stopping(self) -> bool:
        """``stop()`` was called and no start has followed."""
        return self._stopping

    async def start(self, mentions_only: bool) -> BotStatus:
        """Log in and connect; returns once connected or failed (or after ``connect_timeout``,
        still connecting in the background). Does nothing while already started.

        ``mentions_only`` leaves out the privileged Message Content intent."""
        if self._client is not None or self._starting:
            return self._report.status
        self._starting = True
        try:
            return await self._start(mentions_only)
        finally:
            self._starting = False

    async def _start(self, mentions_only: bool) -> BotStatus:
        self._stopping = False
        self._ready = asyncio.Event()
        self._greeted = False
        self._set(BotPhase.CONNECTING, "connecting…")
        token = await self._read_token()
        if self._stopping:
            return self._report.status
        if not token:
            self._set(BotPhase.ERROR, NO_TOKEN)
            return self._report.status
        problem = await self._listener.check()
        if problem:
            self._set(BotPhase.ERROR, problem)
            return self._report.status
        discord = import_discord()
        import aiohttp

        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        # Mentions and DMs carry their text without the privileged Message Content intent.
        intents.message_content = not mentions_only
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
        client.on_message = self._listener.on_message  # type: ignore[method-assign]
        self._client = client
        try:
            await client.login(token)
        except discord.LoginFailure:
            await self._fail(TOKEN_REFUSED)
            return self._report.status
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._fail(f"cannot reach Discord: {reason(exc)}")
            return self._report.status
        except RuntimeError:
            if not self._stopping:  # stop() closed the session under the login: fine
                raise
        if self._stopping or self._client is not client or client.user is None:
            await client.close()
            return self._report.status
        # Known from login on: messages that come before READY has settled are not dropped.
        self.user_id, self.user_name = client.user.id, str(client.user)
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
        return self._report.status

    async def stop(self) -> None:
        """Disconnect and release everything: running answers are cancelled and not sent."""
        self._stopping = True
        await self._release()
        self._set(BotPhase.STOPPED, "stopped")

    def guilds_and_channels(self, policy: BotPolicy) -> list[GuildInfo]:
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
                allowed = policy.allows_channel(channel.id, channel.name)
                channels.append(ChannelInfo(channel.id, channel.name, kind, can_send, allowed))
            guilds.append(GuildInfo(guild.id, guild.name, channels))
        return guilds

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run ``coroutine`` as work of this connection: ``stop()`` waits for it, then cancels."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    # -- lifecycle ---------------------------------------------------------------------------

    async def _read_token(self) -> str:
        source = self._token
        token = await asyncio.to_thread(source) if callable(source) else source
        token = (token or "").strip()
        if token and self._redact is not None:
            self._redact(token)
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
                why = f": {exc.reason}" if exc.reason else ""
                await self._fail(
                    f"Discord closed the connection (code {exc.code}{why})", from_connect=True
                )
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._fail(f"lost the connection to Discord: {reason(exc)}", from_connect=True)
        else:
            if not self._stopping:
                await self._fail("the connection to Discord ended", from_connect=True)

    async def _fail(self, why: str, *, from_connect: bool = False) -> None:
        """Stop with an error status (no reconnect loop)."""
        if self._stopping:
            return
        log.warning("Discord bot for %s stopped: %s", self._character, why)
        self._set(BotPhase.ERROR, why)
        self._ready.set()
        await self._release(from_connect=from_connect)

    async def _release(self, *, from_connect: bool = False) -> None:
        client, self._client = self._client, None
        connect_task, self._connect_task = self._connect_task, None
        # Stop the runs first: their partial answers are stored, not sent.
        self._listener.interrupt()
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
        await self._listener.close()
        self.user_id = None

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Discord bot task failed", exc_info=task.exception())

    # -- status ------------------------------------------------------------------------------

    def _set(self, phase: BotPhase, detail: str, **changes: Any) -> None:
        self._report.set(BotStatus(phase, detail, user=self.user_name, **changes))

    def _connected(self) -> None:
        self._set(BotPhase.CONNECTED, f"connected as {self.user_name}")

    async def _on_ready(self) -> None:
        client = self._client
        if client is None or client.user is None:
            return
        self.user_id, self.user_name = client.user.id, str(client.user)
        self._connected()
        self._ready.set()
        if not self._greeted:
            self._greeted = True
            self.spawn(self._listener.greet())
        else:
            # A fresh IDENTIFY after a lost session: Discord does not replay what was missed.
            self.spawn(self._listener.read_back())

    async def _on_resumed(self) -> None:
        if self._client is not None:
            self._connected()
            self._report.info("reconnected to Discord (session resumed)")

    async def _on_disconnect(self) -> None:
        if self._client is None or self._stopping:
            return
        if self._report.status.phase in (BotPhase.CONNECTED, BotPhase.CONNECTING):
            self._set(BotPhase.RECONNECTING, "reconnecting…")

    async def _on_http_end(
        self,
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        status = params.response.status
        current = self._report.status
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
            self._set(current.phase, f"rate limited, retrying in {wait:g} s", rate_limited_for=wait)
            self._report.record(
                ActivityKind.RATE_LIMITED,
                detail=f"rate limited, retrying in {wait:g} s ({route})",
            )
        elif status < 300 and current.rate_limited_for is not None:
            if current.phase is BotPhase.CONNECTED:
                self._connected()
            else:
                self._set(current.phase, current.detail)


def _channel_kind(channel: Any) -> str:
    kind = getattr(getattr(channel, "type", None), "name", "other")
    return {"private": "dm"}.get(kind, kind)


__all__ = [
    "INTENT_REFUSED",
    "NO_TOKEN",
    "TOKEN_REFUSED",
    "DiscordConnection",
    "Listener",
    "TokenSource",
    "import_discord",
]
