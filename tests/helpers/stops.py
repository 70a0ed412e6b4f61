"""Recording the order in which a session's services stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    from carrier_studio.session import Session

#: The order services must stop in: the reverse of `Session.start`. The Discord bot and the last
#: chat turns still write memories and use MCP tools; the Instagram publisher saves its step in
#: studio.db; studio.db closes last.
STOP_ORDER = [
    "discord",
    "chat drain",
    "provider clients",
    "instagram",
    "memory",
    "mcp",
    "database",
]


def record_stops(
    session: Session, monkeypatch: pytest.MonkeyPatch, stopped: list[str], fail: str = ""
) -> None:
    """Wrap each service's stop so that ``stopped`` lists them in the order they ran.

    Install the wrappers before `Session.start`: it keeps the bound methods it will call.
    ``fail`` names a stop that raises once it has run.
    """
    targets = {
        "discord": (session.discord, "stop"),
        "chat drain": (session.chat, "drain"),
        "provider clients": (session.chat.clients, "close"),
        "instagram": (session.instagram, "close"),
        "memory": (session.memory, "close"),
        "mcp": (session.mcp, "shutdown"),
        "database": (session.database, "close"),
    }
    for name, (service, method) in targets.items():
        real = getattr(service, method)

        async def stop(*args, _name=name, _real=real, **kwargs):
            stopped.append(_name)
            result = await _real(*args, **kwargs)
            if _name == fail:
                raise RuntimeError(f"{_name} failed to stop")
            return result

        monkeypatch.setattr(service, method, stop)
