"""The Instagram queue's plain rules: posts and their states, pre-flight, quota, error policy,
and the publishing step (`publishing.advance`).

No network, Pillow or database here (services.instagram adapts: graph_api, ftp, media, queue,
and the worker that does the publishing step's I/O).
"""

from carrier_studio.core.instagram.errors import (
    ContainerExpiredError,
    GraphApiError,
    GraphAuthError,
    HostingError,
    IllegalTransitionError,
    InstagramError,
    NotReadyError,
    PreflightError,
    QuotaExhaustedError,
    StopGraphError,
    TransientGraphError,
)
from carrier_studio.core.instagram.policy import Backoff, PollSchedule, classify
from carrier_studio.core.instagram.post import (
    ACTIVE,
    EDITABLE,
    TRANSITIONS,
    Attempt,
    MediaFile,
    PostKind,
    PostState,
    QueuedPost,
    can_transition,
    utcnow,
)
from carrier_studio.core.instagram.preflight import (
    Finding,
    MediaInfo,
    check_caption,
    check_media,
    check_post,
    convertible,
    hashtags,
)
from carrier_studio.core.instagram.publishing import advance
from carrier_studio.core.instagram.quota import Quota
from carrier_studio.core.instagram.step import Next, PublishRules, StepResult
from carrier_studio.core.instagram.token_expiry import token_warning

__all__ = [
    "ACTIVE",
    "EDITABLE",
    "TRANSITIONS",
    "Attempt",
    "Backoff",
    "ContainerExpiredError",
    "Finding",
    "GraphApiError",
    "GraphAuthError",
    "HostingError",
    "IllegalTransitionError",
    "InstagramError",
    "MediaFile",
    "MediaInfo",
    "Next",
    "NotReadyError",
    "PollSchedule",
    "PostKind",
    "PostState",
    "PreflightError",
    "PublishRules",
    "QueuedPost",
    "Quota",
    "QuotaExhaustedError",
    "StepResult",
    "StopGraphError",
    "TransientGraphError",
    "advance",
    "can_transition",
    "check_caption",
    "check_media",
    "check_post",
    "classify",
    "convertible",
    "hashtags",
    "token_warning",
    "utcnow",
]
