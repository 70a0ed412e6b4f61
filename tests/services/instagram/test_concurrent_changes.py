"""The user changes the queue while the worker works: edits, removals and adds made meanwhile
are never overwritten, and a post is never seen without its media."""

from __future__ import annotations

import asyncio
import threading

import pytest

from carrier_studio.core.instagram import PostState
from carrier_studio.services.instagram.queue import (
    InstagramQueue,
    PostNotFoundError,
    StaleStateError,
)
from tests.services.instagram import media
from tests.services.instagram.rig import Rig


def _run(coro):
    return asyncio.run(coro)


async def _failed_with_a_finished_container(rig: Rig, source, caption: str):
    """A post Meta refused to publish (policy): FAILED, its container FINISHED and reusable."""
    rig.graph.fail_next("publish", 368, message="blocked for now")
    post = await rig.queue.add([source], caption=caption)
    await rig.worker.run_pending()
    failed = await rig.queue.get(post.id)
    assert failed.state is PostState.FAILED and failed.container_id
    return failed


def test_a_caption_edited_while_the_worker_is_busy_elsewhere_is_the_one_published(tmp_path):
    edited_src, busy_src = media.jpeg(tmp_path / "a.jpg"), media.jpeg(tmp_path / "b.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            failed = await _failed_with_a_finished_container(rig, edited_src, "old words")
            await rig.queue.retry(failed.id)
            busy = await rig.queue.add([busy_src], caption="first")
            await rig.queue.reorder([busy.id, failed.id])
            # The pass reads both posts, then stops inside the other post's container request.
            hold = rig.graph.hold("create", "after")
            publishing = asyncio.create_task(rig.worker.run_pending())
            await asyncio.wait_for(hold.reached.wait(), 10)
            await rig.queue.update(failed.id, caption="new words")
            rig.graph.release_all()
            published = await asyncio.wait_for(publishing, 20)
            return rig, failed, published, await rig.queue.get(failed.id)

    rig, failed, published, post = _run(go())
    assert published == 2 and post.state is PostState.PUBLISHED
    assert rig.graph.publish_counts == {"first": 1, "new words": 1}, "never the old caption"
    assert post.container_id != failed.container_id and not post.container_stale


def test_a_caption_edited_during_the_container_check_is_decided_again(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            failed = await _failed_with_a_finished_container(rig, source, "old words")
            await rig.queue.retry(failed.id)
            # The retry's first step asks Meta about the old container; the edit lands while
            # that answer is on its way, after the worker read the post.
            hold = rig.graph.hold("status", "after")
            publishing = asyncio.create_task(rig.worker.run_pending())
            await asyncio.wait_for(hold.reached.wait(), 10)
            await rig.queue.update(failed.id, caption="new words")
            rig.graph.release_all()
            await asyncio.wait_for(publishing, 20)
            return rig, failed, await rig.queue.get(failed.id)

    rig, failed, post = _run(go())
    assert post.state is PostState.PUBLISHED
    assert rig.graph.publish_counts == {"new words": 1}, "never the old caption"
    assert post.container_id != failed.container_id
    assert any("creating a new container" in a.message for a in post.attempts)


def _queue_run(tmp_path, body):
    from carrier_studio.services.platform.db import Database

    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            return await body(InstagramQueue(db, tmp_path / "instagram"))
        finally:
            await db.close()

    return asyncio.run(go())


def test_a_step_saved_from_a_copy_older_than_an_edit_is_refused(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def body(queue):
        post = await queue.add([source], caption="old words")
        read = await queue.get(post.id)
        await queue.update(post.id, caption="new words")  # still QUEUED: only the row changed
        with pytest.raises(StaleStateError) as refused:
            await queue.save_step(
                read.transition(PostState.UPLOADING), PostState.QUEUED, step="upload"
            )
        fresh = await queue.get(post.id)
        moved = await queue.save_step(
            fresh.transition(PostState.UPLOADING), PostState.QUEUED, step="upload"
        )
        return refused.value, fresh, moved

    refused, fresh, moved = _queue_run(tmp_path, body)
    assert refused.where == "revision" and "changed since it was read" in str(refused)
    assert fresh.state is PostState.QUEUED and fresh.caption == "new words"
    assert moved.state is PostState.UPLOADING and moved.revision > fresh.revision


def test_a_removed_posts_id_is_never_reused(tmp_path):
    first, second = media.jpeg(tmp_path / "a.jpg"), media.jpeg(tmp_path / "b.jpg")

    async def body(queue):
        old = await queue.add([first], caption="removed")
        await queue.remove(old.id)
        new = await queue.add([second], caption="kept")
        with pytest.raises(PostNotFoundError):
            await queue.save_step(old.transition(PostState.UPLOADING), PostState.QUEUED,
                                  step="upload")  # fmt: skip
        return old, new, await queue.get(new.id)

    old, new, kept = _queue_run(tmp_path, body)
    assert new.id != old.id
    assert kept.state is PostState.QUEUED and kept.caption == "kept"


class _SlowCopyQueue(InstagramQueue):
    """Copies the files only once the test lets it (a big reel takes that long)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.copying = asyncio.Event()
        self.go_on = threading.Event()
        self._loop = asyncio.get_running_loop()

    def _stage_files(self, *args, **kwargs):
        self._loop.call_soon_threadsafe(self.copying.set)
        self.go_on.wait(10)
        return super()._stage_files(*args, **kwargs)


def test_a_post_is_invisible_to_the_worker_until_its_media_is_copied(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            slow = _SlowCopyQueue(rig.db, rig.queue.media_dir, clock=rig.clock)
            adding = asyncio.create_task(slow.add([source], caption="whole"))
            try:
                await asyncio.wait_for(slow.copying.wait(), 10)
                listed = await rig.queue.list()
                during = await rig.worker.run_pending()
                created = len(rig.graph.containers)
            finally:
                slow.go_on.set()
                post = await adding
            after = await rig.worker.run_pending()
            return rig, listed, (during, created), after, await rig.queue.get(post.id)

    rig, listed, during, after, post = _run(go())
    assert listed == [] and during == (0, 0), "nothing to work on while the copy is made"
    assert after == 1 and post.state is PostState.PUBLISHED and len(post.media) == 1
    assert rig.graph.publish_counts == {"whole": 1}


class _FailingQueue(InstagramQueue):
    fail_in = ""

    def _stage_files(self, *args, **kwargs):
        staged = super()._stage_files(*args, **kwargs)
        if self.fail_in == "copy":
            raise OSError("disk full")
        return staged

    def _insert_media(self, conn, post_id, media):
        super()._insert_media(conn, post_id, media)
        if self.fail_in == "insert":
            raise OSError("database disk image is malformed")


@pytest.mark.parametrize("fail_in", ["copy", "insert"])
def test_a_failed_add_leaves_no_half_post_and_no_folder(tmp_path, fail_in):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        from carrier_studio.services.platform.db import Database

        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            queue = _FailingQueue(db, tmp_path / "instagram")
            queue.fail_in = fail_in
            with pytest.raises(OSError):
                await queue.add([source], caption="half")
            listed = await queue.list()
            media_rows = await db.run(
                lambda conn: conn.execute("SELECT count(*) FROM instagram_media").fetchone()[0]
            )
            queue.fail_in = ""
            whole = await queue.add([source], caption="whole")
            return listed, media_rows, whole
        finally:
            await db.close()

    listed, media_rows, whole = _run(go())
    assert listed == [] and media_rows == 0
    folders = sorted(p.name for p in (tmp_path / "instagram" / "media").iterdir())
    assert folders == [str(whole.id)], "no orphan copies, no staging folder"
    assert all(str(tmp_path / "instagram" / "media" / str(whole.id)) in m.path for m in whole.media)
