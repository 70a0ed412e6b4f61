"""The publishing step without I/O: what each answer does to a post, and what to ask next."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from carrier_studio.core.instagram import (
    Backoff,
    GraphAuthError,
    HostingError,
    MediaFile,
    NotReadyError,
    PostKind,
    PostState,
    QueuedPost,
    Quota,
    QuotaExhaustedError,
    TransientGraphError,
)
from carrier_studio.core.instagram.publishing import advance
from carrier_studio.core.instagram.step import (
    ContainerCreated,
    ContainerFound,
    Failed,
    FileUploaded,
    ItemCreated,
    ItemsFinished,
    Next,
    Published,
    PublishRules,
    QuotaRead,
)

S = PostState
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RULES = PublishRules(backoff=Backoff(first=60.0, max_failures=3))


def _post(state: PostState = S.QUEUED, n: int = 1, **changes) -> QueuedPost:
    kind = PostKind.CAROUSEL if n > 1 else PostKind.IMAGE
    media = tuple(MediaFile(f"/queue/{i}.jpg", "image") for i in range(n))
    return replace(QueuedPost(7, kind, media, caption="hi"), state=state, **changes)


def _step(post, answer=None, quota=None):
    return advance(post, answer, now=NOW, rules=RULES, quota=quota)


def _uploaded(post: QueuedPost) -> QueuedPost:
    media = [replace(m, remote_name="r", public_url=f"https://h/{m.path}") for m in post.media]
    return replace(post, media=tuple(media))


def test_a_new_post_starts_uploading_without_asking_anything():
    result = _step(_post(failures=2, last_error="old"))
    assert result.post.state is S.UPLOADING and result.expected is S.QUEUED
    assert result.note is not None and (result.note.step, result.note.outcome) == ("upload", "info")
    assert result.post.failures == 0 and not result.post.last_error, "a step that worked clears"
    assert result.next is Next.DONE


def test_a_retried_post_asks_about_its_container_before_anything():
    post = _post(container_id="c1", container_created_at=NOW - timedelta(hours=1))
    ask = _step(post)
    assert (ask.next, ask.note, ask.post) == (Next.CHECK_CONTAINER, None, post)
    assert _step(post, ContainerFound("PUBLISHED")).post.state is S.PUBLISHED
    assert _step(post, ContainerFound("FINISHED")).post.state is S.READY
    assert _step(post, ContainerFound("IN_PROGRESS")).post.state is S.CONTAINER_CREATED
    edited = _step(_uploaded(replace(post, container_stale=True)), ContainerFound("FINISHED"))
    assert edited.post.state is S.UPLOADED and edited.post.container_id is None
    assert "creating a new container" in edited.note.message


def test_uploads_go_one_file_at_a_time_each_saved():
    post = _post(S.UPLOADING, n=2)
    assert (_step(post).next, _step(post).index) == (Next.UPLOAD, 0)
    first = _step(post, FileUploaded(0, "cs-7-0.jpg", "https://h/cs-7-0.jpg"))
    assert first.post.media[0].public_url == "https://h/cs-7-0.jpg"
    assert first.note.message == "0.jpg answers at https://h/cs-7-0.jpg"
    assert first.next is Next.DECIDE and first.expected is S.UPLOADING
    assert (_step(first.post).next, _step(first.post).index) == (Next.UPLOAD, 1)
    done = _step(_uploaded(post))
    assert done.post.state is S.UPLOADED and done.next is Next.DONE


def test_a_carousel_makes_its_items_then_itself():
    post = _uploaded(_post(S.UPLOADED, n=2))
    assert _step(post).next is Next.READ_QUOTA
    quota = Quota(3, 50, 86400, NOW)
    first = _step(post, QuotaRead(quota))
    assert (first.next, first.index, first.note) == (Next.CREATE_ITEM, 0, None)
    made = _step(post, ItemCreated(0, "i0"))
    assert made.post.media[0].container_id == "i0" and made.note.outcome == "ok"
    assert (made.next, made.index) == (Next.CREATE_ITEM, 1)
    last = _step(made.post, ItemCreated(1, "i1"))
    assert last.next is Next.WAIT_ITEMS
    assert _step(last.post, ItemsFinished()).next is Next.CREATE_CONTAINER
    created = _step(last.post, ContainerCreated("c9"))
    assert created.post.state is S.CONTAINER_CREATED
    assert (created.post.container_id, created.post.container_created_at) == ("c9", NOW)


def test_a_used_up_quota_waits_without_a_container():
    post = _uploaded(_post(S.UPLOADED))
    result = _step(post, QuotaRead(Quota(50, 50, 86400, NOW)))
    assert result.post.state is S.UPLOADED and result.post.waiting_reason == "quota"
    assert result.post.next_attempt_at == NOW + RULES.quota_recheck
    assert (result.note.step, result.note.outcome) == ("quota", "wait")


def test_a_container_too_old_to_trust_is_recreated_before_publishing():
    old = _uploaded(_post(S.READY, container_id="c1", container_created_at=NOW - timedelta(days=1)))
    result = _step(old)
    assert result.post.state is S.UPLOADED and result.post.container_id is None
    assert result.expected is S.READY and result.note.outcome == "retry"


def test_the_publish_request_is_saved_before_it_is_sent_and_checked_after_a_restart():
    ready = _post(S.READY, container_id="c1", container_created_at=NOW)
    sending = _step(ready, QuotaRead(Quota(1, 50, 86400, NOW)))
    assert sending.post.state is S.PUBLISHING and sending.next is Next.DONE
    publishing = sending.post
    assert _step(publishing).next is Next.CHECK_BEFORE_PUBLISH
    assert _step(publishing, ContainerFound("FINISHED")).next is Next.PUBLISH
    assert _step(publishing, ContainerFound("PUBLISHED")).post.state is S.PUBLISHED
    assert _step(publishing, ContainerFound("IN_PROGRESS")).post.state is S.CONTAINER_CREATED
    done = _step(publishing, Published("m1"))
    assert done.post.state is S.PUBLISHED and done.post.media_id == "m1"


def test_transient_failures_back_off_then_fail():
    post = _post(S.UPLOADED)
    first = _step(post, Failed(TransientGraphError("busy")))
    assert first.post.state is S.UPLOADED and first.post.failures == 1
    assert first.post.next_attempt_at == NOW + timedelta(seconds=60)
    assert first.note.outcome == "retry"
    hosting = _step(_post(S.UPLOADING), Failed(HostingError("no answer"), transient=True))
    assert hosting.post.waiting_reason == "retry"
    last = _step(replace(post, failures=2), Failed(TransientGraphError("busy")))
    assert last.post.state is S.FAILED and last.post.last_error.endswith("(after 3 attempts)")
    assert not last.alert


def test_a_refused_token_fails_the_post_and_tells_the_user():
    result = _step(_post(S.READY), Failed(GraphAuthError("token expired")))
    assert result.post.state is S.FAILED and result.note.outcome == "error"
    assert result.alert == "Instagram publishing stopped: token expired"


def test_not_ready_polls_again_at_once_the_first_time():
    post = _post(S.PUBLISHING, container_id="c1")
    result = _step(post, Failed(NotReadyError("still processing")))
    assert result.post.state is S.CONTAINER_CREATED and result.post.next_attempt_at is None
    assert result.post.waiting_reason == "processing" and result.expected is S.PUBLISHING


def test_quota_refused_by_meta_waits_on_the_last_reading():
    quota = Quota(50, 50, 3600, NOW - timedelta(hours=5))
    result = _step(_post(S.READY), Failed(QuotaExhaustedError("limit")), quota=quota)
    assert result.post.next_attempt_at == NOW + RULES.quota_recheck
    assert result.post.waiting_reason == "quota"
