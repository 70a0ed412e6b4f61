"""A local fake of Discord's REST API and gateway, so the real discord.py runs end to end.

It speaks just enough of both for a bot: ``GET /users/@me`` and ``/oauth2/applications/@me``
(login), ``GET /gateway``, channel messages (POST recorded, GET history with ``after``), typing
(recorded), and a gateway websocket with HELLO, IDENTIFY → READY + one GUILD_CREATE per guild,
RESUME (missed events replayed, then RESUMED), heartbeats, and MESSAGE_CREATE. Messages the bot
posts come back over the gateway as MESSAGE_CREATE, as on Discord.

Tests script it::

    async with FakeDiscord() as discord_fake, discord_fake.patched():
        general = discord_fake.guild.channel("general")
        ... start a discord.Client with discord_fake.token ...
        await discord_fake.say(general, "hello @bot", mention_bot=True)
        await discord_fake.wait_until(lambda: discord_fake.sent)

`patched()` points discord.py's ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY`` at the
fake and restores them afterwards. Failure modes: `reject_token()` (401 on login, close 4004 on
IDENTIFY), `rate_limit_once()` (429 with retry-after on one matching request), `drop()` (close
the websocket with a code discord.py answers by resuming), `invalidate_session()` (the next
RESUME gets INVALID_SESSION, so discord.py identifies again and missed events are gone, as on
Discord).

Replies have ``Content-Type: application/json`` exactly: discord.py only decodes JSON when the
header is exactly that (aiohttp's ``json_response`` adds a charset).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
#: Permissions of @everyone in fake guilds: view channels, send messages, read history, …
EVERYONE_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 16) | (1 << 14) | (1 << 15) | (1 << 6))

# Gateway opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeChannel:
    id: int
    name: str
    guild_id: int | None
    #: 0 text, 1 DM, 2 voice, 4 category.
    type: int = 0
    recipient: FakeUser | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.id), "type": self.type, "name": self.name}
        if self.guild_id is not None:
            data.update(
                guild_id=str(self.guild_id),
                position=0,
                permission_overwrites=[],
                nsfw=False,
                parent_id=None,
                topic=None,
                last_message_id=None,
                rate_limit_per_user=0,
            )
        elif self.recipient is not None:
            data["recipients"] = [self.recipient.payload()]
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    channels: list[FakeChannel] = field(default_factory=list)

    def channel(self, name: str) -> FakeChannel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)


@dataclass
class SentMessage:
    """A message the bot posted (POST /channels/{id}/messages)."""

    id: int
    channel_id: int
    content: str
    #: The id of the message this one replies to, if it was sent as a reply.
    reply_to: int | None
    body: dict[str, Any]


@dataclass
class RestCall:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 200


@dataclass
class _RateLimit:
    method: str
    pattern: re.Pattern[str]
    retry_after: float


class FakeDiscord:
    """Fake Discord on 127.0.0.1 (an OS-chosen port), on the current event loop."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token-0000",
        bot_name: str = "Ada",
        guild_name: str = "Test Server",
        channels: tuple[str, ...] = ("general", "random"),
    ) -> None:
        self.token = token
        self._ids = itertools.count(1)
        self.bot = FakeUser(self._snowflake(), bot_name, bot=True)
        self.application_id = self._snowflake()
        self.owner = FakeUser(self._snowflake(), "owner")
        self.guilds: list[FakeGuild] = []
        self.guild = self.add_guild(guild_name, channels)
        self.dm_channels: dict[int, FakeChannel] = {}
        #: Every message per channel (the bot's and everyone's), oldest first: the history.
        self.history: dict[int, list[dict[str, Any]]] = {}

        # What the fake saw.
        self.calls: list[RestCall] = []
        self.sent: list[SentMessage] = []
        #: Channel ids, one per typing request.
        self.typing: list[int] = []
        self.identifies = 0
        self.resumes = 0
        self.connections = 0

        # Scripted behaviour.
        self._token_rejected = False
        self._token_rejected_by_rest = False
        self._identify_close: tuple[int, str] | None = None
        self._rate_limits: list[_RateLimit] = []
        self._invalidate_next_resume = False
        self._resume_replays_extra = 0

        # The gateway session: events with sequence numbers, kept for RESUME.
        self._session_id: str | None = None
        self._sequence = 0
        self._events: list[tuple[int, dict[str, Any]]] = []
        self._live: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner, self._port = runner, site.port

    async def close(self) -> None:
        if self._runner is None:
            return
        for socket in list(self._sockets):
            await socket.close(code=1001)
        runner, self._runner = self._runner, None
        await runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @contextmanager
    def patched(self) -> Iterator[None]:
        """Point discord.py at this fake for the duration (REST base and default gateway)."""
        import yarl

        from carrier_studio.services.discord.bot import import_discord

        discord = import_discord()

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # -- the world ---------------------------------------------------------------------------------

    def _snowflake(self) -> int:
        # Increasing ids with a real timestamp part, as Discord's are.
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) + next(self._ids)

    def add_guild(self, name: str, channels: tuple[str, ...] = ("general",)) -> FakeGuild:
        guild = FakeGuild(self._snowflake(), name)
        guild.channels = [FakeChannel(self._snowflake(), c, guild.id) for c in channels]
        self.guilds.append(guild)
        return guild

    def user(self, name: str, *, bot: bool = False) -> FakeUser:
        return FakeUser(self._snowflake(), name, bot=bot)

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        for channel in self.dm_channels.values():
            if channel.recipient is not None and channel.recipient.id == user.id:
                return channel
        channel = FakeChannel(self._snowflake(), "", None, type=1, recipient=user)
        self.dm_channels[channel.id] = channel
        return channel

    def channel_by_id(self, channel_id: int) -> FakeChannel | None:
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        return self.dm_channels.get(channel_id)

    def sent_in(self, channel: FakeChannel) -> list[SentMessage]:
        return [m for m in self.sent if m.channel_id == channel.id]

    def logins(self) -> int:
        """How many times a client tried to log in (GET /users/@me)."""
        return sum(1 for c in self.calls if c.method == "GET" and c.path == "/users/@me")

    # -- scripting -----------------------------------------------------------------------------

    def reject_token(self, *, gateway_only: bool = False) -> None:
        """From now on the token is refused: 401 on REST, close code 4004 on IDENTIFY.

        ``gateway_only``: REST still accepts it (login works), IDENTIFY does not.
        """
        self._token_rejected = True
        self._token_rejected_by_rest = not gateway_only

    def refuse_identify(self, code: int, reason: str = "refused by the test") -> None:
        """Answer every IDENTIFY by closing with ``code`` (4014: privileged intents)."""
        self._identify_close = (code, reason)

    def rate_limit_once(self, method: str, path_pattern: str, retry_after: float = 0.2) -> None:
        """The next request matching ``method`` and the path regex gets 429 + retry-after."""
        self._rate_limits.append(_RateLimit(method, re.compile(path_pattern), retry_after))

    def invalidate_session(self) -> None:
        """The next RESUME is refused (INVALID_SESSION): the client must IDENTIFY again."""
        self._invalidate_next_resume = True

    def replay_extra_on_resume(self, count: int) -> None:
        """On the next RESUME, also replay the last ``count`` events the client already had.

        Discord should not do this; a client must still cope with a duplicated event.
        """
        self._resume_replays_extra = count

    async def drop(self, code: int = 4000) -> None:
        """Close the live gateway connection; 4000 ("unknown error") makes discord.py resume."""
        socket, self._live = self._live, None
        if socket is not None and not socket.closed:
            await socket.close(code=code, message=b"dropped by the test")
        self._notify()

    async def say(
        self,
        channel: FakeChannel,
        content: str,
        *,
        author: FakeUser | None = None,
        mention_bot: bool = False,
        mentions: list[FakeUser] | None = None,
    ) -> dict[str, Any]:
        """Someone posts in ``channel``; the bot gets MESSAGE_CREATE (now, or when it resumes)."""
        author = author or self.user("sam")
        mentioned = list(mentions or [])
        if mention_bot:
            content = f"{self.bot.mention} {content}"
            mentioned.append(self.bot)
        message = self._message(channel, author, content, mentioned)
        await self._dispatch("MESSAGE_CREATE", message)
        return message

    async def dm(self, author: FakeUser, content: str) -> dict[str, Any]:
        return await self.say(self.dm_channel(author), content, author=author)

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked on every request, frame and change."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()

    # -- payloads ------------------------------------------------------------------------------

    def _message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        content: str,
        mentions: list[FakeUser],
        reference: int | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": str(self._snowflake()),
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": content,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [m.payload() for m in mentions],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 19 if reference else 0,
            "flags": 0,
            "components": [],
        }
        if channel.guild_id is not None:
            message["guild_id"] = str(channel.guild_id)
            message["member"] = self._member(author, with_user=False)
        if reference is not None:
            message["message_reference"] = {
                "message_id": str(reference),
                "channel_id": str(channel.id),
            }
        self.history.setdefault(channel.id, []).append(message)
        return message

    def _member(self, user: FakeUser, *, with_user: bool = True) -> dict[str, Any]:
        member: dict[str, Any] = {
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        if with_user:
            member["user"] = user.payload()
        return member

    def _guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(self.owner.id),
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [
                {
                    "id": str(guild.id),
                    "name": "@everyone",
                    "permissions": EVERYONE_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [c.payload() for c in guild.channels],
            "threads": [],
            "members": [self._member(self.bot)],
            "voice_states": [],
            "presences": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "system_channel_flags": 0,
        }

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot.name,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.payload(),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
        }

    # -- REST ------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = request.path[len(API_PREFIX) :]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        call = RestCall(request.method, path, dict(request.query), body)
        self.calls.append(call)
        try:
            response = self._answer(request, call)
            call.status = response.status
            return response
        finally:
            self._notify()

    def _answer(self, request: web.Request, call: RestCall) -> web.Response:
        authorization = request.headers.get("Authorization")
        if self._token_rejected_by_rest or authorization != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for limit in self._rate_limits:
            if limit.method == call.method and limit.pattern.fullmatch(call.path):
                self._rate_limits.remove(limit)
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": limit.retry_after,
                        "global": False,
                    },
                    status=429,
                    headers={
                        "Via": "1.1 google",
                        "Retry-After": str(math.ceil(limit.retry_after)),
                        "X-RateLimit-Reset-After": f"{limit.retry_after:.3f}",
                        "X-RateLimit-Scope": "user",
                    },
                )
        method, path = call.method, call.path
        if method == "GET" and path == "/users/@me":
            return _json(self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0})
        if method == "GET" and path == "/oauth2/applications/@me":
            return _json(self._application())
        if method == "GET" and path in ("/gateway", "/gateway/bot"):
            return _json(
                {
                    "url": self.gateway_url,
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        match = re.fullmatch(r"/channels/(\d+)(/messages|/typing)?", path)
        channel = self.channel_by_id(int(match.group(1))) if match else None
        if match is None or channel is None:
            return _json({"message": "404: Not Found", "code": 0}, status=404)
        what = match.group(2)
        if what is None and method == "GET":
            return _json(channel.payload())
        if what == "/typing" and method == "POST":
            self.typing.append(channel.id)
            return web.Response(status=204)
        if what == "/messages" and method == "POST":
            return _json(self._post_message(channel, call.body or {}))
        if what == "/messages" and method == "GET":
            after = int(call.query.get("after", "0"))
            limit = int(call.query.get("limit", "50"))
            newer = [m for m in self.history.get(channel.id, []) if int(m["id"]) > after]
            return _json(list(reversed(newer[:limit])))  # newest first, as Discord does
        return _json({"message": "405: Method Not Allowed", "code": 0}, status=405)

    def _post_message(self, channel: FakeChannel, body: dict[str, Any]) -> dict[str, Any]:
        reference = body.get("message_reference") or {}
        reply_to = int(reference["message_id"]) if reference.get("message_id") else None
        message = self._message(channel, self.bot, body.get("content") or "", [], reply_to)
        self.sent.append(
            SentMessage(int(message["id"]), channel.id, message["content"], reply_to, body)
        )
        # Discord echoes the bot's own message over the gateway.
        task = asyncio.ensure_future(self._dispatch("MESSAGE_CREATE", message))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return message

    # -- gateway ---------------------------------------------------------------------------------

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Give an event the next sequence number and send it, if a session is live."""
        if self._session_id is None:
            return
        self._sequence += 1
        frame = {"op": DISPATCH, "t": event, "s": self._sequence, "d": data}
        self._events.append((self._sequence, frame))
        socket = self._live
        if socket is not None and not socket.closed:
            await socket.send_str(json.dumps(frame))
        self._notify()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.add(socket)
        self.connections += 1
        self._notify()
        try:
            await socket.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": 45000}}))
            async for frame in socket:
                if frame.type is not WSMsgType.TEXT:
                    break
                await self._on_frame(socket, json.loads(frame.data))
                self._notify()
        finally:
            self._sockets.discard(socket)
            if self._live is socket:
                self._live = None
            self._notify()
        return socket

    async def _on_frame(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            await socket.send_str(json.dumps({"op": HEARTBEAT_ACK}))
        elif op == IDENTIFY:
            self.identifies += 1
            if self._token_rejected or data.get("token") != self.token:
                await socket.close(code=4004, message=b"Authentication failed.")
                return
            if self._identify_close is not None:
                code, reason = self._identify_close
                await socket.close(code=code, message=reason.encode())
                return
            await self._identify(socket)
        elif op == RESUME:
            self.resumes += 1
            await self._resume(socket, data)

    async def _identify(self, socket: web.WebSocketResponse) -> None:
        self._session_id = f"session-{self._snowflake()}"
        self._sequence = 0
        self._events = []
        self._live = socket
        await self._dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in self.guilds],
                "session_id": self._session_id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(self.application_id), "flags": 0},
                "shard": [0, 1],
                "private_channels": [],
                "relationships": [],
            },
        )
        for guild in self.guilds:
            await self._dispatch("GUILD_CREATE", self._guild_payload(guild))

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if (
            self._invalidate_next_resume
            or data.get("session_id") != self._session_id
            or data.get("token") != self.token
        ):
            self._invalidate_next_resume = False
            self._session_id = None  # the old session's missed events are gone, as on Discord
            await socket.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return
        seen = int(data.get("seq") or 0)
        replay_from = seen - self._resume_replays_extra
        self._resume_replays_extra = 0
        self._live = socket
        for sequence, frame in list(self._events):
            if sequence > replay_from:
                await socket.send_str(json.dumps(frame))
        await self._dispatch("RESUMED", {})


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
