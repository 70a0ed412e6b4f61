"""The Instagram Graph API over aiohttp: containers, their status, publishing, the quota.

Every failure becomes a typed `GraphApiError` from `core.instagram.policy.classify`, so callers
decide by type: retry, wait, recreate the container, wait for quota, or stop. The base URL is a
setting (tests point it at a local server that speaks the same protocol).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from carrier_studio.core.instagram import (
    ContainerExpiredError,
    GraphApiError,
    PollSchedule,
    Quota,
    StopGraphError,
    TransientGraphError,
    classify,
)
from carrier_studio.core.instagram.errors import GraphAuthError
from carrier_studio.core.settings import InstagramSettings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com/v23.0"
#: Meta documents these ``status_code`` values for a media container.
IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED = (
    "IN_PROGRESS", "FINISHED", "ERROR", "EXPIRED", "PUBLISHED",
)  # fmt: skip


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    status_code: str
    #: Meta's free text, e.g. "Error: Media ID is not available" for ERROR.
    status: str = ""


class GraphClient:
    """One Instagram account's publishing calls.

    Args:
        base_url: e.g. ``https://graph.facebook.com/v23.0``.
        user_id: The Instagram professional account's id.
        token: The access token (read from the secret store by the caller).
    """

    def __init__(self, base_url: str, user_id: str, token: str, *, timeout: float = 60.0) -> None:
        if not token:
            raise GraphAuthError(
                "no Instagram access token is set",
                where="INSTAGRAM_ACCESS_TOKEN",
                hint="Paste a token in Settings → Instagram.",
            )
        if not user_id:
            raise StopGraphError(
                "no Instagram account id is set",
                where="instagram.user_id",
                hint="Enter the account id in Settings → Instagram.",
            )
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _call(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: _param(v) for k, v in params.items() if v is not None}
        query["access_token"] = self._token
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            async with self._http().request(method, url, params=query) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientGraphError(
                f"the Graph API at {self.base_url} did not answer ({type(exc).__name__}: {exc})",
                where="Instagram Graph API",
            ) from exc
        try:
            body = json.loads(text) if text else {}
        except json.JSONDecodeError:
            body = {}
        if status >= 400 or (isinstance(body, dict) and "error" in body):
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            raise classify(
                int(error.get("code") or 0),
                error.get("error_subcode"),
                str(error.get("error_user_msg") or error.get("message") or text[:200]),
                status,
            )
        if not isinstance(body, dict):
            raise TransientGraphError(
                f"the Graph API answered {method} {path} with {text[:80]!r}, not an object"
            )
        return body

    # -- containers ---------------------------------------------------------------------------

    async def create_image_container(
        self,
        image_url: str,
        *,
        caption: str | None = None,
        alt_text: str | None = None,
        carousel_item: bool = False,
        story: bool = False,
    ) -> str:
        params = {"image_url": image_url, "alt_text": alt_text or None}
        if carousel_item:
            params["is_carousel_item"] = True
        else:
            params["caption"] = caption
        if story:
            params["media_type"] = "STORIES"
        return await self._create(params)

    async def create_video_container(
        self,
        video_url: str,
        media_type: str,
        *,
        caption: str | None = None,
        carousel_item: bool = False,
    ) -> str:
        """``media_type``: REELS or STORIES (VIDEO for a carousel item)."""
        params: dict[str, Any] = {"video_url": video_url, "media_type": media_type}
        if carousel_item:
            params["is_carousel_item"] = True
        else:
            params["caption"] = caption
        return await self._create(params)

    async def create_carousel_container(self, children: list[str], caption: str | None) -> str:
        return await self._create(
            {"media_type": "CAROUSEL", "children": ",".join(children), "caption": caption}
        )

    async def _create(self, params: dict[str, Any]) -> str:
        body = await self._call("POST", f"{self.user_id}/media", params)
        container = body.get("id")
        if not container:
            raise TransientGraphError(f"the Graph API created a container without an id: {body}")
        return str(container)

    async def container_status(self, container_id: str) -> ContainerStatus:
        body = await self._call("GET", container_id, {"fields": "status_code,status"})
        return ContainerStatus(
            container_id, str(body.get("status_code") or ""), str(body.get("status") or "")
        )

    async def wait_until_finished(
        self,
        container_id: str,
        schedule: PollSchedule = PollSchedule(),  # noqa: B008 - frozen
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> ContainerStatus:
        """Poll until FINISHED (or PUBLISHED: someone published it already).

        ERROR stops with Meta's reason; EXPIRED raises `ContainerExpiredError`; still
        processing after ``schedule.total`` seconds is transient (the worker tries later).
        """
        delays = schedule.delays()
        while True:
            status = await self.container_status(container_id)
            if status.status_code in (FINISHED, PUBLISHED):
                return status
            raise_for_status(status)
            delay = next(delays, None)
            if delay is None:
                raise TransientGraphError(
                    f"container {container_id} is still processing after "
                    f"{schedule.total / 60:.0f} min",
                    where="Instagram Graph API",
                )
            await sleep(delay)

    async def publish(self, container_id: str) -> str:
        body = await self._call(
            "POST", f"{self.user_id}/media_publish", {"creation_id": container_id}
        )
        media_id = body.get("id")
        if not media_id:
            raise TransientGraphError(f"publishing answered without a media id: {body}")
        return str(media_id)

    # -- account ------------------------------------------------------------------------------

    async def publishing_limit(self) -> Quota:
        body = await self._call(
            "GET", f"{self.user_id}/content_publishing_limit", {"fields": "quota_usage,config"}
        )
        data = body.get("data")
        reading = data[0] if isinstance(data, list) and data else body
        try:
            return Quota.from_reading(reading, datetime.now(UTC))
        except ValueError as exc:
            raise TransientGraphError(
                f"content_publishing_limit gave no usable reading: {exc}",
                where="Instagram Graph API",
            ) from exc

    async def token_expiry(self) -> datetime | None:
        """When the token expires (``debug_token``); None when it does not, or Meta won't say."""
        body = await self._call("GET", "debug_token", {"input_token": self._token})
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if data.get("is_valid") is False:
            raise classify(190, None, "the token is not valid", 400)
        expires = data.get("expires_at") or data.get("data_access_expires_at")
        if not isinstance(expires, int) or expires <= 0:
            return None
        return datetime.fromtimestamp(expires, UTC)


def raise_for_status(status: ContainerStatus) -> None:
    """Raise the error a container's ERROR or EXPIRED status means (nothing otherwise)."""
    if status.status_code == EXPIRED:
        raise ContainerExpiredError(
            f"container {status.id} expired (containers last 24 h)", where="Instagram Graph API"
        )
    if status.status_code == ERROR:
        raise StopGraphError(
            f"Instagram could not process the media of container {status.id}: "
            f"{status.status or 'no reason given'}",
            where="Instagram Graph API",
            hint="Check the file against Instagram's media rules, then retry.",
        )


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["ContainerStatus", "GraphApiError", "GraphClient", "raise_for_status"]


async def read_quota(account: InstagramSettings, token: str) -> Quota:
    """The account's publishing quota right now (one short-lived client)."""
    async with GraphClient(account.base_url, account.user_id, token) as graph:
        return await graph.publishing_limit()
