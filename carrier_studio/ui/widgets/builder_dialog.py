""" "New from description…": the configured model drafts a character, shown unsaved."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.ui.tasks import TaskOwner

Draft = Callable[[str, Callable[[str], None]], Awaitable[CharacterDoc]]


class BuilderDialog(QDialog):
    drafted = Signal(object)  # CharacterDoc

    def __init__(
        self, draft: Draft, model_label: str, tasks: TaskOwner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.setObjectName("builderDialog")
        self.setWindowTitle("New character from a description")
        self.resize(560, 380)
        self._draft = draft
        self._task: asyncio.Task[None] | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Describe the character: who they are, what they do, how they talk. The model "
            "drafts a full character that opens unsaved, for you to review."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.description = QPlainTextEdit()
        self.description.setObjectName("builderDescription")
        self.description.setPlaceholderText(
            "A patient chess coach for beginners who explains openings with food metaphors…"
        )
        layout.addWidget(self.description, 1)
        model = QLabel(f"Model: {model_label} — change the default under Settings.")
        model.setProperty("muted", True)
        layout.addWidget(model)
        self.status = QLabel()
        self.status.setObjectName("builderStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.generate_button = QPushButton("Draft character")
        self.generate_button.setProperty("primary", True)
        self.generate_button.clicked.connect(self.generate)
        buttons.addButton(self.generate_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout.addWidget(buttons)

    def generate(self) -> None:
        if self._task is not None:
            return
        description = self.description.toPlainText()
        if not description.strip():
            self._show("Describe the character first.", error=True)
            return
        self.generate_button.setEnabled(False)
        self.description.setReadOnly(True)
        # Owned by the page's TaskOwner: cancelled on quit, failures reported in one place.
        self._task = self._tasks.start("Drafting a character", self._run(description))

    async def _run(self, description: str) -> None:
        try:
            doc = await self._draft(description, self._show)
        except asyncio.CancelledError:
            self._show("Cancelled.")
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is shown where the user looks
            # The dialog stays open with the description, so nothing typed is lost.
            text = str(exc) if isinstance(exc, CarrierError) else f"{type(exc).__name__}: {exc}"
            self._show(text, error=True)
        else:
            self.drafted.emit(doc)
            self.accept()
        finally:
            self._task = None
            self.generate_button.setEnabled(True)
            self.description.setReadOnly(False)

    def _show(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #D0393E" if error else "")

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def _on_cancel_clicked(self) -> None:
        if self._task is not None:
            self._task.cancel()
        else:
            self.reject()

    def reject(self) -> None:
        """Esc or the close button: stop a draft in progress as well."""
        if self._task is not None:
            self._task.cancel()
        super().reject()
