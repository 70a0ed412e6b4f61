"""The one owner of ``sys.excepthook``: log the error, then show it with "Copy details".

Uncaught exceptions from Qt slots and from asyncio tasks both end up here, so a bug never
disappears silently and never takes the window down with it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio import __version__

if TYPE_CHECKING:
    from carrier_studio.core.redaction import Redactor

log = logging.getLogger(__name__)


class CrashDialog(QDialog):
    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Carrier Studio hit a bug")
        self.details = details
        self.summary = summary
        layout = QVBoxLayout(self)
        text = QLabel(
            "Something went wrong inside Carrier Studio. Your work is still open; the details "
            "below are in the log as well. Copy them into a bug report if this keeps happening."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        # The summary is an exception's text: shown as plain text, never as markup.
        title = QLabel(summary)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        title.setStyleSheet("font-weight: bold")
        layout.addWidget(title)
        view = QPlainTextEdit(details)
        view.setReadOnly(True)
        view.setMinimumSize(560, 220)
        layout.addWidget(view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        QApplication.clipboard().setText(self.details)
        self.copy_button.setText("Copied")


class CrashHandler(QObject):
    """Installs itself as ``sys.excepthook`` and the asyncio loop's exception handler.

    Everything it shows, copies or logs passes through ``redactor``, the session's, which knows
    the workspace's secrets (keyring, .env, characters, MCP settings) and credential shapes.
    """

    def __init__(self, redactor: Redactor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._redactor = redactor
        self._previous = sys.excepthook
        self._showing = False
        self.dialogs: list[CrashDialog] = []

    def install(self, loop: Any = None) -> None:
        sys.excepthook = self.handle
        if loop is not None:
            loop.set_exception_handler(self._on_loop_exception)

    def uninstall(self) -> None:
        sys.excepthook = self._previous

    def handle(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        details = self._redactor.redact(f"Carrier Studio {__version__}\n\n{text}")
        log.critical("uncaught exception\n%s", details)
        summary = self._redactor.redact(f"{exc_type.__name__}: {exc}")
        if self._showing:  # an error while showing an error: the log has it
            return
        if any(d.summary == summary for d in self.dialogs):
            return  # the same error again while its dialog is open: the log has it
        self._showing = True
        try:
            dialog = CrashDialog(summary, details, QApplication.activeWindow())
            self.dialogs.append(dialog)
            dialog.finished.connect(lambda _result, d=dialog: self.dialogs.remove(d))
            dialog.open()
        finally:
            self._showing = False

    def _on_loop_exception(self, loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is None:
            log.error("asyncio: %s", context.get("message"))
            return
        self.handle(type(exc), exc, exc.__traceback__)
