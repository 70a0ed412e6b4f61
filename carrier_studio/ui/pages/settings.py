"""Settings: providers and keys, memory, Discord, Instagram, FTP, secrets storage, appearance.

Choices are saved to the settings file; secrets go to the `SecretStore` (the keyring unless the
user chose otherwise) and are never shown back, only where they are kept.

"Test connection" asks a server for its models and "Find local servers" looks for Ollama, LM
Studio, llama.cpp and vLLM on this computer, through the `ModelProbe` the app passes in (the
providers service: the UI opens no connections of its own).
"""

# Long: one form over every settings section; the sections are the next cut.

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.secret_names import SUPABASE_DB_URL_SECRET
from carrier_studio.core.settings import (
    DEFAULT_MODELS,
    PROVIDERS,
    CompatEndpoint,
    Settings,
    same_server,
)
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.theme import ThemeManager
from carrier_studio.ui.widgets.ask import Ask
from carrier_studio.ui.widgets.page import Page, page_shortcut
from carrier_studio.ui.widgets.secret_field import SecretField

if TYPE_CHECKING:
    from carrier_studio.services.platform.secrets import SecretStore
    from carrier_studio.services.platform.settings_store import SettingsChange, SettingsStore

_STORAGE_CHOICES = [
    ("keyring", "System keyring (recommended)"),
    ("session", "This session only — forgotten when the studio quits"),
    ("dotenv", "Workspace .env file — plain text, readable by anyone with the folder"),
]
#: Where a secret was found, as the Clear question says it.
_SOURCE_WORDS = {
    "keyring": "the system keyring",
    "session": "this session",
    ".env": "the workspace .env file",
}
_PROVIDERS = list(PROVIDERS.items())
#: The key each official provider's "Test connection" sends.
_PROVIDER_KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_ERROR_STYLE = "color: #D0393E"
_TESTING = "Testing the connection"


@dataclass(frozen=True)
class ModelProbe:
    """How the page asks servers for their models (`services.providers`, passed in by the app).

    Both raise or skip in words: `list_models` raises a `CarrierError` saying what is wrong.
    """

    #: (provider kind, base URL, API key) -> the model ids the server offers.
    list_models: Callable[[str, str, str], Awaitable[list[str]]]
    #: The local servers that answer: (endpoint name, base URL, models) each.
    find_local_servers: Callable[[], Awaitable[Sequence[tuple[str, str, list[str]]]]]


class ModelBox(QComboBox):
    """The default model: any name typed, or one of the models the server offers.

    Reads and writes like the line edit it replaced (`text`, `setText`, `clear` empties what is
    typed); `offer` lists models under it without touching what is typed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)

    def text(self) -> str:
        return self.currentText()

    def setText(self, text: str) -> None:  # noqa: N802 - QLineEdit's name, kept for callers
        self.setEditText(text)

    def clear(self) -> None:
        self.clearEditText()

    def offer(self, models: Sequence[str]) -> None:
        text = self.currentText()
        blocked = self.blockSignals(True)
        try:
            super().clear()
            self.addItems(list(models))
            self.setCurrentIndex(-1)
            self.setEditText(text)
        finally:
            self.blockSignals(blocked)

    def offered(self) -> list[str]:
        return [self.itemText(i) for i in range(self.count())]


def _listing(models: Sequence[str], shown: int = 6) -> str:
    names = ", ".join(models[:shown])
    more = len(models) - shown
    return names + (f" and {more} more" if more > 0 else "")


def _combo(choices: list[tuple[str, str]], name: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for value, label in choices:
        combo.addItem(label, value)
    return combo


def _select(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


class SettingsPage(Page):
    #: True when the form differs from what is saved.
    dirty_changed = Signal(bool)
    saved = Signal()

    def __init__(
        self,
        store: SettingsStore,
        secrets: SecretStore,
        theme: ThemeManager,
        tasks: TaskOwner,
        parent: QWidget | None = None,
        *,
        probe: ModelProbe | None = None,
        open_guide: Callable[[], None] | None = None,
        mcp_variables: Callable[[], Awaitable[Sequence[tuple[str, Sequence[str]]]]] | None = None,
    ) -> None:
        super().__init__(
            "Settings",
            # Where keys go depends on the computer (see the banner below), so it is not said here.
            "Providers and keys, memory, Discord, Instagram and hosting. Keys never go into "
            "settings files, characters or logs.",
            parent,
        )
        self._store = store
        self._secrets = secrets
        self._theme = theme
        self._tasks = tasks
        #: Lists models and finds local servers (tests point it at a fake server).
        self.probe = probe
        #: Opens the first-run guide again (the app's; None: no such button).
        self._open_guide = open_guide
        #: The ``${VAR}`` names the workspace's MCP servers use, each with the servers using it.
        self._mcp_variables = mcp_variables
        #: Models a server listed, by (provider, endpoint name or ""), offered by the model box.
        self._listed: dict[tuple[str, str], list[str]] = {}
        self._loading = False
        #: The page's questions (tests replace it).
        self.ask = Ask
        self.dirty = False
        self.secret_fields: dict[str, SecretField] = {}

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        content = QWidget()
        self._column = QVBoxLayout(content)
        self._column.setContentsMargins(0, 0, 12, 0)
        scroll.setWidget(content)
        self.body.addWidget(scroll, 1)

        self._build_secrets_section()
        self._build_providers_section()
        self._build_memory_section()
        self._build_mcp_section()
        self._build_discord_section()
        self._build_instagram_section()
        self._build_ftp_section()
        self._build_appearance_section()
        self._column.addStretch(1)

        self.error_label = QLabel()
        self.error_label.setObjectName("settingsError")
        self.error_label.setStyleSheet("color: #D0393E")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.body.addWidget(self.error_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self.load_from_store)
        self.save_button = QPushButton("Save")
        self.save_button.setProperty("primary", True)
        self.save_button.setToolTip("Save settings (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        self.body.addLayout(buttons)
        page_shortcut(QKeySequence.StandardKey.Save, self, self.save)

        self.load_from_store()
        store.changed.subscribe(self._on_store_changed)

    def _on_store_changed(self, change: SettingsChange) -> None:
        # Another page saved (the Discord page, the window state): show it, unless the user
        # is editing here — their edits are saved over it, on purpose, when they press Save.
        if change.by is not self and not self.dirty:
            self.load_from_store()

    # -- building -------------------------------------------------------------------------

    def _group(self, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._column.addWidget(box)
        return form

    def _secret(self, form: QFormLayout, name: str, label: str) -> SecretField:
        field = SecretField(name)
        field.edited.connect(self._mark_dirty)
        field.clear_requested.connect(self._on_secret_clear_requested)
        form.addRow(label, field)
        self.secret_fields[name] = field
        return field

    def _watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            for signal in ("textEdited", "currentIndexChanged", "valueChanged", "toggled"):
                if hasattr(widget, signal):
                    getattr(widget, signal).connect(self._mark_dirty)

    def _build_secrets_section(self) -> None:
        form = self._group("Where secrets are kept")
        self.keyring_banner = QLabel("Checking the system keyring…")
        self.keyring_banner.setObjectName("banner")
        self.keyring_banner.setWordWrap(True)
        form.addRow(self.keyring_banner)
        self.storage = _combo(_STORAGE_CHOICES, "secretStorage")
        form.addRow("Store secrets in", self.storage)
        self.import_env_button = QPushButton("Import workspace .env into the keyring")
        self.import_env_button.setObjectName("importEnv")
        self.import_env_button.setEnabled(False)
        self.import_env_button.clicked.connect(self._on_import_env_clicked)
        form.addRow("", self.import_env_button)
        self._watch(self.storage)

    def _build_providers_section(self) -> None:
        form = self._group("Model providers")
        if self._open_guide is not None:
            guide = QPushButton("Set up a model step by step…")
            guide.setObjectName("openFirstRun")
            guide.setToolTip("The first-run guide: a local server, OpenAI or Anthropic, tested")
            guide.clicked.connect(self._open_guide)
            form.addRow("", guide)
        self._secret(form, "OPENAI_API_KEY", "OpenAI API key")
        self._secret(form, "ANTHROPIC_API_KEY", "Anthropic API key")
        self.provider = _combo(_PROVIDERS, "defaultProvider")
        form.addRow("Default provider", self.provider)
        self.model = ModelBox()
        self.model.setObjectName("defaultModel")
        self.model.lineEdit().setPlaceholderText("e.g. gpt-4.1-mini, claude-sonnet-4-5, llama3.2")
        self.model.setToolTip("Type any model name, or pick one the server listed")
        self.test_default_button = QPushButton("Test connection")
        self.test_default_button.setObjectName("testDefaultConnection")
        self.test_default_button.setToolTip(
            "Ask the default provider (or its endpoint) which models it offers"
        )
        self.test_default_button.clicked.connect(self._on_test_default_clicked)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.test_default_button)
        self.default_status = self._status_label("defaultConnectionStatus")
        form.addRow("Default model", self._stacked(model_row, self.default_status))
        self.endpoint = QComboBox()
        self.endpoint.setObjectName("defaultEndpoint")
        form.addRow("Endpoint", self.endpoint)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        form.addRow("Temperature", self.temperature)
        self.tracing = QCheckBox("Upload run traces to OpenAI (off: runs are recorded locally)")
        form.addRow("", self.tracing)
        self.openai_url = QLineEdit()
        self.openai_url.setObjectName("openaiBaseUrl")
        self.openai_url.setPlaceholderText("https://api.openai.com/v1 (leave empty)")
        self.openai_url.setToolTip("Only for a gateway or proxy in front of the OpenAI API")
        form.addRow("OpenAI base URL", self.openai_url)
        self.anthropic_url = QLineEdit()
        self.anthropic_url.setPlaceholderText("https://api.anthropic.com (leave empty)")
        self.anthropic_url.setToolTip("Only for a gateway or proxy in front of the Anthropic API")
        form.addRow("Anthropic base URL", self.anthropic_url)

        self.endpoints = QTableWidget(0, 3)
        self.endpoints.setObjectName("endpointsTable")
        # "Models (comma-separated)" did not fit its column at 1024x700: the hint is a tooltip.
        self.endpoints.setHorizontalHeaderLabels(["Name", "Base URL", "Models"])
        models_header = self.endpoints.horizontalHeaderItem(2)
        models_header.setToolTip("The models this server offers, comma-separated")
        self.endpoints.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.endpoints.verticalHeader().hide()
        self.endpoints.setMinimumHeight(110)
        self.endpoints.itemChanged.connect(self._on_endpoints_item_changed)
        form.addRow("OpenAI-compatible\nendpoints", self.endpoints)
        row = QHBoxLayout()
        # Short labels: four long ones made the form wider than a 1024x700 window's page.
        add = QPushButton("Add")
        add.setToolTip("Add an endpoint row")
        add.clicked.connect(self._on_add_endpoint_clicked)
        remove = QPushButton("Remove")
        remove.setToolTip("Remove the selected endpoint")
        remove.clicked.connect(self._on_remove_endpoint_clicked)
        self.test_endpoint_button = QPushButton("Test connection")
        self.test_endpoint_button.setObjectName("testEndpointConnection")
        self.test_endpoint_button.setToolTip("Ask the selected endpoint which models it offers")
        self.test_endpoint_button.clicked.connect(self._on_test_endpoint_clicked)
        self.find_local_button = QPushButton("Find local servers")
        self.find_local_button.setObjectName("findLocalServers")
        self.find_local_button.setToolTip(
            "Look for Ollama, LM Studio, llama.cpp and vLLM on this computer, and add each "
            "one found"
        )
        self.find_local_button.clicked.connect(self._on_find_local_clicked)
        row.addWidget(add)
        row.addWidget(remove)
        row.addWidget(self.test_endpoint_button)
        row.addWidget(self.find_local_button)
        row.addStretch(1)
        self.endpoint_status = self._status_label("endpointConnectionStatus")
        form.addRow("", self._stacked(row, self.endpoint_status))
        for button in (self.test_default_button, self.test_endpoint_button, self.find_local_button):
            button.setEnabled(self.probe is not None)
        self.provider.currentIndexChanged.connect(self._update_endpoint_enabled)
        self.provider.currentIndexChanged.connect(self._refresh_model_offers)
        self.endpoint.currentIndexChanged.connect(self._refresh_model_offers)
        # Typing a name or picking a listed one; not `offer`, which keeps what is typed.
        self.model.lineEdit().textEdited.connect(self._mark_dirty)
        self.model.activated.connect(self._mark_dirty)
        self._watch(
            self.provider,
            self.endpoint,
            self.temperature,
            self.tracing,
            self.openai_url,
            self.anthropic_url,
        )

    def _build_memory_section(self) -> None:
        form = self._group("Memory")
        self.memory_backend = _combo(
            [("sqlite", "Local (SQLite + sqlite-vec)"), ("supabase", "Supabase (pgvector)")],
            "memoryBackend",
        )
        form.addRow("Backend", self.memory_backend)
        self.embedder = _combo(
            [("local-minilm", "Local all-MiniLM-L6-v2 (offline)"), ("openai", "OpenAI embeddings")],
            "embedder",
        )
        form.addRow("Embedder", self.embedder)
        self.supabase_url = QLineEdit()
        self.supabase_url.setPlaceholderText("https://YOUR-PROJECT.supabase.co")
        form.addRow("Supabase URL", self.supabase_url)
        self._secret(form, "SUPABASE_SERVICE_KEY", "Supabase service key")
        database = self._secret(form, SUPABASE_DB_URL_SECRET, "Supabase database URL")
        database.setToolTip(
            "Optional: the project's connection string (Project Settings → Database, direct "
            "connection or session pooler on port 5432), e.g. postgresql://postgres:PASSWORD@"
            "db.YOUR-PROJECT.supabase.co:5432/postgres. With it, moving memories to Supabase "
            "copies them straight into the database, many times faster than through the API. "
            "Kept with the other secrets, never in the settings file."
        )
        self._watch(self.memory_backend, self.embedder, self.supabase_url)

    def _build_mcp_section(self) -> None:
        """A field for every ${VAR} the workspace's MCP servers use (the GitHub server's error
        said "add it in Settings", where there was no field for it), filled in once the
        catalogue is read (`_add_mcp_fields`); hidden while there is none."""
        self._mcp_form = self._group("MCP server secrets")
        self._mcp_box = self._mcp_form.parentWidget()
        self._mcp_box.hide()

    async def _add_mcp_fields(self) -> None:
        """Ones another section already has are left out (and the app leaves out the ones the
        studio fills itself)."""
        if self._mcp_variables is None:
            return
        for name, servers in await self._mcp_variables():
            if name in self.secret_fields:
                continue
            field = self._secret(self._mcp_form, name, name)
            plural = "s" if len(servers) > 1 else ""
            field.setToolTip(f"Used as ${{{name}}} by the MCP server{plural} {', '.join(servers)}")
            self._mcp_box.show()

    def _build_discord_section(self) -> None:
        form = self._group("Discord")
        self._secret(form, "DISCORD_BOT_TOKEN", "Bot token")
        self.discord_at_launch = QCheckBox("Start the bot when the studio opens")
        form.addRow("", self.discord_at_launch)
        self._watch(self.discord_at_launch)

    def _build_instagram_section(self) -> None:
        form = self._group("Instagram")
        self.instagram_user = QLineEdit()
        self.instagram_user.setPlaceholderText("Instagram business account id")
        form.addRow("Account id", self.instagram_user)
        self._secret(form, "INSTAGRAM_ACCESS_TOKEN", "Access token")
        self.graph_version = QLineEdit()
        form.addRow("Graph API version", self.graph_version)
        self._watch(self.instagram_user, self.graph_version)

    def _build_ftp_section(self) -> None:
        form = self._group("Media hosting (FTP)")
        self.ftp_host = QLineEdit()
        self.ftp_host.setObjectName("ftpHost")
        form.addRow("Server", self.ftp_host)
        self.ftp_port = QSpinBox()
        self.ftp_port.setRange(1, 65535)
        form.addRow("Port", self.ftp_port)
        self.ftp_user = QLineEdit()
        form.addRow("User", self.ftp_user)
        self._secret(form, "FTP_PASSWORD", "Password")
        self.ftp_dir = QLineEdit()
        form.addRow("Remote folder", self.ftp_dir)
        self.ftp_public = QLineEdit()
        self.ftp_public.setPlaceholderText("https://media.example.com/uploads")
        form.addRow("Public base URL", self.ftp_public)
        self.ftp_tls = QCheckBox("Use FTPS (TLS)")
        form.addRow("", self.ftp_tls)
        self._watch(
            self.ftp_host, self.ftp_port, self.ftp_user, self.ftp_dir, self.ftp_public, self.ftp_tls
        )

    def _build_appearance_section(self) -> None:
        form = self._group("Appearance")
        self.theme_choice = _combo(
            [("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")], "themeChoice"
        )
        form.addRow("Theme", self.theme_choice)
        # The theme applies at once, so the user sees it before deciding to save it.
        self.theme_choice.currentIndexChanged.connect(
            lambda _i: self._theme.set_choice(self.theme_choice.currentData())
        )
        self._watch(self.theme_choice)

    # -- form <-> settings ---------------------------------------------------------------

    def load_from_store(self) -> None:
        """Fill the form from the saved settings and refresh where each secret is kept."""
        self._loading = True
        try:
            s = self._store.settings
            _select(self.storage, s.secrets.storage)
            _select(self.provider, s.providers.default.provider)
            self.model.setText(s.providers.default.model)
            self.temperature.setValue(s.providers.default.temperature)
            self.tracing.setChecked(s.providers.openai_tracing)
            self.openai_url.setText(s.providers.openai_base_url)
            self.anthropic_url.setText(s.providers.anthropic_base_url)
            self.endpoints.setRowCount(0)
            for endpoint in s.providers.endpoints:
                self._append_endpoint_row(
                    endpoint.name, endpoint.base_url, ", ".join(endpoint.models)
                )
            self._refresh_endpoint_choices(s.providers.default.endpoint)
            _select(self.memory_backend, s.memory.backend)
            _select(self.embedder, s.memory.embedder)
            self.supabase_url.setText(s.memory.supabase_url)
            self.discord_at_launch.setChecked(s.discord.start_at_launch)
            self.instagram_user.setText(s.instagram.user_id)
            self.graph_version.setText(s.instagram.graph_api_version)
            self.ftp_host.setText(s.ftp.host)
            self.ftp_port.setValue(s.ftp.port)
            self.ftp_user.setText(s.ftp.user)
            self.ftp_dir.setText(s.ftp.remote_dir)
            self.ftp_public.setText(s.ftp.public_base_url)
            self.ftp_tls.setChecked(s.ftp.use_tls)
            _select(self.theme_choice, s.ui.theme)
            for field in self.secret_fields.values():
                field.reset()
        finally:
            self._loading = False
        self._update_endpoint_enabled()
        self.error_label.hide()
        self._set_dirty(False)
        self.refresh_secret_sources()

    def form_settings(self) -> Settings:
        """The settings the form describes; raises ValidationError naming the bad field."""
        data = self._store.settings.model_dump(mode="json")
        data["secrets"]["storage"] = self.storage.currentData()
        default = data["providers"]["default"]
        default.update(
            provider=self.provider.currentData(),
            model=self.model.text().strip(),
            endpoint=self.endpoint.currentData(),
            temperature=round(self.temperature.value(), 2),
        )
        data["providers"]["openai_tracing"] = self.tracing.isChecked()
        data["providers"]["openai_base_url"] = self.openai_url.text().strip()
        data["providers"]["anthropic_base_url"] = self.anthropic_url.text().strip()
        data["providers"]["endpoints"] = self._endpoint_rows()
        data["memory"].update(
            backend=self.memory_backend.currentData(),
            embedder=self.embedder.currentData(),
            supabase_url=self.supabase_url.text().strip(),
        )
        data["discord"]["start_at_launch"] = self.discord_at_launch.isChecked()
        data["instagram"].update(
            user_id=self.instagram_user.text().strip(),
            graph_api_version=self.graph_version.text().strip() or "v23.0",
        )
        data["ftp"].update(
            host=self.ftp_host.text().strip(),
            port=self.ftp_port.value(),
            user=self.ftp_user.text().strip(),
            remote_dir=self.ftp_dir.text().strip() or "/",
            public_base_url=self.ftp_public.text().strip(),
            use_tls=self.ftp_tls.isChecked(),
        )
        data["ui"]["theme"] = self.theme_choice.currentData()
        return Settings.model_validate(data)

    def save(self) -> None:
        self._tasks.start("Saving settings", self._save(), busy=[self.save_button])

    async def save_now(self) -> bool:
        """Save if there is anything to save; False when the form could not be saved."""
        return await self._save() if self.dirty else True

    async def _save(self) -> bool:
        try:
            settings = self.form_settings()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = self._describe_location(first["loc"])
            self._show_error(f"{where}: {first['msg']}")
            return False
        new_secrets = {
            name: f.new_value() for name, f in self.secret_fields.items() if f.new_value()
        }
        self._secrets.storage = settings.secrets.storage
        if new_secrets and self._secrets.needs_choice:
            self._show_error(
                "There is no system keyring on this computer, so the keys you typed were not "
                "saved. Under “Where secrets are kept”, choose this session only or the "
                "workspace .env, then save again."
            )
            return False
        await self._secrets.store(new_secrets)
        await self._store.save_async(settings, by=self)
        self.error_label.hide()
        for field in self.secret_fields.values():
            field.reset()
        self._set_dirty(False)
        await self._refresh_secret_sources()
        messages.info("Settings saved.")
        self.saved.emit()
        return True

    def _describe_location(self, loc: tuple[Any, ...]) -> str:
        if loc[:2] == ("providers", "endpoints") and len(loc) >= 4:
            column = {"name": "name", "base_url": "base URL", "models": "models"}.get(
                loc[3], loc[3]
            )
            return f"Endpoint row {int(loc[2]) + 1}, {column}"
        return ".".join(str(part) for part in loc)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    # -- secrets ---------------------------------------------------------------------------

    def refresh_secret_sources(self) -> None:
        self._tasks.start("Reading the keyring", self._refresh_secret_sources())

    async def _refresh_secret_sources(self) -> None:
        await self._add_mcp_fields()
        await self._secrets.probe()
        self._update_keyring_banner()
        sources = await self._secrets.sources(list(self.secret_fields))
        for name, source in sources.items():
            self.secret_fields[name].set_source(source)

    def _on_secret_clear_requested(self, name: str) -> None:
        where = _SOURCE_WORDS.get(self.secret_fields[name].source or "", "where it is kept")
        if not self.ask.confirm(
            self,
            f"Remove {name}?",
            f"{name} will be removed from {where}. It cannot be brought back; you would have "
            "to type it again.",
            "Remove",
        ):
            return
        self._tasks.start(f"Clearing {name}", self._clear_secret(name))

    async def _clear_secret(self, name: str) -> None:
        await self._secrets.remove(name)
        await self._refresh_secret_sources()
        messages.info(f"{name} removed.")

    def _on_import_env_clicked(self) -> None:
        self._tasks.start("Importing .env", self._import_env(), busy=[self.import_env_button])

    async def _import_env(self) -> None:
        names = await self._secrets.import_env_file_async()
        await self._refresh_secret_sources()
        if names:
            messages.info(
                f"Imported {', '.join(names)} into the keyring. You may now delete them from "
                f"{self._secrets.env_file}."
            )
        else:
            messages.info(f"No keys, tokens or passwords found in {self._secrets.env_file}.")

    def _update_keyring_banner(self) -> None:
        store = self._secrets
        keyring_index = self.storage.findData("keyring")
        item = self.storage.model().item(keyring_index)
        if store.keyring_available:
            text = "Keys are kept in your system keyring."
            severity = "info"
            item.setEnabled(True)
            item.setText(dict(_STORAGE_CHOICES)["keyring"])
        else:
            text = (
                "<b>No system keyring on this computer.</b> Keys you type are kept for this "
                "session only and forgotten when the studio quits. To keep them between runs, "
                "choose the workspace .env file below (plain text in the workspace folder)."
            )
            severity = "warning"
            # What is not there cannot be chosen; a saved "keyring" shows as what is used.
            item.setEnabled(False)
            item.setText("System keyring — not available on this computer")
            if self.storage.currentData() == "keyring":
                loading, self._loading = self._loading, True
                try:
                    _select(self.storage, "session")
                finally:
                    self._loading = loading
        self.keyring_banner.setText(text)
        self.keyring_banner.setProperty("severity", severity)
        self.keyring_banner.style().unpolish(self.keyring_banner)
        self.keyring_banner.style().polish(self.keyring_banner)
        self.import_env_button.setEnabled(store.keyring_available and store.env_file.is_file())

    # -- endpoints table -------------------------------------------------------------------

    def _append_endpoint_row(self, name: str, url: str, models: str) -> None:
        row = self.endpoints.rowCount()
        self.endpoints.insertRow(row)
        for column, text in enumerate((name, url, models)):
            self.endpoints.setItem(row, column, QTableWidgetItem(text))

    def _endpoint_rows(self) -> list[dict[str, Any]]:
        rows = []
        for row in range(self.endpoints.rowCount()):
            cells = [self.endpoints.item(row, c) for c in range(3)]
            name, url, models = (cell.text().strip() if cell else "" for cell in cells)
            if not (name or url or models):
                continue
            rows.append(
                {
                    "name": name,
                    "base_url": url,
                    "models": [m.strip() for m in models.split(",") if m.strip()],
                }
            )
        return rows

    def _on_add_endpoint_clicked(self) -> None:
        self._append_endpoint_row("local", "http://127.0.0.1:11434/v1", "")
        self.endpoints.editItem(self.endpoints.item(self.endpoints.rowCount() - 1, 0))
        self._mark_dirty()

    def _on_remove_endpoint_clicked(self) -> None:
        rows = sorted({index.row() for index in self.endpoints.selectedIndexes()}, reverse=True)
        for row in rows:
            self.endpoints.removeRow(row)
        if rows:
            self._refresh_endpoint_choices(self.endpoint.currentData())
            self._mark_dirty()

    def _on_endpoints_item_changed(self, _item: QTableWidgetItem) -> None:
        if not self._loading:
            self._refresh_endpoint_choices(self.endpoint.currentData())
            self._mark_dirty()

    def _refresh_endpoint_choices(self, selected: str | None) -> None:
        self.endpoint.blockSignals(True)
        self.endpoint.clear()
        for row in self._endpoint_rows():
            if row["name"]:
                self.endpoint.addItem(row["name"], row["name"])
        if selected:
            _select(self.endpoint, selected)
        self.endpoint.blockSignals(False)
        self._refresh_model_offers()

    def _update_endpoint_enabled(self) -> None:
        self.endpoint.setEnabled(self.provider.currentData() == "openai-compatible")

    # -- models: test a connection, find local servers -------------------------------------

    @staticmethod
    def _stacked(row: QHBoxLayout, below: QWidget) -> QWidget:
        """A row of widgets with `below` under it, as one form field (a wrapped label in a
        form row of its own keeps the height it would need at its narrowest)."""
        field = QWidget()
        column = QVBoxLayout(field)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(below)
        return field

    def _status_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        # the whole field column wide, not the narrow width a wrapped label asks for
        label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.hide()
        return label

    def _say(self, label: QLabel, text: str, *, error: bool = False, done: bool = True) -> None:
        """Show how it went under the button that asked; the outcome (`done`) also goes to the
        status bar (a warning, not an error dialog: the words are already beside the button)."""
        label.setText(text)
        label.setStyleSheet(_ERROR_STYLE if error else "")
        label.show()
        if done:
            (messages.warning if error else messages.info)(text)

    def _probe_buttons(self) -> list[QWidget]:
        return [self.test_default_button, self.test_endpoint_button, self.find_local_button]

    def _refresh_model_offers(self, *_args: object) -> None:
        """Offer the models of what the default points at: the chosen endpoint's row and what
        it listed, or what the official provider listed (its usual model until tested)."""
        provider = self.provider.currentData()
        if provider == "openai-compatible":
            name = self.endpoint.currentData() or ""
            row = next((r for r in self._endpoint_rows() if r["name"] == name), None)
            models = list(row["models"]) if row else []
            listed = self._listed.get((provider, name), [])
            models += [m for m in listed if m not in models]
        else:
            models = self._listed.get((provider, ""), []) or [DEFAULT_MODELS.get(provider, "")]
        models = [m for m in models if m]
        self.model.offer(models)
        # Left empty or at another provider's usual model (gpt-4.1-mini on a new Ollama
        # endpoint), the box takes the first model offered: a name the user typed stays.
        typed = self.model.text().strip()
        stock = typed in DEFAULT_MODELS.values() and DEFAULT_MODELS.get(provider) != typed
        if models and not self._loading and (not typed or stock) and typed not in models:
            self.model.setText(models[0])
            self._mark_dirty()

    def _selected_endpoint_row(self) -> int | None:
        rows = sorted({index.row() for index in self.endpoints.selectedIndexes()})
        if rows:
            return rows[0]
        if self.endpoints.currentRow() >= 0:
            return self.endpoints.currentRow()
        return 0 if self.endpoints.rowCount() == 1 else None

    def _row_cells(self, row: int) -> tuple[str, str, str]:
        cells = [self.endpoints.item(row, c) for c in range(3)]
        name, url, models = (cell.text().strip() if cell else "" for cell in cells)
        return name, url, models

    def _on_test_endpoint_clicked(self) -> None:
        row = self._selected_endpoint_row()
        if row is None:
            self._say(
                self.endpoint_status,
                "Select the endpoint row to test first (or add one).",
                error=True,
            )
            return
        self._start_test(self._test_endpoint(row, self.endpoint_status))

    def _on_test_default_clicked(self) -> None:
        provider = self.provider.currentData()
        if provider != "openai-compatible":
            self._start_test(self._test_provider(provider))
            return
        name = self.endpoint.currentData()
        rows = [r for r in range(self.endpoints.rowCount()) if self._row_cells(r)[0] == name]
        if not name or not rows:
            self._say(
                self.default_status,
                "Choose the endpoint to use first: add one under OpenAI-compatible endpoints, "
                "or press Find local servers.",
                error=True,
            )
            return
        self._start_test(self._test_endpoint(rows[0], self.default_status))

    def _start_test(self, coro: Any) -> None:
        self._tasks.start(_TESTING, coro, busy=self._probe_buttons())

    async def _test_provider(self, provider: str) -> None:
        assert self.probe is not None
        title = PROVIDERS[provider]
        key_name = _PROVIDER_KEYS[provider]
        key = self.secret_fields[key_name].new_value() or await asyncio.to_thread(
            self._secrets.get, key_name
        )
        url = (self.openai_url if provider == "openai" else self.anthropic_url).text().strip()
        self._say(self.default_status, f"Asking {title} for its models…", done=False)
        try:
            models = await self.probe.list_models(provider, url, key or "")
        except CarrierError as exc:
            self._say(self.default_status, f"{title}: {exc}", error=True)
            return
        self._listed[(provider, "")] = models
        self._refresh_model_offers()
        self._say(
            self.default_status,
            f"{title} answers and offers {len(models)} models: {_listing(models)}. "
            "Pick one in the Default model box.",
        )

    async def _test_endpoint(self, row: int, status: QLabel) -> None:
        assert self.probe is not None
        name, url, _models = self._row_cells(row)
        who = name or f"Endpoint row {row + 1}"
        if not url:
            self._say(status, f"{who} has no base URL yet.", error=True)
            return
        key = ""
        if name:
            secret = CompatEndpoint.model_construct(name=name, base_url=url).secret_name
            key = await asyncio.to_thread(self._secrets.get, secret) or ""
        self._say(status, f"Asking {who} at {url} for its models…", done=False)
        try:
            models = await self.probe.list_models("openai-compatible", url, key)
        except CarrierError as exc:
            self._say(status, f"{who}: {exc}", error=True)
            return
        self._listed[("openai-compatible", name)] = models
        if not models:
            self._say(
                status,
                f"{who} answers at {url} but offers no models: load or pull one there first "
                "(Ollama: ollama pull llama3.2).",
                error=True,
            )
            return
        # The table may have changed while the server answered: fill the row still naming it.
        filled = False
        for r in range(self.endpoints.rowCount()):
            r_name, r_url, r_models = self._row_cells(r)
            if (r_name, r_url) == (name, url) and not r_models:
                self.endpoints.item(r, 2).setText(", ".join(models))  # refreshes the offers
                filled = True
                break
        self._refresh_model_offers()
        self._say(
            status,
            f"{who} answers at {url} and offers {len(models)} "
            f"model{'s' if len(models) != 1 else ''}: {_listing(models)}."
            + (" They are filled in its row; save to keep them." if filled else ""),
        )

    def _on_find_local_clicked(self) -> None:
        self._tasks.start(
            "Looking for local servers", self._find_local(), busy=self._probe_buttons()
        )

    async def _find_local(self) -> None:
        assert self.probe is not None
        self._say(
            self.endpoint_status, "Looking for Ollama, LM Studio, llama.cpp and vLLM…", done=False
        )
        servers = await self.probe.find_local_servers()
        if not servers:
            self._say(
                self.endpoint_status,
                "No Ollama, LM Studio, llama.cpp or vLLM server answered on its usual port on "
                "this computer. Start one and look again, or add its address with Add.",
                error=True,
            )
            return
        rows = [self._row_cells(r) for r in range(self.endpoints.rowCount())]
        names = {name for name, _url, _models in rows}
        had_endpoint = bool(self.endpoint.currentData())
        added: list[str] = []
        known: list[str] = []
        for label, url, models in servers:
            listed = next((r for r in rows if same_server(r[1], url)), None)
            if listed is not None:
                known.append(f"{listed[0] or label} ({url}) is already listed")
                continue
            name, n = label, 2
            while name in names:
                name, n = f"{label}-{n}", n + 1
            names.add(name)
            self._listed[("openai-compatible", name)] = list(models)
            self._append_endpoint_row(name, url, ", ".join(models))
            count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
            added.append(f"{name} at {url} ({count})")
        if added:
            self._refresh_endpoint_choices(self.endpoint.currentData())
            if not had_endpoint:
                first = self.endpoints.rowCount() - len(added)
                _select(self.endpoint, self._row_cells(first)[0])
            self._mark_dirty()
        parts = []
        if added:
            parts.append("Added " + "; ".join(added) + ". Save to keep them.")
            if self.provider.currentData() != "openai-compatible":
                parts.append(
                    "To chat with one, choose “OpenAI-compatible endpoint” as the default "
                    "provider, then its endpoint and a model."
                )
        if known:
            said = "; ".join(known)
            parts.append(said[0].upper() + said[1:] + ".")
        self._say(self.endpoint_status, " ".join(parts))

    # -- dirty state ----------------------------------------------------------------------

    def _mark_dirty(self, *_args: object) -> None:
        if not self._loading:
            self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)
        self.save_button.setEnabled(True)
        self.revert_button.setEnabled(dirty)
