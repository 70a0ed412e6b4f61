"""The publishing step's vocabulary: what the outside world answers, what a step comes to.

`publishing.advance` decides one step of a queued post with no I/O. What it is given besides the
post is an `Answer` (an upload, a container's status, the quota, a publish, or a failure); what
it returns is a `StepResult`: the post as it should be saved with its timeline `Note`, and what
to do `Next`. The worker in services turns each `Next` into a request and its reply into an
`Answer`, so the two sides meet only in the types below.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from carrier_studio.core.instagram.errors import InstagramError
from carrier_studio.core.instagram.policy import Backoff
from carrier_studio.core.instagram.post import PostState, QueuedPost
from carrier_studio.core.instagram.quota import Quota

#: Meta's ``status_code`` values for a media container that the step tells apart.
IN_PROGRESS, FINISHED, PUBLISHED = "IN_PROGRESS", "FINISHED", "PUBLISHED"


@dataclass(frozen=True)
class PublishRules:
    """The step's timing rules (the worker's settings that decide, not the ones that wait)."""

    backoff: Backoff = field(default_factory=Backoff)
    #: How often to read the quota again while it is used up.
    quota_recheck: timedelta = timedelta(minutes=30)
    #: Meta expires containers after 24 h; one older than this is recreated before publishing.
    container_ttl: timedelta = timedelta(hours=23)


# -- what the outside world answered ----------------------------------------------------------


@dataclass(frozen=True)
class ContainerFound:
    """A container's status, read once or waited for (``status_code`` is Meta's)."""

    status_code: str


@dataclass(frozen=True)
class FileUploaded:
    """File ``index`` was uploaded as ``remote_name`` and answers at ``public_url``."""

    index: int
    remote_name: str
    public_url: str


@dataclass(frozen=True)
class QuotaRead:
    quota: Quota


@dataclass(frozen=True)
class ItemCreated:
    """Carousel item ``index`` has its own container."""

    index: int
    container_id: str


@dataclass(frozen=True)
class ItemsFinished:
    """Every carousel item's container finished processing."""


@dataclass(frozen=True)
class ContainerCreated:
    container_id: str


@dataclass(frozen=True)
class Published:
    media_id: str


@dataclass(frozen=True)
class Failed:
    """Asking failed. ``transient`` marks an adapter's own passing failure (the FTP host did
    not answer); the Graph API's typed errors say so themselves."""

    error: InstagramError
    transient: bool = False


Answer = (
    ContainerFound
    | FileUploaded
    | QuotaRead
    | ItemCreated
    | ItemsFinished
    | ContainerCreated
    | Published
    | Failed
    | None
)


# -- what to do next --------------------------------------------------------------------------


class Next(enum.Enum):
    #: The step is over; whether the post goes on depends on it still being due.
    DONE = "done"
    #: Call `advance` again, with no answer, on the post as saved.
    DECIDE = "decide"
    #: Read the status of the container a retried post kept (errors are answers, not raised).
    CHECK_CONTAINER = "check container"
    #: Upload file ``index`` under a new unique name and prove its public URL answers.
    UPLOAD = "upload"
    READ_QUOTA = "read quota"
    #: Create carousel item ``index``'s container.
    CREATE_ITEM = "create item"
    WAIT_ITEMS = "wait for items"
    #: Create the post's own container (one medium, or the carousel of its items).
    CREATE_CONTAINER = "create container"
    WAIT_CONTAINER = "wait for container"
    #: Read the container's status before publishing; ERROR and EXPIRED are raised.
    CHECK_BEFORE_PUBLISH = "check before publish"
    PUBLISH = "publish"


@dataclass(frozen=True)
class Note:
    """One line of the post's timeline (see `post.Attempt`)."""

    step: str
    outcome: str  # "ok" | "retry" | "wait" | "error" | "info"
    message: str


@dataclass(frozen=True)
class StepResult:
    #: The post as it should be saved (when ``note`` is set), else as it was given.
    post: QueuedPost
    #: The state the stored row must still be in for the save to apply.
    expected: PostState
    #: The timeline line saved with the post; None: nothing to save.
    note: Note | None = None
    next: Next = Next.DONE
    #: The file or carousel item ``next`` is about.
    index: int | None = None
    #: Something the user must hear of at once (publishing stopped on the token), or "".
    alert: str = ""

    @classmethod
    def saved(
        cls,
        post: QueuedPost,
        expected: PostState,
        step: str,
        outcome: str,
        message: str,
        *,
        then: Next = Next.DONE,
    ) -> StepResult:
        """Save ``post`` with one timeline line, then do ``then``."""
        if outcome in ("ok", "info"):
            # A step that worked ends any wait or error the post showed before it.
            post = replace(post, failures=0, last_error="", waiting_reason="", next_attempt_at=None)
        return cls(post, expected, Note(step, outcome, message), then)

    @classmethod
    def ask(cls, post: QueuedPost, what: Next, index: int | None = None) -> StepResult:
        """Save nothing; ask the outside world ``what``."""
        return cls(post, post.state, None, what, index)


def too_old(post: QueuedPost, now: datetime, rules: PublishRules) -> bool:
    """Whether the post's container is too old to trust (Meta expires them after 24 h)."""
    created = post.container_created_at
    return created is not None and now - created > rules.container_ttl


def with_media(post: QueuedPost, index: int, **changes: object) -> QueuedPost:
    """``post`` with one media item changed (an upload, a carousel item's container)."""
    media = list(post.media)
    media[index] = replace(media[index], **changes)  # type: ignore[arg-type]
    return replace(post, media=tuple(media))


__all__ = [
    "FINISHED",
    "IN_PROGRESS",
    "PUBLISHED",
    "Answer",
    "ContainerCreated",
    "ContainerFound",
    "Failed",
    "FileUploaded",
    "ItemCreated",
    "ItemsFinished",
    "Next",
    "Note",
    "PublishRules",
    "Published",
    "QuotaRead",
    "StepResult",
    "too_old",
    "with_media",
]
