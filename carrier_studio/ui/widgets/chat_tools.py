"""The Chat page's conversation tools: copy/export, the context meter, the greeting switch.

Each is a small widget the page places and feeds; the work is in core/runtime/export.py,
core/runtime/context_budget.py and services/chat/greeting.py.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel, QMenu, QPushButton, QWidget

from carrier_studio.core import messages
from carrier_studio.core.runtime.context_budget import TOO_LONG_ADVICE, Budget, reserve
from carrier_studio.core.runtime.export import to_json, to_markdown
from carrier_studio.core.runtime.transcript import Stored
from carrier_studio.ui.tasks import TaskOwner

#: What the export needs of the open conversation: (title, character, its stored items).
Source = Callable[[], Awaitable[tuple[str, str, list[Stored]] | None]]


def _file_name(title: str) -> str:
    name = re.sub(r"[^\w\- ]+", "", title).strip() or "conversation"
    return name[:60]


class ConversationExport(QPushButton):
    """ "Copy / Export" with a menu: copy as Markdown, export as Markdown or JSON."""

    def __init__(self, source: Source, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._tasks = tasks
        self.setObjectName("conversationExport")
        self.setText("Copy / Export")
        self.setToolTip("Copy the conversation as Markdown, or save it as Markdown or JSON")
        menu = QMenu(self)
        self.copy_action = QAction("Copy as Markdown", self)
        self.copy_action.triggered.connect(self.copy_markdown)
        self.markdown_action = QAction("Export as Markdown…", self)
        self.markdown_action.triggered.connect(lambda: self.export("md"))
        self.json_action = QAction("Export as JSON…", self)
        self.json_action.triggered.connect(lambda: self.export("json"))
        for action in (self.copy_action, self.markdown_action, self.json_action):
            menu.addAction(action)
        self.setMenu(menu)

    @staticmethod
    def save_path(parent: QWidget, suggested: str, kind: str) -> str | None:
        """Where to save (tests replace this instead of driving the dialog)."""
        filters = "Markdown (*.md)" if kind == "md" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(parent, "Export conversation", suggested, filters)
        return path or None

    def copy_markdown(self) -> None:
        self._tasks.start("Copying the conversation", self._copy())

    async def _copy(self) -> None:
        found = await self._source()
        if found is None:
            return
        QGuiApplication.clipboard().setText(to_markdown(*found))
        messages.info("Copied the conversation as Markdown.")

    def export(self, kind: str) -> None:
        self._tasks.start("Exporting the conversation", self._export(kind))

    async def _export(self, kind: str) -> None:
        found = await self._source()
        if found is None:
            return
        title = found[0]
        path = self.save_path(self.window(), f"{_file_name(title)}.{kind}", kind)
        if path is None:
            return
        body = to_markdown(*found) if kind == "md" else to_json(*found)
        try:
            Path(path).write_text(body, encoding="utf-8")
        except OSError as exc:
            messages.error(f"The conversation could not be saved to {path}: {exc.strerror}")
            return
        messages.info(f"Saved the conversation to {path}.")


class ContextMeter(QLabel):
    """The next request's estimated tokens against the model's window, warning near it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextMeter")
        self.budget: Budget | None = None

    def show_budget(self, budget: Budget | None) -> None:
        self.budget = budget
        if budget is None:
            self.clear()
            self.setToolTip("")
            return
        share = round(100 * budget.tokens / budget.limit) if budget.limit else 100
        text = f"≈ {budget.tokens:,} of {budget.limit:,} tokens ({share}%)"
        style = ""
        if budget.fixed_over:
            text += " — too long for this model"
            style = "color: #c62828; font-weight: 600"
        elif budget.over:
            text += " — over: oldest turns left out"
            style = "color: #c62828; font-weight: 600"
        elif budget.near:
            text += " — near the limit"
            style = "color: #b26a00"
        self.setText(text)
        self.setStyleSheet(style)
        fixed = ""
        if budget.fixed_over:
            fixed = (
                f"The character's instructions and tools alone take ≈ {budget.fixed:,} tokens, "
                f"leaving no room for a message. {TOO_LONG_ADVICE}\n\n"
            )
        self.setToolTip(
            f"{fixed}The next request (instructions, tools, the conversation and your message) "
            "against the "
            f"model's context window of {budget.window:,} tokens, less {reserve(budget.window):,} "
            "kept for the reply. Tokens are estimated (about 4 bytes of text each).\n"
            "When it does not fit, the oldest turns are left out of what the model is sent, a "
            "whole turn at a time, never your newest message; the conversation keeps them, and "
            "the transcript says when it happened."
        )
