"""The worker end to end: FTP upload, public URL check, containers, polling, publishing."""

from __future__ import annotations

import asyncio
import socket

from carrier_studio.core.instagram import PostKind, PostState
from tests.services.instagram import media
from tests.services.instagram.rig import Rig


def _run(coro):
    return asyncio.run(coro)


def test_an_image_post_is_uploaded_checked_and_published_once(tmp_path):
    source = media.jpeg(tmp_path / "in" / "sunset.jpg", size=(1080, 1350))

    async def go():
        async with Rig(tmp_path) as rig:
            post = await rig.queue.add([source], caption="Golden hour", alt_text="A sunset")
            published = await rig.worker.run_pending()
            return rig, published, await rig.queue.get(post.id)

    rig, published, post = _run(go())
    assert published == 1
    assert post.state is PostState.PUBLISHED and post.media_id == rig.graph.published[0][0]
    assert rig.graph.publishes_of("Golden hour") == 1
    (item,) = post.media
    uploaded = rig.ftp_root / item.remote_name
    assert uploaded.read_bytes() == source.read_bytes()
    assert ("HEAD", item.remote_name) in rig.files.requests, "the URL was checked first"
    assert rig.graph.fetches == [(item.public_url, "200")], "Meta fetched the public URL"
    create = next(p for m, path, p in rig.graph.requests if path.endswith("/media"))
    assert create["image_url"] == item.public_url and create["alt_text"] == "A sunset"
    assert rig.queue.quota is not None and rig.queue.quota.total == 50
    steps = [(a.step, a.outcome) for a in post.attempts]
    assert steps[-1] == ("publish", "ok") and ("container", "ok") in steps


def test_a_carousel_and_a_reel(tmp_path):
    images = [media.jpeg(tmp_path / f"{i}.jpg", color=(i * 60, 0, 0)) for i in range(3)]
    clip = media.mp4(tmp_path / "clip.mp4", 20.0)

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.processing_polls = 3  # reels take a while
            carousel = await rig.queue.add(images, caption="three")
            reel = await rig.queue.add([clip], caption="reel")
            await rig.worker.run_pending()
            return rig, await rig.queue.get(carousel.id), await rig.queue.get(reel.id)

    rig, carousel, reel = _run(go())
    assert carousel.kind is PostKind.CAROUSEL and carousel.state is PostState.PUBLISHED
    assert reel.kind is PostKind.REEL and reel.state is PostState.PUBLISHED
    assert [c for _, _, c in rig.graph.published] == ["three", "reel"], "in queue order"
    parent = rig.graph.containers[carousel.container_id]
    assert parent.children == [m.container_id for m in carousel.media]
    assert rig.graph.containers[reel.container_id].params["media_type"] == "REELS"


def test_exhausted_quota_makes_the_post_wait_without_a_container(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.quota_total = 25  # whatever the account says, not a constant
            rig.graph.quota_usage = 25
            post = await rig.queue.add([source], caption="wait")
            await rig.worker.run_pending()
            waiting = await rig.queue.get(post.id)
            created = len(rig.graph.containers)
            await rig.worker.run_pending()  # not due again yet: nothing happens
            rig.graph.quota_usage = 24
            rig.clock.advance(minutes=31)
            await rig.worker.run_pending()
            return rig, waiting, created, await rig.queue.get(post.id)

    rig, waiting, created, done = _run(go())
    assert waiting.state is PostState.UPLOADED and waiting.waiting_reason == "quota"
    assert waiting.next_attempt_at > rig.clock.now - __import__("datetime").timedelta(minutes=31)
    assert "25 of 25" in waiting.attempts[-1].message
    assert created == 0
    assert done.state is PostState.PUBLISHED and rig.graph.publishes_of("wait") == 1


def test_an_expired_container_is_recreated(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.next_statuses.append(["IN_PROGRESS", "EXPIRED"])
            post = await rig.queue.add([source], caption="again")
            await rig.worker.run_pending()
            return rig, await rig.queue.get(post.id)

    rig, post = _run(go())
    assert post.state is PostState.PUBLISHED
    assert len(rig.graph.containers) == 2 and rig.graph.publishes_of("again") == 1
    assert any("creating a new container" in a.message for a in post.attempts)


def test_a_container_older_than_a_day_is_recreated_before_publishing(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.fail_next("status", 2, status=500, message="try later")
            post = await rig.queue.add([source], caption="old")
            await rig.worker.run_pending()
            stuck = await rig.queue.get(post.id)
            rig.clock.advance(hours=25)
            await rig.worker.run_pending()
            return rig, stuck, await rig.queue.get(post.id)

    rig, stuck, post = _run(go())
    assert stuck.state is PostState.CONTAINER_CREATED and stuck.waiting_reason == "retry"
    assert post.state is PostState.PUBLISHED
    first = stuck.container_id
    assert post.container_id != first and rig.graph.published[0][1] == post.container_id


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_public_url_fails_before_any_container(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")
    base = f"http://127.0.0.1:{_closed_port()}/media"

    async def go():
        async with Rig(tmp_path, public_base_url=base) as rig:
            post = await rig.queue.add([source], caption="nowhere")
            await rig.worker.run_pending()
            return rig, await rig.queue.get(post.id)

    rig, post = _run(go())
    assert post.state is PostState.FAILED
    assert base in post.last_error and "does not answer" in post.last_error
    assert "ftp.public_base_url" in post.last_error
    assert rig.graph.containers == {} and not any(
        path.endswith("/media") for _, path, _ in rig.graph.requests
    )


def test_a_processing_error_stops_with_metas_reason_and_retry_recreates(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.next_statuses.append(["ERROR"])
            post = await rig.queue.add([source], caption="broken")
            await rig.worker.run_pending()
            failed = await rig.queue.get(post.id)
            await rig.queue.retry(post.id)
            await rig.worker.run_pending()
            return rig, failed, await rig.queue.get(post.id)

    rig, failed, post = _run(go())
    assert failed.state is PostState.FAILED and "could not be processed" in failed.last_error
    assert post.state is PostState.PUBLISHED and rig.graph.publishes_of("broken") == 1


def test_auth_errors_stop_and_transient_errors_back_off(tmp_path, message_bus):
    first = media.jpeg(tmp_path / "a.jpg")
    second = media.jpeg(tmp_path / "b.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.fail_next("create", 190, 463, message="Error validating access token")
            a = await rig.queue.add([first], caption="auth")
            await rig.worker.run_pending()
            rig.graph.fail_next("create", 2207001 // 1000, 2207001, status=500)
            b = await rig.queue.add([second], caption="flaky")
            await rig.worker.run_pending()
            backing_off = await rig.queue.get(b.id)
            rig.clock.advance(seconds=61)
            await rig.worker.run_pending()
            return rig, await rig.queue.get(a.id), backing_off, await rig.queue.get(b.id)

    rig, auth, backing_off, flaky = _run(go())
    assert auth.state is PostState.FAILED and "access token" in auth.last_error
    assert "Settings" in auth.last_error
    assert any("Instagram publishing stopped" in m.text for m in message_bus.held())
    assert backing_off.state is PostState.UPLOADED and backing_off.waiting_reason == "retry"
    assert backing_off.failures == 1 and "server error" in backing_off.last_error
    assert flaky.state is PostState.PUBLISHED and rig.graph.publishes_of("auth") == 0


def test_publishing_before_finished_goes_back_to_waiting(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.fail_next("publish", 9007, 2207027, message="Media ID is not available")
            post = await rig.queue.add([source], caption="early")
            await rig.worker.run_pending()
            return rig, await rig.queue.get(post.id)

    rig, post = _run(go())
    assert post.state is PostState.PUBLISHED and rig.graph.publishes_of("early") == 1
    assert any(a.outcome == "wait" and "still being processed" in a.message for a in post.attempts)


def test_a_token_about_to_expire_is_warned_about(tmp_path, message_bus):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.token_expires_at = int(rig.clock.now.timestamp()) + 3 * 86400 + 60
            await rig.queue.add([source])
            await rig.worker.run_pending()
            return rig.worker.token_warning

    warning = _run(go())
    assert warning and "expires in 3 days" in warning
    assert any("expires in 3 days" in m.text for m in message_bus.held())


def test_the_background_worker_publishes_what_is_added_and_stops(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            changed = asyncio.Event()
            rig.queue.changed.subscribe(lambda _change: changed.set())
            rig.worker.start()
            post = await rig.queue.add([source], caption="live")

            async def published():
                while True:
                    changed.clear()  # before reading, so no change is missed
                    if (await rig.queue.get(post.id)).state is PostState.PUBLISHED:
                        return
                    await changed.wait()

            await asyncio.wait_for(published(), 10)
            running = rig.worker.running
            await rig.worker.stop()
            return rig, running, rig.worker.running

    rig, running, after = _run(go())
    assert running and not after and rig.graph.publishes_of("live") == 1


def test_the_status_slot_follows_the_worker(tmp_path):
    from carrier_studio.core.status import State, StatusBoard
    from carrier_studio.services.instagram.worker import InstagramWorker
    from tests.services.instagram.rig import FAST

    board = StatusBoard()
    board.add("instagram", "Instagram", State.STOPPED)
    seen = []
    board.changed.subscribe(lambda s: seen.append((s.state, s.detail)))
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.quota_usage = rig.graph.quota_total
            worker = InstagramWorker(
                rig.queue, rig.connect, config=FAST, status=board, clock=rig.clock
            )
            await rig.queue.add([source])
            await worker.run_pending()
            await worker.stop()

    _run(go())
    assert (State.RUNNING, "publishing post 1") in seen
    assert (State.RUNNING, "1 post waiting (daily limit reached)") in seen
    assert seen[-1] == (State.STOPPED, "")


def test_only_one_worker_publishes_a_workspace(tmp_path):
    from carrier_studio.services.instagram.worker import InstagramWorker, WorkerBusyError
    from tests.services.instagram.rig import FAST

    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            other = InstagramWorker(rig.queue, rig.connect, config=FAST, clock=rig.clock)
            post = await rig.queue.add([source], caption="once")
            await rig.worker.run_pending()
            second = await rig.queue.add([source], caption="second")
            try:
                await other.run_pending()
            except WorkerBusyError as exc:
                busy = exc
            await rig.worker.stop()  # releases the lock: the other may publish now
            await other.run_pending()
            await other.stop()
            return rig, busy, await rig.queue.get(post.id), await rig.queue.get(second.id)

    rig, busy, first, second = _run(go())
    assert "another Carrier Studio" in str(busy) and busy.path.name == "publisher.lock"
    assert first.state is second.state is PostState.PUBLISHED
    assert rig.graph.publish_counts == {"once": 1, "second": 1}


def test_an_expired_token_stops_every_pass_until_a_new_one_is_pasted(tmp_path):
    from carrier_studio.core.instagram import GraphAuthError

    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.token_expires_at = int(rig.clock.now.timestamp()) - 60
            post = await rig.queue.add([source], caption="after renewal")
            errors = []
            for _ in range(2):  # the second pass must not trust the first one's check
                rig.clock.advance(minutes=1)
                try:
                    await rig.worker.run_pending()
                except GraphAuthError as exc:
                    errors.append(exc)
            waiting = await rig.queue.get(post.id)
            created = dict(rig.graph.containers)
            rig.graph.token = rig.token = "IGQV-renewed-token"  # pasted in Settings
            rig.graph.token_expires_at = int(rig.clock.now.timestamp()) + 60 * 86400
            published = await rig.worker.run_pending()
            return rig, errors, waiting, created, published

    rig, errors, waiting, created, published = _run(go())
    assert len(errors) == 2
    assert all("expired" in str(e) and "Settings" in str(e) for e in errors)
    assert waiting.state is PostState.QUEUED and created == {}
    assert published == 1 and rig.graph.publish_counts == {"after renewal": 1}


def test_a_token_check_that_failed_is_made_again_next_pass(tmp_path):
    first, second = media.jpeg(tmp_path / "a.jpg"), media.jpeg(tmp_path / "b.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.fail_next("debug", 2, status=500, message="try later")
            await rig.queue.add([first], caption="one")
            await rig.worker.run_pending()
            rig.graph.token_expires_at = int(rig.clock.now.timestamp()) + 2 * 86400 + 60
            await rig.queue.add([second], caption="two")
            await rig.worker.run_pending()
            checks = [p for _, p, _ in rig.graph.requests if p == "debug_token"]
            return rig, checks, rig.worker.token_warning

    rig, checks, warning = _run(go())
    assert len(checks) == 2, "the failed check did not count as done"
    assert warning and "expires in 2 days" in warning
    assert rig.graph.publish_counts == {"one": 1, "two": 1}


def test_a_missing_queue_copy_fails_the_post_with_its_path(tmp_path):
    from pathlib import Path

    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            post = await rig.queue.add([source])
            Path(post.media[0].path).unlink()
            await rig.worker.run_pending()
            return await rig.queue.get(post.id)

    post = _run(go())
    assert post.state is PostState.FAILED and "copy of this file is gone" in post.last_error
    assert post.media[0].path in post.last_error


def test_a_retry_reuses_the_container_unless_the_caption_changed(tmp_path):
    source = media.jpeg(tmp_path / "a.jpg")

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.fail_next("publish", 368, message="blocked for now", times=2)
            kept = await rig.queue.add([source], caption="same words")
            edited = await rig.queue.add([source], caption="old words")
            await rig.worker.run_pending()
            failed = [await rig.queue.get(p.id) for p in (kept, edited)]
            await rig.queue.retry(kept.id)
            await rig.queue.update(edited.id, caption="new words")
            await rig.queue.retry(edited.id)
            await rig.worker.run_pending()
            return rig, failed, await rig.queue.get(kept.id), await rig.queue.get(edited.id)

    rig, failed, kept, edited = _run(go())
    assert [p.state for p in failed] == [PostState.FAILED, PostState.FAILED]
    assert "policy violation" in failed[0].last_error
    assert kept.container_id == failed[0].container_id, "the finished container was reused"
    assert edited.container_id != failed[1].container_id and not edited.container_stale
    assert rig.graph.publish_counts == {"same words": 1, "new words": 1}


def test_stopping_while_a_reel_processes_keeps_the_container(tmp_path):
    from dataclasses import replace

    from carrier_studio.core.instagram import PollSchedule
    from carrier_studio.services.instagram.worker import InstagramWorker
    from tests.services.instagram.rig import FAST

    clip = media.mp4(tmp_path / "clip.mp4", 20.0)

    async def go():
        async with Rig(tmp_path) as rig:
            rig.graph.processing_polls = 10**6  # a reel that takes forever
            slow = replace(FAST, poll=PollSchedule(first=30.0, cap=30.0, total=3600.0))
            worker = InstagramWorker(rig.queue, rig.connect, config=slow, clock=rig.clock)
            changed = asyncio.Event()
            rig.queue.changed.subscribe(lambda _c: changed.set())
            post = await rig.queue.add([clip], caption="slow reel")
            worker.start()

            async def first_poll():
                while True:
                    changed.clear()
                    if (await rig.queue.get(post.id)).state is PostState.CONTAINER_CREATED:
                        return
                    await changed.wait()

            await asyncio.wait_for(first_poll(), 10)
            await asyncio.wait_for(worker.stop(grace=30.0), 5)  # the 30 s poll wait is cut
            stopped = await rig.queue.get(post.id)
            rig.graph.containers[stopped.container_id].statuses.clear()
            rig.graph.containers[stopped.container_id].statuses.append("FINISHED")
            await rig.worker.run_pending()
            return rig, stopped, await rig.queue.get(post.id)

    rig, stopped, done = _run(go())
    assert stopped.state is PostState.CONTAINER_CREATED
    assert done.state is PostState.PUBLISHED and done.container_id == stopped.container_id
    assert rig.graph.publishes_of("slow reel") == 1
