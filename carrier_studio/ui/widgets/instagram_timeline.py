"""A post's timeline: every step the worker took (and every user action), with its outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from carrier_studio.core.instagram import Attempt

STEP_LABELS = {
    "queued": "Queued",
    "upload": "Upload",
    "container": "Container",
    "publish": "Publish",
    "quota": "Quota",
    "cancelled": "Cancelled",
    "uploading": "Upload",
    "uploaded": "Container",
    "container_created": "Processing",
    "ready": "Publish",
    "publishing": "Publish",
}
#: Outcome → palette colour name.
OUTCOME_COLORS = {"ok": "ok", "info": "text_muted", "retry": "warn", "wait": "warn",
                  "error": "error"}  # fmt: skip


class Timeline(QTreeWidget):
    def __init__(self, colors: Callable[[], dict[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self._colors = colors
        self.setObjectName("instagramTimeline")
        self.setRootIsDecorated(False)
        self.setHeaderLabels(["Time", "Step", "Outcome", "What happened"])
        self.setWordWrap(True)
        header = self.header()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # What happened takes the width left and wraps: at 1024x700 it kept a width of its
        # own and the timeline scrolled sideways, "What happened" cut to "What ha".
        header.setStretchLastSection(False)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)

    def show_attempts(self, attempts: Sequence[Attempt]) -> None:
        self.clear()
        colors = self._colors()
        for attempt in attempts:
            at = attempt.at.astimezone()
            item = QTreeWidgetItem(
                [
                    f"{at:%m-%d %H:%M:%S}",
                    STEP_LABELS.get(attempt.step, attempt.step.replace("_", " ").title()),
                    attempt.outcome,
                    attempt.message,
                ]
            )
            item.setToolTip(3, attempt.message)
            item.setForeground(2, QColor(colors[OUTCOME_COLORS.get(attempt.outcome, "text")]))
            if attempt.outcome == "error":
                item.setForeground(3, QColor(colors["error"]))
            self.addTopLevelItem(item)
        if attempts:
            self.scrollToBottom()

    def lines(self) -> list[tuple[str, str, str]]:
        """(step, outcome, message) of each line as shown (tests)."""
        return [
            (self.topLevelItem(i).text(1), self.topLevelItem(i).text(2),
             self.topLevelItem(i).text(3))
            for i in range(self.topLevelItemCount())
        ]  # fmt: skip
