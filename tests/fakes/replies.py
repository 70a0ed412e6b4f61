"""What a scripted model says next: provider-neutral replies that each wire dialect renders.

A test scripts *what* the model answers (text, tool calls, an HTTP error, silence); the server
decides *how* that looks on the wire from the endpoint the client called. Keeping replies free of
protocol details means one script works against Chat Completions, Responses and Anthropic alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_WORDISH = re.compile(r"\s+|\S+\s*")

# Request fields whose strings are "prompt text" for the deterministic token count. Structural
# strings (roles, ids, types, tool names) are left out so counts match what a test wrote.
_TEXT_KEYS = frozenset(
    {"content", "text", "input", "instructions", "system", "output", "arguments", "partial_json"}
)


def count_words(text: str) -> int:
    """The fake tokenizer: whitespace-separated words. Deterministic and easy to predict."""
    return len(text.split())


def split_wordish(text: str) -> list[str]:
    """Split text into word-plus-trailing-space pieces whose concatenation is exactly `text`."""
    return _WORDISH.findall(text)


def prompt_words(*parts: Any) -> int:
    """Words in the text-bearing fields of request parts (messages, input, system, ...).

    Top-level string parts count whole; inside dicts only the values of text keys count.
    """
    total = 0
    for part in parts:
        if isinstance(part, str):
            total += count_words(part)
        else:
            total += _nested_text_words(part)
    return total


def _nested_text_words(node: Any) -> int:
    if isinstance(node, Mapping):
        return sum(
            count_words(value) if key in _TEXT_KEYS and isinstance(value, str) else 0
            for key, value in node.items()
        ) + sum(_nested_text_words(v) for v in node.values() if not isinstance(v, str))
    if isinstance(node, list):
        return sum(
            count_words(item) if isinstance(item, str) else _nested_text_words(item)
            for item in node
        )
    return 0


@dataclass(frozen=True)
class Usage:
    """Token counts for a completed reply, in provider-neutral terms.

    `input_tokens` includes `cached_tokens` (OpenAI's convention); the Anthropic dialect reports
    `input_tokens - cached_tokens` as input and `cached_tokens` as cache reads, as Anthropic does.
    """

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.cached_tokens <= self.input_tokens:
            raise ValueError("cached_tokens must be between 0 and input_tokens")
        if not 0 <= self.reasoning_tokens <= self.output_tokens:
            raise ValueError("reasoning_tokens must be between 0 and output_tokens")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ToolCall:
    """One function call the model makes; `call_id=None` lets the server invent a stable id."""

    name: str
    arguments: Mapping[str, Any]
    call_id: str | None = None

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments)

    def argument_fragments(self) -> list[str]:
        """How the arguments stream: word-ish pieces of the JSON string (never empty)."""
        return split_wordish(self.arguments_json)


@dataclass(frozen=True)
class Completion:
    """A successful answer: optional text, then zero or more tool calls.

    `chunks` fixes how the text streams (default: word-ish pieces); `delay` is slept between
    streamed pieces (and, for non-streaming requests, once per piece boundary before answering,
    so a slow reply is slow either way). `usage=None` derives counts from word counts.
    """

    text: str = ""
    calls: tuple[ToolCall, ...] = ()
    chunks: tuple[str, ...] | None = None
    delay: float = 0.0
    usage: Usage | None = None

    def __post_init__(self) -> None:
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError("chunks must join to exactly the text")

    def text_pieces(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_wordish(self.text)

    def total_delay(self) -> float:
        """What streaming would take: `delay` between every two streamed pieces."""
        pieces = len(self.text_pieces()) + sum(len(c.argument_fragments()) for c in self.calls)
        return self.delay * max(0, pieces - 1)

    def output_words(self) -> int:
        """Deterministic completion-token count: words of the text and of each call."""
        calls = sum(count_words(c.name) + count_words(c.arguments_json) for c in self.calls)
        return count_words(self.text) + calls

    def resolved_usage(self, prompt_tokens: int) -> Usage:
        return self.usage or Usage(input_tokens=prompt_tokens, output_tokens=self.output_words())


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error in the provider's own JSON shape.

    `type_`/`code` default per provider and status (e.g. 401 -> OpenAI `invalid_api_key`,
    Anthropic `authentication_error`); `code` is only part of OpenAI's shape.
    """

    status: int
    message: str
    type_: str | None = None
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer, until the client disconnects or the server stops.

    For streaming requests the 200 and SSE headers are sent first (the model is "thinking").
    """


Reply = Completion | ErrorReply | Hang
REPLY_TYPES = (Completion, ErrorReply, Hang)


def text(
    content: str,
    chunks: Sequence[str] | None = None,
    delay: float = 0.0,
    usage: Usage | None = None,
) -> Completion:
    """A plain text answer; streamed as `chunks` (default word-ish pieces), `delay` apart."""
    return Completion(
        text=content,
        chunks=tuple(chunks) if chunks is not None else None,
        delay=delay,
        usage=usage,
    )


def json_text(obj: Any, delay: float = 0.0, usage: Usage | None = None) -> Completion:
    """A text answer whose content is `json.dumps(obj)` (structured-output style replies)."""
    return text(json.dumps(obj), delay=delay, usage=usage)


def slow_text(content: str, per_chunk_delay: float) -> Completion:
    """A text answer that streams with `per_chunk_delay` seconds between pieces."""
    return text(content, delay=per_chunk_delay)


def tool_call(name: str, arguments: Mapping[str, Any], call_id: str | None = None) -> Completion:
    """A reply that calls one function tool with `arguments` (sent as a JSON string)."""
    return Completion(calls=(ToolCall(name=name, arguments=dict(arguments), call_id=call_id),))


def tool_calls(
    calls: Iterable[Completion | ToolCall],
    text: str = "",
    delay: float = 0.0,
    usage: Usage | None = None,
) -> Completion:
    """Several tool calls in one reply, optionally after some text (`tool_call(...)` items)."""
    flat: list[ToolCall] = []
    for item in calls:
        flat.extend(item.calls if isinstance(item, Completion) else (item,))
    return Completion(text=text, calls=tuple(flat), delay=delay, usage=usage)


def error(
    status: int,
    message: str,
    type_: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ErrorReply:
    """An HTTP error reply, e.g. `error(429, "slow down", headers={"retry-after": "2"})`."""
    return ErrorReply(
        status=status, message=message, type_=type_, code=code, headers=dict(headers or {})
    )


def hang() -> Hang:
    """A reply that never comes: for cancel and timeout tests."""
    return Hang()
