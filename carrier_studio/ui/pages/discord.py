"""The Discord page: start and stop the bot, choose who it answers, watch what it does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.discord import ActivityEntry, BotPhase, BotStatus
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.avatar import show_avatars
from carrier_studio.ui.widgets.page import Page

if TYPE_CHECKING:
    from carrier_studio.services.chat.service import ChatService
    from carrier_studio.services.discord.controller import DiscordController
    from carrier_studio.services.platform.settings_store import SettingsStore

ACTIVITY_ROWS = 300

_PHASE_COLOR = {
    BotPhase.CONNECTED: "ok",
    BotPhase.CONNECTING: "warn",
    BotPhase.RECONNECTING: "warn",
    BotPhase.ERROR: "error",
    BotPhase.STOPPED: "idle",
}


@dataclass
class DiscordPageDeps:
    controller: DiscordController
    settings: SettingsStore
    chat: ChatService
    colors: Callable[[], dict[str, str]]
    #: True when no bot token is stored (a keyring read: called in a thread); None: unknown.
    token_missing: Callable[[], bool] | None = None


#: How the bot's status begins when it has no token (services' NO_TOKEN: "no bot token: …").
NO_TOKEN_DETAIL = "no bot token"


class DiscordPage(Page):
    #: The user asked to go to Settings (to add the bot token).
    open_settings = Signal()

    def __init__(self, deps: DiscordPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(
            "Discord",
            "A bot that answers as one of your characters, on the studio's own event loop. "
            "The bot token is set under Settings → Discord.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Answer as"))
        self.character = QComboBox()
        self.character.setObjectName("discordCharacter")
        self.character.setMinimumWidth(200)
        controls.addWidget(self.character)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("discordStart")
        self.start_button.setProperty("primary", True)
        self.start_button.clicked.connect(self._on_start_clicked)
        controls.addWidget(self.start_button)
        self.status_label = QLabel()
        self.status_label.setObjectName("discordStatus")
        # A long connection error wraps inside the card, whole, instead of running off it.
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls.addWidget(self.status_label, 1)
        self.settings_button = QPushButton("Open Settings")
        self.settings_button.setObjectName("discordOpenSettings")
        self.settings_button.setToolTip("Add the bot token under Settings → Discord")
        self.settings_button.clicked.connect(self.open_settings)
        self.settings_button.hide()  # only while the bot token is missing
        controls.addWidget(self.settings_button)
        self._token_missing = False
        self.body.addLayout(controls)

        options = QGroupBox("Who the bot answers")
        form = QFormLayout(options)
        self.mentions_only = QCheckBox("Only messages that mention the bot (recommended)")
        self.allow_dms = QCheckBox("Direct messages")
        self.at_launch = QCheckBox("Start the bot when the studio opens")
        self.allowlist = QLineEdit()
        self.allowlist.setObjectName("discordAllowlist")
        self.allowlist.setPlaceholderText("every channel it can see — or e.g. general, 1234567890")
        form.addRow("", self.mentions_only)
        form.addRow("", self.allow_dms)
        form.addRow("Channels", self.allowlist)
        form.addRow("", self.at_launch)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save_options)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        form.addRow("", save_row)
        self.body.addWidget(options)

        splitter = QSplitter()
        self.guilds = QTreeWidget()
        self.guilds.setObjectName("discordGuilds")
        # Short enough for the pane at 1024x700 ("Servers and channels the bo" was cut).
        self.guilds.setHeaderLabels(["Servers and channels"])
        self.guilds.headerItem().setToolTip(0, "The servers and channels the bot sees")
        splitter.addWidget(self.guilds)
        self.activity = QTableWidget(0, 5)
        self.activity.setObjectName("discordActivity")
        self.activity.setHorizontalHeaderLabels(["Time", "Channel", "Message", "Reply", "Latency"])
        self.activity.verticalHeader().hide()
        header = self.activity.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        splitter.addWidget(self.activity)
        splitter.setSizes([260, 700])
        self.body.addWidget(splitter, 1)

        self._unsubscribe = [
            deps.controller.status_changed.subscribe(self._show_status),
            deps.controller.activity.subscribe(self._add_activity),
        ]
        self._load_options()
        self._show_status(deps.controller.status)
        for entry in deps.controller.recent_activity():
            self._add_activity(entry)
        self.refresh()

    def refresh(self) -> None:
        """List the characters again (shown again after a character was added or renamed)."""
        self.tasks.start("Loading characters for Discord", self._load_characters())
        if self.deps.token_missing is not None:
            self.tasks.start("Looking for the Discord bot token", self._check_token())

    async def _check_token(self) -> None:
        assert self.deps.token_missing is not None
        self._token_missing = await asyncio.to_thread(self.deps.token_missing)
        self._show_settings_button(self.deps.controller.status)

    def _show_settings_button(self, status: BotStatus) -> None:
        """Offer the way to Settings while the token is missing, and only then (#15)."""
        said = status.phase is BotPhase.ERROR and status.detail.startswith(NO_TOKEN_DETAIL)
        connected = status.phase is BotPhase.CONNECTED
        self.settings_button.setVisible((said or self._token_missing) and not connected)

    # -- options ----------------------------------------------------------------------------

    def _load_options(self) -> None:
        discord = self.deps.settings.settings.discord
        self.mentions_only.setChecked(discord.mentions_only)
        self.allow_dms.setChecked(discord.allow_dms)
        self.at_launch.setChecked(discord.start_at_launch)
        self.allowlist.setText(", ".join(discord.channel_allowlist))

    async def _load_characters(self) -> None:
        pickable = await self.deps.chat.pickable()
        names = sorted(pickable)
        # The box's own choice first: a re-list must not undo a choice not saved yet.
        chosen = self.character.currentText() or self.deps.settings.settings.discord.character
        self.character.clear()
        self.character.addItems(names)
        if chosen in names:
            self.character.setCurrentText(chosen)
        else:
            # The Discord host of the examples, when there is one.
            hosts = [n for n in names if n.lower() == "juniper"]
            if hosts:
                self.character.setCurrentText(hosts[0])
        await show_avatars(self.character, pickable)

    def _options(self):  # noqa: ANN202 - a DiscordSettings
        discord = self.deps.settings.settings.discord
        return discord.model_copy(
            update={
                "character": self.character.currentText(),
                "mentions_only": self.mentions_only.isChecked(),
                "allow_dms": self.allow_dms.isChecked(),
                "start_at_launch": self.at_launch.isChecked(),
                "channel_allowlist": [
                    c.strip().lstrip("#") for c in self.allowlist.text().split(",") if c.strip()
                ],
            }
        )

    def save_options(self) -> None:
        self.tasks.start("Saving Discord options", self._save(), busy=[self.save_button])

    async def _save(self, *, say: bool = True) -> None:
        store = self.deps.settings
        settings = store.settings.model_copy(update={"discord": self._options()})
        await store.save_async(settings)
        if say:
            note = " Restart the bot to apply them." if self.deps.controller.running else ""
            messages.info(f"Discord options saved.{note}")

    # -- start / stop -----------------------------------------------------------------------

    def _on_start_clicked(self) -> None:
        active = (BotPhase.CONNECTING, BotPhase.CONNECTED, BotPhase.RECONNECTING)
        if self.deps.controller.status.phase in active:
            self.tasks.start("Stopping the Discord bot", self.deps.controller.stop())
        else:
            if not self.character.currentText():
                messages.warning("Choose a character for the bot first.")
                return
            self.tasks.start("Starting the Discord bot", self._start())

    async def _start(self) -> None:
        # Saved quietly: "Discord options saved." answered a Start that then failed (no bot
        # token), the status line beside the button saying why.
        await self._save(say=False)
        await self.deps.controller.start(self.deps.settings.settings.discord)
        self._show_guilds()

    def _show_status(self, status: BotStatus) -> None:
        color = self.deps.colors()[_PHASE_COLOR[status.phase]]
        detail = status.detail or status.phase.value
        if status.rate_limited_for:
            detail += f" (rate limited, retrying in {status.rate_limited_for:.1f} s)"
        self.status_label.setText(f"<span style='color:{color}'>●</span> {detail}")
        active = status.phase in (BotPhase.CONNECTING, BotPhase.CONNECTED, BotPhase.RECONNECTING)
        self.start_button.setText("Stop" if active else "Start")
        self.character.setEnabled(not active)
        if status.phase is BotPhase.CONNECTED:
            self._token_missing = False
        self._show_settings_button(status)
        if status.phase is BotPhase.CONNECTED:
            self._show_guilds()

    def _show_guilds(self) -> None:
        bot = self.deps.controller.bot
        self.guilds.clear()
        if bot is None:
            return
        for guild in bot.guilds_and_channels():
            node = QTreeWidgetItem([guild.name])
            for channel in guild.channels:
                mark = "" if channel.allowed else "  (not answered)"
                child = QTreeWidgetItem([f"#{channel.name}{mark}"])
                child.setToolTip(
                    0, f"id {channel.id}; {'can' if channel.can_send else 'cannot'} send"
                )
                node.addChild(child)
            self.guilds.addTopLevelItem(node)
            node.setExpanded(True)

    def _add_activity(self, entry: ActivityEntry) -> None:
        row = self.activity.rowCount()
        self.activity.insertRow(row)
        latency = f"{entry.latency_s:.1f} s" if entry.latency_s is not None else ""
        cells = [
            entry.at.astimezone().strftime("%H:%M:%S"),
            entry.channel
            if entry.channel.startswith("#")
            else f"#{entry.channel}"
            if entry.channel
            else "",
            f"{entry.author}: {entry.prompt}" if entry.author else entry.prompt or entry.detail,
            entry.reply or entry.detail,
            latency,
        ]
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.activity.setItem(row, column, item)
        # Keep the last few hundred: a busy server would otherwise grow the table forever.
        while self.activity.rowCount() > ACTIVITY_ROWS:
            self.activity.removeRow(0)
        self.activity.scrollToBottom()

    async def shutdown(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
