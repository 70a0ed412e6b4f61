"""Text that gives way to the chat column's width: a long tool name ("Remember for
trigger-long-running-operation") is cut short with "…" and whole in the tooltip, instead of
widening the transcript (it scrolled sideways and cut Approve to "Appr" at 1024x700)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QWidget,
)

#: A name longer than this is cut in the middle in one-line titles (both ends tell tools apart).
NAME_CHARS = 40


def short_name(name: str, chars: int = NAME_CHARS) -> str:
    """``name`` in at most ``chars`` characters, its middle left out."""
    if len(name) <= chars:
        return name
    half = (chars - 1) // 2
    return f"{name[:half]}…{name[-(chars - 1 - half) :]}"


def run_title(agent: str, tool: str) -> QLabel:
    """The approval card's title: wrapped, and never wider than its column, even for a tool
    name without spaces (cut in the middle; whole in the tooltip)."""
    label = QLabel(f"<b>{escape(agent)}</b> wants to run <b>{escape(short_name(tool))}</b>")
    label.setToolTip(f"{agent} wants to run {tool}")
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class ElidedCheckBox(QCheckBox):
    """A check box whose label is cut with "…" to the width it gets (never wider than its
    column); the whole label is its tooltip and accessible name."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._full = text
        self.setToolTip(text)
        self.setAccessibleName(text)
        # Preferred: as wide as its label when there is room, narrower when there is not.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def full_text(self) -> str:
        return self._full

    def sizeHint(self):  # noqa: N802 - Qt override
        hint = super().sizeHint()
        # The full label's width, whatever part of it is shown now.
        shown = self.fontMetrics().horizontalAdvance(self.text())
        hint.setWidth(hint.width() - shown + self.fontMetrics().horizontalAdvance(self._full))
        return hint

    def minimumSizeHint(self):  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()
        hint.setWidth(self._indicator() + self.fontMetrics().horizontalAdvance("Rem…"))
        return hint

    def _indicator(self) -> int:
        option = QStyleOptionButton()
        option.initFrom(self)
        style = self.style()
        return (
            style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, option, self)
            + style.pixelMetric(QStyle.PixelMetric.PM_CheckBoxLabelSpacing, option, self)
            + 4
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        room = max(0, event.size().width() - self._indicator())
        text = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        if text != self.text():
            self.setText(text)


def fit_beside(row: QBoxLayout, room: int) -> None:
    """Lay ``row``'s items side by side when their full widths fit in ``room``, else one
    above the other (the approval card's "Remember for <long tool name>" above its buttons)."""
    items = [row.itemAt(i) for i in range(row.count())]
    beside = sum(item.sizeHint().width() for item in items) + row.spacing() * (len(items) - 1)
    direction = (
        QBoxLayout.Direction.LeftToRight if beside <= room else QBoxLayout.Direction.TopToBottom
    )
    if row.direction() != direction:
        row.setDirection(direction)
