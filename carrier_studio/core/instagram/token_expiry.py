"""Warn before the Instagram access token expires (long-lived tokens last about 60 days)."""

from __future__ import annotations

from datetime import datetime, timedelta

WARN_BEFORE = timedelta(days=7)


def token_warning(
    expires_at: datetime | None, now: datetime, warn_before: timedelta = WARN_BEFORE
) -> str | None:
    """A sentence for the user when the token expired or expires soon; None when all is well.

    ``expires_at`` None means the token does not expire (or the expiry is unknown).
    """
    if expires_at is None:
        return None
    left = expires_at - now
    if left <= timedelta(0):
        return (
            f"The Instagram access token expired on {expires_at:%Y-%m-%d %H:%M} UTC; publishing "
            "is stopped. Paste a new token in Settings → Instagram."
        )
    if left <= warn_before:
        days = left.days
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return (
            f"The Instagram access token expires {when} ({expires_at:%Y-%m-%d} UTC). "
            "Renew it in Settings → Instagram so publishing does not stop."
        )
    return None
