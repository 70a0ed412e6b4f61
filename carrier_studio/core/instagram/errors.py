"""Instagram errors: what went wrong, where, and what the worker does about it.

Each Graph API failure becomes one `GraphApiError` subclass chosen by `policy.classify`, so the
worker decides by type (retry, wait, recreate, stop) and the UI shows ``str(error)``.
"""

from __future__ import annotations

from carrier_studio.core.errors import CarrierError


class InstagramError(CarrierError):
    """Anything about the Instagram queue that the user should see."""


class IllegalTransitionError(InstagramError):
    """A post was asked to move to a state it cannot reach from where it is."""


class PreflightError(InstagramError):
    """A post's media or caption breaks Instagram's rules (see `Finding` for each problem)."""


class HostingError(InstagramError):
    """The FTP upload failed, or the public URL of an uploaded file does not answer."""


class GraphApiError(InstagramError):
    """The Graph API refused or failed a request.

    Attributes:
        code: Meta's error ``code`` (0 when the server gave none: a network failure, a 5xx).
        subcode: ``error_subcode`` (Instagram's 2207xxx codes live here), or None.
        http_status: The HTTP status, or None for a network failure.
        retry_after: Seconds to wait before trying again, when the policy says so.
    """

    #: What the worker does: "retry", "stop", "wait" (not ready yet), "recreate", "quota".
    action = "stop"

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        subcode: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.retry_after = retry_after


class TransientGraphError(GraphApiError):
    """A temporary failure (server error, rate limit, timeout): try again later."""

    action = "retry"


class StopGraphError(GraphApiError):
    """A failure that retrying cannot fix (bad media, policy, restricted account)."""

    action = "stop"


class GraphAuthError(StopGraphError):
    """The access token is missing, expired, revoked or lacks a permission."""


class NotReadyError(GraphApiError):
    """Publishing was attempted before the container finished processing (9007/2207027)."""

    action = "wait"


class ContainerExpiredError(GraphApiError):
    """The container is older than 24 h (or gone): a new one must be created."""

    action = "recreate"


class QuotaExhaustedError(GraphApiError):
    """The account reached its publishing limit for the rolling 24 h window."""

    action = "quota"
