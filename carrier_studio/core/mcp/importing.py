"""Bringing servers in from other tools' configs: Claude Desktop, Cursor, VS Code.

One plan for the MCP page's preview and for ``carrier-studio mcp import``: each server becomes an
`ImportCandidate` that says what would be added under which name, what it clashes with, which
``env`` values look secret (and would move to the keyring, leaving ``${VAR}`` in the file), and
what cannot work on this machine. Choices are made on the candidates; `final_raw` is what gets
written. No I/O here: lookups (PATH, files, stored secrets) are passed in.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from carrier_studio.core.mcp.config import (
    McpConfigError,
    _parse,
    check_server,
    claude_desktop_config_path,
    import_claude_desktop,
)
from carrier_studio.core.mcp.lint import lint_server

Action = Literal["add", "rename", "replace", "skip"]
#: What to do with a server whose name the catalogue already has (the CLI's --rename/--replace).
OnClash = Literal["skip", "rename", "replace"]

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|PAT|CREDENTIALS?|AUTH)(?:$|_)",
    re.I,
)
#: Prefixes of keys and tokens as the big providers issue them.
_KEY_PREFIXES = re.compile(
    r"^(?:sk-|sk_live_|rk_live_|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abpr]-|AKIA|AIza|"
    r"BSA|pk_live_|hf_|lin_api_|ntn_|secret_)"
)
_VARIABLE_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$")


def looks_like_key(value: str) -> bool:
    """True for a value shaped like an API key or token, whatever its name says."""
    text = value.strip()
    if not text or _VARIABLE_ONLY.match(text) or any(c.isspace() for c in text):
        return False
    if _KEY_PREFIXES.match(text) and len(text) >= 12:
        return True
    # A long run of letters and digits with no path or URL in it: a random token.
    return (
        len(text) >= 24
        and not re.search(r"[/\\:@.]", text)
        and any(c.isdigit() for c in text)
        and any(c.isalpha() for c in text)
    )


def secret_reason(key: str, value: str) -> str | None:
    """Why an ``env`` entry should live in the keyring, or None."""
    from carrier_studio.core.mcp.lint import looks_like_placeholder

    if not value.strip() or "${" in value or looks_like_placeholder(value):
        return None  # nothing secret to move (a placeholder is lint's business)
    if _SECRET_NAME.search(key):
        return "its name says it is secret"
    if looks_like_key(value):
        return "its value looks like a key"
    return None


@dataclass
class SecretMove:
    """An ``env`` value that would go to the keyring as ``variable``."""

    key: str
    variable: str
    value: str
    reason: str


@dataclass
class ImportCandidate:
    """One server of the file being imported, and what to do with it."""

    source_name: str
    raw: dict[str, Any]
    #: The name it would get: the source name, or the renamed one.
    name: str
    #: True when the catalogue already has a server called ``source_name``.
    clash: bool
    suggested: str
    action: Action
    secrets: list[SecretMove] = field(default_factory=list)
    move_secrets: bool = False
    #: Things that cannot work here (Windows paths, missing programs, placeholders).
    warnings: list[str] = field(default_factory=list)
    #: Why it cannot be imported at all (invalid server); such a candidate is skipped.
    problems: list[str] = field(default_factory=list)

    def choose(self, action: Action, name: str | None = None) -> None:
        """Set what happens; ``rename`` takes ``name`` (default: the suggestion)."""
        self.action = action
        if action == "rename":
            self.name = (name or self.suggested).strip()
        else:
            self.name = self.source_name

    def final_raw(self) -> dict[str, Any]:
        """The server as it will be written: moved secrets replaced by ``${VAR}``."""
        raw = copy.deepcopy(self.raw)
        if self.move_secrets and self.secrets:
            env = dict(raw.get("env") or {})
            for move in self.secrets:
                env[move.key] = f"${{{move.variable}}}"
            raw["env"] = env
        return raw

    def stored_secrets(self) -> dict[str, str]:
        """What to put in the keyring before `final_raw` is written."""
        return {m.variable: m.value for m in self.secrets} if self.move_secrets else {}


def suggest_name(name: str, taken: Iterable[str]) -> str:
    """``name-2``, ``name-3``… the first that is free."""
    taken = set(taken)
    counter = 2
    while f"{name}-{counter}" in taken:
        counter += 1
    return f"{name}-{counter}"


def read_client_config(raw: Mapping[str, Any] | str, path: Path | None = None) -> dict[str, Any]:
    """The servers of a Claude Desktop or Cursor config (``mcpServers``) or a VS Code
    ``mcp.json`` (``servers``), in the catalogue's shape."""
    data = _parse(raw, path) if isinstance(raw, str) else raw
    if isinstance(data, Mapping) and "mcpServers" not in data:
        servers = data.get("servers")
        if isinstance(servers, Mapping):
            # VS Code's shape differs only in the key (its "type" values are ours too).
            return import_claude_desktop({"mcpServers": servers}, path)
    return import_claude_desktop(data, path)


def _variable_name(server: str, key: str, value: str, used: dict[str, str], stored: Any) -> str:
    """The ``${VAR}`` name for a moved secret: the env key itself, unless that name already
    holds a different value (in this import or in the keyring)."""
    candidates = [key.upper(), re.sub(r"[^A-Za-z0-9]+", "_", f"{server}_{key}").upper()]
    for name in candidates:
        existing = used.get(name)
        if existing is None and stored is not None:
            existing = stored(name)
        if existing is None or existing == value:
            used[name] = value
            return name
    base = candidates[-1]
    counter = 2
    while f"{base}_{counter}" in used or (stored is not None and stored(f"{base}_{counter}")):
        counter += 1
    used[f"{base}_{counter}"] = value
    return f"{base}_{counter}"


def plan_import(
    servers: Mapping[str, Any],
    existing: Iterable[str],
    *,
    path: Path | None = None,
    on_clash: OnClash = "skip",
    move_secrets: bool = False,
    platform: str = sys.platform,
    which: Callable[[str], str | None] | None = None,
    exists: Callable[[str], bool] | None = None,
    stored: Callable[[str], str | None] | None = None,
) -> list[ImportCandidate]:
    """One candidate per server of ``servers`` (from `read_client_config`), in file order.

    ``existing`` are the catalogue's names; ``stored(name)`` reads a stored secret, so a moved
    secret never overwrites a different one of the same name.
    """
    existing = list(existing)
    taken = set(existing) | set(servers)
    used: dict[str, str] = {}
    plan: list[ImportCandidate] = []
    for source_name, raw in servers.items():
        clash = source_name in existing
        suggested = suggest_name(source_name, taken) if clash else source_name
        if clash and on_clash == "rename":
            taken.add(suggested)
        action: Action = on_clash if clash else "add"
        candidate = ImportCandidate(
            source_name, copy.deepcopy(dict(raw)), source_name, clash, suggested, action
        )
        candidate.choose(action)
        checked = check_server(source_name, candidate.raw, path)
        if isinstance(checked, list):
            candidate.problems = [f"{p.where}: {p.message}" for p in checked]
            candidate.action = "skip"
            plan.append(candidate)
            continue
        for key, value in checked.env.items():
            reason = secret_reason(key, value)
            if reason:
                variable = _variable_name(source_name, key, value, used, stored)
                candidate.secrets.append(SecretMove(key, variable, value, reason))
        candidate.move_secrets = move_secrets and bool(candidate.secrets)
        for warning in lint_server(
            checked, path=path, platform=platform, which=which, exists=exists
        ):
            field_name = warning.where.removeprefix("$.mcpServers.") if warning.where else ""
            message = warning.message.removeprefix(f"{source_name}: ")
            candidate.warnings.append(f"{field_name}: {message}")
        plan.append(candidate)
    return plan


def check_choices(plan: list[ImportCandidate], existing: Iterable[str]) -> list[str]:
    """What is wrong with the choices made (two servers to one name, a rename onto a taken
    name); empty when the plan can be applied."""
    existing = set(existing)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for candidate in plan:
        if candidate.action == "skip":
            continue
        name = candidate.name
        if not name:
            problems.append(f"{candidate.source_name}: the new name is empty")
        elif candidate.action in ("add", "rename") and name in existing:
            problems.append(f"{candidate.source_name}: {name} is already in the catalogue")
        elif name in seen:
            problems.append(f"{candidate.source_name} and {seen[name]} would both be {name}")
        seen[name] = candidate.source_name
    return problems


@dataclass(frozen=True)
class ConfigLocation:
    label: str
    path: Path


def config_locations(
    home: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    project: Path | None = None,
) -> list[ConfigLocation]:
    """Where other MCP clients keep their configs on this kind of system (the caller keeps
    the ones that exist)."""
    home = home or Path.home()
    found = [
        ConfigLocation("Claude Desktop", claude_desktop_config_path(home, environ, platform)),
        ConfigLocation("Cursor", home / ".cursor" / "mcp.json"),
    ]
    if platform == "darwin":
        code = home / "Library" / "Application Support" / "Code" / "User"
    elif platform == "win32":
        code = Path(environ.get("APPDATA") or home / "AppData" / "Roaming") / "Code" / "User"
    else:
        code = Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "Code" / "User"
    found.append(ConfigLocation("VS Code (user)", code / "mcp.json"))
    if project is not None:
        found.append(ConfigLocation("VS Code (this folder)", project / ".vscode" / "mcp.json"))
    return found


__all__ = [
    "ConfigLocation",
    "ImportCandidate",
    "McpConfigError",
    "SecretMove",
    "check_choices",
    "config_locations",
    "looks_like_key",
    "plan_import",
    "read_client_config",
    "secret_reason",
    "suggest_name",
]
