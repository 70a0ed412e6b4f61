"""A queued post's media as thumbnails, and the dialog that edits a post before it publishes.

`MediaStrip` shows every item of a post (a carousel's too), in order; in the edit dialog the
strip can be dragged, or moved with the arrow buttons, to change a carousel's order. The dialog
only collects the answer; the page stores it through the queue (`update`, `reorder_media`),
which refuses once publishing has started.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.instagram import MediaFile, QueuedPost, check_caption
from carrier_studio.ui.widgets.ask import accepted
from carrier_studio.ui.widgets.instagram_drop import THUMB, load_icon, placeholder

#: Which of the post's items (its index when the dialog opened) a strip entry is.
INDEX_ROLE = Qt.ItemDataRole.UserRole
#: True when the entry shows the decoded picture (tests).
DECODED_ROLE = Qt.ItemDataRole.UserRole + 1
#: The file the entry's picture is decoded from.
KEY_ROLE = Qt.ItemDataRole.UserRole + 2


def _key(item: MediaFile) -> str:
    """What a thumbnail is decoded from: the queue's small PNG, else the copy itself."""
    return item.thumbnail or item.path


def _name(item: MediaFile) -> str:
    name = (item.source or item.path).replace("\\", "/").rsplit("/", 1)[-1]
    return name if len(name) <= 16 else name[:15] + "…"


class MediaStrip(QListWidget):
    """A row of thumbnails, one per item, in the post's order."""

    def __init__(self, movable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Decoded pictures by `_key`: a redraw (the post's every step redraws it) shows them
        #: at once, and a load still running for an earlier redraw fills the new entries.
        self._icons: dict[str, QIcon] = {}
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setFixedHeight(THUMB + 36)
        self.setFrameShape(QFrame.Shape.NoFrame)
        if movable:
            self.setMovement(QListView.Movement.Snap)
            self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
            self.setDefaultDropAction(Qt.DropAction.MoveAction)
        else:
            self.setMovement(QListView.Movement.Static)
            self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)

    def show_media(self, media: tuple[MediaFile, ...]) -> None:
        """List the items with placeholders; `load` fills in the pictures."""
        self.clear()
        for index, item in enumerate(media):
            cached = self._icons.get(_key(item))
            entry = QListWidgetItem(
                cached or QIcon(placeholder("video" if item.media_type == "video" else "image")),
                f"{index + 1}. {_name(item)}",
            )
            entry.setData(INDEX_ROLE, index)
            entry.setData(DECODED_ROLE, cached is not None)
            entry.setData(KEY_ROLE, _key(item))
            entry.setToolTip(item.source or item.path)
            self.addItem(entry)
        self.setVisible(bool(media))

    async def load(self, media: tuple[MediaFile, ...]) -> None:
        """Decode the thumbnails (the queue's small PNGs; the copy itself when there is none)."""
        for item in media:
            key = _key(item)
            if (item.media_type == "video" and not item.thumbnail) or key in self._icons:
                continue  # a video without a poster frame keeps its placeholder
            icon, decoded = await load_icon(key)
            if not decoded:
                continue  # the placeholder stays
            self._icons[key] = icon
            for row in range(self.count()):
                entry = self.item(row)
                if entry.data(KEY_ROLE) == key:
                    entry.setIcon(icon)
                    entry.setData(DECODED_ROLE, True)

    def order(self) -> list[int]:
        """The items' original indexes in the order shown."""
        return [self.item(row).data(INDEX_ROLE) for row in range(self.count())]

    def decoded(self) -> list[bool]:
        return [bool(self.item(row).data(DECODED_ROLE)) for row in range(self.count())]

    def move_current(self, step: int) -> None:
        row = self.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.count():
            return
        self.insertItem(target, self.takeItem(row))
        self.setCurrentRow(target)


class PostEditDialog(QDialog):
    """Caption, alt text, time and (for a carousel) the order of a post not yet publishing."""

    def __init__(self, post: QueuedPost, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit post {post.id}")
        self.setObjectName("instagramEditPost")
        self.post = post
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.caption = QPlainTextEdit(post.caption)
        self.caption.setObjectName("instagramEditCaption")
        self.caption.setMinimumHeight(120)
        form.addRow("Caption", self.caption)
        self.alt_text = QLineEdit(post.alt_text)
        self.alt_text.setPlaceholderText("Describes the images for people who cannot see them")
        form.addRow("Alt text", self.alt_text)
        when = QHBoxLayout()
        self.now = QCheckBox("As soon as possible")
        self.now.setChecked(post.scheduled_at is None)
        self.schedule = QDateTimeEdit()
        self.schedule.setObjectName("instagramEditSchedule")
        self.schedule.setCalendarPopup(True)
        self.schedule.setDisplayFormat("yyyy-MM-dd HH:mm")
        start = post.scheduled_at.astimezone() if post.scheduled_at else None
        self.schedule.setDateTime(
            QDateTime(start.replace(tzinfo=None))
            if start
            else QDateTime.currentDateTime().addSecs(3600)
        )
        self.schedule.setEnabled(not self.now.isChecked())
        self.now.toggled.connect(lambda on: self.schedule.setEnabled(not on))
        when.addWidget(self.now)
        when.addWidget(self.schedule, 1)
        form.addRow("Publish", when)
        layout.addLayout(form)

        self.media = MediaStrip(movable=len(post.media) > 1)
        self.media.setObjectName("instagramEditMedia")
        self.media.show_media(post.media)
        if len(post.media) > 1:
            layout.addWidget(QLabel("Order (drag a picture, or select it and move it):"))
        layout.addWidget(self.media)
        moves = QHBoxLayout()
        self.left_button = QPushButton("◀ Earlier")
        self.left_button.clicked.connect(lambda: self.media.move_current(-1))
        self.right_button = QPushButton("Later ▶")
        self.right_button.clicked.connect(lambda: self.media.move_current(1))
        moves.addWidget(self.left_button)
        moves.addWidget(self.right_button)
        moves.addStretch(1)
        for button in (self.left_button, self.right_button):
            button.setVisible(len(post.media) > 1)
        layout.addLayout(moves)

        self.problems = QLabel()
        self.problems.setObjectName("instagramEditProblems")
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.caption.textChanged.connect(self._check)
        self._check()
        self.resize(560, 460)

    def scheduled_at(self) -> datetime | None:
        if self.now.isChecked():
            return None
        return self.schedule.dateTime().toPython().astimezone()

    def _check(self) -> None:
        """Save only with a caption Instagram takes; say what is wrong with it."""
        findings = check_caption(self.caption.toPlainText())
        self.problems.setText("\n".join(f"✗ {f}" for f in findings))
        self.problems.setVisible(bool(findings))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not findings)

    async def answered(self) -> bool:
        """Open window-modal and wait until closed; True when accepted (`ask.accepted`)."""
        return await accepted(self)
