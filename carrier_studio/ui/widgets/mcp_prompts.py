"""The MCP page's Prompts tab: a running server's prompts, a form for one's arguments, and the
messages the server returns for it.

`PromptBrowser` asks an `McpBrowser` (services/mcp/browse.py) for everything, as the Resources
tab beside it does, and reads its form through `prompt_arguments`, as the chat's ``/`` commands
do. An answer that comes back after the user chose another server or prompt is dropped: the
tab only ever shows what the selected server said.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp.resources import PromptInfo, PromptText
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.mcp_listing import ServerListingTab
from carrier_studio.ui.widgets.prompt_commands import prompt_arguments
from carrier_studio.ui.widgets.schema_form import SchemaForm

if TYPE_CHECKING:
    from carrier_studio.services.mcp import McpBrowser


class PromptBrowser(ServerListingTab):
    """A server's prompts on the left; the chosen one's arguments and messages on the right."""

    #: A Get prompt finished, with messages or a problem (tests wait on it).
    got = Signal()

    noun = "prompts"

    def __init__(self, browser: McpBrowser, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(browser, tasks, parent)
        #: The (server, prompt) whose messages the view waits for; None when it waits for none.
        self._asking: tuple[str, str] | None = None

        row = QHBoxLayout(self)  # the default margins, as the tabs beside it have
        self._build_list_column(row, "promptList", "noPrompts")
        # Enter on a prompt goes to its first field, or gets it when it takes none.
        self.list.itemActivated.connect(lambda _item: self._on_list_activated())

        right = self._build_pane("promptHeading")
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

    # -- the list ----------------------------------------------------------------------------

    async def _fetch(self, server: str) -> list[PromptInfo]:
        return await self.browser.prompts(server)

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
        super()._show_empty(text)
        self._asking = None  # an answer for the prompt gone from view is not shown

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
        lines = [f"<b>{html.escape(prompt.title or prompt.name)}</b>"]
        if prompt.title and prompt.title != prompt.name:
            lines[0] += f" ({html.escape(prompt.name)})"
        if prompt.description:
            lines.append(html.escape(prompt.description))
        lines.append(html.escape(_arguments_line(prompt)))
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
