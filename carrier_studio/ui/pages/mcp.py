"""The MCP Servers page: turn servers on and off live, see health and tools, try a tool.

The page draws what `McpManager` publishes and asks it to act; it never starts a process or
touches mcp_servers.json itself.
"""

# Long: one page for the server table (snapped to whole rows), its details (tools, a tool's
# form and call, log, settings) and import; the details tab is the next cut.

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.mcp.config import McpConfigError
from carrier_studio.core.mcp.lint import lint_server
from carrier_studio.core.mcp.requests import ListChanged, ToolProgress
from carrier_studio.core.mcp.status import ServerState, ServerStatus, ToolInfo
from carrier_studio.core.mcp.variables import variables_in
from carrier_studio.ui.models.mcp_servers import QtMcpServerModel
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.mcp_import_dialog import McpImportDialog
from carrier_studio.ui.widgets.mcp_log import ServerLogView
from carrier_studio.ui.widgets.mcp_prompts import PromptBrowser
from carrier_studio.ui.widgets.mcp_resources import ResourceBrowser
from carrier_studio.ui.widgets.mcp_roots import ServerFolders
from carrier_studio.ui.widgets.mcp_secrets import ServerSecrets
from carrier_studio.ui.widgets.mcp_server_dialog import ServerDialog
from carrier_studio.ui.widgets.mcp_sign_in import McpSignIn
from carrier_studio.ui.widgets.page import Page
from carrier_studio.ui.widgets.schema_form import SchemaForm
from carrier_studio.ui.widgets.tool_maker_dialog import ToolMakerDialog

if TYPE_CHECKING:
    from carrier_studio.core.mcp.importing import ConfigLocation, ImportCandidate
    from carrier_studio.core.toolmaker import ToolCode
    from carrier_studio.services.mcp import McpBrowser
    from carrier_studio.services.mcp.manager import McpManager
    from carrier_studio.services.mcp.oauth import McpOAuth
    from carrier_studio.services.platform.secrets import SecretStore

POLICIES = ["ask", "auto", "off"]

#: Servers the table shows at least, in whole rows.
TABLE_ROWS = 5

NEW_SERVER = {"type": "stdio", "command": "npx", "args": ["-y", "PACKAGE"], "enabled": True}


@dataclass
class McpPageDeps:
    manager: McpManager
    colors: Callable[[], dict[str, str]]
    #: Emits when the theme changes, so status colours follow it.
    theme_changed: Any
    #: Workspace-wide approval policy per tool (feeds chat approvals): read and write.
    tool_policies: Callable[[], Awaitable[dict[str, str]]]
    set_tool_policy: Callable[[str, str], Awaitable[None]]
    #: Where imported secrets go (the keyring); without it, imports keep them as written.
    secrets: SecretStore | None = None
    #: Remote servers' OAuth sign-ins ("Sign in…" beside the tabs); None: no sign-in.
    oauth: McpOAuth | None = None
    #: The tool maker: write a server from a description (with progress), and save one. It
    #: lives here because what it makes is an MCP server, added to this table turned off.
    draft_tool: Callable[[str, Callable[[str], None]], Awaitable[ToolCode]] | None = None
    save_tool: Callable[[ToolCode], Awaitable[Any]] | None = None
    model_label: Callable[[], str] = lambda: "the default model"
    #: ${VAR}s the studio fills itself (WORKSPACE, STUDIO_PYTHON): no field for them.
    filled_by_studio: frozenset[str] = frozenset()
    #: A running server's resources, templates and prompts (the Resources and Prompts tabs);
    #: None: no such tabs.
    browser: McpBrowser | None = None
    #: The folders each server may see (`services.mcp.sampling.SettingsRoots`: ``added``,
    #: ``set_added``); None: no Folders box.
    roots: Any = None


def _why_no_tools(status: ServerStatus | None) -> str:
    """What the tools pane says for a server that is not running: what to do next, and why a
    start failed (it said "Start the server to see its tools." for a failed or off server)."""
    if status is None:
        return "Start the server to see its tools."
    if not status.enabled:
        return f"{status.name} is off. Tick its On box, then press Start to see its tools."
    if status.state is ServerState.FAILED:
        return f"{status.name} did not start: {status.error or 'the Log tab says why.'}"
    return "Start the server to see its tools."


class McpPage(Page):
    def __init__(self, deps: McpPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(
            "MCP Servers",
            "Tool servers your characters may use. Changes apply live and are saved to the "
            "workspace's mcp_servers.json.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        self.ask_server = ServerDialog.ask
        self._policies: dict[str, str] = {}
        self._unsubscribe: Callable[[], None] | None = None

        toolbar = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self.add_server)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_server)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_server)
        self.restart_button = QPushButton("Restart")
        self.restart_button.setObjectName("restartButton")
        self.restart_button.clicked.connect(self.restart_server)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_server)
        # Short labels: with "Make a tool…" the row has to fit a 1024 px screen.
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("mcpImport")
        self.import_button.setToolTip(
            "Add servers from Claude Desktop (claude_desktop_config.json), Cursor or VS Code "
            "(mcp.json)"
        )
        self.import_button.clicked.connect(self._on_import_clicked)
        self.ask_import = McpImportDialog.ask
        self.ask_import_file = McpImportDialog.ask_file
        self.reload_button = QPushButton("Reload file")
        self.reload_button.setToolTip("Read mcp_servers.json again (after editing it elsewhere)")
        self.reload_button.clicked.connect(self.reload)
        self.tool_button = QPushButton("Make a tool…")
        self.tool_button.setObjectName("mcpMakeTool")
        self.tool_button.setToolTip(
            "Describe a tool; the default model writes an MCP server you review before it is "
            "added here (turned off)"
        )
        self.tool_button.setEnabled(deps.draft_tool is not None and deps.save_tool is not None)
        self.tool_button.clicked.connect(self.open_tool_maker)
        # Wide enough for "Restart" whatever it says now: turning "Start" into "Restart" must not
        # squeeze the row (it cut "Make a tool…" to "ake a tool..").
        self.restart_button.setMinimumWidth(
            max(QPushButton(text).sizeHint().width() for text in ("Start", "Restart"))
        )
        for button in (
            self.add_button,
            self.edit_button,
            self.remove_button,
            self.import_button,
            self.tool_button,
        ):
            toolbar.addWidget(button)
        for button in (self.restart_button, self.stop_button):
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.reload_button)
        self.body.addLayout(toolbar)

        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        self.model = QtMcpServerModel(deps.colors(), self)
        self.model.toggle_requested.connect(self._on_model_toggle_requested)
        deps.theme_changed.connect(lambda _scheme: self.model.set_colors(deps.colors()))
        self.table = QTableView()
        self.table.setObjectName("mcpTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_details())
        splitter.addWidget(self.table)
        splitter.addWidget(self._build_details())
        splitter.setSizes([220, 380])
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        # Whole rows, never a half one cut off at the bottom (#15): at least TABLE_ROWS of
        # them, and the splitter snaps the table to whole rows when it or the window moves.
        self._snapping = False
        #: Once the user drags the splitter (or a saved size is restored) the table keeps that
        #: size; until then it is fitted to its rows (at 2560x1440 it showed six rows and
        #: scrolled, with a thousand empty pixels below).
        self._sized_by_user = False
        self._restored_table = 0
        splitter.splitterMoved.connect(self._on_splitter_moved)
        self.table.setMinimumHeight(self._table_height(TABLE_ROWS))
        self.table.viewport().installEventFilter(self)
        self.body.addWidget(splitter, 1)
        self._unsubscribe = deps.manager.changed.subscribe(self._on_manager_status)
        #: A server's resources changed, a Call tool's progress (#19 item 4).
        self._unwatch = [
            deps.manager.on_list_changed(self._on_list_changed),
            deps.manager.on_progress(self._on_progress),
        ]
        self._calling: str | None = None
        #: The server and tool the result box speaks of; another one selected clears it.
        self._result_for: tuple[str | None, str | None] = (None, None)
        self.refresh()

    # -- building ---------------------------------------------------------------------------

    def _table_height(self, rows: int) -> int:
        """The table's height that shows `rows` whole rows under its header."""
        frame = 2 * self.table.frameWidth()
        header = self.table.horizontalHeader().sizeHint().height()
        return frame + header + rows * self.table.verticalHeader().defaultSectionSize()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_table()
            self._snap_table()
        return super().eventFilter(watched, event)

    def _on_splitter_moved(self, _pos: int, _index: int) -> None:
        if not self._snapping:
            self._sized_by_user = True

    def splitter_sizes(self) -> list[int]:
        """The table's and the details' heights, to restore after a restart."""
        return self.splitter.sizes() if self._sized_by_user else []

    def restore_splitter(self, sizes: list[int]) -> None:
        if len(sizes) == 2 and all(isinstance(n, int) and n > 0 for n in sizes):
            self._sized_by_user = True
            self.splitter.setSizes(sizes)
            # Before the first layout the splitter would scale it: the table's height is put
            # back once the page has its real height.
            self._restored_table = 0 if self.isVisible() else sizes[0]

    def _fit_table(self) -> None:
        """Until sized by the user: every row shown, up to 45% of the height."""
        sizes = self.splitter.sizes()
        if self._restored_table and sum(sizes) > self._restored_table and self.isVisible():
            table, self._restored_table = self._restored_table, 0
            self.splitter.setSizes([table, sum(sizes) - table])
            return
        if self._sized_by_user or self._snapping or len(sizes) != 2 or not sum(sizes):
            return
        row = self.table.verticalHeader().defaultSectionSize() or 1
        room = (int(sum(sizes) * 0.45) - self._table_height(0)) // row  # whole rows
        table = self._table_height(max(TABLE_ROWS, min(self.model.rowCount(), room)))
        if table != sizes[0]:
            self._snapping = True
            try:
                self.splitter.setSizes([table, sum(sizes) - table])
            finally:
                self._snapping = False

    def _snap_table(self) -> None:
        """Give the part of a row the table's viewport has left over to the details below."""
        row = self.table.verticalHeader().defaultSectionSize()
        extra = self.table.viewport().height() % row if row > 0 else 0
        sizes = self.splitter.sizes()
        if self._snapping or not extra or len(sizes) != 2 or not sizes[1]:
            return
        table = sizes[0] - extra
        if table < self.table.minimumHeight():  # at its minimum: grow to the next whole row
            table += row
        self._snapping = True
        try:
            self.splitter.setSizes([table, sum(sizes) - table])
        finally:
            self._snapping = False

    def _build_details(self) -> QWidget:
        pane = QWidget()
        column = QVBoxLayout(pane)
        column.setContentsMargins(0, 4, 0, 0)
        # Which server the tabs below are about (the table may have scrolled it away).
        self.heading = QLabel()
        self.heading.setObjectName("mcpServerHeading")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        column.addWidget(self.heading)
        self.details = QTabWidget()
        # Above the tabs, so a server that asks for a sign-in says so whichever tab is open,
        # and its buttons never squeeze the tab bar.
        self.sign_in: McpSignIn | None = None
        if self.deps.oauth is not None:
            self.sign_in = McpSignIn(self.deps.oauth, self.tasks, self.deps.manager.restart)
            column.addWidget(self.sign_in)
        column.addWidget(self.details, 1)
        self._build_tabs()
        return pane

    def _build_tabs(self) -> None:
        tools = QWidget()
        row = QHBoxLayout(tools)
        self.tool_list = QListWidget()
        self.tool_list.setObjectName("toolList")
        self.tool_list.setMaximumWidth(240)
        self.tool_list.currentItemChanged.connect(lambda *_: self._show_tool())
        row.addWidget(self.tool_list)
        self.no_tools = QLabel()
        self.no_tools.setObjectName("noTools")
        self.no_tools.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_tools.setProperty("muted", True)
        self.no_tools.setWordWrap(True)
        row.addWidget(self.no_tools, 1)
        # The form scrolls when the window is short, rather than squashing its fields to a few
        # pixels (a four-field tool at 1024x700 was one unreadable strip).
        self.tool_pane = QScrollArea()
        self.tool_pane.setObjectName("toolPane")
        self.tool_pane.setWidgetResizable(True)
        self.tool_pane.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tool_pane.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inside = QWidget()
        inside.setObjectName("toolPaneInside")
        self.tool_pane.setWidget(inside)
        right = QVBoxLayout(inside)
        right.setContentsMargins(0, 0, 4, 0)
        self.tool_description = QLabel()
        self.tool_description.setWordWrap(True)
        right.addWidget(self.tool_description)
        policy_row = QHBoxLayout()
        policy_row.addWidget(QLabel("In chat:"))
        self.policy = QComboBox()
        self.policy.setObjectName("toolPolicy")
        for value, label in (
            ("ask", "ask before each call"),
            ("auto", "run without asking"),
            ("off", "do not offer it"),
        ):
            self.policy.addItem(label, value)
        self.policy.activated.connect(self._on_policy_activated)
        policy_row.addWidget(self.policy)
        policy_row.addStretch(1)
        right.addLayout(policy_row)
        self.schema_view = QPlainTextEdit()
        self.schema_view.setReadOnly(True)
        self.schema_view.setMaximumHeight(120)
        right.addWidget(self.schema_view)
        self.form = SchemaForm()
        right.addWidget(self.form)
        self.call_button = QPushButton("Call tool")
        self.call_button.setObjectName("callTool")
        self.call_button.clicked.connect(self.call_tool)
        right.addWidget(self.call_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.result = QPlainTextEdit()
        self.result.setObjectName("toolResult")
        self.result.setReadOnly(True)
        self.result.setMinimumHeight(80)
        right.addWidget(self.result, 1)
        row.addWidget(self.tool_pane, 1)
        self.details.addTab(tools, "Tools")
        self.resources: ResourceBrowser | None = None
        self.prompts: PromptBrowser | None = None
        if self.deps.browser is not None:
            self.resources = ResourceBrowser(self.deps.browser, self.tasks)
            self.details.addTab(self.resources, "Resources")
            self.prompts = PromptBrowser(self.deps.browser, self.tasks)
            self.details.addTab(self.prompts, "Prompts")
        self.log_view = ServerLogView(self.deps.colors())
        self.deps.theme_changed.connect(lambda _s: self.log_view.set_colors(self.deps.colors()))
        self.log = self.log_view.text
        self.details.addTab(self.log_view, "Log")
        config = QWidget()
        config_column = QVBoxLayout(config)
        # What cannot work on this machine as written (Windows paths, placeholders, missing
        # programs): the server may still check out, so nothing else would say it.
        self.lint_label = QLabel()
        self.lint_label.setObjectName("serverLint")
        self.lint_label.setWordWrap(True)
        self.lint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lint_label.hide()
        config_column.addWidget(self.lint_label)
        self.server_secrets = ServerSecrets()
        self.server_secrets.save_requested.connect(self._on_save_secrets)
        config_column.addWidget(self.server_secrets)
        self.server_folders: ServerFolders | None = None
        if self.deps.roots is not None:
            self.server_folders = ServerFolders(str(self.deps.roots.workspace))
            self.server_folders.changed.connect(self._on_folders_changed)
            config_column.addWidget(self.server_folders)
        self.config_view = QPlainTextEdit()
        self.config_view.setReadOnly(True)
        config_column.addWidget(self.config_view, 1)
        self.details.addTab(config, "Configuration")

    # -- data -------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.start("Loading MCP servers", self._load())

    async def _load(self) -> None:
        try:
            await self.deps.manager.load()
        except McpConfigError as exc:
            messages.error(f"mcp_servers.json could not be read: {exc}")
        self._policies = await self.deps.tool_policies()
        self.model.set_statuses(self.deps.manager.statuses())
        self._fit_table()
        self._snap_table()
        if self.model.rowCount() and not self.table.currentIndex().isValid():
            self.table.selectRow(0)
        self._show_details()

    def _on_manager_status(self, status: ServerStatus) -> None:
        self.model.update(status)
        if self.selected() == status.name:
            self._show_details()

    def selected(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.status(index.row()).name if index.isValid() else None

    def _show_details(self) -> None:
        name = self.selected()
        status = self.deps.manager.status(name) if name else None
        for button in (self.edit_button, self.remove_button, self.restart_button, self.stop_button):
            button.setEnabled(status is not None)
        self.heading.setText(name or "")
        if status is None:
            return
        # The selected row stays in view (the table may be a few rows tall).
        self.table.scrollTo(self.table.currentIndex())
        self.stop_button.setEnabled(status.state in (ServerState.RUNNING, ServerState.STARTING))
        self.restart_button.setText(
            "Start" if status.state in (ServerState.STOPPED, ServerState.FAILED) else "Restart"
        )
        # An off server cannot start: Start on one only answered with an error box.
        self.restart_button.setEnabled(status.enabled)
        self.restart_button.setToolTip(
            "" if status.enabled else f"{name} is off: tick its On box to start it."
        )
        current = self.tool_list.currentItem()
        current_name = current.text() if current else None
        self.tool_list.blockSignals(True)
        self.tool_list.clear()
        for tool in status.tools:
            item = QListWidgetItem(tool.name)
            item.setData(Qt.ItemDataRole.UserRole, tool)
            self.tool_list.addItem(item)
            if tool.name == current_name:
                self.tool_list.setCurrentItem(item)
        self.tool_list.blockSignals(False)
        if self.tool_list.currentItem() is None and self.tool_list.count():
            self.tool_list.setCurrentRow(0)
        self._show_tool()
        for tab in (self.resources, self.prompts):
            if tab is not None:
                tab.set_server(
                    name,
                    running=status.state is ServerState.RUNNING,
                    starting=status.state is ServerState.STARTING,
                )
        self.log_view.show_lines(list(status.stderr_tail), status.error)
        config = self.deps.manager.config(name)
        if self.sign_in is not None:
            self.sign_in.show_server(config)
        self.config_view.setPlainText(
            json.dumps(config.raw, indent=2) if config else "(this entry has errors)"
        )
        # PATH and file checks are a few stat calls; the keyring (is_set) is left to the CLI
        # because it may block on D-Bus.
        warnings = (
            lint_server(
                config, path=self.deps.manager.path, which=shutil.which, exists=os.path.exists
            )
            if config
            else []
        )
        self._show_secrets(config)
        if self.server_folders is not None:
            self.server_folders.show_folders(self.deps.roots.added(name))
        self.lint_label.setText("\n".join(f"⚠ {w.where}: {w.message}" for w in warnings))
        self.lint_label.setVisible(bool(warnings))
        self.details.setTabText(
            self.details.indexOf(self.config_view.parentWidget()),
            f"Configuration ({len(warnings)} ⚠)" if warnings else "Configuration",
        )

    def _show_secrets(self, config: Any) -> None:
        """A field for each ${VAR} the selected server uses (where its sources are read off the
        loop: the keyring may block)."""
        secrets = self.deps.secrets
        names = [] if config is None or secrets is None else variables_in(config)
        names = [n for n in names if n not in self.deps.filled_by_studio]
        self.server_secrets.show_names(names)
        if names and secrets is not None:
            self.tasks.start("Reading the server's secrets", self._read_sources(names))

    async def _read_sources(self, names: list[str]) -> None:
        assert self.deps.secrets is not None
        self.server_secrets.show_sources(await self.deps.secrets.sources(names))

    def _on_folders_changed(self, folders: list[str]) -> None:
        name = self.selected()
        if name is not None:
            saving = self.deps.roots.set_added(name, folders, self.deps.manager)
            self.tasks.start("Saving the server's folders", saving)

    def _on_save_secrets(self, values: dict[str, str]) -> None:
        self.tasks.start(
            "Saving the server's secrets",
            self._save_secrets(values),
            busy=[self.server_secrets.save_button],
        )

    async def _save_secrets(self, values: dict[str, str]) -> None:
        assert self.deps.secrets is not None
        await self.deps.secrets.store(values)
        self.server_secrets.saved()
        await self._read_sources(list(self.server_secrets.fields))
        name = self.selected()
        messages.info(
            f"Saved {', '.join(values)}. Start {name} again to use "
            f"{'them' if len(values) > 1 else 'it'}."
        )

    def _show_tool(self) -> None:
        item = self.tool_list.currentItem()
        tool: ToolInfo | None = item.data(Qt.ItemDataRole.UserRole) if item else None
        running = (
            bool(self.selected())
            and self.deps.manager.status(self.selected() or "").state is ServerState.RUNNING
        )
        self.call_button.setEnabled(tool is not None and running)
        showing = (self.selected(), tool.name if tool else None)
        if showing != self._result_for:  # another tool's result would mislead
            self._result_for = showing
            self.result.clear()
        self.tool_pane.setVisible(tool is not None)
        self.no_tools.setVisible(tool is None)
        if tool is None:
            name = self.selected()
            self.no_tools.setText(
                "This server has no tools."
                if running
                else _why_no_tools(self.deps.manager.status(name) if name else None)
            )
            return
        self.tool_description.setText(f"<b>{tool.name}</b> — {tool.description or ''}")
        self.schema_view.setPlainText(json.dumps(tool.input_schema, indent=2))
        self.form.set_schema(tool.input_schema)
        index = self.policy.findData(self._policies.get(tool.name, "ask"))
        self.policy.setCurrentIndex(max(index, 0))

    # -- actions ----------------------------------------------------------------------------

    def _on_model_toggle_requested(self, name: str, enabled: bool) -> None:
        self.tasks.start(
            f"Turning {name} {'on' if enabled else 'off'}", self._toggle(name, enabled)
        )

    async def _toggle(self, name: str, enabled: bool) -> None:
        await self.deps.manager.set_enabled(name, enabled)
        if enabled:
            await self.deps.manager.start(name)

    def restart_server(self) -> None:
        name = self.selected()
        if name:
            self.tasks.start(f"Starting {name}", self.deps.manager.restart(name))

    def stop_server(self) -> None:
        name = self.selected()
        if name:
            self.tasks.start(f"Stopping {name}", self.deps.manager.stop(name))

    def reload(self) -> None:
        self.tasks.start("Reloading mcp_servers.json", self._reload())

    async def _reload(self) -> None:
        try:
            await self.deps.manager.reload()
        except McpConfigError as exc:
            messages.error(
                "mcp_servers.json has an error, so nothing was changed.", details=str(exc)
            )
            return
        self.model.set_statuses(self.deps.manager.statuses())
        messages.info("MCP servers reloaded.")

    def add_server(self) -> None:
        answer = self.ask_server(self, "", dict(NEW_SERVER))
        if answer:
            self.tasks.start("Adding a server", self._save(*answer))

    def edit_server(self) -> None:
        name = self.selected()
        config = self.deps.manager.config(name) if name else None
        if name is None:
            return
        answer = self.ask_server(self, name, dict(config.raw) if config else {})
        if answer:
            self.tasks.start("Saving the server", self._save(*answer, replaces=name))

    async def _save(self, name: str, raw: dict[str, Any], replaces: str | None = None) -> None:
        await self.deps.manager.save_server(name, raw, replaces=replaces)
        self.model.set_statuses(self.deps.manager.statuses())
        self.table.selectRow(self.model.row_of(name))
        messages.info(f"Saved the MCP server {name}.")

    # -- importing --------------------------------------------------------------------------

    def import_locations(self) -> list[ConfigLocation]:
        """The usual config files of other MCP clients that exist on this machine."""
        from carrier_studio.core.mcp.config import base_dir
        from carrier_studio.core.mcp.importing import config_locations

        project = base_dir(self.deps.manager.path)
        return [loc for loc in config_locations(project=project) if loc.path.is_file()]

    def _on_import_clicked(self) -> None:
        path = self.ask_import_file(self, self.import_locations())
        if path is not None:
            self.tasks.start(
                "Importing MCP servers", self.import_from(path), busy=[self.import_button]
            )

    async def import_from(self, source: Path) -> None:
        """Plan the import of ``source``, show the preview, then apply what the user chose."""
        from carrier_studio.core.mcp.importing import plan_import, read_client_config

        manager, secrets = self.deps.manager, self.deps.secrets
        await manager.load()
        existing = list(manager.configured)
        note = await self._secrets_note()

        def plan() -> list[ImportCandidate]:
            servers = read_client_config(source.read_text(encoding="utf-8-sig"), source)
            return plan_import(
                servers,
                existing,
                path=manager.path,
                on_clash="rename",
                move_secrets=note is None,
                which=shutil.which,
                exists=os.path.exists,
                stored=secrets.get if secrets is not None and note is None else None,
            )

        try:
            candidates = await asyncio.to_thread(plan)
        except (OSError, McpConfigError) as exc:
            messages.error(f"{source} could not be imported.", details=str(exc))
            return
        chosen = await self.ask_import(self, source, candidates, existing, note)
        if chosen is None:
            return
        await self._apply_import([c for c in chosen if c.action != "skip"])

    async def _secrets_note(self) -> str | None:
        """Why secrets cannot be moved to the keyring here, or None when they can."""
        secrets = self.deps.secrets
        if secrets is None:
            return "Secrets stay as written: this window has no keyring connected."
        if secrets.storage != "keyring" or not await secrets.probe():
            return (
                "Secrets stay as written: no OS keyring is in use (Settings → Secrets). "
                "Moving them to a .env would still be plain text."
            )
        return None

    async def _apply_import(self, chosen: list[ImportCandidate]) -> None:
        done: list[str] = []
        for candidate in chosen:
            stored = candidate.stored_secrets()
            if stored:
                # The keyring first: the file must never name a ${VAR} the keyring refused,
                # and a moved secret must never reach the file.
                assert self.deps.secrets is not None
                await self.deps.secrets.store(stored)
            await self.deps.manager.save_server(
                candidate.name,
                candidate.final_raw(),
                replaces=candidate.name if candidate.action == "replace" else None,
            )
            done.append(candidate.name)
        self.model.set_statuses(self.deps.manager.statuses())
        if done:
            self.table.selectRow(self.model.row_of(done[0]))
            messages.info(f"Imported {', '.join(done)}.")
        else:
            messages.info("Nothing was imported.")

    def remove_server(self) -> None:
        name = self.selected()
        if name and self.confirm_remove(name):
            self.tasks.start(f"Removing {name}", self._remove(name))

    def confirm_remove(self, name: str) -> bool:
        answer = QMessageBox.question(
            self, "Remove MCP server", f"Remove {name} from mcp_servers.json? It is stopped first."
        )
        return answer == QMessageBox.StandardButton.Yes

    async def _remove(self, name: str) -> None:
        await self.deps.manager.remove_server(name)
        self.model.set_statuses(self.deps.manager.statuses())
        self._show_details()

    def call_tool(self) -> None:
        name = self.selected()
        item = self.tool_list.currentItem()
        if not name or item is None:
            return
        try:
            arguments = self.form.values()
        except ValueError as exc:
            self.result.setPlainText(f"Not called: {exc}")
            return
        tool = item.data(Qt.ItemDataRole.UserRole).name
        self.tasks.start(
            f"Calling {tool}", self._call(name, tool, arguments), busy=[self.call_button]
        )

    async def _call(self, server: str, tool: str, arguments: dict[str, Any]) -> None:
        self.result.setPlainText(f"Calling {tool}…")
        self._calling = tool
        try:
            result = await self.deps.manager.call_tool(server, tool, arguments)
        finally:
            self._calling = None
        if (server, tool) != self._result_for:  # the user has moved on to another tool
            return
        prefix = "The tool reported an error:\n" if result.is_error else ""
        extra = (
            f"\n\nStructured:\n{json.dumps(result.structured, indent=2)}"
            if result.structured
            else ""
        )
        self.result.setPlainText(f"{prefix}{result.text}{extra}")

    def _on_policy_activated(self, _index: int) -> None:
        item = self.tool_list.currentItem()
        if item is not None:
            tool = item.data(Qt.ItemDataRole.UserRole).name
            policy = self.policy.currentData()
            self._policies[tool] = policy
            # One task per tool: a quick second change to another tool must not be dropped.
            self.tasks.start(
                f"Saving the policy of {tool}", self.deps.set_tool_policy(tool, policy)
            )

    def open_tool_maker(self) -> ToolMakerDialog | None:
        if self.deps.draft_tool is None or self.deps.save_tool is None:
            return None
        dialog = ToolMakerDialog(
            self.deps.draft_tool, self.deps.save_tool, self.deps.model_label(), self.tasks, self
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_list_changed(self, change: ListChanged) -> None:
        # Tools come back through the status (the manager lists them again itself).
        if change.server != self.selected():
            return  # listed afresh when it is selected
        tab = {"resources": self.resources, "prompts": self.prompts}.get(change.kind)
        if tab is not None:
            tab.refresh()

    def _on_progress(self, progress: ToolProgress) -> None:
        """Progress of the page's own Call tool (a chat's calls have a call id)."""
        if progress.call_id or self._calling is None:
            return
        if (progress.server, progress.tool) != (self.selected(), self._calling):
            return
        done = f"{progress.progress:g}" + (f" of {progress.total:g}" if progress.total else "")
        about = f" — {progress.message}" if progress.message else ""
        self.result.setPlainText(f"Calling {self._calling}… {done}{about}")

    async def shutdown(self) -> None:
        # Their listings and reads in flight would otherwise answer into deleted widgets.
        for tab in (self.resources, self.prompts):
            if tab is not None:
                tab.cancel_pending()
        for unwatch in self._unwatch:
            unwatch()
        self._unwatch = []
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
