"""A row of a message's attachments: image thumbnails captioned with their name and text-file
chips (a file icon and the name), each with a × to take it off while the message is still being
written (core/runtime/attachments.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from carrier_studio.core.runtime.attachments import Attachment
from carrier_studio.ui import icons

THUMBNAIL = 72
#: The file icon's side, in pixels (about a line of text).
FILE_ICON = 16


class AttachmentStrip(QWidget):
    #: The index of the attachment whose × was pressed.
    removed = Signal(int)

    def __init__(self, removable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentStrip")
        self._removable = removable
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self._items: list[QWidget] = []
        self.hide()

    def set_attachments(self, attachments: list[Attachment] | tuple[Attachment, ...]) -> None:
        for widget in self._items:
            self._row.removeWidget(widget)
            widget.setParent(None)  # gone now, not at the next event-loop turn
            widget.deleteLater()
        self._items = [self._item(i, a) for i, a in enumerate(attachments)]
        for widget in self._items:
            self._row.insertWidget(self._row.count() - 1, widget)  # before the stretch
        self.setVisible(bool(self._items))

    def thumbnails(self) -> list[QLabel]:
        return self.findChildren(QLabel, "attachmentThumb")

    def chips(self) -> list[str]:
        return [c.text() for c in self.findChildren(QLabel, "attachmentChip")]

    def captions(self) -> list[str]:
        """The names under the thumbnails, as painted (cut in the middle when long)."""
        return [c.text() for c in self.findChildren(QLabel, "attachmentCaption")]

    def _item(self, index: int, attachment: Attachment) -> QWidget:
        frame = QFrame()
        frame.setToolTip(attachment.name)
        layout = QVBoxLayout(frame) if attachment.is_image else QHBoxLayout(frame)
        layout.setContentsMargins(2, 2, 2, 2)
        if attachment.is_image:
            label = QLabel()
            label.setObjectName("attachmentThumb")
            label.setToolTip(attachment.name)
            image = QImage.fromData(attachment.image_bytes())
            pixmap = QPixmap.fromImage(image).scaled(
                THUMBNAIL,
                THUMBNAIL,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            label.setPixmap(pixmap)
            layout.addWidget(label)
            layout.addWidget(self._caption(attachment.name, max(THUMBNAIL, pixmap.width())))
        else:
            # An icon the app ships: a symbol character drew as an empty box in some fonts.
            mark = QLabel()
            mark.setObjectName("attachmentIcon")
            color = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
            mark.setPixmap(icons.icon("file", color, FILE_ICON).pixmap(FILE_ICON, FILE_ICON))
            layout.addWidget(mark)
            label = QLabel(attachment.name)
            label.setObjectName("attachmentChip")
            layout.addWidget(label)
        if self._removable:
            remove = QToolButton()
            remove.setObjectName("removeAttachment")
            remove.setText("×")
            remove.setAutoRaise(True)
            remove.setToolTip(f"Take {attachment.name} off this message")
            remove.clicked.connect(lambda: self.removed.emit(index))
            layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignRight)
        return frame

    @staticmethod
    def _caption(name: str, width: int) -> QLabel:
        """The image's name under its thumbnail: the last part of a URI or path (the whole in
        the tooltip), cut in the middle to the thumbnail's width so its end stays."""
        short = name.rstrip("/").rsplit("/", 1)[-1] or name
        caption = QLabel()
        caption.setObjectName("attachmentCaption")
        caption.setProperty("muted", True)
        caption.setToolTip(name)
        caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        metrics = caption.fontMetrics()
        caption.setText(metrics.elidedText(short, Qt.TextElideMode.ElideMiddle, width - 4))
        caption.setFixedWidth(width)
        return caption
