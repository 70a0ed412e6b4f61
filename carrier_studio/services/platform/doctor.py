"""`carrier-studio doctor`: what this installation has, without printing a secret."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
import sys

from carrier_studio import __version__
from carrier_studio.core.secret_names import KNOWN_SECRETS
from carrier_studio.services.platform import db
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.platform.workspace import OpenedWorkspace

#: Distributions worth naming in a bug report (the heavy ones are optional until they land).
_DISTRIBUTIONS = [
    "PySide6-Essentials",
    "qasync",
    "apsw",
    "sqlite-vec",
    "keyring",
    "pydantic",
    "openai-agents",
    "openai",
    "anthropic",
    "mcp",
    "discord.py",
    "supabase",
]

Row = tuple[str, str]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _tool_version(tool: str) -> str:
    exe = shutil.which(tool)
    if not exe:
        return "not found on PATH"
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exe} (does not answer: {exc})"
    return f"{done.stdout.strip() or done.stderr.strip()} ({exe})"


def _sqlite_vec() -> str:
    try:
        conn = db.connect(":memory:")
        sqlite_version, vec_version = conn.execute(
            "SELECT sqlite_version(), vec_version()"
        ).fetchone()
        conn.close()
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure as text
        return f"FAILS to load: {exc}"
    return f"loads (sqlite-vec {vec_version}, SQLite {sqlite_version})"


def _providers(settings: SettingsStore, secrets: SecretStore) -> list[Row]:
    rows: list[Row] = []
    for name, label in KNOWN_SECRETS.items():
        source = secrets.source(name)
        rows.append((label, f"set (from {source})" if source else "not set"))
    default = settings.settings.providers.default
    rows.append(("Default model", f"{default.provider} / {default.model}"))
    for endpoint in settings.settings.providers.endpoints:
        models = ", ".join(endpoint.models) or "no models listed"
        rows.append((f"Endpoint {endpoint.name}", f"{endpoint.base_url} ({models})"))
    return rows


def report(
    workspace: OpenedWorkspace, settings: SettingsStore, secrets: SecretStore
) -> list[tuple[str, list[Row]]]:
    """Sections of (label, value) rows."""
    versions = [("Carrier Studio", __version__), ("Python", f"{sys.version.split()[0]}")]
    versions += [(dist, _version(dist)) for dist in _DISTRIBUTIONS]
    versions.append(("Platform", platform.platform()))
    keyring_state = (
        "works"
        if secrets.keyring_available
        else "NONE available: secrets can be kept for this session only or in the workspace .env"
    )
    return [
        ("Versions", versions),
        (
            "Workspace",
            [
                ("Folder", str(workspace.root)),
                ("Carrier checkout", "yes" if workspace.paths.is_carrier_checkout else "no"),
                ("MCP catalogue", str(workspace.paths.mcp_config)),
                ("Database", str(workspace.paths.database)),
                ("Settings file", str(settings.path)),
            ],
        ),
        (
            "Storage",
            [
                ("sqlite-vec", _sqlite_vec()),
                ("Keyring backend", f"{secrets.backend_name} ({keyring_state})"),
                ("Secrets go to", secrets.storage_words),
            ],
        ),
        ("Tools", [("node", _tool_version("node")), ("npm", _tool_version("npm"))]),
        ("Providers", _providers(settings, secrets)),
    ]


def format_report(sections: list[tuple[str, list[Row]]]) -> str:
    width = max(len(label) for _, rows in sections for label, _ in rows)
    lines = []
    for title, rows in sections:
        lines.append(title)
        lines.extend(f"  {label:<{width}}  {value}" for label, value in rows)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
