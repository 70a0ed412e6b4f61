"""Typed, versioned application settings.

Settings hold choices, never secrets: keys and tokens live in the keyring (see
`services/platform/secrets.py`); a setting only names the secret it needs. The file carries a
``version``; `migrate` lifts an older file to the current shape step by step, and keys this
version does not know are kept (``extra="allow"``) so a newer studio's settings survive a
round-trip through an older one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from carrier_studio.core.errors import ConfigError

SETTINGS_VERSION = 2

Provider = Literal["openai", "anthropic", "openai-compatible"]
#: Every model provider the studio can run, with its title. Settings and character files are
#: validated against these names; services/providers registers one module for each.
PROVIDERS: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "openai-compatible": "OpenAI-compatible endpoint",
}
#: The model a character gets when it names a provider but no model, and that provider is not
#: the workspace default's (whose model it then uses). An OpenAI-compatible server has no such
#: model: it takes the first one its endpoint lists.
DEFAULT_MODELS: dict[str, str] = {"openai": "gpt-4.1-mini", "anthropic": "claude-sonnet-4-5"}


def provider_key(name: object) -> str | None:
    """The `PROVIDERS` key ``name`` spells, compared case-insensitively (ElizaOS files write
    ``"OpenAI"`` as often as ``"openai"``); None for a provider the studio cannot run."""
    if not isinstance(name, str):
        return None
    wanted = name.strip().lower()
    return next((key for key in PROVIDERS if key == wanted), None)


def named_provider(character: dict[str, Any]) -> str | None:
    """The provider a character file asks for, as written: its ``model.provider``, else its
    ``modelProvider`` (the ElizaOS key). None when it names none: it then follows the workspace
    default. The studio's own section wins because the form writes it."""
    model = character.get("model")
    for value in (
        model.get("provider") if isinstance(model, dict) else None,
        character.get("modelProvider"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def character_temperature(character: dict[str, Any]) -> float | None:
    """The character's temperature: ``model.temperature``, else the top-level ``temperature``."""
    model = character.get("model")
    for value in (
        model.get("temperature") if isinstance(model, dict) else None,
        character.get("temperature"),
    ):
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 2:
            return float(value)
    return None


def _http_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


def _empty_or_http_url(value: str) -> str:
    if value.strip() and not value.strip().startswith(("http://", "https://")):
        raise ValueError("must be empty or start with http:// or https://")
    return value.strip().rstrip("/")


#: An http(s) URL, stripped of spaces and a trailing slash.
HttpUrl = Annotated[str, AfterValidator(_http_url)]
#: The same, or empty (the official service, or not set).
HttpUrlOrEmpty = Annotated[str, AfterValidator(_empty_or_http_url)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class CompatEndpoint(_Section):
    """An OpenAI-compatible server (Ollama, LM Studio, a llama.cpp server…)."""

    name: str = Field(min_length=1)
    base_url: HttpUrl
    models: list[str] = Field(default_factory=list)

    @property
    def secret_name(self) -> str:
        """The keyring entry for this endpoint's API key (most local servers need none)."""
        slug = "".join(c if c.isalnum() else "_" for c in self.name.upper())
        return f"COMPAT_{slug}_API_KEY"


def same_server(a: str, b: str) -> bool:
    """Whether two base URLs name the same server (localhost and 127.0.0.1 alike)."""

    def key(url: str) -> tuple[str, str, int | None, str]:
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return (url.strip(), "", None, "")
        host = (parts.hostname or "").lower()
        if host in ("localhost", "::1"):
            host = "127.0.0.1"
        return (parts.scheme, host, port, parts.path.rstrip("/"))

    return key(a) == key(b)


class ModelChoice(_Section):
    provider: Provider = "openai"
    model: str = "gpt-4.1-mini"
    #: For provider "openai-compatible": the `CompatEndpoint.name` to use.
    endpoint: str | None = None
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)

    @property
    def label(self) -> str:
        """How a person reads it: ``gpt-4.1-mini (openai)``, ``qwen (openai-compatible at lm)``."""
        where = f" at {self.endpoint}" if self.provider == "openai-compatible" else ""
        return f"{self.model} ({self.provider}{where})"


#: A conversation told to use the workspace default whatever its character names (stored as
#: this marker, not as a copy, so it follows a later change of the default).
WORKSPACE_DEFAULT = "workspace-default"
#: A conversation's own model choice: None (its character decides), `WORKSPACE_DEFAULT`, or a
#: fixed `ModelChoice` (an endpoint's model picked in the Chat page's model box).
ConversationModel = ModelChoice | Literal["workspace-default"] | None


def dump_conversation_model(selection: ConversationModel) -> str | None:
    """The text stored with a conversation (None: nothing chosen)."""
    if selection is None:
        return None
    if isinstance(selection, ModelChoice):
        return json.dumps(selection.model_dump(mode="json"))
    return json.dumps(selection)


def load_conversation_model(text: str | None) -> ConversationModel:
    """Read what `dump_conversation_model` stored; anything unreadable counts as no choice, so
    the conversation falls back to its character's model rather than failing to open."""
    if not text:
        return None
    try:
        raw = json.loads(text)
        if raw == WORKSPACE_DEFAULT:
            return WORKSPACE_DEFAULT
        return ModelChoice.model_validate(raw)
    except (ValueError, TypeError):
        return None


class ProviderSettings(_Section):
    default: ModelChoice = Field(default_factory=ModelChoice)
    endpoints: list[CompatEndpoint] = Field(default_factory=list)
    #: Upload traces to OpenAI. Off unless the user turns it on; runs are recorded locally.
    openai_tracing: bool = False
    #: Advanced: a gateway or proxy in front of the official APIs (empty: the official URL).
    openai_base_url: HttpUrlOrEmpty = ""
    anthropic_base_url: HttpUrlOrEmpty = ""

    def model_options(self) -> list[tuple[str, ModelChoice]]:
        """The models a chat may switch to besides its character's and the workspace default
        (the Chat page offers those two itself): each endpoint's listed models."""
        options: list[tuple[str, ModelChoice]] = []
        for endpoint in self.endpoints:
            for model in endpoint.models:
                choice = ModelChoice(
                    provider="openai-compatible", model=model, endpoint=endpoint.name
                )
                options.append((f"{model} at {endpoint.name}", choice))
        return options


class MemorySettings(_Section):
    backend: Literal["sqlite", "supabase"] = "sqlite"
    embedder: Literal["local-minilm", "openai"] = "local-minilm"
    supabase_url: str = ""


class DiscordSettings(_Section):
    start_at_launch: bool = False
    character: str = ""
    mentions_only: bool = True
    allow_dms: bool = False
    #: Channel names or ids the bot may answer in (empty: every channel it can see).
    channel_allowlist: list[str] = Field(default_factory=list)


class InstagramSettings(_Section):
    """The Instagram account the queue publishes to. The access token is in the keyring
    (INSTAGRAM_ACCESS_TOKEN); media is hosted through the `FtpSettings` server."""

    user_id: str = ""
    graph_api_version: str = "v23.0"
    #: Advanced: another Graph API root, e.g. a proxy (empty: Meta's, with the version above).
    graph_base_url: HttpUrlOrEmpty = ""
    #: Publish due posts in the background (the window and headless mode).
    publish_in_background: bool = True

    @property
    def base_url(self) -> str:
        """The Graph API root the client calls."""
        return self.graph_base_url or f"https://graph.facebook.com/{self.graph_api_version}"


class FtpSettings(_Section):
    host: str = ""
    port: int = Field(default=21, ge=1, le=65535)
    user: str = ""
    remote_dir: str = "/"
    public_base_url: HttpUrlOrEmpty = ""
    use_tls: bool = True


class SecretsSettings(_Section):
    #: Where secrets go: the OS keyring; this session only (forgotten on quit); or the
    #: workspace .env in plain text, which the user must choose knowingly.
    storage: Literal["keyring", "session", "dotenv"] = "keyring"


class UiSettings(_Section):
    theme: Literal["system", "light", "dark"] = "system"
    #: QMainWindow.saveGeometry() / saveState(), base64.
    geometry: str = ""
    window_state: str = ""
    last_page: str = "characters"
    #: The first-run guide was finished or skipped (it is not offered at start again).
    first_run_done: bool = False
    #: The models last ticked on the Tests page ("provider:model[@endpoint]").
    test_models: list[str] = Field(default_factory=list)
    #: The MCP page's table and details heights once the user dragged between them.
    mcp_splitter: list[int] = Field(default_factory=list)


class McpClientSettings(_Section):
    """What the studio's MCP client remembers per server (by its name in mcp_servers.json).

    Kept here, not in mcp_servers.json: folders are paths on this computer and "always allow"
    is this user's decision, while the catalogue keeps Claude Desktop's shape and may be
    shared or imported."""

    #: Servers whose sampling requests run without asking (the approval's "Always allow").
    sampling_always_allow: list[str] = Field(default_factory=list)
    #: Folders a server may see besides the workspace (its MCP roots), by server name.
    roots: dict[str, list[str]] = Field(default_factory=dict)


class Settings(_Section):
    version: int = SETTINGS_VERSION
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    instagram: InstagramSettings = Field(default_factory=InstagramSettings)
    ftp: FtpSettings = Field(default_factory=FtpSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    mcp: McpClientSettings = Field(default_factory=McpClientSettings)


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 1 kept the theme at the top level; version 2 groups window state under "ui".
    ui = dict(raw.get("ui") or {})
    if "theme" in raw:
        ui.setdefault("theme", raw.pop("theme"))
    raw["ui"] = ui
    return raw


#: MIGRATIONS[n] lifts a version-n file to version n + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


class NewerSettingsError(ConfigError):
    """The file was written by a newer studio: it is valid, just not for this version."""


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Lift a raw settings mapping to `SETTINGS_VERSION`."""
    version = raw.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ConfigError(f"'version' must be a whole number ≥ 1, not {version!r}", where="version")
    if version > SETTINGS_VERSION:
        raise NewerSettingsError(
            f"written by a newer Carrier Studio (settings version {version}; "
            f"this one knows up to {SETTINGS_VERSION})",
            where="version",
            hint="Update Carrier Studio, or move the file away to start from defaults.",
        )
    raw = dict(raw)
    while version < SETTINGS_VERSION:
        raw = MIGRATIONS[version](raw)
        version += 1
        raw["version"] = version
    return raw


def parse_settings(raw: object) -> Settings:
    """Validate a decoded settings document, migrating older versions first."""
    if not isinstance(raw, dict):
        raise ConfigError(f"the top level must be an object, not {type(raw).__name__}")
    migrated = migrate(raw)
    try:
        return Settings.model_validate(migrated)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(first["msg"], where=where) from exc


def dump_settings(settings: Settings) -> dict[str, Any]:
    return settings.model_dump(mode="json")
