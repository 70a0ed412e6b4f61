"""The Qt end of the message bus: info and warnings in the status bar, errors in a dialog."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QStatusBar, QWidget

from carrier_studio.core.messages import Level, Message, MessageBus


class MessageBridge(QObject):
    """Receives bus messages on any thread and shows them on the GUI thread."""

    #: Queued across threads by Qt, so a worker thread may post safely.
    received = Signal(object)

    def __init__(self, bus: MessageBus, status_bar: QStatusBar, parent: QWidget) -> None:
        super().__init__(parent)
        self._bus = bus
        self._status_bar = status_bar
        self._parent = parent
        #: Every message shown this session, newest last (the window can list them).
        self.history: list[Message] = []
        self.received.connect(self._on_received)
        bus.connect(self.received.emit)

    def detach(self) -> None:
        self._bus.disconnect(self.received.emit)

    @Slot(object)
    def _on_received(self, message: Message) -> None:
        self.history.append(message)
        if message.level is Level.INFO:
            self._status_bar.showMessage(message.text, 6000)
            return
        if message.level is Level.WARNING and not message.details:
            self._status_bar.showMessage("⚠ " + message.text, 12000)
            return
        self.show_dialog(message)

    def show_dialog(self, message: Message) -> QMessageBox:
        box = QMessageBox(self._parent)
        box.setObjectName("messageDialog")
        box.setIcon(
            QMessageBox.Icon.Critical if message.level is Level.ERROR else QMessageBox.Icon.Warning
        )
        box.setWindowTitle("Carrier Studio")
        box.setText(message.text)
        if message.details:
            box.setDetailedText(message.details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        # open(), not exec(): a window-modal sheet that does not start a nested event loop, so
        # asyncio keeps running underneath it.
        box.open()
        return box
