"""Sign in to a remote MCP server that asks for OAuth, from its entry on the MCP page.

Shown beside the details' tabs for an sse or streamable-http server with an ``"oauth"`` entry:
whether the studio holds a sign-in for it, "Sign in…" (opens the authorization page in the
browser, waits for it to come back, then starts the server again) and "Sign out" (forgets the
tokens). The flow and the keyring are `services.mcp.oauth`; this widget only asks for them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages

if TYPE_CHECKING:
    from carrier_studio.core.mcp import ServerConfig
    from carrier_studio.services.mcp.oauth import McpOAuth
    from carrier_studio.ui.tasks import TaskOwner


def open_in_browser(url: str) -> bool:
    """The system browser (the default way a sign-in opens); False when none could be opened."""
    return QDesktopServices.openUrl(QUrl(url))


class McpSignIn(QWidget):
    """The sign-in status and buttons of the selected server.

    Args:
        oauth: The studio's sign-ins.
        tasks: Owns the sign-in task (cancellable like any other).
        restart: Starts the server again once signed in or out, by name.
        open_url: Opens the authorization page; tests replace it with a scripted browser.
    """

    def __init__(
        self,
        oauth: McpOAuth,
        tasks: TaskOwner,
        restart: Callable[[str], Awaitable[Any]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mcpSignIn")
        self.oauth = oauth
        self.tasks = tasks
        self.restart = restart
        #: Opens the address; returning False says no browser could be opened.
        self.open_url: Callable[[str], Awaitable[Any] | Any] = open_in_browser
        self.config: ServerConfig | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("signInStatus")
        self.status.setProperty("muted", True)
        self.sign_in_button = QPushButton("Sign in…")
        self.sign_in_button.setObjectName("signInButton")
        self.sign_in_button.setToolTip("Open the server's sign-in page in your browser")
        self.sign_in_button.clicked.connect(self._on_sign_in_clicked)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setObjectName("signOutButton")
        self.sign_out_button.setToolTip("Forget this server's sign-in (its tokens in the keyring)")
        self.sign_out_button.clicked.connect(self._on_sign_out_clicked)
        # A browser closed half-way never comes back: the wait can be ended here.
        self.cancel_button = QPushButton("Cancel sign-in")
        self.cancel_button.setObjectName("cancelSignIn")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.cancel_button.hide()
        self._task: asyncio.Task[Any] | None = None
        row.addWidget(self.status, 1)
        row.addWidget(self.sign_in_button)
        row.addWidget(self.sign_out_button)
        row.addWidget(self.cancel_button)
        # The whole sign-in address while waiting: without a browser (or in another one) the
        # user copies it; a status-bar message was cut short and gone after ten seconds.
        self.address_row = QWidget()
        address = QHBoxLayout(self.address_row)
        address.setContentsMargins(0, 0, 0, 0)
        self.address_label = QLabel("Sign-in address:")
        self.address = QLineEdit()
        self.address.setObjectName("signInAddress")
        self.address.setReadOnly(True)
        self.copy_button = QPushButton("Copy sign-in address")
        self.copy_button.setObjectName("copySignInAddress")
        self.copy_button.clicked.connect(self._on_copy_clicked)
        address.addWidget(self.address_label)
        address.addWidget(self.address, 1)
        address.addWidget(self.copy_button)
        column.addWidget(self.address_row)
        self.address_row.hide()
        self.hide()

    def show_server(self, config: ServerConfig | None) -> None:
        """Show the sign-in of ``config``'s server, or hide for one without ``oauth``."""
        if config is None or config.oauth is None or config.type == "stdio":
            self.config = None
            self.hide()
            return
        changed = self.config != config
        self.config = config
        self.show()
        if changed and not self.tasks.running(self._signing_in):
            self.tasks.start(f"Reading the sign-in of {config.name}", self._read(config))

    @property
    def _signing_in(self) -> str:
        return f"Signing in to {self.config.name if self.config else ''}"

    async def _read(self, config: ServerConfig) -> None:
        signed_in = await self.oauth.signed_in(config)
        if config == self.config:
            self._show(signed_in)

    def _show(self, signed_in: bool) -> None:
        self.status.setText("Signed in" if signed_in else "Not signed in")
        self.sign_in_button.setText("Sign in again…" if signed_in else "Sign in…")
        self.sign_in_button.setEnabled(True)
        self.sign_out_button.setVisible(signed_in)

    def _on_sign_in_clicked(self) -> None:
        if self.config is None:
            return
        config = self.config
        self.status.setText("Finish signing in in your browser…")
        self._task = self.tasks.start(
            self._signing_in,
            self._sign_in(config),
            busy=[self.sign_in_button, self.sign_out_button],
        )
        self.cancel_button.setVisible(self._task is not None)

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.address.text())
        messages.info("Copied the sign-in address")

    async def _open(self, url: str) -> None:
        """Show the address to copy, then open it in the browser."""
        self.address.setText(url)
        self.address.setCursorPosition(0)
        self.address_row.show()
        opened = self.open_url(url)
        if inspect.isawaitable(opened):
            opened = await opened
        if opened is False:
            self.status.setText("No browser could be opened: copy this address into one")
            self.address.setFocus()
            self.address.selectAll()

    def _on_cancel_clicked(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _sign_in(self, config: ServerConfig) -> None:
        try:
            await self.oauth.sign_in(config, self._open)
        finally:
            self._task = None
            self.cancel_button.hide()
            self.address_row.hide()
            await self._read(config)
        messages.info(f"Signed in to {config.name}; starting it")
        await self.restart(config.name)

    def _on_sign_out_clicked(self) -> None:
        if self.config is not None:
            config = self.config
            self.tasks.start(
                f"Signing out of {config.name}",
                self._sign_out(config),
                busy=[self.sign_in_button, self.sign_out_button],
            )

    async def _sign_out(self, config: ServerConfig) -> None:
        await self.oauth.sign_out(config)
        await self._read(config)
        messages.info(f"Signed out of {config.name}: its tokens are deleted")
