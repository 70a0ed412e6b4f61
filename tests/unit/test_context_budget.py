"""The context budget: token estimate, known windows, and the rule for what is left out."""

from __future__ import annotations

from carrier_studio.core.runtime.context_budget import (
    DEFAULT_WINDOW,
    context_window,
    estimate_tokens,
    fit,
    measure,
    reserve,
)


def _turn(n: int, size: int) -> list[dict]:
    return [
        {"role": "user", "content": f"question {n} " + "x" * size},
        {"type": "function_call", "call_id": f"c{n}", "name": "t", "arguments": "{}"},
        {"type": "function_call_output", "call_id": f"c{n}", "output": "ok"},
        {"role": "assistant", "content": f"answer {n}"},
    ]


def test_estimate_and_windows():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd" * 100) == 100
    assert estimate_tokens("海" * 4) == 3  # 12 bytes
    assert context_window("gpt-4o-mini") == 128_000
    assert context_window("gpt-4") == 8_192
    assert context_window("gpt-4.1-mini") == 1_047_576  # the longest prefix wins
    assert context_window("claude-sonnet-4-5") == 200_000
    assert context_window("library/qwen2.5:7b") == 32_768
    assert context_window("my-own-finetune") == DEFAULT_WINDOW


def test_measure_counts_instructions_history_and_the_typed_text():
    empty = measure("", [], "", 1000)
    typed = measure("", [], "abcd" * 50, 1000)
    assert typed.tokens - empty.tokens == 50 + 4
    assert measure("abcd" * 200, [], "", 1000).tokens - empty.tokens == 200
    limit = 1000 - reserve(1000)
    assert measure("", [], "a" * 4 * (limit + 1), 1000).over
    assert not measure("", [], "a" * 4 * (limit - 10), 1000).over
    assert measure("", [], "a" * 4 * int(limit * 0.85), 1000).near


def test_fit_leaves_out_whole_oldest_turns_never_the_newest():
    greeting = [{"role": "assistant", "content": "Hello."}]
    items = greeting + _turn(1, 16000) + _turn(2, 16000) + [{"role": "user", "content": "now?"}]
    kept, dropped = fit("You are Ada.", items, 8192)
    # 8192 less 2048 reserved: the greeting and the first turn go, the second turn fits.
    assert dropped == 5
    assert kept[0]["content"].startswith("question 2") and kept[-1]["content"] == "now?"
    assert fit("", items, 128_000) == (items, 0)
    # The newest turn is kept even alone over the window.
    huge = [{"role": "user", "content": "y" * 100_000}]
    assert fit("", greeting + huge, 8192) == (huge, 1)
