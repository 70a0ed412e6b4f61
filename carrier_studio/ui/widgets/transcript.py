"""The Chat page's column of transcript items (chat_items.py has the items)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class Transcript(QWidget):
    """The column of transcript items, newest at the bottom."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("transcript")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(16, 12, 16, 12)
        self.column.setSpacing(10)
        self.column.addStretch(1)
        self.empty = QLabel("Say hello to start the conversation.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setProperty("muted", True)
        self.column.insertWidget(0, self.empty)

    def add(self, widget: QWidget) -> QWidget:
        self.empty.hide()
        self.column.insertWidget(self.column.count() - 1, widget)
        return widget

    def insert_after(self, anchor: QWidget | None, widget: QWidget) -> QWidget:
        """Put ``widget`` right after ``anchor`` (first, when None)."""
        self.empty.hide()
        at = self.column.indexOf(anchor) + 1 if anchor is not None else 1
        self.column.insertWidget(at, widget)
        return widget

    def items(self) -> list[QWidget]:
        return [
            self.column.itemAt(i).widget()
            for i in range(self.column.count())
            if self.column.itemAt(i).widget() not in (None, self.empty)
        ]

    def clear(self) -> None:
        for widget in self.items():
            self.column.removeWidget(widget)
            widget.deleteLater()
        self.empty.show()

    def remove_from(self, widget: QWidget) -> None:
        """Remove ``widget`` and everything after it."""
        items = self.items()
        if widget in items:
            for item in items[items.index(widget) :]:
                self.column.removeWidget(item)
                item.deleteLater()
