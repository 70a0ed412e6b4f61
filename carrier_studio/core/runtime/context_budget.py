"""How much of a model's context window the next request takes, and what is left out when the
conversation no longer fits.

Tokens are an estimate, not a tokenizer's count: one token per 4 bytes of UTF-8 text (OpenAI's
rule of thumb for English; a CJK character is 3 bytes, about one token, so such text reads a
little low) plus 4 tokens per message for its role and separators. No tokenizer is installed
that knows every provider's models (tiktoken fetches its tables from the network at first use,
and local models each have their own), and the estimate errs by tens of percent at most, which
the reserve for the reply absorbs.

Context windows come from `KNOWN_WINDOWS` (the providers' published sizes, matched by the
model name's prefix); an unknown model gets `DEFAULT_WINDOW`, the size llama.cpp and Ollama
serve by default, so a local model is not overfilled.

The rule when the next request would not fit (window minus `reserve`): the oldest turns are
left out of what the model is sent, a whole turn at a time (a user message and everything
after it up to the next user message, so tool calls stay with their results), never the
newest turn. The stored conversation keeps every turn; the chat shows a marker saying how many
messages the model did not see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Tokens per message for its role and separators (OpenAI's chat format spends 3-4).
MESSAGE_OVERHEAD = 4
#: For a model not in `KNOWN_WINDOWS`: llama.cpp's and Ollama's default context size.
DEFAULT_WINDOW = 8192
#: Published context windows, by model-name prefix (the longest matching prefix wins).
KNOWN_WINDOWS: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4": 200_000,
    "claude": 200_000,
    "llama3.1": 131_072,
    "llama3.2": 131_072,
    "llama3": 8_192,
    "qwen2.5": 32_768,
    "qwen3": 40_960,
    "mistral": 32_768,
    "gemma2": 8_192,
    "gemma3": 131_072,
    "phi3": 4_096,
}
#: The meter warns from this share of the budget on.
WARN_AT = 0.8


def estimate_tokens(text: str) -> int:
    """The estimated tokens of ``text`` (see the module's note on the estimate)."""
    size = len(text.encode("utf-8"))
    return (size + 3) // 4


def item_tokens(item: Any) -> int:
    """The estimated tokens of one SDK input item (a message, a tool call or its output)."""
    if isinstance(item, dict):
        content = item.get("content")
        if isinstance(content, str) and set(item) <= {"role", "content", "type"}:
            return estimate_tokens(content) + MESSAGE_OVERHEAD
        return estimate_tokens(json.dumps(item, ensure_ascii=False)) + MESSAGE_OVERHEAD
    return estimate_tokens(str(item)) + MESSAGE_OVERHEAD


def context_window(model: str) -> int:
    """The context window of ``model``: the longest known prefix's, else `DEFAULT_WINDOW`."""
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" and "library/qwen2.5" too
    found = [prefix for prefix in KNOWN_WINDOWS if name.startswith(prefix)]
    return KNOWN_WINDOWS[max(found, key=len)] if found else DEFAULT_WINDOW


def reserve(window: int) -> int:
    """Tokens kept free for the reply: a quarter of a small window, at most 4096."""
    return min(4096, window // 4)


@dataclass(frozen=True)
class Budget:
    """The next request against the model's window."""

    tokens: int
    window: int

    @property
    def limit(self) -> int:
        """What the request may take: the window less the reply's reserve."""
        return self.window - reserve(self.window)

    @property
    def over(self) -> bool:
        return self.tokens > self.limit

    @property
    def near(self) -> bool:
        return not self.over and self.tokens >= WARN_AT * self.limit


def measure(instructions: str, history: list[Any], typed: str, window: int) -> Budget:
    """The budget of a request of ``instructions``, ``history`` and the ``typed`` message."""
    tokens = estimate_tokens(instructions) + MESSAGE_OVERHEAD
    tokens += sum(item_tokens(item) for item in history)
    if typed.strip():
        tokens += estimate_tokens(typed) + MESSAGE_OVERHEAD
    return Budget(tokens, window)


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


def fit(instructions: str, items: list[Any], window: int) -> tuple[list[Any], int]:
    """``items`` without their oldest turns, until the request fits ``window`` (less the
    reply's reserve); returns the items kept and how many were left out. The newest turn (from
    the last user message on) is always kept, even when it alone does not fit."""
    budget = window - reserve(window) - estimate_tokens(instructions) - MESSAGE_OVERHEAD
    sizes = [item_tokens(item) for item in items]
    total = sum(sizes)
    users = [i for i, item in enumerate(items) if _is_user(item)]
    last_turn = users[-1] if users else 0
    start = 0
    while total > budget and start < last_turn:
        # Cut after the next whole turn: up to the next user message (or the newest turn).
        following = [i for i in users if i > start]
        end = following[0] if following else last_turn
        total -= sum(sizes[start:end])
        start = end
    return items[start:], start
