"""Make a tool: describe it, the default model writes an MCP server, review the code, accept.

The code is shown read-only once it passed the checks (it parses, declares a tool, never prints
to stdout); accepting saves it under the workspace ``tools/`` and adds it to mcp_servers.json
turned off, so nothing runs until the user turns it on and tries it on the MCP page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.toolmaker import ToolCode
from carrier_studio.ui.tasks import TaskOwner

Draft = Callable[[str, Callable[[str], None]], Awaitable[ToolCode]]
Save = Callable[[ToolCode], Awaitable[Any]]


class ToolMakerDialog(QDialog):
    def __init__(
        self,
        draft: Draft,
        save: Save,
        model_label: str,
        tasks: TaskOwner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolMakerDialog")
        self.setWindowTitle("Make a tool")
        self.resize(720, 620)
        self._draft, self._save, self._tasks = draft, save, tasks
        self._task: asyncio.Task[Any] | None = None
        self.tool: ToolCode | None = None
        self.saved: Any = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Describe a tool. The model writes a small Python MCP server for it; you review the "
            "code; on Save it goes to the workspace tools/ folder and into the MCP catalogue, "
            "turned off until you try it on the MCP page."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.description = QPlainTextEdit()
        self.description.setObjectName("toolDescription")
        self.description.setPlaceholderText("Count the words and sentences of a text…")
        self.description.setMaximumHeight(110)
        layout.addWidget(self.description)
        model = QLabel(f"Model: {model_label} — change the default under Settings.")
        model.setProperty("muted", True)
        layout.addWidget(model)
        self.code = QPlainTextEdit()
        self.code.setObjectName("toolCode")
        self.code.setReadOnly(True)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.setPlaceholderText("The code appears here for review.")
        layout.addWidget(self.code, 1)
        self.status = QLabel()
        self.status.setObjectName("toolStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.write_button = QPushButton("Write the tool")
        self.write_button.setObjectName("toolWrite")
        self.write_button.clicked.connect(self.write)
        buttons.addButton(self.write_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button = QPushButton("Save (turned off)")
        self.save_button.setObjectName("toolSave")
        self.save_button.setProperty("primary", True)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def task(self) -> asyncio.Task[Any] | None:
        return self._task

    def write(self) -> None:
        description = self.description.toPlainText()
        if not description.strip():
            self._show("Describe the tool first.", error=True)
            return
        self.tool = None
        self.save_button.setEnabled(False)
        self._task = self._tasks.start(
            "Writing a tool", self._write(description), busy=[self.write_button]
        )

    async def _write(self, description: str) -> None:
        try:
            tool = await self._draft(description, self._show)
        except asyncio.CancelledError:
            self._show("Cancelled.")
            raise
        except Exception as exc:  # noqa: BLE001 - shown where the user looks; nothing is lost
            self._show(self._words(exc), error=True)
            return
        finally:
            self._task = None
        self.tool = tool
        self.code.setPlainText(tool.code)
        self.save_button.setEnabled(True)
        self._show(
            f"Server “{tool.server_name}” with {', '.join(tool.tools)}. Read it before saving: "
            "it runs on your machine once turned on."
        )

    def save(self) -> None:
        if self.tool is not None:
            self._task = self._tasks.start(
                "Saving a tool", self._save_now(self.tool), busy=[self.save_button]
            )

    async def _save_now(self, tool: ToolCode) -> None:
        try:
            self.saved = await self._save(tool)
        except Exception as exc:  # noqa: BLE001 - shown where the user looks
            self._show(self._words(exc), error=True)
            return
        finally:
            self._task = None
        messages.info(f"Saved the tool {tool.server_name}: turn it on and try it on the MCP page.")
        self.accept()

    def reject(self) -> None:
        if self._task is not None:
            self._task.cancel()
        super().reject()

    @staticmethod
    def _words(exc: BaseException) -> str:
        return str(exc) if isinstance(exc, CarrierError) else f"{type(exc).__name__}: {exc}"

    def _show(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #D0393E" if error else "")
