"""The frame every page shares: a title, a one-line purpose, then the page's own content."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


def page_shortcut(
    keys: QKeySequence | QKeySequence.StandardKey | str, page: QWidget, slot: Callable[[], object]
) -> QShortcut:
    """A page's main action on a key, live while the page is shown wherever the focus is.

    A shortcut limited to the page's own widgets did nothing after a click in the sidebar,
    which keeps the focus: Ctrl+F on the Memory page typed into the sidebar instead (its
    type-ahead then jumped to Settings). Pages hidden in the window's stack are not visible,
    so theirs never clash with the shown page's.
    """
    shortcut = QShortcut(QKeySequence(keys), page, slot)
    shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
    return shortcut


class Page(QWidget):
    def __init__(self, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 18)
        outer.setSpacing(4)
        heading = QLabel(title)
        heading.setObjectName("pageTitle")
        outer.addWidget(heading)
        caption = QLabel(subtitle)
        caption.setObjectName("pageSubtitle")
        caption.setWordWrap(True)
        outer.addWidget(caption)
        outer.addSpacing(12)
        self.body = QVBoxLayout()
        self.body.setSpacing(10)
        outer.addLayout(self.body, 1)
