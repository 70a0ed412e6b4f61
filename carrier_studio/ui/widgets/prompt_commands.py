"""MCP prompts as ``/commands`` in the chat's message box (#19 item 3).

Typing ``/`` at the start of a message opens a completion list of the prompts the character's
running servers offer (``/name · server — description``); choosing one asks for its arguments in
a small form (when it has any), gets the prompt from its server, and hands its text and any
attachments to the Chat page, which puts them in the message box to send.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp.resources import PromptInfo, PromptText
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.ask import accepted
from carrier_studio.ui.widgets.schema_form import SchemaForm

if TYPE_CHECKING:
    from carrier_studio.services.mcp import McpBrowser

#: What the message box holds while a command is being typed: a slash and one word.
_TYPING = re.compile(r"/[^\s/]*")
#: The role the completer matches on (the command), beside the line the popup shows.
COMMAND_ROLE = Qt.ItemDataRole.UserRole + 1
PROMPT_ROLE = Qt.ItemDataRole.UserRole + 2


def prompt_arguments(prompt: PromptInfo, form: SchemaForm) -> dict[str, str]:
    """The values typed in ``form`` (set to ``prompt.schema()``), empty ones left out; raises
    ValueError naming the required arguments left empty. The chat's dialog and the MCP page's
    Prompts tab both read their forms through this."""
    values = {k: str(v) for k, v in form.values().items()}
    # The form takes an empty string as given; a prompt's required argument is not.
    missing = [
        a.name for a in prompt.arguments if a.required and not values.get(a.name, "").strip()
    ]
    if missing:
        raise ValueError(f"{', '.join(missing)}: a value is required")
    return {k: v for k, v in values.items() if v}


class PromptArgumentsDialog(QDialog):
    """A prompt's arguments, one field each (required ones marked *)."""

    def __init__(self, prompt: PromptInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptArguments")
        self._prompt = prompt
        self.setWindowTitle(f"{prompt.command} — {prompt.server}")
        column = QVBoxLayout(self)
        if prompt.description:
            about = QLabel(prompt.description)
            about.setWordWrap(True)
            column.addWidget(about)
        self.form = SchemaForm()
        self.form.set_schema(prompt.schema())
        column.addWidget(self.form)
        self.problem = QLabel()
        self.problem.setObjectName("promptProblem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        column.addWidget(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use prompt")
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)
        self.values: dict[str, str] = {}

    def _on_accepted(self) -> None:
        try:
            self.values = prompt_arguments(self._prompt, self.form)
        except ValueError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.accept()

    @classmethod
    async def ask(cls, prompt: PromptInfo, parent: QWidget) -> dict[str, str] | None:
        """The arguments the user typed, or None if they cancelled."""
        dialog = cls(prompt, parent)
        try:
            return dialog.values if await accepted(dialog) else None
        finally:
            dialog.deleteLater()


class PromptCommands(QObject):
    """The ``/`` completion of one message box."""

    #: A prompt was chosen and got from its server: its `PromptText`.
    filled = Signal(object)
    #: The prompts were listed again (tests wait on it).
    listed = Signal()

    def __init__(
        self,
        composer: QPlainTextEdit,
        browser: McpBrowser,
        tasks: TaskOwner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.composer = composer
        self.browser = browser
        self.tasks = tasks
        self.prompts: list[PromptInfo] = []
        self._names: list[str] = []
        self._stale = False
        #: Why some servers' prompts are missing (a server that failed to list them).
        self.problems: dict[str, str] = {}
        self.ask_arguments: Callable[[PromptInfo, QWidget], Awaitable[dict[str, str] | None]] = (
            PromptArgumentsDialog.ask
        )
        self.model = QStandardItemModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(composer)
        self.completer.setCompletionRole(COMMAND_ROLE)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(8)
        self.completer.popup().setObjectName("promptPopup")
        self.completer.activated[str].connect(self._on_activated)
        composer.textChanged.connect(self._on_text_changed)

    def popup_open(self) -> bool:
        return self.completer.popup().isVisible()

    # -- the list ----------------------------------------------------------------------------

    def set_servers(self, names: list[str]) -> None:
        """Offer the prompts of ``names`` (the character's servers that run)."""
        self._names = list(names)
        self._stale = True
        self.tasks.start("Listing the chat's prompts", self._list())

    async def _list(self) -> None:
        # A change while listing lists again: a dropped second start must not leave it stale.
        while self._stale:
            self._stale = False
            prompts: list[PromptInfo] = []
            problems: dict[str, str] = {}
            for name in self._names:
                try:
                    prompts += await self.browser.prompts(name)
                except CarrierError as exc:
                    problems[name] = str(exc)
        self.show_prompts(prompts, problems)

    def show_prompts(self, prompts: list[PromptInfo], problems: dict[str, str]) -> None:
        self.prompts, self.problems = prompts, problems
        self.model.clear()
        names = [p.name for p in prompts]
        for prompt in prompts:
            # Two servers offering the same name: each gets its server's name to tell them apart.
            command = (
                prompt.command
                if names.count(prompt.name) == 1
                else (f"/{prompt.server}:{prompt.name}")
            )
            about = prompt.description or prompt.title
            # The server before the description: a long description is cut at the popup's
            # edge, and the server's name at its end went with it.
            named = f"{command}  ·  {prompt.server}"
            item = QStandardItem(f"{named}  —  {about}" if about else named)
            item.setData(command, COMMAND_ROLE)
            item.setData(prompt, PROMPT_ROLE)
            item.setToolTip(self._tooltip(prompt))
            item.setEditable(False)
            self.model.appendRow(item)
        if _TYPING.fullmatch(self.composer.toPlainText()):
            self._show_popup()  # the list changed under a command being typed
        self.listed.emit()

    @staticmethod
    def _tooltip(prompt: PromptInfo) -> str:
        lines = [prompt.title or prompt.name, prompt.description]
        lines += [
            f"{a.name}{' (required)' if a.required else ''}: {a.description}".rstrip(": ")
            for a in prompt.arguments
        ]
        return "\n".join(line for line in lines if line)

    # -- typing ------------------------------------------------------------------------------

    def _on_text_changed(self) -> None:
        text = self.composer.toPlainText()
        if text == "/" and self._names:
            # Asked again at each new command: a 2026-07-28 server does not say when its
            # prompts change (the studio opens no listen stream), so this is when it is seen.
            self.set_servers(self._names)
        self._show_popup()

    def _show_popup(self) -> None:
        text = self.composer.toPlainText()
        if not self.prompts or not _TYPING.fullmatch(text):
            self.completer.popup().hide()
            return
        self.completer.setCompletionPrefix(text)
        if self.completer.completionCount() == 0:
            self.completer.popup().hide()
            return
        popup = self.completer.popup()
        rect = self.composer.cursorRect()
        # Wide enough for its lines (a description is the useful part), within the window.
        wanted = popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 16
        room = max(self.composer.width(), self.composer.window().width() // 2)
        rect.setWidth(max(self.composer.width(), min(wanted, room)))
        self.completer.complete(rect)
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))

    def _on_activated(self, command: str) -> None:
        prompt = next(
            (
                self.model.item(row).data(PROMPT_ROLE)
                for row in range(self.model.rowCount())
                if self.model.item(row).data(COMMAND_ROLE) == command
            ),
            None,
        )
        if prompt is not None:
            self.choose(prompt)

    def choose(self, prompt: PromptInfo) -> None:
        """Ask for the prompt's arguments, get it, and hand it on (`filled`)."""
        self.completer.popup().hide()
        self.tasks.start(f"Getting the prompt {prompt.command}", self._get(prompt))

    async def _get(self, prompt: PromptInfo) -> None:
        values: dict[str, str] | None = {}
        if prompt.arguments:
            values = await self.ask_arguments(prompt, self.composer.window())
            if values is None:
                return
        filled: PromptText = await self.browser.prompt(prompt.server, prompt.name, values)
        self.filled.emit(filled)
