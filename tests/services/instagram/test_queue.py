"""The queue on a real studio.db: adding with pre-flight, editing, ordering, notifications."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carrier_studio.core.instagram import IllegalTransitionError, PostKind, PostState
from carrier_studio.services.instagram.queue import (
    InstagramQueue,
    QueuePreflightError,
    StaleStateError,
)
from carrier_studio.services.platform.db import Database
from tests.services.instagram import media


def _run(tmp_path, body):
    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            return await body(InstagramQueue(db, tmp_path / "instagram"))
        finally:
            await db.close()

    return asyncio.run(go())


def test_adding_copies_the_files_and_keeps_thumbnails(tmp_path):
    source = media.jpeg(tmp_path / "in" / "sunset.jpg")
    changes = []

    async def body(queue):
        queue.changed.subscribe(changes.append)
        post = await queue.add([source], caption="Golden hour #sunset", character="Pip")
        return post, await queue.list()

    post, listed = _run(tmp_path, body)
    assert post.kind is PostKind.IMAGE and post.state is PostState.QUEUED
    (item,) = post.media
    assert item.source == str(source)
    assert item.path != str(source) and Path(item.path).read_bytes() == source.read_bytes()
    assert item.thumbnail and item.thumbnail.endswith(".png")
    assert [p.id for p in listed] == [post.id]
    assert [(c.kind, c.post_id) for c in changes] == [("added", post.id)]
    assert post.attempts[0].step == "queued"


def test_several_files_make_a_carousel_and_a_video_a_reel(tmp_path):
    files = [media.jpeg(tmp_path / f"{i}.jpg") for i in range(3)]
    clip = media.mp4(tmp_path / "clip.mp4", 12.0)

    async def body(queue):
        return await queue.add(files), await queue.add([clip])

    carousel, reel = _run(tmp_path, body)
    assert carousel.kind is PostKind.CAROUSEL and len(carousel.media) == 3
    assert reel.kind is PostKind.REEL and reel.media[0].thumbnail is None


def test_a_png_is_refused_with_the_reason_then_converted_with_consent(tmp_path):
    source = media.png(tmp_path / "logo.png", size=(2000, 800))
    original = source.read_bytes()

    async def body(queue):
        with pytest.raises(QueuePreflightError) as refused:
            await queue.add([source])
        assert await queue.list() == []
        post = await queue.add([source], convert=True)
        return refused.value, post, await queue.inspect([post.media[0].path])

    refused, post, (info,) = _run(tmp_path, body)
    assert {f.code for f in refused.findings} == {"format", "aspect"}
    assert refused.convertible and "logo.png" in str(refused)
    assert info.format == "JPEG" and 0.8 <= info.width / info.height <= 1.91
    assert source.read_bytes() == original, "the user's file is never changed"


def test_a_long_caption_is_refused_and_the_old_one_kept(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def body(queue):
        post = await queue.add([source], caption="short")
        with pytest.raises(QueuePreflightError) as refused:
            await queue.update(post.id, caption="x" * 2201)
        return refused.value, await queue.get(post.id)

    refused, post = _run(tmp_path, body)
    assert refused.findings[0].field == "caption" and not refused.convertible
    assert post.caption == "short"


def test_reorder_cancel_retry_and_edits(tmp_path):
    files = [media.jpeg(tmp_path / f"{i}.jpg") for i in range(3)]
    when = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)

    async def body(queue):
        a, b, c = [await queue.add([f]) for f in files]
        await queue.reorder([c.id, a.id])
        order = [p.id for p in await queue.list()]
        await queue.update(b.id, scheduled_at=when, caption="later")
        cancelled = await queue.cancel(a.id)
        with pytest.raises(IllegalTransitionError):
            await queue.cancel(a.id)
        retried = await queue.retry(a.id)
        return (a, b, c), order, cancelled, retried, await queue.get(b.id)

    (a, b, c), order, cancelled, retried, edited = _run(tmp_path, body)
    assert order == [c.id, a.id, b.id]
    assert cancelled.state is PostState.CANCELLED and retried.state is PostState.QUEUED
    assert [t.step for t in retried.attempts] == ["queued", "cancelled", "queued"]
    assert edited.scheduled_at == when and edited.caption == "later"


def test_the_worker_cannot_overwrite_a_cancel(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def body(queue):
        post = await queue.add([source])
        read = await queue.get(post.id)
        await queue.cancel(post.id)
        with pytest.raises(StaleStateError):
            await queue.save_step(
                read.transition(PostState.UPLOADING), PostState.QUEUED, step="upload"
            )
        return await queue.get(post.id)

    assert _run(tmp_path, body).state is PostState.CANCELLED


def test_a_carousels_media_order_is_edited_until_publishing_starts(tmp_path):
    from carrier_studio.core.instagram import InstagramError

    files = [media.jpeg(tmp_path / "in" / f"{name}.jpg") for name in ("a", "b", "c")]

    async def body(queue):
        post = await queue.add(files)
        stale = await queue.get(post.id)
        moved = await queue.reorder_media(post.id, [2, 0, 1])
        with pytest.raises(InstagramError) as wrong:
            await queue.reorder_media(post.id, [0, 0, 1])
        # The worker's copy read before the edit cannot be saved over it.
        with pytest.raises(StaleStateError):
            await queue.save_step(
                stale.transition(PostState.UPLOADING), PostState.QUEUED, step="upload"
            )
        read = await queue.get(post.id)
        await queue.save_step(read.transition(PostState.UPLOADING), PostState.QUEUED, step="upload")
        with pytest.raises(StaleStateError) as started:
            await queue.reorder_media(post.id, [1, 0, 2])
        return moved, wrong.value, started.value, await queue.get(post.id)

    moved, wrong, started, after = _run(tmp_path, body)
    assert [Path(m.source).name for m in moved.media] == ["c.jpg", "a.jpg", "b.jpg"]
    assert wrong.where == "media" and "each of post" in str(wrong)
    assert "uploading and can no longer be edited" in str(started)
    assert [Path(m.source).name for m in after.media] == ["c.jpg", "a.jpg", "b.jpg"]


def test_a_converted_preview_is_a_thumbnail_of_the_copy_add_would_queue(tmp_path):
    from PIL import Image

    wide = media.jpeg(tmp_path / "in" / "panorama.jpg", size=(3000, 1000))

    async def body(queue):
        return await queue.converted_preview(wide)

    preview = _run(tmp_path, body)
    assert preview.parent == tmp_path / "instagram" / "previews"
    assert [p.name for p in preview.parent.iterdir()] == [preview.name], "no full-size copy"
    with Image.open(preview) as image:
        assert image.format == "PNG" and abs(image.width / image.height - 1.91) < 0.01


def test_a_queued_reel_gets_a_poster_frame_and_an_unreadable_video_none(tmp_path):
    from PIL import Image

    clip = media.real_mp4(tmp_path / "in" / "clip.mp4", seconds=4, size=(540, 960))
    fake = media.mp4(tmp_path / "in" / "fake.mp4", seconds=5, size=(1080, 1920))

    async def body(queue):
        reel = await queue.add([clip])
        return reel, await queue.poster_preview(clip), await queue.poster_preview(fake)

    reel, preview, unreadable = _run(tmp_path, body)
    assert reel.kind is PostKind.REEL and reel.media[0].thumbnail
    for poster in (Path(reel.media[0].thumbnail), preview):
        with Image.open(poster) as image:
            assert image.format == "PNG" and image.size == (144, 256)
            red, green, blue = image.convert("RGB").getpixel((72, 128))[:3]
            assert red > 200 and 120 < green < 200 and blue < 80, "the video's orange frame"
    assert unreadable is None


def test_a_time_without_a_zone_is_refused_before_anything_is_written(tmp_path):
    from carrier_studio.core.instagram import InstagramError

    source = media.jpeg(tmp_path / "a.jpg")

    async def body(queue):
        with pytest.raises(InstagramError) as refused:
            await queue.add([source], scheduled_at=datetime(2030, 1, 1, 9, 0))
        return refused.value, await queue.list()

    error, listed = _run(tmp_path, body)
    assert error.where == "scheduled_at" and "no time zone" in str(error)
    assert listed == []
