"""The agent builder end to end: real openai/anthropic clients against a scripted server."""

from __future__ import annotations

import asyncio
import json

import pytest

from carrier_studio.core.characters import builder, validate
from carrier_studio.core.characters.document import CharacterError
from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.services.characters.builder import draft_character
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import text_model
from tests.fakes import ScriptedLLMServer, error, json_text, text
from tests.helpers.drafts import DRAFT


def _secrets(tmp_path, keyring_backend, **values):
    store = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    for name, value in values.items():
        store.set(name, value)
    return store


def _run(coro):
    return asyncio.run(coro)


async def _draft(model, description="A cheerful bike mechanic.", progress=None):
    try:
        return await draft_character(description, model, progress or (lambda _t: None))
    finally:
        await model.close()


def _compat(server):
    providers = ProviderSettings(
        endpoints=[CompatEndpoint(name="local", base_url=server.openai_base_url)]
    )
    choice = ModelChoice(provider="openai-compatible", model="test-model", endpoint="local")
    return choice, providers


def test_a_compatible_server_drafts_a_valid_character(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text("Sure! ```json\n" + json.dumps(DRAFT) + "\n```"))
            choice, providers = _compat(server)
            seen = []
            doc = await _draft(
                text_model(choice, providers, _secrets(tmp_path, keyring_backend)),
                progress=seen.append,
            )
            return doc, server.requests, seen

    doc, requests, seen = _run(go())
    assert doc.name == "Pip"
    assert [i for i in validate(doc) if i.severity.value == "error"] == []
    assert doc.data["settings"]["secrets"] == {}, "a draft never carries secrets"
    assert doc.data["version"] == 1 and "mcp_servers" in doc.data
    (request,) = requests
    assert request.path == "/v1/chat/completions"
    assert request.body["messages"][0]["role"] == "system"
    assert "A cheerful bike mechanic." in request.body["messages"][1]["content"]
    assert seen[-1] == "Drafted Pip."


def test_validation_errors_are_fed_back_once(tmp_path, keyring_backend):
    bad = dict(DRAFT, bio=["fine", 7])

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(json_text(bad), json_text(DRAFT))
            choice, providers = _compat(server)
            doc = await _draft(text_model(choice, providers, _secrets(tmp_path, keyring_backend)))
            return doc, server.requests

    doc, requests = _run(go())
    assert doc.name == "Pip"
    assert len(requests) == 2
    feedback = requests[1].body["messages"][-1]["content"]
    assert "$.bio[1]: must be a string, not a number" in feedback


@pytest.mark.parametrize("slot", ["<name of the character>", "{{name}}", "[Name]", "  "])
def test_a_placeholder_name_is_sent_back(tmp_path, keyring_backend, slot):
    """Seen with the real small model: it copied a template slot as the name."""

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(json_text(dict(DRAFT, name=slot)), json_text(DRAFT))
            choice, providers = _compat(server)
            doc = await _draft(text_model(choice, providers, _secrets(tmp_path, keyring_backend)))
            return doc, server.requests

    doc, requests = _run(go())
    assert doc.name == "Pip"
    feedback = requests[1].body["messages"][-1]["content"]
    if slot.strip():
        assert '"name" is a placeholder' in feedback
    else:
        assert "$.name" in feedback  # an empty name: the validator's own words


def test_the_draft_asks_for_the_schema_and_a_server_without_it_is_asked_again(
    tmp_path, keyring_backend
):
    """A compatible server is asked for output in the draft's JSON schema (llama.cpp makes a
    grammar of it); one that refuses response_format (400) is asked again without it."""

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(json_text(DRAFT), error(400, "'response_format' is not supported"))
            server.script(json_text(DRAFT))
            choice, providers = _compat(server)
            first = await _draft(text_model(choice, providers, _secrets(tmp_path, keyring_backend)))
            second = await _draft(
                text_model(choice, providers, _secrets(tmp_path, keyring_backend))
            )
            return first, second, server.requests

    first, second, requests = _run(go())
    assert first.name == second.name == "Pip"
    asked = requests[0].body["response_format"]
    assert asked["type"] == "json_schema" and asked["json_schema"]["schema"] == builder.DRAFT_SCHEMA
    assert requests[0].body["max_tokens"] == builder.DRAFT_MAX_TOKENS
    assert "response_format" in requests[1].body  # refused...
    assert "response_format" not in requests[2].body  # ...so asked as plain text
    assert len(requests) == 3


def test_a_context_refusal_during_a_draft_is_not_asked_again_as_text(tmp_path, keyring_backend):
    """Only a refusal of the output schema is retried without it: a request too long for the
    model says so at once (one request, the server's words kept)."""
    too_long = "request (5000 tokens) exceeds the available context size (4096 tokens)"

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(error(400, too_long))
            choice, providers = _compat(server)
            with pytest.raises(ProviderError) as info:
                await _draft(text_model(choice, providers, _secrets(tmp_path, keyring_backend)))
            return info.value, server.requests

    exc, requests = _run(go())
    assert len(requests) == 1
    assert "exceeds the available context size" in str(exc)


def test_invalid_json_twice_gives_a_clear_error(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text("I would love to help!"), text('{"name": "Pip", "bio": [}'))
            choice, providers = _compat(server)
            with pytest.raises(CharacterError) as info:
                await _draft(text_model(choice, providers, _secrets(tmp_path, keyring_backend)))
            return info.value, server.requests

    exc, requests = _run(go())
    assert len(requests) == 2
    assert "did not produce a valid character in 2 attempts" in str(exc)
    assert "JSON is malformed" in str(exc)
    assert "no JSON object" in requests[1].body["messages"][-1]["content"]


def test_openai_responses_api_with_a_key_from_the_keyring(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(json_text(DRAFT))
            providers = ProviderSettings(openai_base_url=server.openai_base_url)
            secrets = _secrets(tmp_path, keyring_backend, OPENAI_API_KEY="sk-from-keyring-123456")
            model = text_model(ModelChoice(provider="openai", model="gpt-test"), providers, secrets)
            doc = await _draft(model)
            return doc, server.requests

    doc, (request,) = _run(go())
    assert doc.name == "Pip"
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-from-keyring-123456"
    assert request.body["text"]["format"]["schema"] == builder.DRAFT_SCHEMA


def test_anthropic_messages(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(json_text(DRAFT))
            providers = ProviderSettings(anthropic_base_url=server.base_url)
            secrets = _secrets(tmp_path, keyring_backend, ANTHROPIC_API_KEY="sk-ant-test-123456")
            choice = ModelChoice(provider="anthropic", model="claude-test")
            doc = await _draft(text_model(choice, providers, secrets))
            return doc, server.requests

    doc, (request,) = _run(go())
    assert doc.name == "Pip"
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == "Bearer sk-ant-test-123456"


def test_a_refused_key_is_explained(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(error(401, "Incorrect API key provided", type_="invalid_request_error"))
            providers = ProviderSettings(openai_base_url=server.openai_base_url)
            secrets = _secrets(tmp_path, keyring_backend, OPENAI_API_KEY="sk-wrong-000000000")
            model = text_model(ModelChoice(provider="openai", model="gpt-test"), providers, secrets)
            with pytest.raises(ProviderError) as info:
                await _draft(model)
            return info.value

    exc = _run(go())
    assert "refused the API key (401)" in str(exc)
    assert "Settings" in str(exc)


def test_missing_key_or_endpoint_is_explained_before_any_request(tmp_path, keyring_backend):
    secrets = _secrets(tmp_path, keyring_backend)
    with pytest.raises(ProviderError, match="no OpenAI API key"):
        text_model(ModelChoice(provider="openai", model="m"), ProviderSettings(), secrets)
    with pytest.raises(ProviderError, match="endpoint nowhere is not configured"):
        text_model(
            ModelChoice(provider="openai-compatible", model="m", endpoint="nowhere"),
            ProviderSettings(),
            secrets,
        )
