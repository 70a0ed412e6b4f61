"""Graph API error codes → a message a person can act on, and what the worker does.

The codes are Meta's (``error.code`` and Instagram's ``error_subcode``); anything unknown with a
5xx status or no answer at all is treated as transient, anything else unknown stops the post
with Meta's own message, so nothing is retried blindly forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from carrier_studio.core.instagram.errors import (
    ContainerExpiredError,
    GraphApiError,
    GraphAuthError,
    NotReadyError,
    QuotaExhaustedError,
    StopGraphError,
    TransientGraphError,
)


@dataclass(frozen=True)
class Rule:
    kind: type[GraphApiError]
    message: str
    hint: str | None = None


_TOKEN_HINT = "Paste a new access token in Settings → Instagram."

#: By subcode first (more precise), then by code.
SUBCODE_RULES: dict[int, Rule] = {
    2207001: Rule(TransientGraphError, "Instagram had a server error while creating the post"),
    2207003: Rule(
        TransientGraphError, "Instagram timed out downloading the media from the public URL"
    ),
    2207004: Rule(StopGraphError, "the image is too large for Instagram (8 MB at most)"),
    2207005: Rule(StopGraphError, "Instagram does not support this media format"),
    2207008: Rule(ContainerExpiredError, "the media container does not exist or has expired"),
    2207009: Rule(StopGraphError, "the image's aspect ratio is outside 4:5 to 1.91:1"),
    2207010: Rule(StopGraphError, "the caption is too long (2,200 characters at most)"),
    2207020: Rule(ContainerExpiredError, "the media container expired (containers last 24 h)"),
    2207026: Rule(StopGraphError, "Instagram does not support this video format"),
    2207027: Rule(NotReadyError, "the media is still being processed"),
    2207032: Rule(TransientGraphError, "Instagram failed to create the media; trying again"),
    2207042: Rule(
        QuotaExhaustedError,
        "the account reached its daily publishing limit",
        "The post waits until the rolling 24 h window frees a slot.",
    ),
    2207050: Rule(
        StopGraphError,
        "the Instagram account is restricted",
        "Open Instagram to see why; the queue stops publishing for this account.",
    ),
    2207051: Rule(
        StopGraphError,
        "Instagram blocked the post as possible spam",
        "Change the caption or media, or wait before posting again.",
    ),
    2207052: Rule(
        StopGraphError,
        "Instagram could not fetch the media from its public URL",
        "Check that the public base URL serves the uploaded files.",
    ),
}
CODE_RULES: dict[int, Rule] = {
    1: Rule(TransientGraphError, "the Graph API had an unknown error"),
    2: Rule(TransientGraphError, "the Graph API is temporarily unavailable"),
    4: Rule(TransientGraphError, "the app hit Meta's rate limit"),
    17: Rule(TransientGraphError, "the account hit Meta's rate limit"),
    32: Rule(TransientGraphError, "the page hit Meta's rate limit"),
    613: Rule(TransientGraphError, "too many calls in a short time"),
    9004: Rule(
        StopGraphError,
        "Instagram could not download the media from its public URL",
        "Check that the public base URL serves the uploaded files over the internet.",
    ),
    9007: Rule(NotReadyError, "the media is not ready to be published yet"),
    10: Rule(GraphAuthError, "the access token lacks a permission", _TOKEN_HINT),
    102: Rule(GraphAuthError, "the Instagram session is invalid", _TOKEN_HINT),
    190: Rule(GraphAuthError, "the Instagram access token expired or was revoked", _TOKEN_HINT),
    368: Rule(StopGraphError, "Meta blocked the action for a policy violation"),
}


def classify(
    code: int,
    subcode: int | None,
    meta_message: str,
    http_status: int | None,
) -> GraphApiError:
    """The typed error for a Graph API failure, with a message that says what to do."""
    rule = SUBCODE_RULES.get(subcode or -1) or CODE_RULES.get(code)
    if rule is None and 200 <= code < 300:
        rule = Rule(
            GraphAuthError,
            "the access token lacks a permission (instagram_content_publish?)",
            _TOKEN_HINT,
        )
    if rule is None:
        transient = http_status is None or http_status >= 500 or http_status == 429
        kind: type[GraphApiError] = TransientGraphError if transient else StopGraphError
        rule = Rule(kind, "the Graph API failed")
    detail = f" (Meta: {meta_message.strip()}; code {code}" if meta_message else f" (code {code}"
    detail += f", subcode {subcode})" if subcode else ")"
    return rule.kind(
        rule.message + detail,
        code=code,
        subcode=subcode,
        http_status=http_status,
        hint=rule.hint,
        where="Instagram Graph API",
    )


@dataclass(frozen=True)
class Backoff:
    """Delays that grow by ``factor`` from ``first`` up to ``cap`` seconds."""

    first: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0
    #: After this many transient failures in a row the post fails (the user can retry it).
    max_failures: int = 8

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (1-based)."""
        return min(self.cap, self.first * self.factor ** max(0, failures - 1))


@dataclass(frozen=True)
class PollSchedule:
    """How to wait for a container to finish processing.

    Reels can take minutes; the defaults poll for up to 20 minutes, quickly at first.
    """

    first: float = 2.0
    factor: float = 1.5
    cap: float = 30.0
    total: float = 20 * 60.0

    def delays(self):
        """Successive waits, summing to at most ``total``."""
        spent, delay = 0.0, self.first
        while spent < self.total:
            step = min(delay, self.total - spent)
            yield step
            spent += step
            delay = min(self.cap, delay * self.factor)
