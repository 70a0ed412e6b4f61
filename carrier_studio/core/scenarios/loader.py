"""Read a scenario file: YAML through the safe loader, checked against the published schema.

The file is composed into PyYAML nodes first, so every part of the result (each turn, each
expectation) keeps the line it came from, and every error says ``file:line: field: what``::

    greet.yaml:14: turns[1].expect[0]: unknown expectation "contain" (did you mean "contains"?)

The shape is resources/schemas/scenario.schema.json; README "Character tests" shows it. The file
is data: no tags beyond YAML's plain ones, a size cap, and a cap on how far anchors may expand.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from carrier_studio.core.errors import ScenarioError
from carrier_studio.core.scenarios.model import (
    Expect,
    Scenario,
    SeedMemory,
    Setup,
    SimulatedUser,
    Turn,
    Where,
)
from carrier_studio.core.scenarios.yaml_lines import (
    MAX_SCENARIO_BYTES,
    Lines,
    Part,
    field_name,
    parse_yaml,
)

#: The simulated user's turn limit when the file does not give one.
DEFAULT_MAX_TURNS = 4

#: Expectation kinds that take no value: written as a bare word (``- no_leak``).
BARE_KINDS = ("no_leak", "style")


def schema() -> dict[str, Any]:
    """The published JSON Schema of a scenario file (resources/schemas/scenario.schema.json)."""
    return copy.deepcopy(_schema())


@cache
def _schema() -> dict[str, Any]:
    from carrier_studio.assets import resource

    return json.loads(resource("schemas", "scenario.schema.json").read_text(encoding="utf-8"))


def expectation_kinds() -> list[str]:
    """Every expectation kind the format knows, in the schema's order."""
    item = _schema()["$defs"]["expectation"]["else"]
    return list(item["propertyNames"]["enum"])


def load_scenario(path: Path) -> Scenario:
    """Read and check the scenario file at ``path``.

    Raises:
        ScenarioError: the file cannot be read, is too large, is not YAML, or breaks the format.
    """
    try:
        size = path.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                f"the file is {size / 2**20:.1f} MB; scenario files over "
                f"{MAX_SCENARIO_BYTES // 2**20} MB are not read",
                path=path,
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"the file is not UTF-8 text (byte {exc.start} cannot be read)", path=path
        ) from exc
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", path=path) from exc
    return load_text(text, path)


def load_text(text: str, path: Path) -> Scenario:
    """A scenario from YAML ``text``; ``path`` names the file in messages and results."""
    data, lines = parse_yaml(text, path)
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {_describe(data)}"
        raise ScenarioError(
            f"the file is {what}; a scenario is a mapping of fields (character, turns, …)",
            path=path,
            line=1,
        )
    _check_schema(data, lines, path)
    return _build(data, lines, path)


# -- the schema ---------------------------------------------------------------------------------


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_schema())


def _check_schema(data: dict[str, Any], lines: Lines, path: Path) -> None:
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    # The first problem in the file, as a creator reads it top-down; deeper errors first on
    # the same line, since they say more than the containing object's.
    located = [(_error_parts(e), e) for e in errors]
    parts, error = min(located, key=lambda pe: (lines.of(pe[0]), -len(pe[0])))
    message, hint = _word_error(error, parts)
    # An unknown expectation's line is its key's; the field named is the list item.
    field = parts[:-1] if _from_property_names(error) else parts
    raise ScenarioError(
        message, path=path, line=lines.of(parts), field=field_name(field) or None, hint=hint
    )


def _error_parts(error: Any) -> tuple[Part, ...]:
    parts = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unknown = _unknown_keys(error)
        if unknown:
            return (*parts, unknown[0])
    if _from_property_names(error):
        # jsonschema reports a bad key at its mapping's path, the key itself as the instance.
        return (*parts, error.instance)
    return parts


def _from_property_names(error: Any) -> bool:
    return "propertyNames" in error.absolute_schema_path


def _unknown_keys(error: Any) -> list[str]:
    known = error.schema.get("properties", {})
    return [k for k in error.instance if k not in known]


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (name: value lines)",
    "array": "a list (lines starting with - )",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the text "{value[:40]}"'
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "nothing" if value is None else type(value).__name__


def _word_error(error: Any, parts: tuple[Part, ...]) -> tuple[str, str | None]:
    """A schema error in a creator's words, and what to do about it."""
    kind, value, instance = error.validator, error.validator_value, error.instance
    is_expectation = "propertyNames" in error.schema or (
        kind == "enum" and list(value) == list(BARE_KINDS)
    )
    if kind == "additionalProperties":
        key = _unknown_keys(error)[0]
        known = list(error.schema.get("properties", {}))
        suggestion = _suggest(key, known)
        hint = None if suggestion else "Known fields here: " + ", ".join(known) + "."
        return f'unknown field "{key}"{suggestion}', hint
    if _from_property_names(error):
        key = parts[-1]
        kinds = expectation_kinds()
        suggestion = _suggest(str(key), kinds)
        hint = None if suggestion else "Expectations: " + ", ".join(kinds) + "."
        return f'unknown expectation "{key}"{suggestion}', hint
    if kind == "enum" and is_expectation:
        kinds = expectation_kinds()
        return f'unknown expectation "{instance}"{_suggest(instance, kinds)}', (
            "A bare word can be no_leak or style; the others take a value, like {contains: cake}."
        )
    if kind == "maxProperties" and is_expectation:
        keys = ", ".join(instance)
        return f"one expectation per item, and this item has {len(instance)}: {keys}", (
            'Start each one on its own "- " line.'
        )
    if kind == "minProperties" and is_expectation:
        return "an empty expectation", "Write one, like {contains: cake}."
    if kind == "type" and is_expectation:
        shown = _describe(instance)
        return f"an expectation is a mapping like {{contains: cake}}, not {shown}", None
    if kind == "type":
        wanted = value if isinstance(value, str) else value[0]
        hint = None
        if wanted == "string" and isinstance(instance, bool | int | float):
            hint = "Put it in quotes: yes, no, on, off and numbers are read as values."
        return f"must be {_TYPE_WORDS.get(wanted, wanted)}, not {_describe(instance)}", hint
    if kind == "required":
        missing = [name for name in value if name not in instance]
        return f'"{missing[0]}" is missing', None
    if kind == "const" and parts and parts[-1] in BARE_KINDS:
        return f"{parts[-1]} takes no value", f'Write "- {parts[-1]}" on its own.'
    if kind == "const" and parts == ("version",):
        return f"version {instance!r} is not known; this studio reads version 1", (
            "A newer studio may have written this file."
        )
    if kind == "enum":
        choices = [str(c) for c in value]
        return (
            f"{_describe(instance)} is not one of: {', '.join(choices)}"
            + _suggest(str(instance), choices),
            None,
        )
    if kind == "minLength":
        return "must not be empty", None
    if kind == "minItems":
        return "needs at least one item", None
    if kind == "minimum":
        return f"must be at least {value}, not {instance}", None
    if kind == "maximum":
        return f"must be at most {value}, not {instance}", None
    if kind == "pattern" and isinstance(instance, str):
        return f'"{instance}" is not a model name', (
            "Write provider:model, for example openai:gpt-4.1-mini."
        )
    return error.message, None


# -- building the Scenario ----------------------------------------------------------------------


def _build(data: dict[str, Any], lines: Lines, path: Path) -> Scenario:
    def where(*parts: Part) -> Where:
        return Where(path, lines.of(parts))

    def fail(message: str, parts: tuple[Part, ...], hint: str | None = None) -> ScenarioError:
        return ScenarioError(
            message, path=path, line=lines.of(parts), field=field_name(parts) or None, hint=hint
        )

    if "character" in data and "team" in data:
        raise fail("give a character or a team, not both", ("team",))
    if "character" not in data and "team" not in data:
        raise fail(
            "the file names no character", (), 'Add "character: <name>" (or "team: <name>").'
        )
    if "turns" in data and "simulated_user" in data:
        raise fail(
            "give scripted turns or a simulated user, not both",
            ("simulated_user",),
            "Split them into two scenario files.",
        )
    if "turns" not in data and "simulated_user" not in data:
        raise fail(
            "the file has no turns",
            (),
            'Add "turns:" with user messages, or "simulated_user:" with a brief.',
        )

    def expectations(items: list[Any], parts: tuple[Part, ...]) -> tuple[Expect, ...]:
        result = []
        for index, item in enumerate(items):
            item_parts = (*parts, index)
            result.append(_expect(item, where(*item_parts), lambda m, p=item_parts: fail(m, p)))
        return tuple(result)

    raw_setup = data.get("setup", {})
    memories = tuple(
        SeedMemory(content=m)
        if isinstance(m, str)
        else SeedMemory(content=m["content"], kind=m.get("kind", "fact"), id=m.get("id"))
        for m in raw_setup.get("memories", [])
    )
    setup = Setup(
        memories=memories,
        mcp_servers=dict(raw_setup.get("mcp_servers", {})),
        approvals=dict(raw_setup.get("approvals", {})),
        client=raw_setup.get("client", "chat"),
        channel=raw_setup.get("channel"),
    )
    if setup.channel is not None and setup.client != "discord":
        raise fail(
            "a channel only means something on Discord",
            ("setup", "channel"),
            'Add "client: discord" to the set-up, or remove the channel.',
        )
    turns = tuple(
        Turn(
            user=turn["user"],
            expect=expectations(turn.get("expect", []), ("turns", i, "expect")),
            where=where("turns", i),
        )
        for i, turn in enumerate(data.get("turns", []))
    )
    simulated = None
    if "simulated_user" in data:
        raw = data["simulated_user"]
        simulated = SimulatedUser(
            brief=raw["brief"],
            max_turns=raw.get("max_turns", DEFAULT_MAX_TURNS),
            model=raw.get("model"),
            where=where("simulated_user"),
            expect=expectations(raw.get("expect", []), ("simulated_user", "expect")),
        )
    return Scenario(
        name=data.get("name") or _stem(path),
        path=path,
        character=data.get("character") or data["team"],
        team="team" in data,
        model=data.get("model"),
        description=data.get("description", ""),
        setup=setup,
        turns=turns,
        simulated_user=simulated,
        expect=expectations(data.get("expect", []), ("expect",)),
        judge_model=data.get("judge_model"),
        where=where(),
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".scenario.yaml", ".scenario.yml", ".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _expect(item: Any, where: Where, fail: Any) -> Expect:
    """One schema-checked expectation item → an Expect with its value normalised."""
    if isinstance(item, str):
        return Expect(item, None, where)  # type: ignore[arg-type]  # schema: a bare kind
    ((kind, value),) = item.items()
    if kind in BARE_KINDS:
        value = None
    elif kind == "tool_called":
        value = (
            {"name": value, "arguments": {}, "order": None}
            if isinstance(value, str)
            else {
                "name": value["name"],
                "arguments": dict(value.get("arguments", {})),
                "order": value.get("order"),
            }
        )
    elif kind == "matches":
        try:
            re.compile(value)
        except re.error as exc:
            raise fail(f"matches: not a regular expression: {exc}") from exc
    return Expect(kind, value, where)
