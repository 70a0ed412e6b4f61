"""The contract between the HTTP server and each provider's wire format.

A dialect turns one scripted `Completion` into a JSON body or a sequence of server-sent events;
the server owns all I/O (recording, pacing, disconnects). Dialects are pure functions of the
request body and the reply, which keeps each protocol's shape readable in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import anthropic_error_body, openai_error_body
from .replies import Completion, ErrorReply, Usage


@dataclass(frozen=True)
class SSEvent:
    """One server-sent event; `delay` is slept before it is written (for slow replies)."""

    data: Mapping[str, Any] | str
    event: str | None = None
    delay: float = 0.0

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {data}\n\n".encode()


@dataclass(frozen=True)
class Turn:
    """Everything a dialect needs to render one reply to one request."""

    body: Mapping[str, Any]
    reply: Completion
    usage: Usage
    new_id: Callable[[str], str]
    created: int

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "unknown-model")

    def call_ids(self, prefix: str) -> list[str]:
        """The reply's tool-call ids: scripted ones, or fresh ids minted once per turn."""
        return [call.call_id or self.new_id(prefix) for call in self.reply.calls]


class Pacer:
    """Hands out the delay before each streamed piece: none before the first, then `delay`."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._started = False

    def next(self) -> float:
        if not self._started:
            self._started = True
            return 0.0
        return self._delay


class Dialect(Protocol):
    """One provider endpoint's wire format."""

    provider: str  # "openai" or "anthropic": picks error shapes and request-id header names

    def prompt_tokens(self, body: Mapping[str, Any]) -> int: ...

    def render(self, turn: Turn) -> dict[str, Any]: ...

    def stream(self, turn: Turn) -> Iterator[SSEvent]: ...


def is_streaming(body: Any) -> bool:
    return isinstance(body, Mapping) and body.get("stream") is True


def error_body(provider: str, reply: ErrorReply, request_id: str) -> dict[str, Any]:
    if provider == "anthropic":
        return anthropic_error_body(reply, request_id)
    return openai_error_body(reply)
