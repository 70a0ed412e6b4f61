"""What the MCP page's Resources and Prompts tabs share: which server they show, when they ask
it for its list again, and the tasks they leave running.

A tab lists its server when it is shown, and again only when the server or whether it runs
changed since, or on Refresh (the button, or the server saying its list changed). One listing
per server runs at a time; a refresh asked for while it runs makes it list once more, so a
change announced mid-listing is not lost. An answer for a server no longer shown (or stopped
meanwhile) is dropped, and `cancel_pending` ends every listing and read still running when the
tab goes away, so none reaches deleted widgets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from carrier_studio.core.errors import CarrierError
from carrier_studio.ui.tasks import TaskOwner

if TYPE_CHECKING:
    from carrier_studio.services.mcp import McpBrowser


class ServerListingTab(QWidget):
    """A list of what one MCP server offers, with Refresh, and a pane for the chosen item.

    A subclass builds its list column with `_build_list_column`, adds its own ``pane``, and
    says how to ask (`_fetch`), draw (`_fill`) and show the chosen item (`_show_item`).
    """

    #: A listing was drawn, or the tab said why there is none (tests wait on it).
    listed = Signal()

    #: What the tab lists, in its words to the user ("prompts", "resources").
    noun = ""

    list: QListWidget
    refresh_button: QPushButton
    empty: QLabel
    pane: QWidget

    def __init__(self, browser: McpBrowser, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(parent)
        self.browser = browser
        self.tasks = tasks
        #: Listings and the tab's other asks in flight, cancelled when it goes away.
        self._pending: set[asyncio.Task[Any]] = set()
        self._server: str | None = None
        self._running = False
        #: Stopped but on its way up: said so rather than "Start the server".
        self._starting = False
        #: What the list shows now ((server, running, starting)); listed again when it changes.
        self._listed_for: tuple[str | None, bool, bool] | None = None
        #: Servers asked to list again while their listing was in flight (it loops once more).
        self._relist: set[str] = set()
        #: The server whose items the list holds (None: nobody's).
        self._drawn: str | None = None
        #: Added to its tasks' names where two tabs share a task owner (the chat's resource
        #: picker beside the MCP page's tab).
        self._where = ""

    def _build_pane(self, heading_name: str) -> QVBoxLayout:
        """The right-hand pane (``self.pane``) opened by its selectable heading (``self.heading``);
        returns the pane's layout for the tab's own widgets."""
        self.pane = QWidget()
        right = QVBoxLayout(self.pane)
        right.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel()
        self.heading.setObjectName(heading_name)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right.addWidget(self.heading)
        return right

    def _build_list_column(
        self, row: QHBoxLayout, list_name: str, empty_name: str, top: QWidget | None = None
    ) -> None:
        """The list (under ``top``, if any) with Refresh below it, then the empty-state label."""
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        if top is not None:
            left.addWidget(top)
        self.list = QListWidget()
        self.list.setObjectName(list_name)
        self.list.currentItemChanged.connect(lambda *_: self._show_item())
        left.addWidget(self.list, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip(f"Ask the server for its {self.noun} again")
        self.refresh_button.clicked.connect(self.refresh)
        left.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignLeft)
        holder = QWidget()
        holder.setLayout(left)
        holder.setMaximumWidth(260)
        row.addWidget(holder)

        self.empty = QLabel()
        self.empty.setObjectName(empty_name)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setProperty("muted", True)
        row.addWidget(self.empty, 1)

    # -- what a subclass says ----------------------------------------------------------------

    async def _fetch(self, server: str) -> list[Any]:
        """Ask ``server`` for its items (raises CarrierError)."""
        raise NotImplementedError

    def _fill(self, items: list[Any]) -> None:
        """Draw ``items`` in the list, keeping the chosen one chosen."""
        raise NotImplementedError

    def _show_item(self) -> None:
        """Show the chosen item in the pane."""
        raise NotImplementedError

    # -- which server ------------------------------------------------------------------------

    @property
    def server(self) -> str | None:
        return self._server

    def set_server(self, name: str | None, *, running: bool, starting: bool = False) -> None:
        """Show ``name``'s items: listed now when visible, else when next shown, and only if
        the server or whether it runs changed since the last listing."""
        self._server, self._running, self._starting = name, running, starting and not running
        if self.isVisible():
            self._list_if_stale()

    def refresh(self) -> None:
        """List again (the server said its list changed, or Refresh): now when shown, else
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
        server, noun = self._server, self.noun
        if server is None or not self._running:
            self.list.clear()
            self._drawn = None
            if server is None:
                self._show_empty(f"Choose a server to see its {noun}.")
            elif self._starting:
                self._show_empty(f"{server} is starting; its {noun} show when it runs.")
            else:
                self._show_empty(f"Start the server to see its {noun}.")
            self._sync_refresh()
            self.listed.emit()
            return
        if self._drawn != server:  # another server's items must not stay under this name
            self.list.clear()
            self._show_empty(f"Asking {server} for its {noun}…")
        # (The same server's list stays until the new one comes: no flicker on a refresh.)
        self._relist.add(server)
        # One listing per server: asked again while it runs, that one lists once more.
        task = self._start(self._listing_name(server), self._list(server))
        if task is not None:
            task.add_done_callback(lambda done: self._on_listing_done(server, done))
        self._sync_refresh()

    def _listing_name(self, server: str) -> str:
        return f"Listing the {self.noun} of {server}{self._where}"

    def _sync_refresh(self) -> None:
        # Not the task owner's busy guard: it would enable Refresh again when a listing ends,
        # even for a server stopped meanwhile. Nothing to ask a stopped server; a listing
        # running already lists again when asked, so a second click would add nothing.
        server = self._server
        self.refresh_button.setEnabled(
            server is not None
            and self._running
            and not self.tasks.running(self._listing_name(server))
        )

    def _on_listing_done(self, server: str, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return  # the tab is going away
        try:
            if server in self._relist:
                # Asked again after its last answer came but before its task ended (the name
                # still taken, so nothing started): list again now.
                self._relist.discard(server)
                if server == self._server:
                    self.refresh()
            self._sync_refresh()
        except RuntimeError:  # the tab was deleted while it listed
            pass

    def _start(
        self, name: str, coro: Coroutine[Any, Any, Any], *, busy: Iterable[QWidget] = ()
    ) -> asyncio.Task[Any] | None:
        """Run ``coro`` as the task ``name``, cancelled with the tab (`cancel_pending`)."""
        task = self.tasks.start(name, coro, busy=busy)
        if task is not None:
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return task

    def cancel_pending(self) -> None:
        """Cancel the listings and other asks still running (the tab is going away)."""
        for task in list(self._pending):
            task.cancel()

    async def _list(self, server: str) -> None:
        items: list[Any] = []
        problem = ""
        while server in self._relist:
            self._relist.discard(server)
            try:
                items, problem = await self._fetch(server), ""
            except CarrierError as exc:
                items, problem = [], str(exc)
        if (server, True) != (self._server, self._running):
            return  # another server was chosen (or this one stopped) meanwhile
        if problem:
            self.list.clear()
            self._drawn = None
            self._show_empty(f"The {self.noun} could not be listed: {problem}")
            self._listed_for = None  # try again next time
        else:
            self._drawn = server
            self._fill(items)
        self.listed.emit()

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.empty.show()
        self.pane.hide()
