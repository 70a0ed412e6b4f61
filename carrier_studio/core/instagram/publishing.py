"""The publishing step: what the outside world's answer does to a queued post.

A post moves forward one saved step at a time (see `post.PostState`). `advance` is the whole
decision of such a step, with no I/O: given the post as read (its state is the legal state the
save requires) and what the outside world answered (see `step.Answer`), it returns a
`StepResult`: the post as it should be saved, the line for its timeline, and what to do next
(ask the outside world something, decide again, or stop here). The worker in services does the
asking and applies each result.

Called with no answer, `advance` says what to ask first. A step may save more than once (each
file uploaded, each carousel item created) before it ends, so a worker killed anywhere resumes
from the last saved state, and the request that may have happened without being saved is
checked, not repeated:

- killed during an upload: the file is uploaded again under a new unique name;
- killed after Meta created a container but before its id was saved: a new container is made
  (the orphan is never published and expires after 24 h);
- killed after the publish request was sent: the post is PUBLISHING, so the restart asks Meta for
  the container's status first — PUBLISHED means done, FINISHED means publish now;
- a container older than 24 h (EXPIRED, or too old to trust) is recreated from the uploads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import PurePath
from typing import TypeVar

from carrier_studio.core.instagram.outcomes import failed, recreate, wait_quota
from carrier_studio.core.instagram.post import PostKind, PostState, QueuedPost
from carrier_studio.core.instagram.quota import Quota
from carrier_studio.core.instagram.step import (
    FINISHED,
    IN_PROGRESS,
    PUBLISHED,
    Answer,
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
    StepResult,
    too_old,
    with_media,
)

S = PostState
T = TypeVar("T")


def advance(
    post: QueuedPost,
    answer: Answer,
    *,
    now: datetime,
    rules: PublishRules,
    quota: Quota | None = None,
) -> StepResult:
    """What ``answer`` does to ``post`` (None: what to ask first).

    ``quota`` is the last quota read, for how long a post waits when Meta says it is used up.
    A `Failed` answer is decided for the post as the step found it, so a failure after some
    of the step was saved is refused as stale by the queue, and decided again from a fresh
    read.
    """
    if isinstance(answer, Failed):
        return failed(post, answer, now, rules, quota)
    state = post.state
    if state is S.QUEUED:
        return _queued(post, answer, now, rules)
    if state is S.UPLOADING:
        return _uploading(post, answer)
    if state is S.UPLOADED:
        return _uploaded(post, answer, now, rules)
    if state is S.CONTAINER_CREATED:
        return _container_created(post, answer, now, rules)
    if state is S.READY:
        return _ready(post, answer, now, rules)
    if state is S.PUBLISHING:
        return _publishing(post, answer)
    raise ValueError(f"post {post.id} is {state.value}: nothing to do")


def _queued(post: QueuedPost, answer: Answer, now: datetime, rules: PublishRules) -> StepResult:
    """A queued post: a retry may already have a container; check it before anything."""
    if not post.container_id:
        return StepResult.saved(
            post.transition(S.UPLOADING), S.QUEUED, "upload", "info", "uploading media"
        )
    if answer is None:
        return StepResult.ask(post, Next.CHECK_CONTAINER)
    code = _expect(post, answer, ContainerFound).status_code
    if code == PUBLISHED:
        return StepResult.saved(
            post.transition(S.PUBLISHED),
            S.QUEUED,
            "publish",
            "ok",
            "already published (found on Instagram)",
        )
    reusable = not (too_old(post, now, rules) or post.container_stale)
    if code in (FINISHED, IN_PROGRESS) and reusable:
        new = S.READY if code == FINISHED else S.CONTAINER_CREATED
        return StepResult.saved(
            post.transition(new),
            S.QUEUED,
            "container",
            "ok",
            f"container {post.container_id} is {code}",
        )
    return recreate(post, f"container {post.container_id} cannot be reused")


def _uploading(post: QueuedPost, answer: Answer) -> StepResult:
    if isinstance(answer, FileUploaded):
        name = PurePath(post.media[answer.index].path).name
        uploaded = with_media(
            post, answer.index, remote_name=answer.remote_name, public_url=answer.public_url
        )
        return StepResult.saved(
            uploaded,
            S.UPLOADING,
            "upload",
            "ok",
            f"{name} answers at {answer.public_url}",
            then=Next.DECIDE,
        )
    _expect(post, answer, type(None))
    for index, item in enumerate(post.media):
        if not item.public_url:
            return StepResult.ask(post, Next.UPLOAD, index)
    return StepResult.saved(
        post.transition(S.UPLOADED),
        S.UPLOADING,
        "upload",
        "ok",
        "every file answers at its public URL",
    )


def _uploaded(post: QueuedPost, answer: Answer, now: datetime, rules: PublishRules) -> StepResult:
    if answer is None:
        return StepResult.ask(post, Next.READ_QUOTA)
    if isinstance(answer, QuotaRead):
        if answer.quota.exhausted:
            return wait_quota(post, f"quota used: {answer.quota.label()}", now, rules, answer.quota)
        return (
            _next_item(post)
            if post.kind is PostKind.CAROUSEL
            else StepResult.ask(post, Next.CREATE_CONTAINER)
        )
    if isinstance(answer, ItemCreated):
        made = with_media(post, answer.index, container_id=answer.container_id)
        saved = StepResult.saved(
            made,
            S.UPLOADED,
            "container",
            "ok",
            f"carousel item {answer.index + 1} is container {answer.container_id}",
        )
        follow = _next_item(made)
        return replace(saved, next=follow.next, index=follow.index)
    if isinstance(answer, ItemsFinished):
        return StepResult.ask(post, Next.CREATE_CONTAINER)
    container = _expect(post, answer, ContainerCreated).container_id
    created = replace(
        post.transition(S.CONTAINER_CREATED),
        container_id=container,
        container_created_at=now,
        failures=0,
        waiting_reason="",
        next_attempt_at=None,
    )
    return StepResult.saved(
        created, S.UPLOADED, "container", "ok", f"container {container} created"
    )


def _next_item(post: QueuedPost) -> StepResult:
    """The carousel's next item without a container, or the wait for all of them."""
    for index, item in enumerate(post.media):
        if not item.container_id:
            return StepResult.ask(post, Next.CREATE_ITEM, index)
    return StepResult.ask(post, Next.WAIT_ITEMS)


def _container_created(
    post: QueuedPost, answer: Answer, now: datetime, rules: PublishRules
) -> StepResult:
    if answer is None:
        if too_old(post, now, rules):
            return recreate(post, f"container {post.container_id} is over 23 h old")
        return StepResult.ask(post, Next.WAIT_CONTAINER)
    if _expect(post, answer, ContainerFound).status_code == PUBLISHED:
        return StepResult.saved(
            post.transition(S.PUBLISHED), S.CONTAINER_CREATED, "publish", "ok", "already published"
        )
    return StepResult.saved(
        post.transition(S.READY),
        S.CONTAINER_CREATED,
        "container",
        "ok",
        "Instagram finished processing the media",
    )


def _ready(post: QueuedPost, answer: Answer, now: datetime, rules: PublishRules) -> StepResult:
    if answer is None:
        if too_old(post, now, rules):
            return recreate(post, f"container {post.container_id} is over 23 h old")
        return StepResult.ask(post, Next.READ_QUOTA)
    quota = _expect(post, answer, QuotaRead).quota
    if quota.exhausted:
        return wait_quota(post, f"quota used: {quota.label()}", now, rules, quota)
    # Saved before the request: whatever happens next, a restart checks before publishing.
    return StepResult.saved(
        post.transition(S.PUBLISHING), S.READY, "publish", "info", "sending the publish request"
    )


def _publishing(post: QueuedPost, answer: Answer) -> StepResult:
    if answer is None:
        return StepResult.ask(post, Next.CHECK_BEFORE_PUBLISH)
    if isinstance(answer, ContainerFound):
        if answer.status_code == PUBLISHED:
            return StepResult.saved(
                post.transition(S.PUBLISHED),
                S.PUBLISHING,
                "publish",
                "ok",
                "published (confirmed by the container's status)",
            )
        if answer.status_code == IN_PROGRESS:
            return StepResult.saved(
                post.transition(S.CONTAINER_CREATED),
                S.PUBLISHING,
                "container",
                "wait",
                "still processing",
            )
        return StepResult.ask(post, Next.PUBLISH)
    media_id = _expect(post, answer, Published).media_id
    done = replace(
        post.transition(S.PUBLISHED),
        media_id=media_id,
        failures=0,
        last_error="",
        waiting_reason="",
        next_attempt_at=None,
    )
    return StepResult.saved(done, S.PUBLISHING, "publish", "ok", f"published as media {media_id}")


def _expect(post: QueuedPost, answer: Answer, kind: type[T]) -> T:
    if not isinstance(answer, kind):
        raise ValueError(f"post {post.id} is {post.state.value}: {answer!r} is no answer here")
    return answer


__all__ = ["advance"]
