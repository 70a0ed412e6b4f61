"""The MCP server catalogue, ``mcp_servers.json``, as the user wrote it.

The shape is Claude Desktop's and Carrier's: ``{"version": 1, "mcpServers": {name: {...}}}``.
Each server has:

``type``
    ``stdio``, ``sse`` or ``streamable-http`` (``http`` is an alias). Without it a server with a
    ``command`` is stdio and one with a ``url`` is streamable-http.
``command``, ``args``, ``env``, ``cwd``
    The program a stdio server runs (``args`` an array of strings, ``env`` an object of
    strings added to a minimal inherited environment).
``url``, ``headers``
    Where an sse or streamable-http server listens, and the HTTP headers to send it.
``cache_tools_list``
    true to list the server's tools once per connection (default false: every run asks).
``enabled``
    false keeps the server in the catalogue without starting it (default true).
``timeout``
    Seconds to wait for one request to the server (a tool call, a tool list); default 60.
    ``client_session_timeout_seconds``, the agents SDK's name, is accepted for the same thing.
``connect_timeout``
    Seconds to start the server and finish the MCP handshake; default 60 (``npx -y`` may
    download the package first).
``oauth``
    A server (sse, streamable-http) that asks for an OAuth 2.1 sign-in: ``true``, or an object
    with any of ``scope`` (default: what the server asks for), ``client_id``, ``client_secret``
    (may be ``${VAR}``) and ``callback_port`` (a client registered by hand, for servers without
    dynamic registration), ``client_metadata_url`` (an https client ID metadata document).
    ``"grant": "client_credentials"`` signs in with no browser, with ``client_id`` and a
    ``client_secret`` or a ``private_key`` (a PEM file's path or ``${VAR}``, for private_key_jwt).
    Claude Desktop ignores it. Tokens live in the keyring, never here (`services.mcp.oauth`).

Strings in ``command``, ``args``, ``env``, ``cwd``, ``url`` and ``headers`` may use
``${VAR}`` and ``${VAR:-default}`` (see `carrier_studio.core.mcp.variables`).

The document is the decoded JSON itself, key order and unknown keys included (like
`CharacterDoc`): turning a server off rewrites that one value and nothing else of the text.
"""

# Long: the catalogue's model, its checks and its edits are one unit; the next cut moves the
# Claude Desktop reading (import_claude_desktop, the config locations) to core/mcp/importing.py.

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.json_types import json_type
from carrier_studio.core.jsonfile import parse_json
from carrier_studio.core.mcp import jsonedit

CATALOGUE_VERSION = 1
Transport = Literal["stdio", "sse", "streamable-http"]
TRANSPORTS: tuple[Transport, ...] = ("stdio", "sse", "streamable-http")
#: Other spellings of a transport seen in the wild (VS Code and Claude write ``http``).
TYPE_ALIASES: dict[str, Transport] = {
    "http": "streamable-http",
    "streamable_http": "streamable-http",
    "streamableHttp": "streamable-http",
}
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 60.0
#: The keys this module reads; every other key is kept as it is and not checked.
KNOWN_KEYS = (
    "type",
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "cache_tools_list",
    "enabled",
    "timeout",
    "client_session_timeout_seconds",
    "connect_timeout",
    "oauth",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class McpConfigError(CarrierError):
    """mcp_servers.json (or one server in it) is unreadable or invalid.

    ``where`` is a JSON path such as ``$.mcpServers.github.args[1]`` or ``line 3, column 7``.
    When several things are wrong, the first one is the message and ``problems`` holds them all.
    """

    def __init__(self, message: str, *, problems: tuple[McpConfigError, ...] = (), **kwargs):
        super().__init__(message, **kwargs)
        self.problems: tuple[McpConfigError, ...] = problems or (self,)


@dataclass(frozen=True)
class OAuthSettings:
    """A server's ``oauth`` entry: every field optional (``"oauth": true`` is all None)."""

    scope: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    callback_port: int | None = None
    client_metadata_url: str | None = None
    #: ``authorization_code`` (None: a person signs in in a browser) or ``client_credentials``.
    grant: str | None = None
    #: The client_credentials client's signing key: a PEM file's path or ``${VAR}``.
    private_key: str | None = None


#: The grants an ``oauth`` entry may name.
GRANTS = ("authorization_code", "client_credentials")


@dataclass(frozen=True)
class ServerConfig:
    """One server of the catalogue, checked and typed. ``raw`` is the object as written."""

    name: str
    type: Transport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cache_tools_list: bool = False
    enabled: bool = True
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    #: Set when the server signs in with OAuth (an sse or streamable-http server only).
    oauth: OAuthSettings | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """A one-line summary for lists: the command line or the URL."""
        if self.type == "stdio":
            return " ".join([self.command or "", *self.args]).strip()
        return self.url or ""


def member_path(base: str, key: str) -> str:
    """``$.a.b`` for identifier-like keys, ``$.a["my key"]`` for the rest."""
    return f"{base}.{key}" if _IDENTIFIER.match(key) else f"{base}[{json.dumps(key)}]"


def server_path(name: str) -> str:
    return member_path("$.mcpServers", name)


class _Checker:
    """Collects the problems of one server object, each with its JSON path."""

    def __init__(self, raw: Mapping[str, Any], base: str, path: Path | None) -> None:
        self.raw = raw
        self.base = base
        self.path = path
        self.problems: list[McpConfigError] = []

    def error(self, where: str, message: str, hint: str | None = None) -> None:
        self.problems.append(McpConfigError(message, path=self.path, where=where, hint=hint))

    def string(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None or isinstance(value, str):
            return value
        self.error(member_path(self.base, key), f"must be a string, not {json_type(value)}")
        return None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if isinstance(value, bool):
            return value
        self.error(member_path(self.base, key), f"must be true or false, not {json_type(value)}")
        return default

    def seconds(self, key: str) -> float | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            shown = json_type(value) if not isinstance(value, (int, float)) else repr(value)
            self.error(member_path(self.base, key), f"must be a positive number, not {shown}")
            return None
        return float(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        where = member_path(self.base, key)
        if not isinstance(value, list):
            self.error(where, f"must be an array of strings, not {json_type(value)}")
            return ()
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.error(f"{where}[{index}]", f"must be a string, not {json_type(item)}")
        return tuple(item for item in value if isinstance(item, str))

    def string_map(self, key: str) -> dict[str, str]:
        value = self.raw.get(key, {})
        where = member_path(self.base, key)
        if not isinstance(value, dict):
            self.error(where, f"must be an object of strings, not {json_type(value)}")
            return {}
        for name, item in value.items():
            if not isinstance(item, str):
                self.error(member_path(where, name), f"must be a string, not {json_type(item)}")
        return {name: item for name, item in value.items() if isinstance(item, str)}

    def oauth(self) -> OAuthSettings | None:
        value = self.raw.get("oauth", False)
        where = member_path(self.base, "oauth")
        if value is False or value is None:
            return None
        if value is True:
            return OAuthSettings()
        if not isinstance(value, dict):
            self.error(where, f"must be true, false or an object, not {json_type(value)}")
            return None
        inner = _Checker(value, where, self.path)
        port = value.get("callback_port")
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536
        ):
            inner.error(member_path(where, "callback_port"), "must be a port number (1-65535)")
            port = None
        settings = OAuthSettings(
            scope=inner.string("scope"),
            client_id=inner.string("client_id"),
            client_secret=inner.string("client_secret"),
            callback_port=port,
            client_metadata_url=inner.string("client_metadata_url"),
            grant=inner.string("grant"),
            private_key=inner.string("private_key"),
        )
        document = settings.client_metadata_url
        if document is not None and not document.startswith("https://"):
            at = member_path(where, "client_metadata_url")
            inner.error(at, f"must be an https:// URL: {document!r}")
        _check_grant(inner, where, settings)
        self.problems.extend(inner.problems)
        return settings

    def transport(self) -> Transport | None:
        value = self.raw.get("type")
        if value is None:
            if "command" in self.raw:
                return "stdio"
            if "url" in self.raw:
                return "streamable-http"
            self.error(self.base, 'needs a "command" (a stdio server) or a "url" (sse, http)')
            return None
        if not isinstance(value, str):
            self.error(member_path(self.base, "type"), f"must be a string, not {json_type(value)}")
            return None
        if value in TRANSPORTS:
            return cast(Transport, value)
        if value in TYPE_ALIASES:
            return TYPE_ALIASES[value]
        self.error(
            member_path(self.base, "type"),
            f"unknown type {value!r}: must be one of {', '.join(TRANSPORTS)} (or http)",
        )
        return None


def _check_grant(check: _Checker, where: str, settings: OAuthSettings) -> None:
    """A client_credentials entry names its client and exactly one way to prove it."""
    grant = settings.grant
    if grant is not None and grant not in GRANTS:
        check.error(
            member_path(where, "grant"),
            f"unknown grant {grant!r}: must be one of {', '.join(GRANTS)}",
        )
        return
    if grant != "client_credentials":
        if settings.private_key is not None:
            check.error(
                member_path(where, "private_key"),
                'only a "client_credentials" grant signs with a key',
            )
        return
    if not settings.client_id:
        check.error(
            member_path(where, "client_id"), 'a "client_credentials" grant needs the client_id'
        )
    if (settings.client_secret is None) == (settings.private_key is None):
        check.error(
            where,
            'a "client_credentials" grant needs a client_secret or a private_key (one of them)',
        )
    for key in ("callback_port", "client_metadata_url"):
        if getattr(settings, key) is not None:
            check.error(
                member_path(where, key), 'a "client_credentials" grant opens no browser: remove it'
            )


def check_server(
    name: str, raw: Any, path: Path | None = None
) -> ServerConfig | list[McpConfigError]:
    """The typed server, or the list of its problems (McpConfigError, each with a JSON path)."""
    base = server_path(name)
    if not isinstance(raw, dict):
        error = McpConfigError(f"must be an object, not {json_type(raw)}", path=path, where=base)
        return [error]
    check = _Checker(raw, base, path)
    transport = check.transport()
    command = check.string("command")
    url = check.string("url")
    config = ServerConfig(
        name=name,
        type=transport or "stdio",
        command=command,
        args=check.strings("args"),
        env=check.string_map("env"),
        cwd=check.string("cwd"),
        url=url,
        headers=check.string_map("headers"),
        cache_tools_list=check.boolean("cache_tools_list", False),
        enabled=check.boolean("enabled", True),
        timeout=(
            check.seconds("timeout")
            or check.seconds("client_session_timeout_seconds")
            or DEFAULT_TIMEOUT
        ),
        connect_timeout=check.seconds("connect_timeout") or DEFAULT_CONNECT_TIMEOUT,
        oauth=check.oauth(),
        raw=copy.deepcopy(raw),
    )
    config = _anchor_relative_paths(config, path)
    if transport == "stdio" and not command and "command" not in raw:
        check.error(base, 'a stdio server needs a "command": the program to run')
    elif transport == "stdio" and command == "":
        check.error(member_path(base, "command"), "must not be empty")
    if transport in ("sse", "streamable-http"):
        if url is None and "url" not in raw:
            check.error(base, f'this {transport} server needs a "url"')
        elif url is not None and "${" not in url and not url.startswith(("http://", "https://")):
            check.error(member_path(base, "url"), f"must start with http:// or https://: {url!r}")
    elif config.oauth is not None:
        check.error(member_path(base, "oauth"), "only an sse or streamable-http server signs in")
    return check.problems or config


def base_dir(path: Path) -> Path:
    """The folder relative paths of the catalogue at ``path`` are relative to.

    It is the file's own folder, except for a Carrier checkout's ``config/mcp_servers.json``:
    Carrier runs from the checkout's root, so that is where its relative paths point.
    """
    if path.name == "mcp_servers.json" and path.parent.name == "config":
        return path.parent.parent
    return path.parent


def _is_relative_path(text: str) -> bool:
    return text.startswith(("./", "../")) or text in (".", "..")


def _anchor_relative_paths(config: ServerConfig, path: Path | None) -> ServerConfig:
    """A stdio server whose ``cwd``, command or arguments are relative paths, run from
    `base_dir` rather than from wherever the studio happened to be started.

    Only the typed config changes; ``raw`` (the user's text) stays as written. Windows-style
    relative paths (``.\\server.js``) are left alone: they cannot work here, and
    `carrier_studio.core.mcp.lint` says so.
    """
    if config.type != "stdio" or path is None:
        return config
    base = base_dir(Path(path))
    cwd = config.cwd
    if cwd is not None and "${" not in cwd and "\\" not in cwd and not Path(cwd).is_absolute():
        return dataclasses.replace(config, cwd=os.path.normpath(base / cwd))
    if cwd is None and any(_is_relative_path(v) for v in (config.command or "", *config.args)):
        return dataclasses.replace(config, cwd=str(base))
    return config


class Catalogue:
    """An mcp_servers.json document: the servers that check out, and the problems of the rest.

    A file that is not JSON, not an object, or whose ``mcpServers`` is not an object raises
    `McpConfigError`. A broken server does not: it is left out of `servers` and its problems are
    in `problems`, so one typo does not take every other server away.
    """

    def __init__(self, data: dict[str, Any], path: Path | None = None, *, text: str | None = None):
        self.path = Path(path) if path is not None else None
        if not isinstance(data, dict):
            raise McpConfigError(
                f"must be a JSON object, not {json_type(data)}", path=self.path, where="$"
            )
        self.data = data
        # The text as read, kept while edits can be made in place (see `set_enabled`).
        self._text = text
        self._check_document()
        self._servers: dict[str, ServerConfig] = {}
        self.problems: list[McpConfigError] = []
        self._recheck()

    @classmethod
    def from_text(cls, text: str, path: Path | None = None) -> Catalogue:
        """Parse JSON text; a syntax error names the line and column (and the file, if given)."""
        return cls(_parse(text, path), path, text=text)

    @classmethod
    def empty(cls, path: Path | None = None) -> Catalogue:
        return cls({"version": CATALOGUE_VERSION, "mcpServers": {}}, path)

    # -- reads ---------------------------------------------------------------------------------

    @property
    def servers(self) -> dict[str, ServerConfig]:
        """The servers that check out, in file order."""
        return dict(self._servers)

    @property
    def names(self) -> list[str]:
        """Every server name in file order, broken ones included."""
        return list(self._raw_servers())

    def problems_of(self, name: str) -> list[McpConfigError]:
        prefix = server_path(name)
        return [p for p in self.problems if p.where == prefix or _under(p.where, prefix)]

    def server(self, name: str) -> ServerConfig:
        """The server called ``name``; McpConfigError if there is none or it is broken."""
        if name in self._servers:
            return self._servers[name]
        problems = self.problems_of(name)
        if problems:
            raise McpConfigError(
                problems[0].message,
                path=self.path,
                where=problems[0].where,
                problems=tuple(problems),
            )
        raise McpConfigError(f"there is no MCP server called {name!r}", path=self.path)

    def check(self) -> None:
        """Raise the first problem (all of them in ``problems``) if any server is broken."""
        if self.problems:
            first = self.problems[0]
            raise McpConfigError(
                first.message,
                path=self.path,
                where=first.where,
                hint=first.hint,
                problems=tuple(self.problems),
            )

    # -- edits ---------------------------------------------------------------------------------

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn a server on or off, changing only its ``enabled`` value in the text.

        Turning on a server that has no ``enabled`` key changes nothing (true is the default).
        """
        raw = self._raw_servers().get(name)
        if not isinstance(raw, dict):
            raise McpConfigError(f"there is no MCP server called {name!r}", path=self.path)
        if enabled and "enabled" not in raw:
            return
        if self._text is not None:
            edited = jsonedit.set_member(self._text, ("mcpServers", name), "enabled", enabled)
            self._text = edited
        raw["enabled"] = enabled
        self._recheck()

    def put(
        self, name: str, raw: Mapping[str, Any], *, replaces: str | None = None
    ) -> ServerConfig:
        """Add a server or replace one in place; McpConfigError if ``raw`` is invalid.

        With ``replaces``, the server of that name is replaced by this one, renamed to ``name``
        where it stood; a different server called ``name`` must not exist.
        """
        if not isinstance(name, str) or not name.strip():
            raise McpConfigError("a server needs a name", path=self.path, where="$.mcpServers")
        result = check_server(name, copy.deepcopy(dict(raw)), self.path)
        if isinstance(result, list):
            first = result[0]
            raise McpConfigError(
                first.message, path=self.path, where=first.where, problems=tuple(result)
            )
        servers = self.data.setdefault("mcpServers", {})
        new = dict(result.raw)
        if replaces is not None and replaces != name:
            if replaces not in servers:
                raise McpConfigError(f"there is no MCP server called {replaces!r}", path=self.path)
            if name in servers:
                raise McpConfigError(
                    f"there is already an MCP server called {name!r}",
                    path=self.path,
                    where=server_path(name),
                )
            self.data["mcpServers"] = {
                (name if key == replaces else key): (new if key == replaces else value)
                for key, value in servers.items()
            }
        else:
            servers[name] = new
        self._text = None
        self._recheck()
        return self._servers[name]

    def remove(self, name: str) -> None:
        servers = self._raw_servers()
        if name not in servers:
            raise McpConfigError(f"there is no MCP server called {name!r}", path=self.path)
        del servers[name]
        self._text = None
        self._recheck()

    def to_text(self) -> str:
        if self._text is not None:
            return self._text
        return json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"

    # -- internals -----------------------------------------------------------------------------

    def _raw_servers(self) -> dict[str, Any]:
        servers = self.data.get("mcpServers")
        return servers if isinstance(servers, dict) else {}

    def _check_document(self) -> None:
        version = self.data.get("version", CATALOGUE_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise McpConfigError(
                f"must be a whole number from 1, not {json.dumps(version)}",
                path=self.path,
                where="$.version",
            )
        if version > CATALOGUE_VERSION:
            raise McpConfigError(
                f"was written by a newer Carrier Studio (version {version}; "
                f"this one reads version {CATALOGUE_VERSION})",
                path=self.path,
                where="$.version",
                hint="Update Carrier Studio to use this file.",
            )
        servers = self.data.get("mcpServers", {})
        if not isinstance(servers, dict):
            raise McpConfigError(
                f"must be an object of servers by name, not {json_type(servers)}",
                path=self.path,
                where="$.mcpServers",
            )

    def _recheck(self) -> None:
        self._servers = {}
        self.problems = []
        for name, raw in self._raw_servers().items():
            result = check_server(name, raw, self.path)
            if isinstance(result, list):
                self.problems.extend(result)
            else:
                self._servers[name] = result


def _under(where: str | None, prefix: str) -> bool:
    return where is not None and where.startswith(prefix) and where[len(prefix)] in ".["


def _parse(text: str, path: Path | None) -> Any:
    # The strict reader: a key written twice, deep nesting or a huge file is named, not a
    # RecursionError or a server silently dropped.
    return parse_json(text, path=path, error=McpConfigError)


def import_claude_desktop(
    raw: Mapping[str, Any] | str, path: Path | None = None
) -> dict[str, dict[str, Any]]:
    """The servers of a Claude Desktop ``claude_desktop_config.json``, ready for `Catalogue.put`.

    Claude Desktop keeps the same ``mcpServers`` shape beside keys of its own (``preferences``,
    ``globalShortcut``…), which are ignored. A ``"disabled": true`` (Cline, Roo and others write
    it) becomes ``"enabled": false``; every other key of a server is kept.
    """
    data = _parse(raw, path) if isinstance(raw, str) else raw
    servers = data.get("mcpServers") if isinstance(data, Mapping) else None
    if not isinstance(servers, Mapping):
        raise McpConfigError("has no mcpServers object to import", path=path, where="$.mcpServers")
    imported: dict[str, dict[str, Any]] = {}
    for name, server in servers.items():
        if not isinstance(server, Mapping):
            continue
        entry = copy.deepcopy(dict(server))
        disabled = entry.pop("disabled", None)
        if isinstance(disabled, bool) and "enabled" not in entry:
            entry["enabled"] = not disabled
        imported[str(name)] = entry
    return imported


def find_carrier_config(root: Path) -> Path | None:
    """``config/mcp_servers.json`` when ``root`` is a Carrier checkout, else None."""
    candidate = Path(root) / "config" / "mcp_servers.json"
    return candidate if candidate.is_file() else None


def claude_desktop_config_path(
    home: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
) -> Path:
    """Where Claude Desktop keeps its configuration on this kind of system."""
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if platform == "win32":
        appdata = environ.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "Claude" / "claude_desktop_config.json"
    config = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config) / "Claude" / "claude_desktop_config.json"
