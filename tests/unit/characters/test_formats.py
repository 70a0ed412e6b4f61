"""Character formats: detection, import to the studio's shape, exports and what they lose."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from carrier_studio.core.characters import CharacterDoc, CharacterError, Severity, validate
from carrier_studio.core.characters.formats import (
    EXPORTERS,
    FORMAT_LABELS,
    GROUPS_KEY,
    Format,
    detect_format,
    export_card_v2,
    export_eliza_v1,
    export_eliza_v2,
    import_character,
)
from carrier_studio.core.characters.formats.card_text import (
    parse_examples,
    render_examples,
    sentences,
)
from carrier_studio.core.characters.formats.eliza import ELIZA_KEYS

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "tests" / "data" / "characters" / "formats"
REPO_CHARACTERS = sorted((ROOT / "characters").glob("*.json"))

EXPECTED = {
    "carrier.json": Format.CARRIER,
    "eliza_v0.json": Format.ELIZA_V0,
    "eliza_v1.json": Format.ELIZA_V1,
    "eliza_v2.json": Format.ELIZA_V2,
    "card_v2.json": Format.CARD_V2,
    "card_v1.json": Format.CARD_V2,
}
#: Fields an ElizaOS v1 file carries as they are (messageExamples differ in the speaker key).
V1_FIELDS = ("name", "username", "system", "bio", "postExamples", "topics", "adjectives", "style")
SECRET = "sk-proj-Zq8vT1cXw9RkLmN4pQ7sB2dF"
TOKEN = "MTE4NjQ.discord.token.value"
NAMED = [{"name": "Kit", "content": {"text": "hi"}}]


def load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def errors(doc: CharacterDoc) -> list[str]:
    return [str(i) for i in validate(doc) if i.severity is Severity.ERROR]


def through_json(data: dict[str, Any]) -> Any:
    """What another app reads: the export as text, decoded again."""
    return json.loads(json.dumps(data, ensure_ascii=False))


# -- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_each_sample_is_detected(name, expected):
    assert detect_format(load(name)) is expected


@pytest.mark.parametrize("path", REPO_CHARACTERS, ids=lambda p: p.name)
def test_the_example_characters_are_carrier(path):
    assert detect_format(json.loads(path.read_text(encoding="utf-8"))) is Format.CARRIER


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], Format.UNKNOWN),
        ("Sable", Format.UNKNOWN),
        (None, Format.UNKNOWN),
        ({"servers": []}, Format.UNKNOWN),
        ({"name": "Kit", "bio": ["x"]}, Format.ELIZA_V0),
        ({"name": "Kit", "plugins": ["@elizaos/plugin-sql"]}, Format.ELIZA_V1),
        ({"name": "Kit", "plugins": [], "modelProvider": "openai"}, Format.ELIZA_V0),
        ({"name": "Kit", "lore": [], "handoffs": []}, Format.CARRIER),
        ({"spec": "chara_card_v3", "data": {"name": "Kit"}}, Format.CARD_V3),
        ({"data": {"name": "Kit", "first_mes": "Hi"}}, Format.CARD_V2),
        # The studio's own files may hold what ElizaOS 1.x writes and stay as they are.
        ({"name": "Kit", "modelProvider": "openai", "messageExamples": [NAMED]}, Format.ELIZA_V0),
        ({"version": 1, "messageExamples": [{"name": "t", "examples": NAMED}]}, Format.CARRIER),
        ({"name": "Kit", "messageExamples": [NAMED]}, Format.ELIZA_V1),
    ],
)
def test_detection_rules(raw, expected):
    assert detect_format(raw) is expected


def test_every_format_has_a_label_and_exporters_are_listed():
    assert set(FORMAT_LABELS) == set(Format)
    assert FORMAT_LABELS[Format.CARD_V2] == "Character Card V2"
    assert FORMAT_LABELS[Format.ELIZA_V1] == "ElizaOS v1"
    assert EXPORTERS[Format.ELIZA_V1] is export_eliza_v1
    assert EXPORTERS[Format.CARD_V2] is export_card_v2


# -- import ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_each_sample_imports_to_a_valid_document(name):
    raw = load(name)
    before = copy.deepcopy(raw)
    result = import_character(raw)
    assert result.source is EXPECTED[name]
    assert errors(result.doc) == []
    assert raw == before  # the input is never changed


@pytest.mark.parametrize("name", ["carrier.json", "eliza_v0.json"])
def test_carrier_and_v0_come_back_unchanged(name):
    raw = load(name)
    result = import_character(raw)
    assert result.doc.data is raw
    assert list(result.doc.data) == list(load(name))
    assert result.notes == []


def test_v1_import_renames_speakers_and_keeps_every_other_key():
    raw = load("eliza_v1.json")
    data = import_character(raw).doc.data
    assert list(data) == ["version", *raw]
    assert data["version"] == 1
    first = data["messageExamples"][0]
    assert [m["user"] for m in first] == ["{{name1}}", "Orrin"]
    assert all("name" not in m for m in first)
    assert first[1]["content"] == raw["messageExamples"][0][1]["content"]  # actions kept
    for key in ("id", "templates", "knowledge", "plugins", "settings", "x-orrin-notes"):
        assert data[key] == raw[key]


def test_v2_import_flattens_groups_and_keeps_their_titles():
    raw = load("eliza_v2.json")
    result = import_character(raw)
    data = result.doc.data
    assert all(isinstance(c, list) for c in data["messageExamples"])
    assert data["messageExamples"][1][0] == {
        "user": "{{user1}}",
        "content": {"text": "My knee hurts after runs. Should I push through?"},
    }
    assert data[GROUPS_KEY] == [{"name": "First run"}, {"name": "Sore knee"}]
    assert any(GROUPS_KEY in note for note in result.notes)


def test_foreign_card_maps_onto_eliza_fields():
    raw = load("card_v2.json")
    result = import_character(raw)
    data = result.doc.data
    name = "Captain Maren Holt"
    assert data["name"] == name
    assert data["bio"] == [
        f"{name} is the captain of the Gull's Wager, a patched-up cargo schooner working the "
        "Salt Coast.",
        "She is fifty-one, weathered, and has a laugh that carries across the harbour.",
        f"{name} lost her first ship to a storm off Cape Ashen and has not trusted a calm sea "
        "since.",
        "She keeps a ledger of every debt owed to her, down to the last copper.",
    ]
    assert data["adjectives"] == [
        "gruff",
        "loyal",
        "superstitious",
        "dry-humoured",
        "protective of her crew",
    ]
    assert data["lore"] == [
        "{{user1}} has just signed on as a deckhand aboard the Gull's Wager.",
        "The ship leaves port at dawn with a hold full of untaxed tea.",
    ]
    assert data["topics"] == raw["data"]["tags"]
    assert data["system"] == (
        "{{original}}\nWrite Captain Maren Holt's dialogue with a light nautical accent."
    )
    assert data["messageExamples"][1] == [
        {"user": "{{user1}}", "content": {"text": "What's in the hold, Captain?"}},
        {
            "user": name,
            "content": {
                "text": '"Tea." *She doesn\'t blink.*\n"Just tea. And if anyone asks, it\'s '
                'chamomile."'
            },
        },
    ]
    card = data["card"]
    assert card["first_mes"] == raw["data"]["first_mes"]
    for key in ("character_book", "creator_notes", "alternate_greetings", "creator"):
        assert card[key] == raw["data"][key]
    assert card["extensions"] == raw["data"]["extensions"]
    assert card["envelope"] == {"create_date": raw["create_date"]}
    assert any("{{original}}" in note for note in result.notes)
    assert any("greetings open a new chat" in note for note in result.notes)
    assert not any("first_mes" in note for note in result.notes)


def test_v1_card_is_read_as_v2_and_prose_personality_joins_bio():
    result = import_character(load("card_v1.json"))
    data = result.doc.data
    assert result.source is Format.CARD_V2
    assert "Character Card V1" in result.notes[0]
    assert data["adjectives"] == []
    assert data["bio"][-2:] == [
        "Quill is endlessly patient and slightly absent-minded.",
        "He cannot resist a pun about beetles.",
    ]
    assert data["messageExamples"][0][1]["user"] == "Professor Quill"
    assert data["card"]["avatar"] == "none"


def test_unknown_keys_survive_import_unchanged():
    carrier = load("carrier.json")
    data = import_character(copy.deepcopy(carrier)).doc.data
    assert data["shop"] == carrier["shop"] and data["favouriteTool"] == "spoke wrench"
    assert data["settings"]["shopTimezone"] == "Europe/London"

    v1 = load("eliza_v1.json")
    assert import_character(v1).doc.data["x-orrin-notes"] == v1["x-orrin-notes"]

    card = load("card_v2.json")
    card["data"]["nickname"] = "Cap"
    card["data"]["extensions"]["other_tool"] = {"mood": "stormy"}
    imported = import_character(card).doc
    assert imported.data["card"]["nickname"] == "Cap"
    exported = export_card_v2(imported).data["data"]
    assert exported["nickname"] == "Cap"
    assert exported["extensions"]["other_tool"] == {"mood": "stormy"}


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [*REPO_CHARACTERS, SAMPLES / "carrier.json", SAMPLES / "eliza_v0.json"], ids=str
)
def test_native_to_v1_and_back_keeps_what_v1_carries(path):
    original = json.loads(path.read_text(encoding="utf-8"))
    exported = export_eliza_v1(CharacterDoc(copy.deepcopy(original)))
    assert set(exported.data) <= set(ELIZA_KEYS)
    back = import_character(through_json(exported.data))
    assert back.source is Format.ELIZA_V1
    assert errors(back.doc) == []
    for key in V1_FIELDS:
        assert back.doc.data.get(key) == original.get(key), key
    assert back.doc.data["messageExamples"] == original["messageExamples"]
    assert back.doc.data["settings"] == original["settings"]  # no secret values in these


@pytest.mark.parametrize(
    "path", [*REPO_CHARACTERS, *(SAMPLES / n for n in EXPECTED)], ids=lambda p: p.name
)
def test_native_to_card_and_back_is_identical(path):
    native = import_character(json.loads(path.read_text(encoding="utf-8"))).doc
    original = copy.deepcopy(native.data)
    exported = export_card_v2(native)
    assert exported.lost == []
    back = import_character(through_json(exported.data))
    assert back.source is Format.CARD_V2
    assert back.doc.data == original
    assert list(back.doc.data) == list(original)
    assert native.data == original  # export does not touch the document


def test_v1_to_studio_to_v1_is_the_same_file_minus_unknown_keys():
    raw = load("eliza_v1.json")
    exported = export_eliza_v1(import_character(raw).doc)
    expected = {k: v for k, v in raw.items() if k != "x-orrin-notes"}
    assert exported.data == expected
    assert exported.lost == ['$["x-orrin-notes"] (not an ElizaOS v1 field)']


def test_v2_to_studio_to_v2_is_the_same_file():
    raw = load("eliza_v2.json")
    exported = export_eliza_v2(import_character(raw).doc)
    assert exported.data == raw
    assert exported.lost == []


def test_v2_to_studio_to_v1_loses_only_the_titles():
    exported = export_eliza_v1(import_character(load("eliza_v2.json")).doc)
    assert all(isinstance(c, list) for c in exported.data["messageExamples"])
    assert exported.data["messageExamples"][0][0]["name"] == "{{user1}}"
    assert exported.lost == [
        "$.messageExampleGroups (ElizaOS v1 has no titles for example conversations; 2 titles)"
    ]


def test_v2_export_after_a_conversation_was_removed_uses_default_titles():
    doc = import_character(load("eliza_v2.json")).doc
    del doc.data["messageExamples"][0]
    exported = export_eliza_v2(doc)
    assert [g["name"] for g in exported.data["messageExamples"]] == ["Conversation 1"]
    assert exported.lost == [
        "$.messageExampleGroups (the titles no longer line up with the example conversations; "
        '"Conversation N" titles were written instead)'
    ]


def test_foreign_card_to_studio_to_card_keeps_the_card():
    raw = load("card_v2.json")
    exported = export_card_v2(import_character(raw).doc)
    data = exported.data["data"]
    assert exported.data["spec"] == "chara_card_v2" and exported.data["spec_version"] == "2.0"
    for key in (
        "name",
        "description",
        "personality",
        "scenario",
        "first_mes",
        "mes_example",
        "tags",
        "character_book",
        "creator_notes",
        "system_prompt",
        "post_history_instructions",
        "alternate_greetings",
        "creator",
        "character_version",
    ):
        assert data[key] == raw["data"][key], key
    extensions = dict(data["extensions"])
    assert "carrier_studio" in extensions
    del extensions["carrier_studio"]
    assert extensions == raw["data"]["extensions"]
    assert exported.lost == []


def test_card_export_writes_edited_fields_afresh():
    doc = import_character(load("card_v2.json")).doc
    doc.data["bio"] = ["Maren captains the Gull's Wager.", "She trusts no calm sea."]
    doc.data["lore"].append("The crew calls her the Old Gull.")
    data = export_card_v2(doc).data["data"]
    assert data["description"] == "Maren captains the Gull's Wager.\n\nShe trusts no calm sea."
    assert (
        data["personality"] == "gruff, loyal, superstitious, dry-humoured, protective of her crew"
    )
    assert data["scenario"].splitlines() == [
        "{{user}} has just signed on as a deckhand aboard the Gull's Wager.",
        "The ship leaves port at dawn with a hold full of untaxed tea.",
        "The crew calls her the Old Gull.",
    ]
    assert data["mes_example"] == load("card_v2.json")["data"]["mes_example"]  # unchanged


def test_a_card_changed_in_another_app_keeps_the_change_and_the_studio_fields():
    mira = json.loads((ROOT / "characters" / "mira.json").read_text(encoding="utf-8"))
    card = through_json(export_card_v2(CharacterDoc(copy.deepcopy(mira))).data)
    card["data"]["description"] = "Mira is a potter. She posts about plants."
    card["data"]["tags"] = ["ceramics"]
    result = import_character(card)
    data = result.doc.data
    assert data["bio"] == ["Mira is a potter.", "She posts about plants."]
    assert data["topics"] == ["ceramics"]
    assert data["adjectives"] == mira["adjectives"]
    for key in ("lore", "messageExamples", "style", "model", "memory", "instagram", "system"):
        assert data.get(key) == mira.get(key), key
    assert any("description, tags" in note for note in result.notes)
    again = export_card_v2(result.doc).data["data"]
    assert again["description"] == "Mira is a potter. She posts about plants."


def test_first_mes_of_a_native_card_is_the_discord_greeting():
    carrier = load("carrier.json")
    data = export_card_v2(CharacterDoc(carrier)).data["data"]
    assert data["first_mes"] == carrier["discord_config"]["initial_message"]
    assert data["system_prompt"] == carrier["system"]
    assert data["personality"] == "friendly, practical, calm"
    assert data["post_history_instructions"] == "" and data["alternate_greetings"] == []
    assert "character_book" not in data


@pytest.mark.parametrize("export", [export_eliza_v1, export_eliza_v2, export_card_v2])
@pytest.mark.parametrize("name", EXPECTED)
def test_exports_are_plain_json_that_shares_nothing_with_the_document(export, name):
    doc = import_character(load(name)).doc
    before = copy.deepcopy(doc.data)
    data = export(doc).data
    assert through_json(data) == data

    def scramble(value: Any) -> None:
        if isinstance(value, dict):
            for element in value.values():
                scramble(element)
            value["scrambled"] = True
        elif isinstance(value, list):
            for element in value:
                scramble(element)
            value.append("scrambled")

    scramble(data)
    assert doc.data == before


# -- what an export loses --------------------------------------------------------------------


def test_v1_export_lists_exactly_the_fields_it_cannot_carry():
    exported = export_eliza_v1(CharacterDoc(load("carrier.json")))
    assert exported.lost == [
        "$.lore (ElizaOS v1 has no lore; 1 line)",
        "$.clients (ElizaOS v1 connects platforms with plugins, not clients; written as the "
        "plugin @elizaos/plugin-discord)",
        "$.modelProvider (ElizaOS v1 picks the model with a plugin, not modelProvider; written "
        "as the plugin @elizaos/plugin-openai)",
        "$.temperature (ElizaOS v1 has no temperature field; 0.6)",
        "$.mcp_servers (ElizaOS v1 has no MCP servers; 1 server)",
        "$.discord_config (the Discord channel and greeting are Carrier Studio settings)",
        "$.model (the model choice is a Carrier Studio setting)",
        "$.memory (memory is a Carrier Studio setting)",
        "$.handoffs (handoffs are a Carrier Studio feature; 1 character)",
        "$.tool_policy (tool permissions are a Carrier Studio setting)",
        "$.shop (not an ElizaOS v1 field)",
        '$.favouriteTool (not an ElizaOS v1 field; "spoke wrench")',
    ]
    assert exported.data["plugins"] == ["@elizaos/plugin-openai", "@elizaos/plugin-discord"]
    assert list(exported.data) == [k for k in ELIZA_KEYS if k in exported.data]


def test_v1_export_does_not_count_empty_fields_as_lost():
    doc = CharacterDoc.new("Kit")
    assert export_eliza_v1(doc).lost == []


# -- secrets ---------------------------------------------------------------------------------


def _with_secrets() -> CharacterDoc:
    data = load("carrier.json")
    data["settings"]["secrets"] = {"OPENAI_API_KEY": SECRET, "DISCORD_API_TOKEN": ""}
    data["settings"]["DISCORD_API_TOKEN"] = TOKEN
    data["secrets"] = {"ANTHROPIC_API_KEY": SECRET + "-2"}
    data["system"] += f" (internal key: {SECRET})"
    return CharacterDoc(data)


@pytest.mark.parametrize("export", [export_eliza_v1, export_eliza_v2, export_card_v2])
def test_no_secret_value_is_ever_exported(export):
    doc = _with_secrets()
    before = copy.deepcopy(doc.data)
    result = export(doc)
    text = json.dumps(result.data, ensure_ascii=False)
    assert SECRET not in text and TOKEN not in text
    assert "sk-proj" not in text
    assert doc.data == before
    secret_paths = [entry.split(" ")[0] for entry in result.lost if "secret value" in entry]
    assert "$.settings.secrets.OPENAI_API_KEY" in secret_paths
    assert "$.settings.DISCORD_API_TOKEN" in secret_paths
    assert "$.secrets.ANTHROPIC_API_KEY" in secret_paths
    assert "[secret removed]" in text


def test_card_export_blanks_secrets_but_keeps_their_names():
    result = export_card_v2(_with_secrets())
    embedded = result.data["data"]["extensions"]["carrier_studio"]
    assert embedded["settings"]["secrets"] == {"OPENAI_API_KEY": "", "DISCORD_API_TOKEN": ""}
    assert embedded["secrets"] == {"ANTHROPIC_API_KEY": ""}
    assert result.lost[:3] == [
        "$.settings.secrets.OPENAI_API_KEY (secret values are never exported; the card keeps "
        "the key with an empty value)",
        "$.settings.DISCORD_API_TOKEN (secret values are never exported; the card keeps the "
        "key with an empty value)",
        "$.secrets.ANTHROPIC_API_KEY (secret values are never exported; the card keeps the key "
        "with an empty value)",
    ]
    back = import_character(through_json(result.data))
    assert back.doc.data["settings"]["secrets"]["OPENAI_API_KEY"] == ""
    assert any("OPENAI_API_KEY, DISCORD_API_TOKEN are empty" in n for n in back.notes)


def test_native_to_card_and_back_only_blanks_the_secrets():
    doc = _with_secrets()
    expected = copy.deepcopy(doc.data)
    expected["settings"]["secrets"]["OPENAI_API_KEY"] = ""
    expected["settings"]["DISCORD_API_TOKEN"] = ""
    expected["secrets"]["ANTHROPIC_API_KEY"] = ""
    expected["system"] = expected["system"].replace(SECRET, "[secret removed]")
    back = import_character(through_json(export_card_v2(doc).data))
    assert back.doc.data == expected


def test_v1_import_warns_about_secret_values():
    raw = load("eliza_v1.json")
    raw["secrets"] = {"OPENAI_API_KEY": SECRET}
    result = import_character(raw)
    assert result.doc.data["secrets"] == raw["secrets"]  # kept as written, flagged
    assert any(note.startswith("$.secrets holds secret values") for note in result.notes)


def test_v1_export_reads_providers_and_clients_in_any_case():
    # Files written by hand or by other tools say "Discord" and "OpenAI".
    doc = CharacterDoc.new("Kit")
    doc.data["modelProvider"], doc.data["clients"] = "OpenAI", ["Discord", "TELEGRAM"]
    exported = export_eliza_v1(doc)
    assert exported.data["plugins"] == [
        "@elizaos/plugin-openai",
        "@elizaos/plugin-discord",
        "@elizaos/plugin-telegram",
    ]
    assert all("written as the plugin" in line for line in exported.lost), exported.lost


def test_v1_export_keeps_secret_names_with_empty_values():
    settings = export_eliza_v1(_with_secrets()).data["settings"]
    assert settings["secrets"] == {"OPENAI_API_KEY": "", "DISCORD_API_TOKEN": ""}
    assert settings["voice"] == {"model": "en_GB-alba-medium"}


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        ([{"name": "Kit"}], "$", "not an array"),
        ("Kit", "$", "not a string"),
        ({"servers": {}}, "$", "not a character"),
        ({"spec": "chara_card_v2", "spec_version": "2.0"}, "$.data", "has none"),
        ({"spec": "chara_card_v2", "data": ["Kit"]}, "$.data", "not an array"),
        ({"spec": "chara_card_v2", "data": {"description": "x"}}, "$.data.name", "needs a name"),
        (
            {"spec": "chara_card_v2", "data": {"name": "Kit", "description": 5}},
            "$.data.description",
            "must be a string, not a number",
        ),
        (
            {"spec": "chara_card_v2", "data": {"name": "Kit", "tags": ["a", 2]}},
            "$.data.tags[1]",
            "must be a string",
        ),
        (
            {"spec": "chara_card_v2", "data": {"name": "Kit", "character_book": []}},
            "$.data.character_book",
            "must be an object",
        ),
        ({"name": "Kit", "first_mes": "Hi", "personality": 3}, "$.personality", "a string"),
    ],
)
def test_input_that_cannot_be_a_character_is_refused_with_a_path(raw, where, message):
    with pytest.raises(CharacterError) as caught:
        import_character(raw)
    assert caught.value.where == where
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("examples", "path"),
    [
        ("hello", "$.messageExamples"),
        ([["hello"]], "$.messageExamples[0][0]"),
        ([{"name": "Greeting", "examples": "hi"}], "$.messageExamples[0]"),
    ],
)
def test_wrongly_shaped_examples_are_left_to_validate(examples, path):
    raw = {"name": "Kit", "plugins": ["@elizaos/plugin-sql"], "messageExamples": examples}
    result = import_character(raw)
    assert result.doc.data["messageExamples"] == examples
    assert any(e.startswith(path) for e in errors(result.doc))
    for export in (export_eliza_v1, export_eliza_v2, export_card_v2):
        json.dumps(export(result.doc).data)  # exports still work and stay plain JSON


def test_card_with_a_foreign_carrier_studio_extension_is_imported_as_a_card():
    card = load("card_v2.json")
    card["data"]["extensions"]["carrier_studio"] = "not a document"
    result = import_character(card)
    assert result.doc.data["card"]["extensions"]["carrier_studio"] == "not a document"
    assert any("is not a character document" in note for note in result.notes)


# -- text helpers ----------------------------------------------------------------------------


def test_sentences_do_not_split_abbreviations_or_initials():
    assert sentences("Dr. Holt met J. R. Smith. They argued! Then: tea.") == [
        "Dr. Holt met J. R. Smith.",
        "They argued!",
        "Then: tea.",
    ]


def test_examples_render_and_parse_back():
    conversations = [
        [
            {"user": "{{user1}}", "content": {"text": "Hi {{user1}}"}},
            {"user": "Kit", "content": {"text": "Hello.\nTwo lines."}},
        ]
    ]
    text = render_examples(conversations, "Kit")
    assert text == "<START>\n{{user}}: Hi {{user}}\n{{char}}: Hello.\nTwo lines."
    assert parse_examples(text, "Kit") == conversations
    assert parse_examples("Narration first\n<USER>: hey\n<BOT>: yo", "Kit") == [
        [
            {"user": "Kit", "content": {"text": "Narration first"}},
            {"user": "{{user1}}", "content": {"text": "hey"}},
            {"user": "Kit", "content": {"text": "yo"}},
        ]
    ]
