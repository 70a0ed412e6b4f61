"""Which model answers a character: its own provider when it names one, else the workspace
default; and a conversation's own choice, stored as text with the conversation."""

from __future__ import annotations

import json

import pytest

from carrier_studio import assets
from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import (
    WORKSPACE_DEFAULT,
    CompatEndpoint,
    ModelChoice,
    ProviderSettings,
    dump_conversation_model,
    load_conversation_model,
    named_provider,
    provider_key,
)
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import checked, choice_for, plan_for

LOCAL = ModelChoice(provider="openai-compatible", model="smollm2", endpoint="lm")


def _local_default() -> ProviderSettings:
    return ProviderSettings(
        default=LOCAL,
        endpoints=[CompatEndpoint(name="lm", base_url="http://127.0.0.1:1234/v1", models=["q"])],
    )


def _doc(**data) -> CharacterDoc:
    return CharacterDoc({"name": "Kit", **data})


@pytest.fixture
def secrets(tmp_path, keyring_backend):
    return SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})


def test_a_character_that_names_no_provider_follows_the_workspace_default():
    choice = choice_for(_doc(temperature=0.3), _local_default())
    assert choice == LOCAL.model_copy(update={"temperature": 0.3})


def test_a_model_without_a_provider_does_not_count_as_naming_one():
    assert choice_for(_doc(model={"model": "gpt-4o"}), _local_default()).model == "smollm2"


@pytest.mark.parametrize("spelling", ["anthropic", "Anthropic", " ANTHROPIC "])
def test_model_provider_is_the_character_s_own_provider_in_any_case(spelling):
    choice = choice_for(_doc(modelProvider=spelling), _local_default())
    # Not the local default's model: a model of the provider the character asked for.
    assert (choice.provider, choice.model) == ("anthropic", "claude-sonnet-4-5")


def test_the_studio_model_section_wins_over_model_provider():
    doc = _doc(modelProvider="anthropic", model={"provider": "openai", "model": "gpt-4.1"})
    assert named_provider(doc.data) == "openai"
    choice = choice_for(doc, _local_default())
    assert (choice.provider, choice.model) == ("openai", "gpt-4.1")


def test_naming_the_default_s_provider_without_a_model_takes_the_default_s_model():
    choice = choice_for(_doc(modelProvider="openai-compatible"), _local_default())
    assert (choice.model, choice.endpoint) == ("smollm2", "lm")


def test_a_provider_the_studio_cannot_run_is_refused_in_words():
    assert provider_key("groq") is None
    with pytest.raises(ProviderError, match='Kit asks for the model provider "groq"'):
        choice_for(_doc(modelProvider="groq"), _local_default())
    plan = plan_for(_doc(modelProvider="groq"), _local_default())
    assert plan.choice is None and plan.source == "character"
    assert "which Carrier Studio cannot run" in plan.problem


def test_an_unconfigured_own_provider_is_said_not_replaced(secrets):
    plan = checked(
        plan_for(_doc(modelProvider="anthropic"), _local_default()), _local_default(), secrets
    )
    assert plan.choice.provider == "anthropic", "never quietly swapped for the default"
    assert plan.source == "character" and plan.reason == "Kit's own model"
    assert plan.problem == (
        "Kit asks for Anthropic (claude-sonnet-4-5), but no Anthropic API key is set."
    )
    secrets.set("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
    fresh = plan_for(_doc(modelProvider="anthropic"), _local_default())
    assert checked(fresh, _local_default(), secrets).problem == ""


def test_the_workspace_default_for_this_conversation_overrides_the_character():
    providers = _local_default()
    doc = _doc(modelProvider="anthropic", temperature=0.2)
    plan = plan_for(doc, providers, WORKSPACE_DEFAULT)
    assert plan.choice == LOCAL.model_copy(update={"temperature": 0.2})
    assert plan.source == "conversation"
    fixed = ModelChoice(provider="openai-compatible", model="q", endpoint="lm")
    assert plan_for(doc, providers, fixed).choice == fixed


def test_the_shipped_examples_name_no_provider_so_a_local_server_answers_them_all(secrets):
    providers = _local_default()
    paths = sorted(assets.seed_characters_dir().glob("*.json"))
    assert len(paths) == 4
    for path in paths:
        doc = CharacterDoc(json.loads(path.read_text()))
        assert named_provider(doc.data) is None, path.name
        plan = checked(plan_for(doc, providers), providers, secrets)
        assert (plan.source, plan.choice.model, plan.problem) == ("workspace", "smollm2", "")


@pytest.mark.parametrize(
    "selection",
    [None, WORKSPACE_DEFAULT, ModelChoice(provider="openai-compatible", model="q", endpoint="lm")],
)
def test_a_conversation_model_round_trips_as_text(selection):
    assert load_conversation_model(dump_conversation_model(selection)) == selection


@pytest.mark.parametrize("stored", ["{", '{"provider": "nope"}', "42", ""])
def test_an_unreadable_stored_choice_means_no_choice(stored):
    assert load_conversation_model(stored) is None
