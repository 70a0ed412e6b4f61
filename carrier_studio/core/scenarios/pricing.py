"""What a test run cost: tokens × the provider's list price, for the Tests page's grid.

List prices in US dollars per million tokens (input, output), as OpenAI and Anthropic publish
them for their API; the longest matching name prefix counts, so dated snapshots
(``gpt-4.1-mini-2025-04-14``) find their family. A model not in the table, and any
OpenAI-compatible endpoint (a local server costs nothing; a hosted one has its own prices),
has no cost: the grid shows none rather than a guess. Cached-input discounts are not applied,
so a figure is an upper bound.
"""

from __future__ import annotations

#: provider → model name prefix → (input, output) USD per million tokens.
LIST_PRICES: dict[str, dict[str, tuple[float, float]]] = {
    "openai": {
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "o4-mini": (1.10, 4.40),
        "o3": (2.00, 8.00),
    },
    "anthropic": {
        "claude-opus-4": (15.00, 75.00),
        "claude-sonnet-4": (3.00, 15.00),
        "claude-haiku-4-5": (1.00, 5.00),
        "claude-3-5-haiku": (0.80, 4.00),
        "claude-3-7-sonnet": (3.00, 15.00),
    },
}


def price_of(provider: str, model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when not known."""
    table = LIST_PRICES.get(provider, {})
    name = model.lower()
    found = [prefix for prefix in table if name.startswith(prefix)]
    return table[max(found, key=len)] if found else None


def cost_usd(provider: str, model: str, input_tokens: int, output_tokens: int) -> float | None:
    price = price_of(provider, model)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
