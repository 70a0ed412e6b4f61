"""A row of a message's attachments: image thumbnails and text-file chips, each with a ×
to take it off while the message is still being written (core/runtime/attachments.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from carrier_studio.core.runtime.attachments import Attachment

THUMBNAIL = 72


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

    def _item(self, index: int, attachment: Attachment) -> QWidget:
        frame = QFrame()
        frame.setToolTip(attachment.name)
        layout = QVBoxLayout(frame) if attachment.is_image else QHBoxLayout(frame)
        layout.setContentsMargins(2, 2, 2, 2)
        if attachment.is_image:
            label = QLabel()
            label.setObjectName("attachmentThumb")
            image = QImage.fromData(attachment.image_bytes())
            label.setPixmap(
                QPixmap.fromImage(image).scaled(
                    THUMBNAIL,
                    THUMBNAIL,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            label = QLabel(f"📄 {attachment.name}")
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
