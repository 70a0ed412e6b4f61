"""The queued post and the states it may pass through.

A post moves forward one saved step at a time (queued → uploading → uploaded →
container_created → ready → publishing → published) so a worker that dies anywhere resumes from
the last saved step. `transition` is the only way to change `QueuedPost.state`; it refuses moves
the table does not allow, so a bug cannot, say, publish a cancelled post.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from carrier_studio.core.instagram.errors import IllegalTransitionError


class PostKind(enum.StrEnum):
    IMAGE = "image"
    CAROUSEL = "carousel"
    REEL = "reel"
    STORY = "story"


class PostState(enum.StrEnum):
    #: Waiting for its time (or for the quota, see `QueuedPost.waiting_reason`).
    QUEUED = "queued"
    #: Media going to the FTP host; the public URLs are being checked.
    UPLOADING = "uploading"
    #: Every file answers at its public URL; no container yet.
    UPLOADED = "uploaded"
    #: Meta has a container (its id is saved) and is processing it.
    CONTAINER_CREATED = "container_created"
    #: The container's status is FINISHED: it can be published.
    READY = "ready"
    #: The publish request is being sent. Saved BEFORE sending, so a restart knows to check
    #: whether Meta already published the container instead of publishing it again.
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    #: Stopped on an error retrying cannot fix; the user may retry after fixing the cause.
    FAILED = "failed"
    CANCELLED = "cancelled"


S = PostState
#: Where each state may go next. Going back (e.g. READY → UPLOADED) recreates an expired
#: container; FAILED/CANCELLED → QUEUED is the user's "retry".
TRANSITIONS: dict[PostState, frozenset[PostState]] = {
    S.QUEUED: frozenset(
        {S.UPLOADING, S.UPLOADED, S.CONTAINER_CREATED, S.READY, S.PUBLISHED, S.FAILED, S.CANCELLED}
    ),
    S.UPLOADING: frozenset({S.UPLOADED, S.QUEUED, S.FAILED, S.CANCELLED}),
    S.UPLOADED: frozenset({S.CONTAINER_CREATED, S.QUEUED, S.FAILED, S.CANCELLED}),
    S.CONTAINER_CREATED: frozenset({S.READY, S.UPLOADED, S.PUBLISHED, S.FAILED, S.CANCELLED}),
    S.READY: frozenset(
        {S.PUBLISHING, S.UPLOADED, S.CONTAINER_CREATED, S.PUBLISHED, S.FAILED, S.CANCELLED}
    ),
    S.PUBLISHING: frozenset({S.PUBLISHED, S.READY, S.CONTAINER_CREATED, S.UPLOADED, S.FAILED}),
    S.PUBLISHED: frozenset(),
    S.FAILED: frozenset({S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset({S.QUEUED}),
}
#: States in which the user may still edit the post (caption, files, time, order).
EDITABLE = frozenset({S.QUEUED, S.FAILED, S.CANCELLED})
#: States the worker still has work to do in.
ACTIVE = frozenset({S.QUEUED, S.UPLOADING, S.UPLOADED, S.CONTAINER_CREATED, S.READY, S.PUBLISHING})


def can_transition(current: PostState, new: PostState) -> bool:
    return new in TRANSITIONS[current]


def check_transition(post_id: int | None, current: PostState, new: PostState) -> None:
    if not can_transition(current, new):
        raise IllegalTransitionError(
            f"post {post_id} cannot go from {current.value} to {new.value}",
            where="state",
            hint=_hint(current),
        )


def _hint(current: PostState) -> str | None:
    if current is S.PUBLISHED:
        return "It is already on Instagram."
    if current is S.PUBLISHING:
        return "It is being published right now; wait for the result."
    return None


@dataclass(frozen=True)
class MediaFile:
    """One file of a post, as the queue keeps it.

    ``path`` is the studio's own copy in the workspace (the user's original is never changed);
    ``source`` is where the user dropped it from. ``thumbnail`` is a small PNG for images.
    """

    path: str
    media_type: str  # "image" | "video"
    source: str = ""
    thumbnail: str | None = None
    #: Set once uploaded and answering at its public URL.
    remote_name: str | None = None
    public_url: str | None = None
    #: A carousel item's own container.
    container_id: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One line of a post's timeline: what the worker (or the user) did, and how it went."""

    at: datetime
    step: str
    outcome: str  # "ok" | "retry" | "wait" | "error" | "info"
    message: str


@dataclass(frozen=True)
class QueuedPost:
    id: int | None
    kind: PostKind
    media: tuple[MediaFile, ...]
    caption: str = ""
    alt_text: str = ""
    #: None: as soon as possible.
    scheduled_at: datetime | None = None
    character: str = ""
    state: PostState = PostState.QUEUED
    position: int = 0
    container_id: str | None = None
    container_created_at: datetime | None = None
    #: The caption or alt text changed after the container was made (it carries the old one).
    container_stale: bool = False
    media_id: str | None = None
    last_error: str = ""
    #: Why a queued/ready post is not moving ("quota", "retry"), shown by the page.
    waiting_reason: str = ""
    next_attempt_at: datetime | None = None
    #: Transient failures in a row; reset on success.
    failures: int = 0
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    created_at: datetime | None = None
    #: The row's revision when this copy was read; a save from an older copy is refused.
    revision: int = 0

    def transition(self, new: PostState) -> QueuedPost:
        """This post in state ``new``; raises `IllegalTransitionError` for a move not allowed."""
        check_transition(self.id, self.state, new)
        return replace(self, state=new)

    def is_due(self, now: datetime) -> bool:
        if self.state not in ACTIVE:
            return False
        if self.next_attempt_at is not None and self.next_attempt_at > now:
            return False
        return self.scheduled_at is None or self.scheduled_at <= now

    @property
    def editable(self) -> bool:
        return self.state in EDITABLE


def utcnow() -> datetime:
    return datetime.now(UTC)
