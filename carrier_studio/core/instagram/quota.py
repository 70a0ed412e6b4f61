"""Publishing quota, from the live ``content_publishing_limit`` reading.

Meta's limit has changed over time (25, then 50 posts per rolling 24 h), so the total always
comes from the reading (``config.quota_total``), never from a constant here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Quota:
    usage: int
    total: int
    #: The window the total applies to (``config.quota_duration``), in seconds.
    duration_s: int
    read_at: datetime

    @classmethod
    def from_reading(cls, data: dict, read_at: datetime) -> Quota:
        """Build from the API's ``{"quota_usage": n, "config": {"quota_total": m, …}}``.

        Raises ValueError when the reading lacks the numbers (the caller says where).
        """
        config = data.get("config") or {}
        usage, total = data.get("quota_usage"), config.get("quota_total")
        if not isinstance(usage, int) or not isinstance(total, int):
            raise ValueError(f"quota_usage/config.quota_total missing in {data!r}")
        duration = config.get("quota_duration")
        return cls(usage, total, duration if isinstance(duration, int) else 86400, read_at)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.usage)

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0

    def allows(self, posts: int = 1) -> bool:
        return self.remaining >= posts

    def label(self) -> str:
        return f"{self.usage} of {self.total} posts in the last 24 h"


def recheck_at(quota: Quota, interval: timedelta) -> datetime:
    """When to read the quota again while it is exhausted.

    The window is rolling and Meta does not say when a slot frees, so the worker looks again
    after ``interval``, never later than one full window.
    """
    return quota.read_at + min(interval, timedelta(seconds=quota.duration_s))
