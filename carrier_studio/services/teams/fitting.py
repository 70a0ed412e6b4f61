"""Each team member's requests fitted into its own model's context window, as the chat fits a
conversation's (core/runtime/context_budget.py): the window the member's model's server states,
the largest MCP servers' tools left out by `fit_agent` (in the runner), and each model call sent
without the oldest turns that no longer fit (`fit_model_input`). A llama.cpp server started
with -c 4096 otherwise refuses a member's request once its tools or conversation grow."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from carrier_studio.core.runtime.context_budget import ItemSizes, context_window, fit_model_input


async def member_windows(
    choices: Mapping[str, Any], ask: Callable[[Any], Awaitable[dict[str, int]]]
) -> dict[str, int]:
    """Each member's window, by name, from its model choice: what ``ask`` (the service's
    `context_windows`) says the server states, else the known or default size. Members on one
    model are asked for once."""
    windows: dict[str, int] = {}
    asked: dict[tuple[str, str | None, str], dict[str, int]] = {}
    for name, choice in choices.items():
        key = (choice.provider, choice.endpoint, choice.model)
        if key not in asked:
            asked[key] = await ask(choice)
        windows[name] = asked[key].get(choice.model) or context_window(choice.model)
    return windows


def fitted_config(config: Any, window: int, tools: int, told: Callable[[int], None]) -> Any:
    """``config`` (a `RunConfig`) with the chat's model-input filter: each call is sent without
    the oldest turns that no longer fit ``window`` less ``tools`` (the agent's `tools_tokens`);
    ``told`` hears how many items each call went without. The member's `ChatSession` keeps
    every turn."""
    sizes = ItemSizes()  # each item measured once over the member's calls, as the chat does

    def fitted(data: Any) -> Any:
        model_data, dropped = fit_model_input(data.model_data, window, sizes, tools)
        told(dropped)
        return model_data

    return dataclasses.replace(config, call_model_input_filter=fitted)


def servers_note(member: str, servers: list[tuple[str, str]]) -> list[str]:
    """The run's notes on the MCP servers ``member`` goes without, from `fit_agent`'s
    (server, why) pairs (the chat's "This reply runs without the tools of …")."""
    return [f"{member} goes without the tools of {server}, which {why}." for server, why in servers]


def trimmed_note(member: str, left: int, window: int) -> str:
    """The run's note when ``member``'s calls start going without their oldest turns (the
    chat's marker under a reply)."""
    return (
        f"{member}'s model was not sent the oldest {left} messages of its conversation: they no "
        f"longer fit its {window:,}-token context window (the transcript keeps them); from now "
        "on the oldest are left out as its conversation grows."
    )
