"""Scenario files: the format as the README shows it loads with every line kept; every mistake
is reported as ``file:line: field: what``; the published schema is a valid Draft 2020-12 schema;
the studio's own writers produce files the loader reads back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from carrier_studio.assets import resource
from carrier_studio.core.errors import CarrierError, ScenarioError
from carrier_studio.core.scenarios.loader import load_scenario, load_text, schema
from carrier_studio.core.scenarios.writing import dump_scenario, scenario_yaml_from_conversation
from carrier_studio.core.scenarios.yaml_lines import MAX_SCENARIO_BYTES

FULL = """\
version: 1
name: Ada remembers Sam
description: Recalls a seeded memory and keeps tools in check.
character: Ada
model: openai:gpt-4.1-mini
judge_model: anthropic:claude-haiku-4-5
setup:
  memories:
    - The user's name is Sam
    - {content: Sam is allergic to nuts, kind: fact, id: allergy}
  mcp_servers: {filesystem: false}
  approvals: {write_file: true}
  client: discord
  channel: general
turns:
  - user: Hi, do you remember me?
    expect:
      - contains: Sam
      - recalled: allergy
      - tool_called: {name: search_memory, arguments: {query: Sam}, order: 1}
  - user: |-
      Suggest a cake.
      Keep it short.
    expect:
      - not_contains: walnut
      - matches: '(?i)cake'
      - max_chars: 600
      - min_chars: 20
      - tool_not_called: write_file
      - approval_asked: read_file
      - handoff: Mira
      - judge: Suggests a cake without nuts.
      - no_leak
      - style
expect:
  - no_leak
  - style: true
"""


def test_the_full_format_loads_with_lines():
    s = load_text(FULL, Path("scenarios/ada.yaml"))
    assert (s.name, s.character, s.team, s.model, s.judge_model) == (
        "Ada remembers Sam",
        "Ada",
        False,
        "openai:gpt-4.1-mini",
        "anthropic:claude-haiku-4-5",
    )
    assert [(m.content, m.id) for m in s.setup.memories] == [
        ("The user's name is Sam", None),
        ("Sam is allergic to nuts", "allergy"),
    ]
    assert s.setup.mcp_servers == {"filesystem": False} and s.setup.approvals == {
        "write_file": True
    }
    assert (s.setup.client, s.setup.channel) == ("discord", "general")
    assert s.turns[1].user == "Suggest a cake.\nKeep it short."
    assert [str(t.where) for t in s.turns] == ["scenarios/ada.yaml:16", "scenarios/ada.yaml:21"]
    first = s.turns[0].expect
    assert [(e.kind, e.where.line) for e in first] == [
        ("contains", 18),
        ("recalled", 19),
        ("tool_called", 20),
    ]
    assert first[2].value == {"name": "search_memory", "arguments": {"query": "Sam"}, "order": 1}
    assert [e.kind for e in s.turns[1].expect][-2:] == ["no_leak", "style"]
    assert [(e.kind, e.value) for e in s.expect] == [("no_leak", None), ("style", None)]


def test_short_forms_and_defaults():
    s = load_text(
        "team: Newsroom\nsimulated_user:\n  brief: A busy editor\n"
        "  expect: [{tool_called: assign_task}]\n",
        Path("scenarios/news.scenario.yaml"),
    )
    assert (s.name, s.character, s.team) == ("news", "Newsroom", True)
    assert s.simulated_user is not None
    assert (s.simulated_user.max_turns, s.simulated_user.model) == (4, None)
    assert s.simulated_user.expect[0].value == {
        "name": "assign_task",
        "arguments": {},
        "order": None,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Unknown keys, with the nearest known one.
        (
            "character: Ada\nturns:\n  - user: hi\n    expect:\n      - contain: cake\n",
            't.yaml:5: turns[0].expect[0]: unknown expectation "contain" '
            '(did you mean "contains"?)',
        ),
        (
            "character: Ada\nsetup:\n  memory: [x]\nturns: [{user: hi}]\n",
            't.yaml:3: setup.memory: unknown field "memory" (did you mean "memories"?)',
        ),
        (
            "character: Ada\ncolour: red\nturns: [{user: hi}]\n",
            't.yaml:2: colour: unknown field "colour". Known fields here: version, name,',
        ),
        (
            "character: Ada\nturns:\n  - user: hi\n    expect: [no_lek]\n",
            't.yaml:4: turns[0].expect[0]: unknown expectation "no_lek" (did you mean "no_leak"?)',
        ),
        # Wrong types, worded for people, with YAML's yes/no trap named.
        (
            "character: Ada\nturns:\n  - user: no\n",
            "t.yaml:3: turns[0].user: must be text, not false (a yes/no value). Put it in quotes",
        ),
        (
            "character: Ada\nturns:\n  - user: hi\n    expect:\n      - max_chars: lots\n",
            't.yaml:5: turns[0].expect[0].max_chars: must be a whole number, not the text "lots"',
        ),
        (
            "character: Ada\nturns: {user: hi}\n",
            "t.yaml:2: turns: must be a list (lines starting with - ), not mapping",
        ),
        (
            "character: Ada\nsimulated_user: {brief: x, max_turns: 0}\n",
            "t.yaml:2: simulated_user.max_turns: must be at least 1, not 0",
        ),
        (
            "character: Ada\nmodel: gpt-4o\nturns: [{user: hi}]\n",
            't.yaml:2: model: "gpt-4o" is not a model name. Write provider:model',
        ),
        (
            "character: Ada\nsetup: {client: slack}\nturns: [{user: hi}]\n",
            't.yaml:2: setup.client: the text "slack" is not one of: chat, discord',
        ),
        (
            "character: Ada\nturns:\n  - user: hi\n    expect: [{contains: a, matches: b}]\n",
            "t.yaml:4: turns[0].expect[0]: one expectation per item, and this item has 2",
        ),
        (
            "character: Ada\nturns:\n  - user: hi\n    expect: [{no_leak: false}]\n",
            't.yaml:4: turns[0].expect[0].no_leak: no_leak takes no value. Write "- no_leak"',
        ),
        (
            "character: Ada\nturns:\n  - expect: [no_leak]\n",
            't.yaml:3: turns[0]: "user" is missing',
        ),
        (
            "version: 2\ncharacter: Ada\nturns: [{user: hi}]\n",
            "t.yaml:1: version: version 2 is not known; this studio reads version 1",
        ),
        # Duplicate and non-text keys, which YAML loaders otherwise hide.
        (
            "character: Ada\nturns:\n  - user: hi\n    user: ho\n",
            't.yaml:4: turns[0]: "user" appears twice (first on line 3)',
        ),
        (
            "character: Ada\nturns:\n  - user: hi\n    expect:\n      - {yes: 1}\n",
            "t.yaml:5: turns[0].expect[0]: a field name must be text, not 'yes'",
        ),
        # Bad YAML and bad values.
        (
            "character: Ada\nturns:\n  - user: [hi\n",
            "t.yaml:4: not valid YAML: ",  # the rest is libyaml's or PyYAML's own words
        ),
        (
            "character: Ada\nturns:\n  - user: hi\n    expect: [{matches: '(cake'}]\n",
            "t.yaml:4: turns[0].expect[0]: matches: not a regular expression: missing )",
        ),
        ("", "t.yaml:1: the file is empty"),
        ("- user: hi\n", "t.yaml:1: the file is a list;"),
        ("turns: [{user: hi}]\n", 't.yaml:1: the file names no character. Add "character:'),
        ("character: Ada\n", "t.yaml:1: the file has no turns"),
        (
            "character: Ada\nturns: [{user: a}]\nsimulated_user: {brief: b}\n",
            "t.yaml:3: simulated_user: give scripted turns or a simulated user, not both",
        ),
        (
            "character: Ada\nsetup: {channel: general}\nturns: [{user: a}]\n",
            "t.yaml:2: setup.channel: a channel only means something on Discord",
        ),
    ],
)
def test_errors_say_file_line_and_field(text, expected):
    with pytest.raises(ScenarioError) as caught:
        load_text(text, Path("t.yaml"))
    assert str(caught.value).startswith(expected), str(caught.value)
    assert isinstance(caught.value, CarrierError)


def test_the_first_problem_in_the_file_is_reported():
    text = "character: Ada\ncolour: red\nturns:\n  - user: hi\n    expect: [{max_chars: x}]\n"
    with pytest.raises(ScenarioError, match='^t.yaml:2: colour: unknown field "colour"'):
        load_text(text, Path("t.yaml"))


def test_anchors_work_but_cannot_multiply_without_end():
    shared = "character: Ada\nturns:\n  - user: a\n    expect: &common [no_leak, {max_chars: 9}]\n"
    s = load_text(shared + "  - user: b\n    expect: *common\n", Path("t.yaml"))
    assert [e.kind for e in s.turns[1].expect] == ["no_leak", "max_chars"]
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    with pytest.raises(ScenarioError, match="expands to more than 100,000 values"):
        load_text(laughs, Path("t.yaml"))


def test_python_tags_are_refused():
    with pytest.raises(ScenarioError, match="not valid YAML: could not determine a constructor"):
        load_text("character: !!python/object/apply:os.system [true]\n", Path("t.yaml"))


def test_file_errors(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_SCENARIO_BYTES)
    with pytest.raises(ScenarioError, match="scenario files over 1 MB are not read"):
        load_scenario(big)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"character: \xff\n")
    with pytest.raises(ScenarioError, match=r"bin.yaml: the file is not UTF-8 text"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")


def test_the_published_schema_is_a_valid_draft_2020_12_schema():
    published = json.loads(resource("schemas", "scenario.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(published)
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert published == schema()


def test_a_dumped_scenario_loads_back_the_same():
    original = load_text(FULL, Path("t.yaml"))
    again = load_text(dump_scenario(original), Path("t.yaml"))
    assert _without_lines(again) == _without_lines(original)


def _without_lines(scenario):
    def strip(expects):
        return [(e.kind, e.value) for e in expects]

    return (
        scenario.name,
        scenario.character,
        scenario.model,
        scenario.judge_model,
        scenario.setup,
        [(t.user, strip(t.expect)) for t in scenario.turns],
        strip(scenario.expect),
    )


ODD = [
    ("Hi!", "Hello, Sam."),
    ("line one\nline two: with a colon\n  indented", "A reply\n\nwith a blank line and # hash"),
    ("  leading spaces and trailing \n", "tab\there, \"quotes\", 'single', \\ backslash"),
    ("yes", "no"),
    ("- looks like a list", "{looks: like a map} & *alias !tag"),
    ("emoji 🎂 and \u2028 separator\r\nwindows", "x" * 500),
    ("next line \x85 and delete \x7f and bom \ufeff", "\u2029"),
]


def test_a_saved_conversation_becomes_a_scenario_that_loads():
    text = scenario_yaml_from_conversation("Ada", ODD, model="openai:gpt-4.1-mini")
    s = load_text(text, Path("scenarios/saved.yaml"))
    assert s.character == "Ada" and s.model == "openai:gpt-4.1-mini"
    assert s.name == "Ada: Hi!"
    assert [t.user for t in s.turns] == [user for user, _reply in ODD]
    first = s.turns[0].expect
    assert [(e.kind, e.value) for e in first] == [
        ("max_chars", 200),
        ("judge", "The reply says in substance what this saved reply said: Hello, Sam."),
    ]
    assert s.turns[5].expect[0].value == 1000
    assert [e.kind for e in s.expect] == ["no_leak"]
    assert "    #   A reply\n    #   with a blank line and # hash\n" in text
