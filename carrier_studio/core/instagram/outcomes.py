"""The publishing step's outcomes other than moving forward: recreate, wait, retry, fail.

Each is a `StepResult` for the post as the step found it. `failed` is the error policy: what a
failed request does to the post, by the error's type (see `errors` and `policy.classify`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from carrier_studio.core.instagram.errors import (
    ContainerExpiredError,
    GraphAuthError,
    InstagramError,
    NotReadyError,
    QuotaExhaustedError,
    StopGraphError,
    TransientGraphError,
)
from carrier_studio.core.instagram.post import PostState, QueuedPost
from carrier_studio.core.instagram.quota import Quota, recheck_at
from carrier_studio.core.instagram.step import Failed, PublishRules, StepResult

S = PostState


def failed(
    post: QueuedPost, answer: Failed, now: datetime, rules: PublishRules, quota: Quota | None
) -> StepResult:
    """What a failed request does to ``post`` (as the step found it).

    ``quota`` is the last quota read, for how long to wait when Meta says it is used up."""
    state, exc = post.state, answer.error
    if (
        state is S.QUEUED
        and post.container_id
        and isinstance(exc, StopGraphError)
        and not isinstance(exc, GraphAuthError)
    ):
        # Meta will not tell about the container a retry kept (gone, or refused): make anew.
        return recreate(post, f"container {post.container_id}: {exc}")
    if isinstance(exc, ContainerExpiredError):
        return recreate(post, str(exc))
    if isinstance(exc, NotReadyError):
        # Meta said "not ready" although the status said FINISHED: poll again, at once the
        # first time, then backing off, and give up like any transient error.
        failures = post.failures + 1
        if failures >= rules.backoff.max_failures:
            return fail(post, exc, f" (after {failures} attempts)")
        later = (
            None if failures == 1 else now + timedelta(seconds=rules.backoff.delay(failures - 1))
        )
        moved = replace(post, failures=failures, waiting_reason="processing", next_attempt_at=later)
        if post.container_id and state is not S.CONTAINER_CREATED:
            moved = moved.transition(S.CONTAINER_CREATED)
        return StepResult.saved(moved, state, "publish", "wait", str(exc))
    if isinstance(exc, QuotaExhaustedError):
        return wait_quota(post, str(exc), now, rules, quota)
    if answer.transient or isinstance(exc, TransientGraphError):
        return transient(post, exc, now, rules)
    return fail(post, exc)


def recreate(post: QueuedPost, reason: str) -> StepResult:
    """Forget the containers; go back to the uploads (or upload again if there are none)."""
    uploaded = all(m.public_url for m in post.media)
    target = S.UPLOADED if uploaded else S.UPLOADING
    media = tuple(replace(m, container_id=None) for m in post.media)
    fresh = replace(
        post.transition(target),
        container_id=None,
        container_created_at=None,
        container_stale=False,
        media=media,
        waiting_reason="",
        next_attempt_at=None,
    )
    return StepResult.saved(
        fresh, post.state, "container", "retry", f"{reason}; creating a new container"
    )


def wait_quota(
    post: QueuedPost, reason: str, now: datetime, rules: PublishRules, quota: Quota | None
) -> StepResult:
    """Wait for the quota: Meta does not say when a slot frees, so look again later."""
    until = (
        recheck_at(replace(quota, read_at=now), rules.quota_recheck)
        if quota
        else now + rules.quota_recheck
    )
    waiting = replace(post, waiting_reason="quota", next_attempt_at=until)
    return StepResult.saved(
        waiting, post.state, "quota", "wait", f"{reason}; waiting until {until:%H:%M} UTC"
    )


def transient(
    post: QueuedPost, exc: InstagramError, now: datetime, rules: PublishRules
) -> StepResult:
    """Try again after the backoff's next delay; fail after ``max_failures`` in a row."""
    failures = post.failures + 1
    if failures >= rules.backoff.max_failures:
        return fail(post, exc, f" (after {failures} attempts)")
    delay = rules.backoff.delay(failures)
    retry = replace(
        post,
        failures=failures,
        last_error=str(exc),
        waiting_reason="retry",
        next_attempt_at=now + timedelta(seconds=delay),
    )
    state = post.state
    return StepResult.saved(
        retry, state, state.value, "retry", f"{exc}; trying again in {delay:.0f} s"
    )


def fail(post: QueuedPost, exc: InstagramError, suffix: str = "") -> StepResult:
    """Stop the post on ``exc`` (the user may retry it); a refused token is told at once."""
    state = post.state
    stopped = replace(
        post.transition(S.FAILED),
        last_error=str(exc) + suffix,
        waiting_reason="",
        next_attempt_at=None,
    )
    result = StepResult.saved(stopped, state, state.value, "error", str(exc) + suffix)
    if isinstance(exc, GraphAuthError):
        return replace(result, alert=f"Instagram publishing stopped: {exc}")
    return result


__all__ = ["fail", "failed", "recreate", "transient", "wait_quota"]
