"""What the Discord bot tells the studio: its status and its recent activity.

The connection sets the status and the answering side records activity; both go through one
`BotReport`, so the page, the status bar and headless mode hear of every change the same way and
a listener's bug is contained in one place.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from carrier_studio.core.discord.status import ActivityEntry, ActivityKind, BotPhase, BotStatus

log = logging.getLogger(__name__)

StatusCallback = Callable[[BotStatus], None]
ActivityCallback = Callable[[ActivityEntry], None]


class BotReport:
    """The bot's current `BotStatus` and its last ``limit`` `ActivityEntry` items.

    ``on_status`` and ``on_activity`` are called on the event loop and must not block.
    """

    def __init__(
        self,
        on_status: StatusCallback | None = None,
        on_activity: ActivityCallback | None = None,
        limit: int = 100,
    ) -> None:
        self._on_status = on_status
        self._on_activity = on_activity
        self._status = BotStatus(BotPhase.STOPPED, "stopped")
        self._activity: deque[ActivityEntry] = deque(maxlen=limit)

    @property
    def status(self) -> BotStatus:
        return self._status

    @property
    def recent(self) -> list[ActivityEntry]:
        """Newest last."""
        return list(self._activity)

    def set(self, status: BotStatus) -> None:
        """Make ``status`` current; listeners hear only of a status that differs."""
        if status == self._status:
            return
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the bot
                log.exception("Discord status listener failed")

    def record(self, kind: ActivityKind, **fields: Any) -> None:
        """Add an `ActivityEntry` stamped now."""
        entry = ActivityEntry(kind, datetime.now(UTC), **fields)
        self._activity.append(entry)
        if self._on_activity is not None:
            try:
                self._on_activity(entry)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the bot
                log.exception("Discord activity listener failed")

    def info(self, detail: str) -> None:
        self.record(ActivityKind.INFO, detail=detail)


def reason(exc: BaseException) -> str:
    """An exception in words for the status line or the activity list."""
    text = str(exc).strip()
    return text or type(exc).__name__


def short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters for display."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["ActivityCallback", "BotReport", "StatusCallback", "reason", "short"]
