"""Write scenario files: a Scenario back to YAML, and a chat conversation as a new test.

Both write the short forms the README teaches (``- contains: cake``, ``- no_leak``), so a file
the studio writes reads like one a creator wrote, and both load back through the loader
unchanged (the tests round-trip them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from carrier_studio.core.scenarios.model import Expect, Scenario

#: A saved reply longer than this is shortened in the judge criteria the draft suggests.
_QUOTE_LIMIT = 300


def expect_data(expect: Expect) -> Any:
    """One expectation in its shortest written form."""
    if expect.value is None:
        return expect.kind
    value = expect.value
    if expect.kind == "tool_called":
        short = {k: v for k, v in value.items() if v not in (None, {})}
        value = short["name"] if list(short) == ["name"] else short
    return {expect.kind: value}


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """``scenario`` as the plain data of its file (fields at their defaults left out)."""
    data: dict[str, Any] = {"version": 1, "name": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    data["team" if scenario.team else "character"] = scenario.character
    for key in ("model", "judge_model"):
        if getattr(scenario, key):
            data[key] = getattr(scenario, key)
    setup = scenario.setup
    raw_setup: dict[str, Any] = {}
    if setup.memories:
        raw_setup["memories"] = [
            m.content
            if m.kind == "fact" and m.id is None
            else {"content": m.content, "kind": m.kind, **({"id": m.id} if m.id else {})}
            for m in setup.memories
        ]
    for key in ("mcp_servers", "approvals"):
        if getattr(setup, key):
            raw_setup[key] = dict(getattr(setup, key))
    if setup.client != "chat":
        raw_setup["client"] = setup.client
    if setup.channel:
        raw_setup["channel"] = setup.channel
    if raw_setup:
        data["setup"] = raw_setup
    if scenario.turns:
        data["turns"] = [
            {"user": t.user, **({"expect": [expect_data(e) for e in t.expect]} if t.expect else {})}
            for t in scenario.turns
        ]
    if scenario.simulated_user is not None:
        sim = scenario.simulated_user
        raw: dict[str, Any] = {"brief": sim.brief, "max_turns": sim.max_turns}
        if sim.model:
            raw["model"] = sim.model
        if sim.expect:
            raw["expect"] = [expect_data(e) for e in sim.expect]
        data["simulated_user"] = raw
    if scenario.expect:
        data["expect"] = [expect_data(e) for e in scenario.expect]
    return data


def dump_scenario(scenario: Scenario) -> str:
    """The YAML text of ``scenario``'s file."""
    import yaml

    return yaml.safe_dump(scenario_data(scenario), sort_keys=False, allow_unicode=True, width=100)


def _scalar(text: str, indent: str) -> str:
    """``text`` as a YAML scalar: a literal block for plain multi-line text, else JSON quoting
    (JSON strings are valid YAML double-quoted scalars, every character escaped safely)."""
    lines = text.split("\n")
    plain = (
        len(lines) > 1
        and text == text.strip()
        and all(line == line.rstrip() and line.isprintable() for line in lines)
        and not any(line.startswith((" ", "\t")) for line in lines[:1])
    )
    if plain:
        return "|-\n" + "\n".join(f"{indent}  {line}" if line else "" for line in lines)
    return _quoted(text)


#: Characters a JSON string may hold raw but YAML reads as line breaks or refuses.
_NOT_YAML = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _quoted(text: str) -> str:
    """``text`` in double quotes: JSON's escapes, plus the few YAML needs beyond them."""
    return _NOT_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _comment(text: str, indent: str, limit: int = 6) -> list[str]:
    lines = [" ".join(line.split()) for line in text.strip().splitlines() if line.strip()]
    if len(lines) > limit:
        lines = [*lines[:limit], "…"]
    return [f"{indent}#   {line}" for line in lines] or [f"{indent}#   (nothing)"]


def scenario_yaml_from_conversation(
    character: str,
    pairs: Sequence[tuple[str, str]],
    *,
    name: str | None = None,
    model: str | None = None,
) -> str:
    """A scripted scenario from a chat: each user message becomes a turn, each reply a comment
    and a first set of expectations (a length cap and a judge criterion) the creator edits.

    The draft passes on the conversation it came from, give or take the judge's reading.
    """
    opening = " ".join(pairs[0][0].split()) if pairs else ""
    if len(opening) > 40:
        opening = opening[:39] + "…"
    title = name or (f"{character}: {opening}" if opening else f"{character}: saved conversation")
    out = [
        "# A character test saved from the chat. Each reply the character gave then is kept as a",
        "# comment; edit the expectations to say what must stay true (README: Character tests).",
        "version: 1",
        f"name: {_quoted(title)}",
        f"character: {_quoted(character)}",
    ]
    if model:
        out.append(f"model: {_quoted(model)}")
    out.append("turns:")
    for user, reply in pairs:
        out.append(f"  - user: {_scalar(user, '    ')}")
        out.append(f"    # {character} replied:")
        out.extend(_comment(reply, "    "))
        out.append("    expect:")
        cap = max(200, 2 * len(reply))
        out.append(f"      - max_chars: {cap}  # twice the saved reply, at least 200")
        gist = " ".join(reply.split())
        if len(gist) > _QUOTE_LIMIT:
            gist = gist[: _QUOTE_LIMIT - 1] + "…"
        if gist:
            criteria = f"The reply says in substance what this saved reply said: {gist}"
            out.append(f"      - judge: {_quoted(criteria)}")
    out.append("expect:")
    out.append("  - no_leak")
    return "\n".join(out) + "\n"
