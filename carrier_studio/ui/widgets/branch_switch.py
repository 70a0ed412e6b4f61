"""`< 2/3 >` on a message: move between its alternatives (edits and regenerated replies)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class BranchSwitch(QWidget):
    """The alternatives at one place in a conversation; emits the id of the one chosen."""

    switch_to = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("branchSwitch")
        self._siblings: tuple[int, ...] = ()
        self._index = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.previous = QToolButton()
        self.previous.setText("<")
        self.previous.setAutoRaise(True)
        self.previous.setToolTip("Show the previous version")
        self.previous.clicked.connect(lambda: self._step(-1))
        self.label = QLabel()
        self.label.setProperty("muted", True)
        self.next = QToolButton()
        self.next.setText(">")
        self.next.setAutoRaise(True)
        self.next.setToolTip("Show the next version")
        self.next.clicked.connect(lambda: self._step(1))
        for widget in (self.previous, self.label, self.next):
            layout.addWidget(widget)
        self.hide()

    def show_alternatives(self, siblings: tuple[int, ...], current: int) -> None:
        """Show ``current``'s place among ``siblings`` (hidden when there is only one)."""
        self._siblings = siblings
        self._index = siblings.index(current) if current in siblings else 0
        self.label.setText(f"{self._index + 1}/{len(siblings)}")
        self.previous.setEnabled(self._index > 0)
        self.next.setEnabled(self._index < len(siblings) - 1)
        self.setVisible(len(siblings) > 1)

    def _step(self, by: int) -> None:
        index = self._index + by
        if 0 <= index < len(self._siblings):
            self.switch_to.emit(self._siblings[index])
