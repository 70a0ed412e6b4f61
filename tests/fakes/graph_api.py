"""A local Instagram Graph API: containers, status, publishing, quota and token debug.

It speaks Meta's wire format (query parameters in, ``{"id": …}`` or ``{"error": {code,
error_subcode, message}}`` out) on 127.0.0.1, and like Meta it downloads the ``image_url`` /
``video_url`` it is given when a container is created, so an unreachable public URL fails the
way it does for real (code 9004, subcode 2207052).

Tests script it: how many polls a container stays IN_PROGRESS, a container that ends in ERROR,
expiring a container, the quota, errors for the next call of an endpoint, and *holds*: a gate
that stops a request before or after it acts, so a test can kill the client at that moment.
Every publish is counted per container and per caption, so "published exactly once" is checked
where it matters: on the server.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "IGQV-test-token"
USER_ID = "17841400000000001"


@dataclass
class Container:
    id: str
    params: dict[str, str]
    #: status_code values still to report (the last one sticks).
    statuses: deque[str]
    children: list[str] = field(default_factory=list)

    @property
    def status_code(self) -> str:
        return self.statuses[0]

    def advance(self) -> str:
        current = self.statuses[0]
        if len(self.statuses) > 1:
            self.statuses.popleft()
        return current


@dataclass
class Hold:
    kind: str
    phase: str  # "before": nothing done yet; "after": done, answer withheld
    #: Matching requests to let through first.
    skip: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)


class FakeGraphApi:
    def __init__(self, *, token: str = TOKEN, user_id: str = USER_ID) -> None:
        self.token = token
        self.user_id = user_id
        self.containers: dict[str, Container] = {}
        self._ids = itertools.count(900000001)
        #: IN_PROGRESS polls before FINISHED for each new container.
        self.processing_polls = 1
        #: Status sequences for the next created (non-child) containers, e.g. ["ERROR"].
        self.next_statuses: deque[list[str]] = deque()
        self.quota_usage = 0
        self.quota_total = 50
        self.token_expires_at = 0  # 0: never (as debug_token reports it)
        self._errors: dict[str, deque[tuple[int, int, int | None, str]]] = defaultdict(deque)
        self._holds: dict[str, Hold] = {}
        self._every_hold: list[Hold] = []
        #: Published media: (media id, container id, caption).
        self.published: list[tuple[str, str, str]] = []
        #: Publish requests for containers that were already published (must stay 0).
        self.duplicate_publishes = 0
        #: Set on every publish (tests clear it and wait).
        self.publish_seen = asyncio.Event()
        #: URLs Meta fetched and what came back (status or exception name).
        self.fetches: list[tuple[str, str]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- scripting ----------------------------------------------------------------------------

    def fail_next(
        self,
        kind: str,
        code: int,
        subcode: int | None = None,
        *,
        status: int = 400,
        message: str = "scripted failure",
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``kind`` (create, status, publish, limit, debug) fail."""
        for _ in range(times):
            self._errors[kind].append((status, code, subcode, message))

    def hold(self, kind: str, phase: str = "before", skip: int = 0) -> Hold:
        """Stop the next ``kind`` request (after ``skip`` others) before or after it acts."""
        hold = Hold(kind, phase, skip)
        self._holds[kind] = hold
        self._every_hold.append(hold)
        return hold

    def release_all(self) -> None:
        for hold in self._every_hold:
            hold.released.set()
        self._holds.clear()

    def expire(self, container_id: str) -> None:
        self.containers[container_id].statuses = deque(["EXPIRED"])

    def publishes_of(self, caption: str) -> int:
        return sum(1 for _, _, c in self.published if c == caption)

    @property
    def publish_counts(self) -> Counter[str]:
        return Counter(c for _, _, c in self.published)

    # -- serving ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeGraphApi:
        app = web.Application()
        app.router.add_route("*", "/v23.0/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v23.0"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def _error(status: int, code: int, subcode: int | None, message: str) -> web.Response:
        body: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEf",
        }
        if subcode:
            body["error_subcode"] = subcode
        return web.json_response({"error": body}, status=status)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        path = request.match_info["path"]
        self.requests.append((request.method, path, params))
        if params.get("access_token") != self.token:
            return self._error(400, 190, 463, "Error validating access token")
        kind = self._kind(request.method, path)
        if kind is None:
            return self._error(400, 100, 33, f"Unsupported {request.method} request: {path}")
        if self._errors[kind]:
            return self._error(*self._errors[kind].popleft())
        hold = self._holds.get(kind)
        if hold and hold.skip:
            hold.skip -= 1
            hold = None
        if hold and hold.phase == "before":
            del self._holds[kind]
            hold.reached.set()
            await hold.released.wait()
            return self._error(503, 2, None, "released after a hold")
        response = await getattr(self, f"_{kind}")(path, params)
        if hold and hold.phase == "after":
            del self._holds[kind]
            hold.reached.set()
            await hold.released.wait()
        return response

    def _kind(self, method: str, path: str) -> str | None:
        parts = path.strip("/").split("/")
        if parts == ["debug_token"] and method == "GET":
            return "debug"
        if len(parts) == 2 and parts[0] == self.user_id:
            return {
                ("POST", "media"): "create",
                ("POST", "media_publish"): "publish",
                ("GET", "content_publishing_limit"): "limit",
            }.get((method, parts[1]))
        if len(parts) == 1 and method == "GET" and parts[0] in self.containers:
            return "status"
        return None

    # -- endpoints ----------------------------------------------------------------------------

    async def _fetch(self, url: str, want: str) -> str | None:
        """Download like Meta does; the problem, or None when the file came back right."""
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
                async with session.get(url) as response:
                    size = 0
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                    ctype = response.headers.get("Content-Type", "")
                    self.fetches.append((url, str(response.status)))
                    if response.status != 200 or not size:
                        return f"HTTP {response.status}"
                    if not ctype.startswith(want):
                        return f"content type {ctype}"
                    return None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.fetches.append((url, type(exc).__name__))
            return type(exc).__name__

    async def _create(self, path: str, params: dict[str, str]) -> web.Response:
        media_type = params.get("media_type", "IMAGE")
        if media_type == "CAROUSEL":
            children = [c for c in params.get("children", "").split(",") if c]
            missing = [c for c in children if c not in self.containers]
            if not 2 <= len(children) <= 10 or missing:
                return self._error(400, 100, 2207028, f"bad carousel children {children}")
            statuses = deque(["IN_PROGRESS"] * self.processing_polls + ["FINISHED"])
            container = self._new(params, statuses)
            container.children = children
            return web.json_response({"id": container.id})
        url = params.get("image_url") or params.get("video_url")
        if not url:
            return self._error(400, 100, None, "image_url or video_url is required")
        want = "image/jpeg" if "image_url" in params else "video/"
        problem = await self._fetch(url, want)
        if problem:
            return self._error(
                400, 9004, 2207052, f"Media download has failed. The media URI doesn't meet "
                f"our requirements ({problem})"
            )  # fmt: skip
        if params.get("is_carousel_item") == "true":
            statuses = deque(["FINISHED"])
        elif self.next_statuses:
            statuses = deque(self.next_statuses.popleft())
        else:
            statuses = deque(["IN_PROGRESS"] * self.processing_polls + ["FINISHED"])
        return web.json_response({"id": self._new(params, statuses).id})

    def _new(self, params: dict[str, str], statuses: deque[str]) -> Container:
        container = Container(str(next(self._ids)), params, statuses)
        self.containers[container.id] = container
        return container

    async def _status(self, path: str, params: dict[str, str]) -> web.Response:
        container = self.containers[path.strip("/")]
        code = container.advance()
        status = {"ERROR": "Error: the media could not be processed"}.get(code, code.title())
        return web.json_response({"id": container.id, "status_code": code, "status": status})

    async def _publish(self, path: str, params: dict[str, str]) -> web.Response:
        container = self.containers.get(params.get("creation_id", ""))
        if container is None:
            return self._error(400, 100, 2207008, "The media builder does not exist")
        code = container.status_code
        if code == "PUBLISHED":
            self.duplicate_publishes += 1
            return self._error(400, 100, 2207008, "The media has already been published")
        if code == "EXPIRED":
            return self._error(400, 100, 2207020, "The media builder has expired")
        if code != "FINISHED":
            return self._error(400, 9007, 2207027, "Media ID is not available")
        if self.quota_usage >= self.quota_total:
            return self._error(400, 4, 2207042, "You reached maximum number of posts")
        container.statuses = deque(["PUBLISHED"])
        media_id = str(17900000000000000 + len(self.published) + 1)
        self.published.append((media_id, container.id, container.params.get("caption", "")))
        self.quota_usage += 1
        self.publish_seen.set()
        return web.json_response({"id": media_id})

    async def _limit(self, path: str, params: dict[str, str]) -> web.Response:
        return web.json_response(
            {
                "data": [
                    {
                        "quota_usage": self.quota_usage,
                        "config": {"quota_total": self.quota_total, "quota_duration": 86400},
                    }
                ]
            }
        )

    async def _debug(self, path: str, params: dict[str, str]) -> web.Response:
        valid = params.get("input_token") == self.token
        return web.json_response(
            {"data": {"is_valid": valid, "expires_at": self.token_expires_at, "type": "USER"}}
        )
