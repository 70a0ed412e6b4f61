"""The draft's caption editor: caption with live counters, alt text, kind, schedule, and
"Write caption as <character>" (the page runs the model; this widget only shows progress)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.instagram import PostKind, hashtags
from carrier_studio.core.instagram.preflight import CAPTION_MAX_CHARS, HASHTAGS_MAX

KIND_LABELS = {
    PostKind.IMAGE: "Image",
    PostKind.CAROUSEL: "Carousel",
    PostKind.REEL: "Reel",
    PostKind.STORY: "Story",
}


class CaptionEditor(QWidget):
    changed = Signal()
    #: The user asked for a caption written as the chosen character.
    write_requested = Signal(str)
    cancel_write_requested = Signal()
    #: The user picked a kind by hand (the page stops inferring it from the files).
    kind_chosen = Signal()

    def __init__(self, colors: Callable[[], dict[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self._colors = colors
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)

        self.kind = QComboBox()
        self.kind.setObjectName("instagramKind")
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.kind.activated.connect(lambda _i: self.kind_chosen.emit())
        self.kind.currentIndexChanged.connect(lambda _i: self.changed.emit())
        form.addRow("Kind", self.kind)

        self.caption = QPlainTextEdit()
        self.caption.setObjectName("instagramCaption")
        self.caption.setPlaceholderText("Write a caption, or let a character write it…")
        self.caption.setMinimumHeight(72)
        self.caption.setMaximumHeight(110)
        self.caption.textChanged.connect(self._on_caption_changed)
        form.addRow("Caption", self.caption)

        counters = QHBoxLayout()
        self.char_count = QLabel()
        self.char_count.setObjectName("instagramCharCount")
        self.tag_count = QLabel()
        self.tag_count.setObjectName("instagramTagCount")
        counters.addWidget(self.char_count)
        counters.addWidget(self.tag_count)
        counters.addStretch(1)
        form.addRow("", counters)

        writer = QHBoxLayout()
        self.character = QComboBox()
        self.character.setObjectName("instagramCharacter")
        self.character.setMinimumWidth(110)
        self.write_button = QPushButton("Write caption as")
        self.write_button.setObjectName("instagramWriteCaption")
        self.write_button.setToolTip(
            "The default model writes a caption in the character's voice, using what you typed "
            "as notes"
        )
        self.write_button.clicked.connect(self._on_write_clicked)
        self.cancel_write = QPushButton("Cancel")
        self.cancel_write.setObjectName("instagramCancelWrite")
        self.cancel_write.clicked.connect(self.cancel_write_requested)
        self.cancel_write.hide()
        writer.addWidget(self.write_button)
        writer.addWidget(self.character, 1)
        writer.addWidget(self.cancel_write)
        form.addRow("", writer)
        self.write_progress = QLabel()
        self.write_progress.setObjectName("instagramWriteProgress")
        self.write_progress.setWordWrap(True)
        self.write_progress.hide()
        form.addRow("", self.write_progress)

        self.alt_text = QLineEdit()
        self.alt_text.setObjectName("instagramAltText")
        self.alt_text.setPlaceholderText("Describe the image for people who cannot see it")
        self.alt_text.textChanged.connect(lambda _t: self.changed.emit())
        form.addRow("Alt text", self.alt_text)

        # One above the other: side by side they made the draft too wide for a 1024x700 window.
        when = QVBoxLayout()
        self.now = QCheckBox("As soon as possible")
        self.now.setObjectName("instagramNow")
        self.now.setChecked(True)
        self.schedule = QDateTimeEdit()
        self.schedule.setObjectName("instagramSchedule")
        self.schedule.setCalendarPopup(True)
        self.schedule.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.schedule.setDateTime(QDateTime.currentDateTime().addSecs(3600))
        self.schedule.setEnabled(False)
        self.now.toggled.connect(lambda on: self.schedule.setEnabled(not on))
        when.addWidget(self.now)
        when.addWidget(self.schedule)
        form.addRow("Publish", when)
        self._on_caption_changed()

    # -- values -------------------------------------------------------------------------------

    def text(self) -> str:
        return self.caption.toPlainText()

    def chosen_kind(self) -> PostKind:
        return PostKind(self.kind.currentData())

    def set_kind(self, kind: PostKind) -> None:
        self.kind.setCurrentIndex(self.kind.findData(kind))

    def scheduled_at(self) -> datetime | None:
        """None: as soon as possible; otherwise an aware local time (the queue stores UTC)."""
        if self.now.isChecked():
            return None
        return self.schedule.dateTime().toPython().astimezone()

    def set_scheduled_at(self, when: datetime | None) -> None:
        self.now.setChecked(when is None)
        if when is not None:
            self.schedule.setDateTime(QDateTime(when.astimezone().replace(tzinfo=None)))

    def reset(self) -> None:
        self.caption.clear()
        self.alt_text.clear()
        self.now.setChecked(True)
        self.schedule.setDateTime(
            QDateTime((datetime.now() + timedelta(hours=1)).replace(second=0, microsecond=0))
        )

    def replace_caption(self, text: str) -> None:
        """Put ``text`` in the caption as one edit the user can undo (Ctrl+Z)."""
        cursor = self.caption.textCursor()
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()

    def set_characters(self, names: list[str]) -> None:
        current = self.character.currentText()
        self.character.clear()
        self.character.addItems(names)
        if current in names:
            self.character.setCurrentText(current)
        self.write_button.setEnabled(bool(names))

    # -- writing ------------------------------------------------------------------------------

    def _on_write_clicked(self) -> None:
        if self.character.currentText():
            self.write_requested.emit(self.character.currentText())

    def set_writing(self, writing: bool, note: str = "") -> None:
        self.write_button.setEnabled(not writing and self.character.count() > 0)
        self.character.setEnabled(not writing)
        self.caption.setReadOnly(writing)
        self.cancel_write.setVisible(writing)
        self.show_write_note(note)

    def show_write_note(self, note: str) -> None:
        self.write_progress.setText(note)
        self.write_progress.setVisible(bool(note))

    # -- counters -----------------------------------------------------------------------------

    def _on_caption_changed(self) -> None:
        self.recount()
        self.changed.emit()

    def recount(self) -> None:
        text = self.text()
        chars, tags = len(text), len(hashtags(text))
        self._count(self.char_count, chars, CAPTION_MAX_CHARS, "characters")
        self._count(self.tag_count, tags, HASHTAGS_MAX, "hashtags")

    def _count(self, label: QLabel, value: int, limit: int, noun: str) -> None:
        over = value > limit
        label.setText(f"{value:,} / {limit:,} {noun}")
        label.setProperty("over", over)
        color = self._colors()["error"] if over else self._colors()["text_muted"]
        weight = "600" if over else "normal"
        label.setStyleSheet(f"color: {color}; font-weight: {weight};")
        label.setToolTip(f"Instagram allows {limit:,} {noun}" + (" — too many" if over else ""))
