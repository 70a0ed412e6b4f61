"""Read-only rich text as tall as its content: a transcript shows all of it, never an inner
scroll box (the transcript itself is the one scroll area)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser


class FittedText(QTextBrowser):
    """A QTextBrowser without scroll bars whose height follows its document.

    A QTextDocument lays out appended text incrementally, where a rich-text QLabel lays out
    everything again on each change (streaming into a QLabel stalled the loop), and it wraps a
    long unbroken word (a URL, a JSON string) instead of widening the whole transcript.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenExternalLinks(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setFixedHeight(20)

    def _fit(self, size: Any) -> None:
        self.setFixedHeight(int(size.height()) + 2)
