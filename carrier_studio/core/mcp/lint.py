"""Warnings about servers that check out but cannot work as written.

`check_server` refuses what is malformed; this module flags what is well-formed yet wrong on this
machine: a Windows path on Linux or macOS (and the reverse), a placeholder left from a README
(``<your-token>``, ``YOUR_API_KEY``, ``xxx``, ``changeme``), a ``${VAR}`` that nothing sets, a
command that is not installed. Each warning is an `McpConfigError` whose ``where`` names the
server and the field (``$.mcpServers.github.env.GITHUB_TOKEN``).

Looking things up (PATH, files, the keyring) is the caller's: pass ``which``, ``exists`` and
``is_set``, or leave them out to skip those checks. The lookups may block, so callers on the
event loop run `lint_server` in a thread.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from carrier_studio.core.mcp.config import (
    Catalogue,
    McpConfigError,
    ServerConfig,
    member_path,
    server_path,
)

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\[^\\])")
#: ``.\server.js``, ``..\tools\x``, ``build\index.js``: backslash-separated, not a flag or URL.
_WINDOWS_RELATIVE = re.compile(r"^(?:\.{1,2}\\|[\w.-]+\\[\w.-])")
_POSIX_ABSOLUTE = re.compile(r"^/(?:Users|home|opt|usr|var|tmp|etc|Applications)/")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
_PLACEHOLDERS = (
    # <your-token>, <YOUR_API_KEY>, <path/to/folder>: a README's "fill this in".
    re.compile(r"<[^<>\s]*(?:your|token|key|secret|password|path|here|name|id)[^<>]*>", re.I),
    # YOUR_API_KEY, your-token-here, your_key
    re.compile(r"(?:^|[^A-Za-z])your[_-][A-Za-z_-]+", re.I),
    # xxx, sk-xxxxxxxx, ghp_XXXXXXXXXXXX, Bearer xxxx
    re.compile(r"^(?:(?:bearer|basic|token)\s+)?(?:[A-Za-z]+[-_])?x{3,}$", re.I),
    re.compile(
        r"^(?:(?:bearer|basic|token)\s+)?(?:changeme|change[-_]me|replace[-_]?me|todo|tbd|placeholder|\.\.\.|"
        r"insert[-_ ].*here|api[-_]?key[-_]?here|secret|password|token)$",
        re.I,
    ),
)


def looks_like_placeholder(value: str) -> bool:
    """True for text a README asks you to replace rather than a real value."""
    text = value.strip()
    return bool(text) and any(pattern.search(text) for pattern in _PLACEHOLDERS)


def windows_path_problem(value: str, platform: str = sys.platform) -> str | None:
    """Why ``value`` is a path of another system, or None."""
    if platform == "win32":
        if _POSIX_ABSOLUTE.match(value):
            return f"{value!r} is a macOS/Linux path, which cannot exist on Windows"
        return None
    if _WINDOWS_ABSOLUTE.match(value):
        return f"{value!r} is a Windows path, which cannot exist on this system"
    if _WINDOWS_RELATIVE.match(value) and "/" not in value:
        fixed = value.replace("\\", "/")
        return (
            f"{value!r} is a Windows-style relative path, which cannot work here; "
            f"write it with forward slashes ({fixed!r})"
        )
    return None


def _fields(config: ServerConfig) -> Iterator[tuple[str, str, str]]:
    """(where, field kind, value) of every string the server uses."""
    base = server_path(config.name)
    if config.command is not None:
        yield member_path(base, "command"), "command", config.command
    for index, arg in enumerate(config.args):
        yield f"{member_path(base, 'args')}[{index}]", "args", arg
    if config.cwd is not None and "cwd" in config.raw:
        yield member_path(base, "cwd"), "cwd", str(config.raw["cwd"])
    for key, value in config.env.items():
        yield member_path(member_path(base, "env"), key), "env", value
    if config.url is not None:
        yield member_path(base, "url"), "url", config.url
    for key, value in config.headers.items():
        yield member_path(member_path(base, "headers"), key), "headers", value


def lint_server(
    config: ServerConfig,
    *,
    path: Path | None = None,
    platform: str = sys.platform,
    which: Callable[[str], str | None] | None = None,
    exists: Callable[[str], bool] | None = None,
    is_set: Callable[[str], bool] | None = None,
) -> list[McpConfigError]:
    """The warnings for one server (empty when it looks usable here)."""
    found: list[McpConfigError] = []

    def warn(where: str, message: str, hint: str | None = None) -> None:
        found.append(McpConfigError(f"{config.name}: {message}", path=path, where=where, hint=hint))

    for where, kind, value in _fields(config):
        if kind in ("command", "args", "cwd", "env"):
            problem = windows_path_problem(value, platform)
            if problem:
                warn(where, problem, "Change it to a path on this machine.")
                continue
        if kind != "command" and looks_like_placeholder(value):
            warn(
                where,
                f"{value!r} looks like a placeholder, not a real value",
                "Put the real value in the keyring (Settings → Secrets) and write ${NAME} here.",
            )
            continue
        if is_set is not None:
            for match in _VARIABLE.finditer(value):
                name, default = match.group(1), match.group(2)
                if default is None and not is_set(name):
                    warn(
                        where,
                        f"${{{name}}} is not set (no secret, environment variable or .env "
                        "entry of that name)",
                        "Type it in the server's Configuration tab or under Settings → MCP "
                        "server secrets, or add it to the workspace .env.",
                    )
    command = config.command
    if config.type == "stdio" and command and "${" not in command:
        where = member_path(server_path(config.name), "command")
        if windows_path_problem(command, platform) is not None:
            pass  # already said
        elif Path(command).is_absolute():
            if exists is not None and not exists(command):
                warn(where, f"the program {command!r} does not exist")
        elif "/" not in command and which is not None and which(command) is None:
            warn(
                where,
                f"the program {command!r} is not installed (not found on PATH)",
                "Install it, or give the full path to the program.",
            )
    return found


def lint_catalogue(catalogue: Catalogue, **lookups: Any) -> list[McpConfigError]:
    """The warnings of every server that checks out, in file order (`lint_server`'s options)."""
    return [
        warning
        for config in catalogue.servers.values()
        for warning in lint_server(config, path=catalogue.path, **lookups)
    ]
