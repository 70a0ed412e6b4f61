""" "Save as test" on the Chat page: the open conversation's user/reply pairs become a scripted
scenario in the workspace's ``scenarios/`` folder, whose expectations the creator then edits.

The questions (file name, replace?, open on the Tests page?) are asked outside the task that
reads and writes: a modal dialog inside an asyncio task would stop every other task.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.runtime.transcript import AssistantText, Stored, UserText
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.ask import Ask


class TestFiles(Protocol):
    """Where tests are saved (services/scenarios/files.py `ScenarioFiles`)."""

    __test__ = False  # not a pytest class, whatever its name says

    def path_for(self, name: str) -> Path: ...

    def exists(self, name: str) -> bool: ...

    async def write(self, name: str, text: str) -> Path: ...


def conversation_pairs(stored: list[Stored]) -> list[tuple[str, str]]:
    """Each user message with everything the characters replied to it (handoffs included)."""
    pairs: list[tuple[str, list[str]]] = []
    for entry in stored:
        item = entry.item
        if isinstance(item, UserText):
            pairs.append((item.text, []))
        elif isinstance(item, AssistantText) and pairs and item.text.strip():
            pairs[-1][1].append(item.text.strip())
    return [(user, "\n\n".join(replies)) for user, replies in pairs]


def file_name_for(title: str) -> str:
    """A file name from a conversation title: ``Hi Ada!`` → ``hi-ada.yaml``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:40].strip("-")
    return f"{slug or 'conversation'}.yaml"


def ask_open(parent: QWidget, path: Path) -> bool:
    answer = QMessageBox.question(
        parent,
        "Test saved",
        f"Saved {path.name} in the scenarios folder. Open it on the Tests page?",
    )
    return answer == QMessageBox.StandardButton.Yes


class SaveAsTest(QObject):
    #: The user wants the saved file on the Tests page (its path).
    open_requested = Signal(str)

    def __init__(self, files: TestFiles, tasks: TaskOwner, parent: QWidget) -> None:
        super().__init__(parent)
        self.files = files
        self.tasks = tasks
        self.parent_widget = parent
        #: The questions; tests replace them.
        self.ask = Ask
        self.ask_open = ask_open

    def start(
        self, character: str, title: str, read: Callable[[], Awaitable[list[Stored]]]
    ) -> None:
        """Ask for a file name (and whether to replace one), then save in the background."""
        parent = self.parent_widget
        name = self.ask.text(
            parent, "Save as test", "File name in the scenarios folder:", file_name_for(title)
        )
        if not name or not name.strip():
            return
        try:
            exists = self.files.exists(name)
        except CarrierError as exc:
            messages.error(str(exc))
            return
        if exists and not self.ask.confirm(
            parent,
            "Replace test",
            f"{self.files.path_for(name).name} is already in the scenarios folder. Replace it?",
            "Replace",
        ):
            return
        self.tasks.start("Saving the test", self._save(character, title, name, read))

    async def _save(
        self, character: str, title: str, name: str, read: Callable[[], Awaitable[list[Stored]]]
    ) -> None:
        from carrier_studio.core.scenarios.writing import scenario_yaml_from_conversation

        pairs = conversation_pairs(await read())
        if not pairs:
            messages.warning("This conversation has no message yet: there is nothing to test.")
            return
        # Results are kept by scenario name: a copy saved under another file name gets its own.
        stem = self.files.path_for(name).stem
        named = title if stem == Path(file_name_for(title)).stem else f"{title} ({stem})"
        text = scenario_yaml_from_conversation(character, pairs, name=named)
        path = await self.files.write(name, text)
        # Asked once this task has ended: a dialog inside it would hold up every other task.
        QTimer.singleShot(0, lambda: self._offer(path))

    def _offer(self, path: Path) -> None:
        if self.ask_open(self.parent_widget, path):
            self.open_requested.emit(str(path))
