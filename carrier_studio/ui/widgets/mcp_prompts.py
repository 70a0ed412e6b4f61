"""The MCP page's Prompts tab: a running server's prompts, a form for one's arguments, and the
messages the server returns for it.

`PromptBrowser` asks an `McpBrowser` (services/mcp/browse.py) for everything, as the Resources
tab beside it does, and reads its form through `prompt_arguments`, as the chat's ``/`` commands
do. An answer that comes back after the user chose another server or prompt is dropped: the
tab only ever shows what the selected server said.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp.resources import PromptInfo, PromptText
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.prompt_commands import prompt_arguments
from carrier_studio.ui.widgets.schema_form import SchemaForm

if TYPE_CHECKING:
    from carrier_studio.services.mcp import McpBrowser


class PromptBrowser(QWidget):
    """A server's prompts on the left; the chosen one's arguments and messages on the right."""

    #: A listing was drawn (tests wait on it).
    listed = Signal()
    #: A Get prompt finished, with messages or a problem (tests wait on it).
    got = Signal()

    def __init__(self, browser: McpBrowser, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(parent)
        self.browser = browser
        self.tasks = tasks
        #: Listings and gets in flight, cancelled when the page goes away (`cancel_pending`).
        self._pending: set[asyncio.Task[Any]] = set()
        self._server: str | None = None
        self._running = False
        #: Stopped but on its way up: said so rather than "Start the server".
        self._starting = False
        #: What the list shows now ((server, running)); listed again only when it changes.
        self._listed_for: tuple[str | None, bool, bool] | None = None
        #: Servers asked to list again while their listing was in flight (it loops once more).
        self._relist: set[str] = set()
        #: The (server, prompt) whose messages the view waits for; None when it waits for none.
        self._asking: tuple[str, str] | None = None
        #: The server whose prompts the list holds (None: nobody's).
        self._drawn: str | None = None

        row = QHBoxLayout(self)  # the default margins, as the tabs beside it have
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("promptList")
        self.list.currentItemChanged.connect(lambda *_: self._show_item())
        # Enter on a prompt goes to its first field, or gets it when it takes none.
        self.list.itemActivated.connect(lambda _item: self._on_list_activated())
        left.addWidget(self.list, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Ask the server for its prompts again")
        self.refresh_button.clicked.connect(self.refresh)
        left.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignLeft)
        holder = QWidget()
        holder.setLayout(left)
        holder.setMaximumWidth(260)
        row.addWidget(holder)

        self.empty = QLabel()
        self.empty.setObjectName("noPrompts")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setProperty("muted", True)
        row.addWidget(self.empty, 1)

        self.pane = QWidget()
        right = QVBoxLayout(self.pane)
        right.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel()
        self.heading.setObjectName("promptHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right.addWidget(self.heading)
        self.form = SchemaForm()
        self.form.setObjectName("promptForm")
        self.form.form.setContentsMargins(0, 4, 0, 4)  # its labels under the heading's text
        right.addWidget(self.form)
        buttons = QHBoxLayout()
        self.get_button = QPushButton("Get prompt")
        self.get_button.setObjectName("getPrompt")
        self.get_button.setProperty("primary", True)
        self.get_button.setToolTip("Ask the server for this prompt's messages, filled in")
        self.get_button.clicked.connect(self.get_prompt)
        buttons.addWidget(self.get_button)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copyPrompt")
        self.copy_button.setToolTip("Copy the messages to the clipboard")
        self.copy_button.clicked.connect(self._on_copy_clicked)
        buttons.addWidget(self.copy_button)
        self.problem = QLabel()
        self.problem.setObjectName("promptProblem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons.addWidget(self.problem, 1)
        right.addLayout(buttons)
        self.messages_view = QPlainTextEdit()
        self.messages_view.setObjectName("promptMessages")
        self.messages_view.setReadOnly(True)
        self.messages_view.setPlaceholderText("The messages the server returns show here.")
        right.addWidget(self.messages_view, 1)
        row.addWidget(self.pane, 1)
        self._clear_messages()
        self._show_empty("Choose a server to see its prompts.")

    # -- which server ------------------------------------------------------------------------

    @property
    def server(self) -> str | None:
        return self._server

    def set_server(self, name: str | None, *, running: bool, starting: bool = False) -> None:
        """Show ``name``'s prompts: listed now when visible, else when next shown, and only if
        the server or whether it runs changed since the last listing."""
        self._server, self._running, self._starting = name, running, starting and not running
        if self.isVisible():
            self._list_if_stale()

    def refresh(self) -> None:
        """List again (the server said its prompts changed, or Refresh): now when shown, else
        when next shown."""
        self._listed_for = None
        if self.isVisible():
            self._list_if_stale()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._list_if_stale()

    def _list_if_stale(self) -> None:
        wanted = (self._server, self._running, self._starting)
        if wanted == self._listed_for:
            return
        self._listed_for = wanted
        # Nothing to ask a stopped server; a listing's busy guard enables it again.
        self.refresh_button.setEnabled(self._server is not None and self._running)
        if self._server is None or not self._running:
            self.list.clear()
            self._drawn = None
            if self._server is None:
                self._show_empty("Choose a server to see its prompts.")
            elif self._starting:
                self._show_empty(f"{self._server} is starting; its prompts show when it runs.")
            else:
                self._show_empty("Start the server to see its prompts.")
            self.listed.emit()
            return
        server = self._server
        if self._drawn != server:  # another server's prompts must not stay under this name
            self.list.clear()
            self._show_empty(f"Asking {server} for its prompts…")
        # (The same server's list stays until the new one comes: no flicker on a refresh.)
        self._relist.add(server)
        # One listing per server: asked again while it runs, that one lists once more.
        self._start(
            f"Listing the prompts of {server}", self._list(server), busy=[self.refresh_button]
        )

    def _start(self, name: str, coro: Any, **options: Any) -> None:
        task = self.tasks.start(name, coro, **options)
        if task is not None:
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def cancel_pending(self) -> None:
        """Cancel the listings and gets still running (the page is going away)."""
        for task in list(self._pending):
            task.cancel()

    async def _list(self, server: str) -> None:
        prompts: list[PromptInfo] = []
        problem = ""
        while server in self._relist:
            self._relist.discard(server)
            try:
                prompts, problem = await self.browser.prompts(server), ""
            except CarrierError as exc:
                prompts, problem = [], str(exc)
        if (server, True) != (self._server, self._running):
            return  # another server was chosen (or this one stopped) meanwhile
        if problem:
            self.list.clear()
            self._drawn = None
            self._show_empty(f"The prompts could not be listed: {problem}")
            self._listed_for = None  # try again next time
        else:
            self._fill(prompts)
        self.listed.emit()

    def _fill(self, prompts: list[PromptInfo]) -> None:
        current = self.current()
        keep = current.name if current else None
        self.list.blockSignals(True)
        self.list.clear()
        for prompt in prompts:
            item = QListWidgetItem(prompt.name)
            item.setData(Qt.ItemDataRole.UserRole, prompt)
            item.setToolTip(_summary(prompt))
            self.list.addItem(item)
            if prompt.name == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._drawn = self._server
        if not self.list.count():
            self._show_empty(f"{self._server} offers no prompts.")
            return
        if self.list.currentItem() is None:
            self.list.setCurrentRow(0)
        elif self.current() != current:  # the same name, with other arguments now
            self._show_item()
        else:
            self.empty.hide()
            self.pane.show()

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.empty.show()
        self.pane.hide()
        self._asking = None

    # -- one prompt --------------------------------------------------------------------------

    def current(self) -> PromptInfo | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _show_item(self) -> None:
        prompt = self.current()
        self._clear_messages()
        if prompt is None:
            return
        self.empty.hide()
        self.pane.show()
        lines = [f"<b>{_escape(prompt.title or prompt.name)}</b>"]
        if prompt.title and prompt.title != prompt.name:
            lines[0] += f" ({_escape(prompt.name)})"
        if prompt.description:
            lines.append(_escape(prompt.description))
        lines.append(_escape(_arguments_line(prompt)))
        self.heading.setText("<br>".join(lines))
        self.form.set_schema(prompt.schema())
        self.form.setVisible(bool(prompt.arguments))
        fields = [self.form.findChild(QLineEdit, f"arg_{a.name}") for a in prompt.arguments]
        chain: list[QWidget] = [self.list, self.refresh_button]
        for argument, field in zip(prompt.arguments, fields, strict=True):
            if field is None:
                continue
            # What to type, where the eye already is; "required" when the server says no more.
            field.setPlaceholderText(
                argument.description or ("required" if argument.required else "optional")
            )
            field.returnPressed.connect(self.get_prompt)  # Enter gets it
            chain.append(field)
        chain += [self.get_button, self.copy_button, self.messages_view]
        # The fields are made after the buttons: Tab must still reach them first.
        for before, after in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(before, after)

    def _on_list_activated(self) -> None:
        prompt = self.current()
        if prompt is None:
            return
        first = prompt.arguments[0].name if prompt.arguments else None
        field = self.form.findChild(QLineEdit, f"arg_{first}") if first else None
        if field is not None:
            field.setFocus()
        else:
            self.get_prompt()

    def get_prompt(self) -> None:
        prompt, server = self.current(), self._server
        if prompt is None or server is None or not self.get_button.isEnabled():
            return
        try:
            values = prompt_arguments(prompt, self.form)
        except ValueError as exc:
            self._say(f"Not sent: {exc}", error=True)
            return
        self._clear_messages()
        self._asking = (server, prompt.name)
        self._say(f"Getting {prompt.name} from {server}…")
        self._start(
            f"Getting the prompt {prompt.name} from {server}",
            self._get(server, prompt.name, values),
            busy=[self.get_button],
        )

    async def _get(self, server: str, name: str, values: dict[str, str]) -> None:
        try:
            got: PromptText | None = await self.browser.prompt(server, name, values)
            problem = ""
        except CarrierError as exc:
            got, problem = None, str(exc)
        if self._asking != (server, name) or self._server != server:
            return  # the user moved on to another prompt or server: not theirs any more
        self._asking = None
        if got is None:
            self._say(problem, error=True)
        else:
            self.messages_view.setPlainText(_messages_text(got))
            self.copy_button.setEnabled(bool(got.messages))
            count = len(got.messages)
            self._say(f"{count} message{'s' if count != 1 else ''}" if count else "No messages.")
        self.got.emit()

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.messages_view.toPlainText())
        self._say("Copied.")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.problem.setText(text)
        self.problem.setProperty("tone", "error" if error else "")
        self.problem.style().unpolish(self.problem)
        self.problem.style().polish(self.problem)

    def _clear_messages(self) -> None:
        self._asking = None
        self.messages_view.clear()
        self.copy_button.setEnabled(False)
        self._say("")


def _arguments_line(prompt: PromptInfo) -> str:
    if not prompt.arguments:
        return "No arguments."
    named = [f"{a.name} (required)" if a.required else a.name for a in prompt.arguments]
    return "Arguments: " + ", ".join(named)


def _summary(prompt: PromptInfo) -> str:
    lines = [prompt.title or prompt.name, prompt.description, _arguments_line(prompt)]
    return "\n".join(line for line in lines if line)


def _messages_text(got: PromptText) -> str:
    """Each message under its role, as it is shown and copied."""
    return "\n\n".join(f"{role}:\n{text}" for role, text in got.messages)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
