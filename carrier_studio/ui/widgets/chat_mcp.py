"""What the chat's message box takes from the character's MCP servers (#19 item 3): a
"Resource…" button that attaches a resource, and ``/commands`` for their prompts.

Both offer only the servers the chosen character may use (its own and those of the characters
it hands off to, as the Chat page starts them) that are running; the prompts are listed again
whenever one of them starts or stops. The picker opens on the server it showed last for this
character (for the session), else on the first that offers resources or templates.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QWidget

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp import ServerState, ServerStatus
from carrier_studio.core.mcp.requests import ListChanged
from carrier_studio.core.mcp.resources import PromptText
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.ask import accepted
from carrier_studio.ui.widgets.mcp_resources import ResourceDialog
from carrier_studio.ui.widgets.prompt_commands import PromptCommands

if TYPE_CHECKING:
    from carrier_studio.services.mcp import McpBrowser


class ComposerMcp(QObject):
    """The resource button and prompt commands of one message box."""

    #: Attachments to add to the message being written.
    attach = Signal(list)
    #: A chosen prompt, ready to go in the message box.
    prompt_filled = Signal(object)

    def __init__(
        self,
        composer: QPlainTextEdit,
        browser: McpBrowser,
        tasks: TaskOwner,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.browser = browser
        self.tasks = tasks
        self._parent = parent
        self._servers: list[str] = []
        self._running: set[str] = set()
        #: Whose servers these are (the key of the server the picker showed last).
        self._character = ""
        #: The server the picker showed when it last closed, by character.
        self._last_server: dict[str, str] = {}
        self.button = QPushButton("Resource…")
        self.button.setObjectName("attachResourceButton")
        self.button.setToolTip(
            "Attach a resource from this character's MCP servers (type / for their prompts)"
        )
        self.button.clicked.connect(self.pick_resource)
        self.button.setEnabled(False)
        self.commands = PromptCommands(composer, browser, tasks, self)
        self.commands.filled.connect(self._on_filled)
        #: The picker while it is open (tests reach into it).
        self.dialog: ResourceDialog | None = None

    def set_servers(
        self,
        names: list[str],
        statuses: dict[str, ServerStatus | None],
        character: str | None = None,
    ) -> None:
        """The character's servers, with their status now. Without the character's name, the
        picker's last server is remembered for this set of servers."""
        self._character = character if character is not None else "\n".join(names)
        self._servers = list(names)
        self._running = {
            n
            for n in names
            if (s := statuses.get(n)) is not None and s.state is ServerState.RUNNING
        }
        self._offer()

    def on_status(self, status: ServerStatus) -> None:
        """A server changed: offer its prompts and resources once it runs, none once it stops."""
        if status.name not in self._servers:
            return
        running = status.state is ServerState.RUNNING
        if running == (status.name in self._running):
            return
        (self._running.add if running else self._running.discard)(status.name)
        self._offer()

    def on_list_changed(self, change: ListChanged) -> None:
        """A running server's prompts or resources changed: list them again."""
        if change.server not in self._running:
            return
        if change.kind == "prompts":
            self.commands.set_servers(self.running())
        elif change.kind == "resources" and self.dialog is not None:
            if self.dialog.browser.server == change.server:
                self.dialog.browser.refresh()

    def running(self) -> list[str]:
        return [n for n in self._servers if n in self._running]

    def _offer(self) -> None:
        names = self.running()
        self.button.setEnabled(bool(names))
        self.commands.set_servers(names)

    def pick_resource(self) -> None:
        if self.running():
            self.tasks.start("Choosing a resource", self._pick(), busy=[self.button])

    async def _pick(self) -> None:
        character = self._character
        first = await self._first_server(self.running(), self._last_server.get(character))
        servers = self.running()  # one may have stopped meanwhile
        if not servers:
            return
        if first not in servers:
            first = servers[0]
        dialog = ResourceDialog(self.browser, self.tasks, servers, self._parent)
        if first != dialog.browser.server:
            # Not listed yet: the dialog lists its server when it is shown.
            dialog.browser.server_box.setCurrentText(first)
            dialog.browser.set_server(first, running=True)
        self.dialog = dialog
        try:
            if await accepted(dialog) and dialog.chosen:
                self.attach.emit(dialog.chosen)
        finally:
            if dialog.browser.server:
                self._last_server[character] = dialog.browser.server
            self.dialog = None
            dialog.deleteLater()

    async def _first_server(self, servers: list[str], last: str | None) -> str:
        """The server to open on: ``last`` if it runs, else the first with anything to read
        (asked of all at once), else the first."""
        if last in servers or len(servers) == 1:
            return last if last in servers else servers[0]
        offers = await asyncio.gather(*(self._offers(s) for s in servers))
        return next((s for s, offered in zip(servers, offers, strict=True) if offered), servers[0])

    async def _offers(self, server: str) -> bool:
        try:
            return bool(
                await self.browser.resources(server) or await self.browser.templates(server)
            )
        except CarrierError:
            return False  # the picker says why when this server is chosen

    def _on_filled(self, filled: PromptText) -> None:
        self.prompt_filled.emit(filled)
