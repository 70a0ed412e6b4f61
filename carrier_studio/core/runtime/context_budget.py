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

Measuring is incremental (#21): the filter runs before every model call, on the event loop, and
the SDK hands it fresh copies of every item of the conversation each time (every dict and list
is new, only the strings are the same objects). `ItemSizes` keeps, by position, each item's
count beside a snapshot of the item (its own lists and dicts, the strings shared); an item equal
to its snapshot is not measured again. Equality is checked in C, and a string compared with
itself costs nothing, so a call costs about the new items' json.dumps. Scalars in a snapshot
equal only the same type and spelling (json writes True, 1 and 1.0, or 0.0 and -0.0,
differently, though == takes them as equal), so the counts are the ones `item_tokens` would give.

The agent's tools count too: every request carries each tool's name, description and JSON
schema, which for a character with a few MCP servers is thousands of tokens (a fresh profile's
Ada with filesystem and sequential-thinking: ~3,400, against a 4,096-token local model). They
are a fixed cost of every request, measured once per agent (`tools_tokens`).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
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
#: What to do when a request cannot fit the model's window (the meter's tooltip, the provider's
#: refusal in the chat).
TOO_LONG_ADVICE = (
    "Use a model with a larger window, start the local server with a larger context (llama.cpp: "
    "--ctx-size; Ollama: num_ctx), or give the character fewer MCP servers (Characters → "
    "Model & tools)."
)
#: At most this share of what a request may take goes to the instructions and tools; beyond it
#: a character's MCP servers are left out of its requests, the largest first (`servers_left_out`).
FIXED_SHARE = 0.75
#: The meter warns from this share of the budget on.
WARN_AT = 0.8


#: json.dumps(item, ensure_ascii=False) builds this encoder anew at every call.
_JSON = json.JSONEncoder(ensure_ascii=False)


def estimate_tokens(text: str) -> int:
    """The estimated tokens of ``text`` (see the module's note on the estimate)."""
    # An ASCII string's length is its UTF-8 size (isascii reads a flag: no copy, no scan).
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return (size + 3) // 4


def item_tokens(item: Any) -> int:
    """The estimated tokens of one SDK input item (a message, a tool call or its output)."""
    if isinstance(item, dict):
        content = item.get("content")
        if isinstance(content, str) and set(item) <= {"role", "content", "type"}:
            return estimate_tokens(content) + MESSAGE_OVERHEAD
        return estimate_tokens(_JSON.encode(item)) + MESSAGE_OVERHEAD
    return estimate_tokens(str(item)) + MESSAGE_OVERHEAD


def tool_tokens(tool: Any) -> int:
    """The estimated tokens of one tool's definition (name, description, JSON schema, as the
    chat APIs are sent it)."""
    described = {
        "name": getattr(tool, "name", ""),
        "description": getattr(tool, "description", "") or "",
        "parameters": getattr(tool, "params_json_schema", None) or {},
    }
    return estimate_tokens(_JSON.encode(described)) + MESSAGE_OVERHEAD


def tools_tokens(agent: Any) -> int:
    """The estimated tokens of the tool definitions every request of ``agent`` carries: its
    tools and a ``transfer_to_…`` tool per handoff."""
    total = sum(tool_tokens(tool) for tool in getattr(agent, "tools", None) or ())
    for handoff in getattr(agent, "handoffs", None) or ():
        description = getattr(handoff, "handoff_description", None) or ""
        total += estimate_tokens(f"transfer_to_{getattr(handoff, 'name', '')} {description}")
        total += MESSAGE_OVERHEAD
    return total


def servers_left_out(fixed: int, servers: dict[str, int], window: int) -> list[str]:
    """Which MCP servers' tools to leave out, the largest first, so that the instructions and
    tools (``fixed`` tokens, ``servers`` the tokens of each server's tools among them) take at
    most `FIXED_SHARE` of what a request may take: a small local model's window must keep
    room for the conversation. Empty when they fit, all of them when even that is not enough."""
    allowed = FIXED_SHARE * (window - reserve(window))
    left: list[str] = []
    for name, tokens in sorted(servers.items(), key=lambda item: (-item[1], item[0])):
        if fixed <= allowed:
            break
        left.append(name)
        fixed -= tokens
    return left


def agent_model(agent: Any) -> str | None:
    """The name of the model ``agent`` runs on (an SDK `Model`'s ``model``, or a string)."""
    model = getattr(agent, "model", None)
    name = getattr(model, "model", model)
    return name if isinstance(name, str) and name else None


def windows_by_agent(model: str, window: int, listed: Mapping[str, int]) -> Callable[[Any], int]:
    """Each agent's context window: ``window`` for the conversation's ``model``; a character
    handed off to may run on its own model, whose window its server ``listed`` (the
    conversation's server lists every model it serves) or the known sizes say."""

    def window_of(agent: Any) -> int:
        name = agent_model(agent)
        if name is None or name == model:
            return window
        return listed.get(name) or context_window(name)

    return window_of


def fit_agent(
    agent: Any,
    servers: Mapping[str, Sequence[str]],
    window: int | Callable[[Any], int],
    tools: int | None = None,
) -> tuple[Any, dict[str, str]]:
    """``agent`` as its ``window`` allows, and every agent it can hand off to (a handed-off
    request carries the target's own instructions and tools), each fitted to its own window
    when ``window`` is a function of the agent (`windows_by_agent`): each without the tools of
    the MCP servers `servers_left_out` names for it (``servers``: each server's tool names),
    and why each was left out. ``tools`` is the agent's `tools_tokens`, when already known.

    When any is left out, every reachable agent is cloned and the clones hand off to each
    other as the originals did (cycles too), so a run of the fitted agent meets only fitted
    agents. A server left out of a handoff target is named with that agent ("Bob's files")."""
    reachable = reachable_agents(agent)
    kept: dict[int, list[Any]] = {}
    why: dict[str, str] = {}
    for each in reachable:
        known = tools if each is agent else None
        limit = window(each) if callable(window) else window
        left, sizes, tools_kept = _fit_one(each, servers, limit, known)
        if not left:
            continue
        kept[id(each)] = tools_kept
        for server in left:
            reason = (
                f"is left out of this model's requests: its tools' descriptions "
                f"(≈ {sizes[server]:,} tokens) do not fit beside a conversation in its "
                f"{limit:,}-token context window"
            )
            why[server if each is agent else f"{each.name}'s {server}"] = reason
    if not why:
        return agent, {}
    clones = {id(each): each.clone(tools=kept.get(id(each), each.tools)) for each in reachable}
    for each in reachable:
        # A new list for each clone: the original agent keeps its own wiring.
        clones[id(each)].handoffs = [clones.get(id(h), h) for h in each.handoffs]
    return clones[id(agent)], why


def reachable_agents(agent: Any) -> list[Any]:
    """``agent`` and every agent it can hand off to, directly or not, each once (handoffs may
    form cycles). A `Handoff` object (the SDK's custom handoff) keeps its agent to itself: it
    is left as it is."""
    from agents import Agent

    found: dict[int, Any] = {}
    pending = [agent]
    while pending:
        current = pending.pop(0)
        if id(current) in found:
            continue
        found[id(current)] = current
        pending += [h for h in current.handoffs if isinstance(h, Agent)]
    return list(found.values())


def _fit_one(
    agent: Any, servers: Mapping[str, Sequence[str]], window: int, tools: int | None
) -> tuple[list[str], dict[str, int], list[Any]]:
    """The servers `servers_left_out` names for ``agent`` alone, each server's tokens among
    its tools, and the tools it keeps."""
    by_name = {getattr(tool, "name", ""): tool for tool in agent.tools}
    groups = {server: [n for n in names if n in by_name] for server, names in servers.items()}
    sizes = {
        server: sum(tool_tokens(by_name[n]) for n in names) for server, names in groups.items()
    }
    instructions = agent.instructions if isinstance(agent.instructions, str) else ""
    fixed = estimate_tokens(instructions) + MESSAGE_OVERHEAD
    fixed += tools_tokens(agent) if tools is None else tools
    left = servers_left_out(fixed, {s: n for s, n in sizes.items() if n}, window)
    dropped = {name for server in left for name in groups[server]}
    return left, sizes, [t for t in agent.tools if t.name not in dropped]


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


class _Same:
    """A scalar in a snapshot: equal only to a value of the same type and spelling."""

    __slots__ = ("value",)
    __hash__ = None  # type: ignore[assignment]  # snapshots are compared, never hashed

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self.value) and repr(other) == repr(self.value)


class _UnlikeError(Exception):
    """Raised inside `_snapshot` for a value it cannot stand for exactly."""


#: Equal to nothing: the snapshot of an item that is measured at every call.
_NEVER = object()


def _snapshot(value: Any) -> Any:
    """A copy of ``value`` that compares equal only to values json writes at the same length:
    its own lists and dicts (a list changed in place later does not change the copy), the
    same strings, scalars as `_Same`."""
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise _UnlikeError  # json writes 1 and True as keys "1" and "true", == mixes them
        return {key: _snapshot(v) for key, v in value.items()}
    if kind is list or kind is tuple:
        return kind(_snapshot(v) for v in value)
    if value is None or kind in (bool, int, float):
        return _Same(value)
    raise _UnlikeError  # anything else json cannot write (item_tokens raised already)


class ItemSizes:
    """The token counts of one conversation's input items, kept between model calls.

    Holds, position by position, the last call's items as snapshots beside their counts (one
    conversation's worth: each call replaces them); strings are shared with the items, not
    copied. ``of(items)`` measures only the items unlike the snapshot at their position: the
    new ones at the end, or the ones edited since. `users` are the positions of the user
    messages among the items last measured (where `fit` may cut).
    """

    def __init__(self) -> None:
        self._snapshots: list[Any] = []
        self._sizes: list[int] = []
        self.users: list[int] = []

    def __len__(self) -> int:
        return len(self._snapshots)

    def of(self, items: list[Any]) -> list[int]:
        """``item_tokens`` of each of ``items``, the same numbers, measured once."""
        old, old_sizes = self._snapshots, self._sizes
        n = min(len(items), len(old))
        if items[:n] == old[:n]:  # the usual call: the conversation grew at the end
            same = n
        else:
            same = 0
            while items[same] == old[same]:
                same += 1
        snapshots, sizes = old[:same], old_sizes[:same]
        # An item equal to its snapshot has the snapshot's role: the user positions stand.
        users = self.users[: bisect_left(self.users, same)]
        for index in range(same, len(items)):
            item = items[index]
            if index < n and item == old[index]:  # edited before it, not itself
                tokens, snapshot = old_sizes[index], old[index]
            else:
                tokens = item_tokens(item)  # first: raises as before on what json cannot write
                try:
                    snapshot = _snapshot(item) if type(item) is dict else _NEVER
                except (_UnlikeError, RecursionError):
                    snapshot = _NEVER
            snapshots.append(snapshot)
            sizes.append(tokens)
            if _is_user(item):
                users.append(index)
        self._snapshots, self._sizes, self.users = snapshots, sizes, users
        return list(sizes)


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
    #: Of ``tokens``, what no turn left out can free: the instructions and the tools' definitions.
    fixed: int = 0

    @property
    def limit(self) -> int:
        """What the request may take: the window less the reply's reserve."""
        return self.window - reserve(self.window)

    @property
    def over(self) -> bool:
        return self.tokens > self.limit

    @property
    def fixed_over(self) -> bool:
        """The instructions and tools alone do not fit: no request of this model can."""
        return self.fixed > self.limit

    @property
    def near(self) -> bool:
        return not self.over and self.tokens >= WARN_AT * self.limit


def measure(
    instructions: str,
    history: list[Any],
    typed: str,
    window: int,
    sizes: ItemSizes | None = None,
    fixed: int = 0,
) -> Budget:
    """The budget of a request of ``instructions``, ``history`` and the ``typed`` message, plus
    ``fixed`` tokens (the tools' definitions); ``sizes`` keeps the history's counts between
    readings (else every item is measured)."""
    fixed += estimate_tokens(instructions) + MESSAGE_OVERHEAD
    counts = sizes.of(history) if sizes is not None else map(item_tokens, history)
    tokens = fixed + sum(counts)
    if typed.strip():
        tokens += estimate_tokens(typed) + MESSAGE_OVERHEAD
    return Budget(tokens, window, fixed)


def fit(
    instructions: str,
    items: list[Any],
    window: int,
    sizes: ItemSizes | None = None,
    fixed: int = 0,
) -> tuple[list[Any], int]:
    """``items`` without their oldest turns, until the request fits ``window`` (less the
    reply's reserve and ``fixed`` tokens, the tools' definitions); returns the items kept and
    how many were left out. The newest turn (from the last user message on) is always kept,
    even when it alone does not fit. ``sizes`` keeps the counts between calls (else every item
    is measured)."""
    budget = window - reserve(window) - estimate_tokens(instructions) - MESSAGE_OVERHEAD - fixed
    counts = sizes.of(items) if sizes is not None else [item_tokens(item) for item in items]
    total = sum(counts)
    if total <= budget:
        return items[:], 0
    if sizes is not None:
        users = sizes.users
    else:
        users = [i for i, item in enumerate(items) if _is_user(item)]
    last_turn = users[-1] if users else 0
    start = 0
    while total > budget and start < last_turn:
        # Cut after the next whole turn: up to the next user message (or the newest turn).
        following = bisect_right(users, start)
        end = users[following] if following < len(users) else last_turn
        total -= sum(counts[start:end])
        start = end
    return items[start:], start


def fit_model_input(
    model_data: Any, window: int, sizes: ItemSizes | None = None, fixed: int = 0
) -> tuple[Any, int]:
    """The SDK's model input (``ModelInputData``) fitted into ``window`` by `fit` (less
    ``fixed`` tokens: the agent's `tools_tokens`), and how many items it was sent without: what
    a ``call_model_input_filter`` returns, the chat's and the scenario runner's alike."""
    instructions = model_data.instructions or ""
    kept, dropped = fit(instructions, list(model_data.input), window, sizes, fixed)
    if not dropped:
        return model_data, 0
    from agents.run_config import ModelInputData

    return ModelInputData(input=kept, instructions=model_data.instructions), dropped
