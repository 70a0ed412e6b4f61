"""The context budget: token estimate, known windows, and the rule for what is left out."""

from __future__ import annotations

import json
import random
import tracemalloc

import pytest

from carrier_studio.core.runtime.context_budget import (
    DEFAULT_WINDOW,
    ItemSizes,
    context_window,
    estimate_tokens,
    fit,
    measure,
    reserve,
)
from tests.helpers.context_reference import reference_fit, reference_tokens


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


# --- Measuring once (#21): ItemSizes gives item_tokens' numbers, and fit what it gave before.


def _random_item(rng: random.Random, n: int) -> dict:
    words = rng.choice(
        ["ok", "Ça va, naïve café", "海の音", "same text", "x" * rng.randint(1, 900)]
    )
    kind = rng.randrange(6)
    if kind == 0:
        return {"role": "user", "content": f"{words} {n}" if rng.random() < 0.8 else "same text"}
    if kind == 1:  # a message with an image, as user_content makes it
        url = "data:image/png;base64," + "QUJD" * rng.randint(10, 3000)
        return {
            "role": "user",
            "content": [
                {"type": "input_text", "text": words},
                {"type": "input_image", "image_url": url},
            ],
        }
    if kind == 2:
        return {
            "type": "function_call",
            "call_id": f"c{n}",
            "name": "t",
            "arguments": json.dumps({"q": words}),
            "id": "__fake_id__",
            "provider_data": {"model": "m"},
        }
    if kind == 3:
        return {
            "type": "function_call_output",
            "call_id": f"c{n}",
            "output": words * rng.randint(1, 4),
        }
    if kind == 4:
        return {
            "id": "__fake_id__",
            "content": [{"annotations": [], "text": words, "type": "output_text", "logprobs": []}],
            "role": "assistant",
            "status": "completed",
            "type": "message",
        }
    return {"role": "assistant", "content": words, "n": rng.choice([1, True, 1.0, -0.0, 0.0, None])}


def _mutate(rng: random.Random, item: dict) -> None:
    """An edit in place, where == alone would not see what json writes differently."""
    choice = rng.randrange(5)
    content = item.get("content")
    if choice == 0 and isinstance(content, list):
        content[0]["text" if "text" in content[0] else "type"] += " and more"
    elif choice == 1 and isinstance(content, list):
        content.append({"type": "input_text", "text": "added " * rng.randint(1, 50)})
    elif choice == 2:
        item["flag"] = rng.choice([True, False, 1, 0, 1.0, 0.0, -0.0, None, [True] * 40, [1] * 40])
    elif choice == 3 and isinstance(item.get("provider_data"), dict):
        item["provider_data"]["model"] += "-x"
    else:
        item["content"] = rng.choice(
            [
                "same text",
                "海" * rng.randint(1, 99),
                content or "",
                [{"type": "input_text", "text": "t"}],
            ]
        )


@pytest.mark.parametrize("seed", range(8))
def test_measuring_once_leaves_out_what_measuring_everything_did(seed):
    rng = random.Random(seed)
    items: list[dict] = []
    sizes = ItemSizes()
    for n in range(300):
        step = rng.random()
        if step < 0.55 or len(items) < 3:
            items.append(_random_item(rng, n))
        elif step < 0.8:
            _mutate(rng, rng.choice(items))
        elif step < 0.88:
            del items[rng.randrange(len(items))]
        elif step < 0.93:
            items.insert(rng.randrange(len(items)), _random_item(rng, n))
        else:
            items = items[rng.randrange(len(items)) :]  # another branch of the conversation
        # The SDK hands the filter its own shallow copies; the meter reads the history itself.
        sent = [dict(item) for item in items] if rng.random() < 0.7 else items
        window = rng.choice([1000, 4096, 8192, 32_768, 128_000])  # the model switched
        instructions = "You are Ada. " * rng.randint(0, 300)
        assert sizes.of(sent) == [reference_tokens(item) for item in sent], n
        expected = reference_fit(instructions, sent, window)
        assert fit(instructions, sent, window, sizes) == expected, n
        assert fit(instructions, sent, window) == expected, n
        assert measure(instructions, sent, "hi", window, sizes) == measure(
            instructions, sent, "hi", window
        )
        assert len(sizes) == len(sent)


def test_an_item_edited_in_place_is_measured_again():
    image = {"type": "input_image", "image_url": "data:image/png;base64," + "QUJD" * 1000}
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "look"}, image]},
        {"type": "function_call_output", "call_id": "c1", "output": "ok", "extra": [True] * 40},
    ]
    sizes = ItemSizes()
    first = sizes.of([dict(item) for item in items])
    items[0]["content"].pop()  # the image taken out of the very list the snapshot saw
    items[1]["extra"][:] = [1] * 40  # equal by ==, but json writes "1" where it wrote "true"
    again = sizes.of([dict(item) for item in items])
    assert again == [reference_tokens(item) for item in items]
    assert again[0] < first[0] - 900 and again[1] == first[1] - 30


def test_the_same_text_twice_and_scalars_json_writes_differently():
    sizes = ItemSizes()
    twice = [{"role": "user", "content": "same"}, {"role": "user", "content": "same"}]
    assert sizes.of(twice) == [5, 5]
    for a, b in [(True, 1), (1, 1.0), (0.0, -0.0), (False, 0), (None, "null")]:
        sizes = ItemSizes()
        for value in (a, b, a):
            item = {"type": "x", "values": [value] * 60}
            assert sizes.of([item]) == [reference_tokens(item)], (a, b)
    # Keys: json writes 1 and True as "1" and "true", and == takes them as the same key.
    sizes = ItemSizes()
    keyed = {"type": "x", "m": {1: "one"}}
    first = sizes.of([keyed])
    keyed["m"] = {True: "one"}
    assert sizes.of([keyed]) == [reference_tokens(keyed)] != first


def test_what_is_kept_is_one_conversation_and_not_its_strings():
    image = "data:image/png;base64," + "QUJD" * 2_500_000  # 10 MB
    items = [{"role": "user", "content": [{"type": "input_image", "image_url": image}]}]
    items += [{"role": "assistant", "content": f"answer {n}"} for n in range(50)]
    sizes = ItemSizes()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sizes.of([dict(item) for item in items])
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 100_000, "the snapshot shares the image's string"
    sizes.of(items[:3])  # another, shorter branch: the longer one is let go
    assert len(sizes) == 3 and len(sizes._snapshots) == 3 and sizes.users == [0]


def test_servers_are_left_out_largest_first_until_the_rest_fits():
    from carrier_studio.core.runtime.context_budget import FIXED_SHARE, servers_left_out

    allowed = FIXED_SHARE * (4096 - reserve(4096))  # 2304 of a 4096-token window
    servers = {"files": 2500, "thinking": 900, "time": 100}
    assert servers_left_out(2000, servers, 4096) == []  # fits as it is
    assert servers_left_out(1300 + 3500, servers, 4096) == ["files"]  # 2300 left: fits
    assert servers_left_out(1900 + 3500, servers, 4096) == ["files", "thinking"]
    # Instructions alone too long: every server goes, and the meter says the rest.
    assert servers_left_out(int(allowed) + 3600, servers, 4096) == ["files", "thinking", "time"]


def test_every_agent_a_run_can_reach_is_fitted_and_handoffs_go_to_the_fitted_ones():
    """A hands off to B, B to C and back to A (a cycle): each is fitted with its own
    instructions and tools against the window, and the clones hand off to each other, so a
    run of the fitted A meets only fitted agents; the originals stay as they were built."""
    from agents import Agent, FunctionTool, handoff

    from carrier_studio.core.runtime.context_budget import fit_agent

    async def noop(_ctx, _args):
        return ""

    def tool(name: str, size: int) -> FunctionTool:
        return FunctionTool(name, "d" * size, {"type": "object", "properties": {}}, noop)

    a = Agent(name="A", instructions="Leads.", tools=[tool("a_small", 40)])
    b = Agent(name="B", instructions="Reads.", tools=[tool("b_big", 12_000), tool("b_t", 40)])
    c = Agent(name="C", instructions="Writes.", tools=[tool("c_big", 12_000)])
    custom = handoff(Agent(name="D", tools=[tool("d_big", 12_000)]))  # the SDK's own Handoff
    a.handoffs = [b, custom]
    b.handoffs = [c, a]
    c.handoffs = [a]
    servers = {"files": ["b_big", "c_big", "d_big"], "small": ["a_small", "b_t"]}

    fitted, why = fit_agent(a, servers, 4096)
    assert sorted(why) == ["B's files", "C's files"]  # A's own tools fit: nothing of A's
    fb = fitted.handoffs[0]
    (fc, back) = fb.handoffs
    assert fitted is not a and back is fitted and fc.handoffs == [fitted]
    assert fitted.handoffs[1] is custom  # a Handoff object keeps its own agent
    assert [t.name for t in fitted.tools] == ["a_small"]
    assert [t.name for t in fb.tools] == ["b_t"] and fc.tools == []
    # The originals: their tools and wiring as built.
    assert [t.name for t in b.tools] == ["b_big", "b_t"] and b.handoffs == [c, a]
    assert a.handoffs == [b, custom] and [t.name for t in c.tools] == ["c_big"]
    # A window that holds everything: the agent as it is.
    assert fit_agent(a, servers, 200_000) == (a, {})
