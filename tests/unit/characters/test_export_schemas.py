"""Every export validates against its format's public schema, and lint says when it would not.

The schemas are under tests/data/schemas (the ElizaOS v0 one vendored from elizaOS/characterfile;
see the README there). Lint (`export_warnings`) restates their required parts without
jsonschema, so these tests also hold the two in agreement.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from carrier_studio import assets
from carrier_studio.core.characters import CharacterDoc
from carrier_studio.core.characters.formats import EXPORTERS, Format
from carrier_studio.core.characters.validation import export_warnings

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
SAMPLES = ROOT / "tests" / "data" / "characters" / "samples"
SHIPPED = sorted(assets.seed_characters_dir().glob("*.json"))
SCHEMA_OF = {
    Format.ELIZA_V0: "eliza-v0.character.schema.json",
    Format.ELIZA_V1: "eliza-v1.character.schema.json",
    Format.CARD_V2: "card-v2.schema.json",
    Format.CARD_V3: "card-v3.schema.json",
}


def schema_errors(kind: Format, data: dict) -> list[str]:
    schema = json.loads((SCHEMAS / SCHEMA_OF[kind]).read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    # Through text, as another app reads it.
    data = json.loads(json.dumps(data, ensure_ascii=False))
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(data)]


def test_the_shipped_characters_are_found():
    assert len(SHIPPED) >= 4


@pytest.mark.parametrize("kind", list(SCHEMA_OF), ids=lambda k: k.value)
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_character_exports_valid_in_every_format(path, kind):
    doc = CharacterDoc(json.loads(path.read_text(encoding="utf-8")))
    assert schema_errors(kind, EXPORTERS[kind](doc).data) == []
    assert export_warnings(doc, kind) == []


@pytest.mark.parametrize("kind", list(SCHEMA_OF), ids=lambda k: k.value)
@pytest.mark.parametrize("name", ["rook.eliza-v0.json", "wren.carrier.json"])
def test_lint_is_silent_exactly_when_the_schema_passes_on_the_samples(name, kind):
    doc = CharacterDoc(json.loads((SAMPLES / name).read_text(encoding="utf-8")))
    failures = schema_errors(kind, EXPORTERS[kind](doc).data)
    warnings = export_warnings(doc, kind)
    assert bool(failures) == bool(warnings), (failures, warnings)


def _mira() -> dict:
    return json.loads((assets.seed_characters_dir() / "mira.json").read_text(encoding="utf-8"))


BREAKS = {
    "no postExamples": (lambda d: d.pop("postExamples"), "$.postExamples"),
    "empty topics": (lambda d: d.__setitem__("topics", []), "$.topics"),
    "no adjectives": (lambda d: d.pop("adjectives"), "$.adjectives"),
    "empty lore": (lambda d: d.__setitem__("lore", []), "$.lore"),
    "empty chat style": (lambda d: d["style"].__setitem__("chat", []), "$.style.chat"),
    "a string as knowledge": (lambda d: d.__setitem__("knowledge", ["a fact"]), "$.knowledge[0]"),
    "a message without text": (
        lambda d: d["messageExamples"][0][0].__setitem__("content", {}),
        "$.messageExamples[0][0].content.text",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_lint_names_the_field_that_would_not_validate_in_eliza_v0(case):
    data = _mira()
    change, field = BREAKS[case]
    change(data)
    doc = CharacterDoc(data)
    assert schema_errors(Format.ELIZA_V0, EXPORTERS[Format.ELIZA_V0](doc).data) != []
    warnings = export_warnings(doc, Format.ELIZA_V0)
    assert [w.path for w in warnings] == [field]
    assert "ElizaOS v0" in warnings[0].message
    assert warnings[0].code == "export-eliza-v0"


def test_lint_names_a_v1_speaker_problem_and_a_nameless_card():
    data = _mira()
    data["messageExamples"][0][0]["user"] = 7
    doc = CharacterDoc(data)
    assert schema_errors(Format.ELIZA_V1, EXPORTERS[Format.ELIZA_V1](doc).data) != []
    assert [w.path for w in export_warnings(doc, Format.ELIZA_V1)] == [
        "$.messageExamples[0][0].name"
    ]
    nameless = CharacterDoc({**copy.deepcopy(_mira()), "name": ""})
    for kind in (Format.CARD_V2, Format.CARD_V3):
        assert [w.path for w in export_warnings(nameless, kind)] == ["$.data.name"]
