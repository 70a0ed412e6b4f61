"""What the publishing step asks of the outside world, and its answer in core's terms.

`core.instagram.publishing.advance` decides; it says what it needs to know next as a `Next`.
`ask` makes that one request of the FTP host or the Graph API and returns the reply as an
`Answer`. Failures are raised as they come (typed `InstagramError`s); the worker hands them back
to `advance` as `Failed` answers, so every decision stays in core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from carrier_studio.core.instagram import InstagramError, PollSchedule, PostKind, QueuedPost, Quota
from carrier_studio.core.instagram.step import (
    Answer,
    ContainerCreated,
    ContainerFound,
    FileUploaded,
    ItemCreated,
    ItemsFinished,
    Next,
    Published,
    QuotaRead,
)
from carrier_studio.services.instagram.connection import Connection
from carrier_studio.services.instagram.ftp import unique_name
from carrier_studio.services.instagram.graph_api import raise_for_status

Sleep = Callable[[float], Awaitable[None]]


async def ask(
    conn: Connection,
    post: QueuedPost,
    what: Next,
    index: int | None,
    *,
    poll: PollSchedule,
    sleep: Sleep,
    on_quota: Callable[[Quota], None],
) -> Answer:
    """Make the request ``what`` (about media item ``index``) for ``post``; return the reply.

    ``poll`` and ``sleep`` pace the waits for containers (``sleep`` may raise to stop waiting);
    ``on_quota`` gets every quota read, so the page's gauge follows.
    """
    graph = conn.graph
    if what is Next.CHECK_CONTAINER:
        status = await graph.container_status(post.container_id or "")
        return ContainerFound(status.status_code)
    if what is Next.UPLOAD:
        return await _upload(conn, post, _index(what, index))
    if what is Next.READ_QUOTA:
        quota = await graph.publishing_limit()
        on_quota(quota)
        return QuotaRead(quota)
    if what is Next.CREATE_ITEM:
        return await _create_item(conn, post, _index(what, index))
    if what is Next.WAIT_ITEMS:
        for item in post.media:
            await graph.wait_until_finished(item.container_id or "", poll, sleep)
        return ItemsFinished()
    if what is Next.CREATE_CONTAINER:
        return ContainerCreated(await _create_container(conn, post))
    if what is Next.WAIT_CONTAINER:
        status = await graph.wait_until_finished(post.container_id or "", poll, sleep)
        return ContainerFound(status.status_code)
    if what is Next.CHECK_BEFORE_PUBLISH:
        status = await graph.container_status(post.container_id or "")
        # ERROR and EXPIRED are Meta's word that publishing cannot work: raised as such.
        raise_for_status(status)
        return ContainerFound(status.status_code)
    if what is Next.PUBLISH:
        return Published(await graph.publish(post.container_id or ""))
    raise ValueError(f"nothing to ask for {what}")


async def _upload(conn: Connection, post: QueuedPost, index: int) -> FileUploaded:
    """Upload one file under a new unique name (a re-upload never serves a stale cached copy)."""
    item = post.media[index]
    if not await asyncio.to_thread(Path(item.path).is_file):
        raise InstagramError(
            "the queue's copy of this file is gone",
            path=item.path,
            hint="Remove the post and add the file again.",
        )
    name = unique_name(Path(item.path), post.id or 0, index)
    url = await conn.hosting.publish_file(Path(item.path), name)
    return FileUploaded(index, name, url)


async def _create_item(conn: Connection, post: QueuedPost, index: int) -> ItemCreated:
    item = post.media[index]
    if item.media_type == "video":
        child = await conn.graph.create_video_container(
            item.public_url or "", "VIDEO", carousel_item=True
        )
    else:
        child = await conn.graph.create_image_container(
            item.public_url or "", alt_text=post.alt_text, carousel_item=True
        )
    return ItemCreated(index, child)


async def _create_container(conn: Connection, post: QueuedPost) -> str:
    """The post's own container: the carousel of its items, or its one image or video."""
    graph, caption = conn.graph, post.caption or None
    if post.kind is PostKind.CAROUSEL:
        return await graph.create_carousel_container(
            [m.container_id or "" for m in post.media], caption
        )
    item = post.media[0]
    if item.media_type == "video":
        kind = "STORIES" if post.kind is PostKind.STORY else "REELS"
        return await graph.create_video_container(item.public_url or "", kind, caption=caption)
    return await graph.create_image_container(
        item.public_url or "",
        caption=caption,
        alt_text=post.alt_text,
        story=post.kind is PostKind.STORY,
    )


def _index(what: Next, index: int | None) -> int:
    if index is None:
        raise ValueError(f"{what} needs the index of a media item")
    return index


__all__ = ["Sleep", "ask"]
