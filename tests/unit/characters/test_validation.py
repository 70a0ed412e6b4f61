from __future__ import annotations

import pytest

from carrier_studio.core.characters import CharacterDoc, CharacterError, Severity, validate
from carrier_studio.core.characters.prompt import compose_instructions


def _doc(**data):
    base = {"name": "Kit", "style": {"all": ["a"], "chat": ["b"], "post": ["c"]}}
    base.update(data)
    return CharacterDoc(base)


def _paths(issues, severity):
    return {(i.path, i.code) for i in issues if i.severity is severity}


def test_a_clean_character_has_no_issues():
    assert validate(_doc(bio=["x"], topics=["y"])) == []


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"name": ""}, "$.name", "is required"),
        ({"name": 7}, "$.name", "is required"),
        ({"bio": [1]}, "$.bio[0]", "must be a string, not a number"),
        ({"bio": {"a": 1}}, "$.bio", "must be an array, not an object"),
        ({"temperature": 3}, "$.temperature", "between 0 and 2"),
        ({"style": {"chat": "short"}}, "$.style.chat", "must be an array, not a string"),
        ({"settings": {"secrets": {"K": 5}}}, "$.settings.secrets.K", "must be a string"),
        ({"model": {"provider": "cohere"}}, "$.model.provider", "must be one of"),
        ({"tool_policy": {"filesystem": "maybe"}}, "$.tool_policy.filesystem", "must be one of"),
        ({"memory": {"recall_k": 0}}, "$.memory.recall_k", "between 1 and 100"),
        (
            {"messageExamples": [[{"content": {"text": "hi"}}]]},
            "$.messageExamples[0][0]",
            "speaker",
        ),
        (
            {"messageExamples": [[{"user": "Kit", "content": "hi"}]]},
            "$.messageExamples[0][0].content",
            "text",
        ),
    ],
)
def test_errors_name_the_json_path(data, path, message):
    issues = [i for i in validate(_doc(**data)) if i.severity is Severity.ERROR]
    assert any(i.path == path and message in i.message for i in issues), issues


def test_unknown_keys_are_not_errors():
    assert validate(_doc(knowledge=[{"path": "x.md"}], plugins=["a"], custom={"z": 1})) == []


def test_bio_may_be_a_single_string():
    assert validate(_doc(bio="A single paragraph.")) == []


def test_v2_grouped_examples_are_checked_inside():
    doc = _doc(messageExamples=[{"name": "greeting", "examples": [{"name": "Kit"}]}])
    issues = validate(doc)
    assert ("$.messageExamples[0].examples[0].content", "type") in _paths(issues, Severity.ERROR)


def test_lint_warnings():
    doc = CharacterDoc(
        {
            "name": "Kit",
            "messageExamples": [
                [
                    {"user": "{{user1}}", "content": {"text": "hi"}},
                    {"user": "Kitt", "content": {"text": "hello"}},
                ]
            ],
            "mcp_servers": ["filesystem", "weather"],
            "handoffs": ["Nobody"],
            "settings": {"secrets": {"OPENAI_API_KEY": "sk-real-looking", "X": "YOUR_KEY_HERE"}},
            "style": {"all": ["a"], "chat": []},
        }
    )
    issues = validate(doc, mcp_servers=["filesystem"], characters=["Ada"])
    assert _paths(issues, Severity.ERROR) == set()
    assert _paths(issues, Severity.WARNING) == {
        ("$.messageExamples[0][1].user", "speaker"),
        ("$.mcp_servers[1]", "unknown-mcp-server"),
        ("$.handoffs[0]", "handoff"),
        ("$.settings.secrets.OPENAI_API_KEY", "secret-in-file"),
        ("$.settings.secrets.X", "placeholder-secret"),
        ("$.style.chat", "empty-style"),
        ("$.style.post", "empty-style"),
    }


def test_parse_errors_say_line_and_column(tmp_path):
    with pytest.raises(CharacterError) as info:
        CharacterDoc.from_text('{"name": "x",\n "bio": [}', tmp_path / "x.json")
    assert info.value.where == "line 2, column 10"
    assert str(info.value).startswith(str(tmp_path / "x.json"))


def test_prompt_is_deterministic_per_seed_and_uses_every_part():
    doc = _doc(
        system="You are Kit, a cartographer.",
        bio=[f"bio {i}" for i in range(20)],
        lore=["lore a"],
        topics=["maps", "tides"],
        adjectives=["curious"],
        messageExamples=[
            [
                {"user": "{{user1}}", "content": {"text": "Where is north?"}},
                {"user": "Kit", "content": {"text": "Up, mostly."}},
            ]
        ],
        postExamples=["New map drop!"],
    )
    first = compose_instructions(doc, seed=7)
    assert first == compose_instructions(doc, seed=7)
    assert first != compose_instructions(doc, seed=8)
    assert first.startswith("You are Kit, a cartographer.")
    for fragment in (
        "lore a",
        "maps, tides",
        "curious",
        "- a",
        "- b",
        "User: Where is north?",
        "Kit: Up, mostly.",
        "New map drop!",
    ):
        assert fragment in first
    assert sum(line.startswith("- bio ") for line in first.splitlines()) == 6
    assert "- c" not in first  # post style is for posts, not chat
