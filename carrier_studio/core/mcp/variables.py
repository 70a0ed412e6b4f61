"""``${VAR}`` and ``${VAR:-default}`` in server settings, filled just before a server starts.

Variables may appear in ``command``, ``args``, ``env`` values, ``cwd``, ``url`` and ``headers``
values. ``${VAR:-default}`` uses ``default`` when VAR is unset or empty (as in a shell); a
plain ``${VAR}`` that is unset is an error naming every such variable and where it is used, so
the user can add the secret and start the server again. ``$${`` writes a literal ``${``.

The lookup is the caller's: the studio asks the keyring, then the environment, then the
workspace ``.env`` (`SecretStore.get`), with ``WORKSPACE`` answered by the workspace path.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from carrier_studio.core.mcp.config import McpConfigError, ServerConfig, member_path, server_path

Lookup = Callable[[str], str | None]

_VARIABLE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpVariableError(McpConfigError):
    """Variables used by a server are not set. ``missing`` maps each name to where it is used."""

    def __init__(self, missing: dict[str, list[str]], *, path: Path | None = None) -> None:
        used = {name: f"used in {', '.join(places)}" for name, places in missing.items()}
        if len(missing) == 1:
            name = next(iter(missing))
            message = f"{name} is not set ({used[name]})"
        else:
            details = "; ".join(f"{name} ({where})" for name, where in used.items())
            message = f"{', '.join(missing)} are not set: {details}"
        super().__init__(
            message,
            path=path,
            where=next(iter(missing.values()))[0],
            # Named as the screens name them: "Settings (secrets)" matched no heading.
            hint="Type it in the server's Configuration tab (MCP Servers) or under Settings → "
            "MCP server secrets, or add it to the workspace .env, then start the server again.",
        )
        self.missing = missing


def lookup_chain(*lookups: Lookup | Mapping[str, str]) -> Lookup:
    """One lookup that asks each in turn (a mapping counts as ``mapping.get``)."""
    steps = [item.get if isinstance(item, Mapping) else item for item in lookups]

    def lookup(name: str) -> str | None:
        for step in steps:
            value = step(name)
            if value is not None:
                return value
        return None

    return lookup


def variables_in(config: ServerConfig) -> list[str]:
    """The names a server uses, in order of first use (the UI lists the secrets it needs)."""
    names: dict[str, None] = {}
    for _, text in _fields(config):
        for match in _VARIABLE.finditer(text):
            if match.group(1):
                names.setdefault(match.group(1))
    return list(names)


def substitute(text: str, lookup: Lookup, where: str, missing: dict[str, list[str]]) -> str:
    """``text`` with its variables filled; unset ones are added to ``missing`` with ``where``."""
    cache: dict[str, str | None] = {}

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:
            return "${"
        if name not in cache:
            cache[name] = lookup(name)
        value = cache[name]
        if default is not None and not value:
            return default
        if value is None:
            missing.setdefault(name, []).append(where)
            return ""
        return value

    return _VARIABLE.sub(fill, text)


def resolve(config: ServerConfig, lookup: Lookup, *, path: Path | None = None) -> ServerConfig:
    """A copy of ``config`` with every variable filled; McpVariableError if any is unset.

    ``lookup`` may block (a keyring): call this in a thread from the event loop.
    """
    missing: dict[str, list[str]] = {}
    memo: dict[str, str | None] = {}

    def cached(name: str) -> str | None:
        if name not in memo:
            memo[name] = lookup(name)
        return memo[name]

    base = server_path(config.name)

    def fill(value: str | None, key: str) -> str | None:
        if value is None:
            return None
        return substitute(value, cached, key, missing)

    command = fill(config.command, member_path(base, "command"))
    args = tuple(
        substitute(arg, cached, f"{member_path(base, 'args')}[{index}]", missing)
        for index, arg in enumerate(config.args)
    )
    env_base, headers_base = member_path(base, "env"), member_path(base, "headers")
    env = {
        k: substitute(v, cached, member_path(env_base, k), missing) for k, v in config.env.items()
    }
    cwd = fill(config.cwd, member_path(base, "cwd"))
    url = fill(config.url, member_path(base, "url"))
    headers = {
        k: substitute(v, cached, member_path(headers_base, k), missing)
        for k, v in config.headers.items()
    }
    if missing:
        raise McpVariableError(missing, path=path)
    return dataclasses.replace(
        config, command=command, args=args, env=env, cwd=cwd, url=url, headers=headers
    )


def _fields(config: ServerConfig) -> list[tuple[str, str]]:
    pairs = [
        ("command", config.command or ""),
        ("cwd", config.cwd or ""),
        ("url", config.url or ""),
    ]
    pairs += [("args", arg) for arg in config.args]
    pairs += [("env", value) for value in config.env.values()]
    pairs += [("headers", value) for value in config.headers.values()]
    if config.oauth is not None and config.oauth.client_secret:  # filled by services.mcp.oauth
        pairs.append(("oauth", config.oauth.client_secret))
    return pairs
