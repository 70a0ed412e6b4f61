"""The Instagram page's drop zone: files dragged from the file manager, and their thumbnails.

Thumbnails are decoded with `QImageReader` at their final size (a 24-megapixel photo is never
decoded whole) in a worker thread: QImage is safe off the GUI thread, QPixmap is not, so the
pixmap is made on the GUI thread from the decoded image. Videos get a drawn placeholder (there
is no video decoder here, and the studio does not need one to queue a reel).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QIcon,
    QImage,
    QImageReader,
    QPainter,
    QPixmap,
    QPolygon,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm"})
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
)
THUMB = 72


def is_video(path: str) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def read_thumbnail(path: str, size: int = THUMB) -> QImage:
    """The image at ``path`` scaled to fit ``size`` (blocking: call from a thread).

    A null QImage when it cannot be read; the caller shows a placeholder.
    """
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # EXIF rotation, as Instagram shows it
    original = reader.size()
    if original.isValid() and (original.width() > size or original.height() > size):
        reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return image if not image.isNull() else QImage()


def placeholder(kind: str, size: int = THUMB, color: str = "#9A9AA6") -> QPixmap:
    """A drawn stand-in: a play triangle for a video, a cross for an unreadable image."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QColor(color)
    painter.setPen(pen)
    painter.setBrush(QColor(pen.red(), pen.green(), pen.blue(), 40))
    painter.drawRoundedRect(2, 2, size - 4, size - 4, 8, 8)
    painter.setBrush(pen)
    third = size // 3
    if kind == "video":
        corners = [(third + 4, third), (third + 4, 2 * third), (2 * third + 4, size // 2)]
        painter.drawPolygon(QPolygon([QPoint(x, y) for x, y in corners]))
    else:
        painter.drawLine(third, third, 2 * third, 2 * third)
        painter.drawLine(2 * third, third, third, 2 * third)
    painter.end()
    return pixmap


async def load_icon(path: str, size: int = THUMB) -> tuple[QIcon, bool]:
    """A thumbnail icon for ``path``, decoded off the GUI thread, and whether it shows the
    picture itself (False: a placeholder, for a video or an unreadable file)."""
    if is_video(path):
        return QIcon(placeholder("video", size)), False
    image = await asyncio.to_thread(read_thumbnail, path, size)
    if image.isNull():
        return QIcon(placeholder("broken", size)), False
    return QIcon(_centred(QPixmap.fromImage(image), size)), True


def _centred(picture: QPixmap, size: int) -> QPixmap:
    """``picture`` in the middle of a square, so cards of any aspect line up."""
    square = QPixmap(size, size)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    painter.drawPixmap((size - picture.width()) // 2, (size - picture.height()) // 2, picture)
    painter.end()
    return square


def local_files(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """The local files a drag carries (folders and remote URLs are left out)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [
        url.toLocalFile()
        for url in mime.urls()
        if url.isLocalFile() and not Path(url.toLocalFile()).is_dir()
    ]


class MediaDropZone(QFrame):
    """Drop images and videos here (several make a carousel), or pick them with the button.

    The zone shows the draft's files as thumbnails; a file that failed pre-flight is marked.
    """

    #: Local file paths dropped together (one drop: one call).
    files_dropped = Signal(list)
    add_requested = Signal()
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("instagramDropZone")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumHeight(THUMB + 76)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.hint = QLabel(
            "Drop images or videos here — several files make a carousel.\n"
            "JPEG up to 8 MB, aspect 4:5 to 1.91:1; reels 3 s to 15 min."
        )
        self.hint.setObjectName("instagramDropHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint, 1)
        self.strip = QListWidget()
        self.strip.setObjectName("instagramDraftFiles")
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(THUMB, THUMB))
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setFixedHeight(THUMB + 30)
        self.strip.setAcceptDrops(False)  # drops land on the zone
        self.strip.setFrameShape(QFrame.Shape.NoFrame)
        self.strip.setStyleSheet("QListWidget { background: transparent; border: none; }")
        self.strip.hide()
        layout.addWidget(self.strip)
        #: The page adds its own buttons here (Convert).
        self.buttons = buttons = QHBoxLayout()
        self.add_button = QPushButton("Add media…")
        self.add_button.setObjectName("instagramAddMedia")
        self.add_button.setToolTip("Choose images or videos (Ctrl+O)")
        self.add_button.clicked.connect(self.add_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Start the draft again (your files are not touched)")
        self.clear_button.clicked.connect(self.clear_requested)
        self.clear_button.setEnabled(False)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._set_hover(False)

    # -- drag and drop ------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if local_files(event):
            event.acceptProposedAction()
            self._set_hover(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 - Qt override
        self._set_hover(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self._set_hover(False)
        files = local_files(event)
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.files_dropped.emit(files)

    def _set_hover(self, hover: bool) -> None:
        self.setProperty("hover", hover)
        self.setStyleSheet(
            "#instagramDropZone { border: 2px dashed %s; border-radius: 8px; }"
            % ("palette(highlight)" if hover else "palette(mid)")
        )

    # -- showing the draft --------------------------------------------------------------------

    def show_files(self, files: list[str], problems: dict[str, str]) -> None:
        """List ``files`` (icons filled in later by `set_icon`); ``problems`` maps a path to
        why it fails pre-flight."""
        self.strip.clear()
        for path in files:
            item = QListWidgetItem(placeholder("video" if is_video(path) else "image"), "")
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.strip.addItem(item)
        self.mark_problems(problems)
        self.strip.setVisible(bool(files))
        self.hint.setVisible(not files)
        self.clear_button.setEnabled(bool(files))

    def mark_problems(self, problems: dict[str, str]) -> None:
        for row in range(self.strip.count()):
            item = self.strip.item(row)
            path = item.data(Qt.ItemDataRole.UserRole)
            name = Path(path).name
            problem = problems.get(path)
            item.setText(("⚠ " if problem else "") + _elide(name))
            item.setToolTip(f"{path}\n{problem}" if problem else path)

    def files_shown(self) -> list[str]:
        return [
            self.strip.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.strip.count())
        ]

    def has_thumbnail(self, path: str) -> bool:
        """True when ``path`` shows its decoded picture (tests; videos never do)."""
        for row in range(self.strip.count()):
            item = self.strip.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                return bool(item.data(Qt.ItemDataRole.UserRole + 1))
        return False

    def set_thumbnail(self, path: str, icon: QIcon, decoded: bool) -> None:
        for row in range(self.strip.count()):
            item = self.strip.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == path:
                item.setIcon(icon)
                item.setData(Qt.ItemDataRole.UserRole + 1, decoded)


def _elide(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
