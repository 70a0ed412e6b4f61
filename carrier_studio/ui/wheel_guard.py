"""Scrolling a form scrolls the form: a box the wheel passes over keeps its value.

On the Settings page a new user scrolled down with the mouse wheel; the pointer crossed the
Temperature box, which took the wheel and went from 0.70 to 0.40 without a word. Qt gives combo
and spin boxes the wheel whenever the pointer is over them (and focus with it). Here a box inside
a scrolling area takes the wheel only once the user has clicked or tabbed into it; until then
the wheel goes on to the area around it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QWidget,
)

_BOXES = (QComboBox, QAbstractSpinBox)


def _in_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


class WheelGuard(QObject):
    """An application-wide event filter; `install` puts one on the application once."""

    @classmethod
    def install(cls, app: QApplication) -> WheelGuard:
        guard = app.findChild(WheelGuard)
        if guard is None:
            guard = cls(app)
            app.installEventFilter(guard)
        return guard

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, _BOXES):
            # The wheel no longer gives these focus (Qt's default for them), so a box the
            # pointer merely crosses never counts as chosen.
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif (
            kind == QEvent.Type.Wheel
            and isinstance(watched, _BOXES)
            and not watched.hasFocus()
            and _in_scroll_area(watched)
        ):
            # Ignored and filtered: Qt offers a spontaneous wheel event to the parents next.
            event.ignore()
            return True
        return False
