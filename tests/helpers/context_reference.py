"""The context window's fitting as first written (every item json-dumped, the next user message
searched for each cut): the reference the incremental `ItemSizes` is checked against in the
tests, and the baseline bench/context_fit.py times it beside."""

from __future__ import annotations

import json
from typing import Any

from carrier_studio.core.runtime.context_budget import (
    MESSAGE_OVERHEAD,
    estimate_tokens,
    reserve,
)


def reference_tokens(item: Any) -> int:
    """item_tokens as first written: json.dumps and a UTF-8 encode of every item."""
    if isinstance(item, dict):
        content = item.get("content")
        if isinstance(content, str) and set(item) <= {"role", "content", "type"}:
            return (len(content.encode()) + 3) // 4 + MESSAGE_OVERHEAD
        return (len(json.dumps(item, ensure_ascii=False).encode()) + 3) // 4 + MESSAGE_OVERHEAD
    return (len(str(item).encode()) + 3) // 4 + MESSAGE_OVERHEAD


def reference_fit(instructions: str, items: list[Any], window: int) -> tuple[list[Any], int]:
    """fit as first written: every item measured, the next user message searched per cut."""
    budget = window - reserve(window) - estimate_tokens(instructions) - MESSAGE_OVERHEAD
    sizes = [reference_tokens(item) for item in items]
    total = sum(sizes)
    users = [i for i, it in enumerate(items) if isinstance(it, dict) and it.get("role") == "user"]
    last_turn = users[-1] if users else 0
    start = 0
    while total > budget and start < last_turn:
        following = [i for i in users if i > start]
        end = following[0] if following else last_turn
        total -= sum(sizes[start:end])
        start = end
    return items[start:], start
