"""Cassettes and model strings of the character tests: what a fingerprint notices, and how a
model is named on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from carrier_studio.core.scenarios.cassette import (
    Cassette,
    CassetteError,
    Fingerprint,
    cassette_path,
    model_slug,
)
from carrier_studio.core.scenarios.model import Expect, Scenario, Setup, Turn, Where
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.services.scenarios import ModelSpecError, model_key, parse_model

HERE = Where(Path("s.yaml"), 3)


def _scenario(user="hi", expect="cake", **fields) -> Scenario:
    turn = Turn(user, (Expect("contains", expect, HERE),), HERE)
    return Scenario(
        name="s", path=Path("scenarios/s.yaml"), character="Ada", turns=(turn,), **fields
    )


def test_a_fingerprint_names_what_changed_and_ignores_expectations():
    ada = {"Ada": {"name": "Ada", "bio": ["Writer."]}}
    recorded = Fingerprint.of(ada, _scenario(), "openai:gpt-4.1-mini")
    assert Fingerprint.of(ada, _scenario(expect="pie"), "openai:gpt-4.1-mini") == recorded
    changed = {"Ada": {"name": "Ada", "bio": ["Painter."]}}
    assert Fingerprint.of(changed, _scenario(), "openai:gpt-4.1-mini").changes(recorded) == [
        "the character file changed since recording"
    ]
    assert Fingerprint.of(ada, _scenario(user="hello"), "openai:gpt-4.1-mini").changes(
        recorded
    ) == ["the scenario's set-up or user turns changed since recording"]
    other_setup = _scenario(setup=Setup(approvals={"write_file": True}))
    assert Fingerprint.of(ada, other_setup, "openai:gpt-4.1-mini").changes(recorded)
    assert Fingerprint.of(ada, _scenario(), "openai:gpt-4.1").changes(recorded) == [
        "it was recorded on openai:gpt-4.1-mini, not openai:gpt-4.1"
    ]


def test_a_cassette_round_trips_and_says_when_it_no_longer_fits(tmp_path):
    recorded = Fingerprint("c1", "s1", "openai:m")
    cassette = Cassette(recorded, {"character": [{"kind": "stream", "events": []}]})
    path = tmp_path / "s.openai-m.cassette.json"
    read = Cassette.from_json(cassette.to_json(), path)
    assert read == cassette
    read.check(recorded, path)
    with pytest.raises(CassetteError, match="no longer fits: the character file changed"):
        read.check(Fingerprint("c2", "s1", "openai:m"), path)
    with pytest.raises(CassetteError, match="is not a readable cassette"):
        Cassette.from_json("{}", path)


def test_a_cassette_keeps_the_windows_it_was_recorded_on(tmp_path):
    import json

    path = tmp_path / "s.openai-m.cassette.json"
    cassette = Cassette(Fingerprint("c1", "s1", "llama:m"), windows={"m": 4096})
    assert Cassette.from_json(cassette.to_json(), path).windows == {"m": 4096}
    older = json.loads(cassette.to_json())
    del older["windows"]  # recorded before windows were kept: the known or default sizes
    assert Cassette.from_json(json.dumps(older), path).windows == {}
    with pytest.raises(CassetteError, match=r"s\.openai-m\.cassette\.json .*window of m is 'big'"):
        Cassette.from_json(json.dumps({**older, "windows": {"m": "big"}}), path)


def test_cassette_files_sit_beside_their_scenario():
    assert model_slug("openai-compatible:qwen2.5:0.5b@lm") == "openai-compatible-qwen2.5-0.5b-lm"
    assert cassette_path(Path("scenarios/greet.yaml"), "openai:gpt-4.1") == Path(
        "scenarios/greet.openai-gpt-4.1.cassette.json"
    )


def test_model_strings():
    providers = ProviderSettings(
        default=ModelChoice(provider="openai-compatible", model="m", endpoint="lm"),
        endpoints=[CompatEndpoint(name="lm", base_url="http://127.0.0.1:1/v1")],
    )
    assert parse_model("default", providers) == providers.default
    qwen = parse_model("openai-compatible:qwen2.5:0.5b@lm", providers)
    assert (qwen.provider, qwen.model, qwen.endpoint) == ("openai-compatible", "qwen2.5:0.5b", "lm")
    assert model_key(qwen) == "openai-compatible:qwen2.5:0.5b@lm"
    # The endpoint may be left out when there is one to take.
    assert parse_model("openai-compatible:x", providers).endpoint == "lm"
    claude = parse_model("anthropic:claude-haiku-4-5", providers)
    assert (claude.provider, claude.endpoint, model_key(claude)) == (
        "anthropic",
        None,
        "anthropic:claude-haiku-4-5",
    )
    for text, words in [
        ("gpt-4", '"gpt-4" is not a model: write provider:model'),
        ("openia:gpt-4", 'names the provider "openia", which the studio cannot run'),
        ("openai:", "is not a model"),
    ]:
        with pytest.raises(ModelSpecError, match=words):
            parse_model(text, providers)


def test_a_runs_cost_comes_from_list_prices_or_is_not_guessed():
    from carrier_studio.core.scenarios.pricing import cost_usd

    # gpt-4.1-mini, not gpt-4.1: the longest prefix wins; dated snapshots find their family.
    assert cost_usd("openai", "gpt-4.1-mini-2025-04-14", 1_000_000, 1_000_000) == 2.0
    assert cost_usd("anthropic", "claude-sonnet-4-5", 2000, 1000) == (2000 * 3 + 1000 * 15) / 1e6
    assert cost_usd("openai-compatible", "gpt-4.1", 1000, 1000) is None
    assert cost_usd("openai", "some-future-model", 1000, 1000) is None
