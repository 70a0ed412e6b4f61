"""Captions written as a character, by a real OpenAI client against the scripted LLM server."""

from __future__ import annotations

import asyncio

import pytest

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.instagram import InstagramError
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.services.instagram.captions import write_caption
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import text_model
from tests.fakes import ScriptedLLMServer, text

PIP = CharacterDoc(
    {
        "name": "Pip",
        "system": "You are Pip, a cheerful bike mechanic.",
        "bio": ["Fixes bikes in Lyon."],
        "style": {"post": ["short sentences", "one emoji at most"]},
        "postExamples": ["New chain, new me."],
        "instagram": {"enabled": True, "default_hashtags": ["bikelife", "#lyon"]},
    }
)


def _model(server, tmp_path, keyring_backend):
    providers = ProviderSettings(
        endpoints=[CompatEndpoint(name="local", base_url=server.openai_base_url)]
    )
    choice = ModelChoice(provider="openai-compatible", model="test-model", endpoint="local")
    secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    return text_model(choice, providers, secrets)


async def _write(server, tmp_path, keyring_backend, **kw):
    model = _model(server, tmp_path, keyring_backend)
    try:
        return await write_caption(PIP, model, **kw)
    finally:
        await model.close()


def test_a_caption_in_the_characters_voice(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text('Caption: "Fresh tyres, fresh start. #bikelife #lyon"'))
            seen = []
            caption = await _write(
                server, tmp_path, keyring_backend, brief="new tyres", kind="image",
                files=["tyres.jpg"], progress=seen.append,
            )  # fmt: skip
            return caption, server.requests, seen

    caption, requests, seen = asyncio.run(go())
    assert caption == "Fresh tyres, fresh start. #bikelife #lyon"
    (request,) = requests
    system, user = request.body["messages"][0]["content"], request.body["messages"][1]["content"]
    assert "Pip" in system and "short sentences" in system and "#bikelife #lyon" in system
    assert "New chain, new me." in system and "2200 characters" in system
    assert "tyres.jpg" in user and "new tyres" in user
    assert seen[-1] == "Caption written."


def test_a_caption_that_breaks_the_rules_is_sent_back_once(tmp_path, keyring_backend):
    too_many = " ".join(f"#t{i}" for i in range(35))

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text(too_many), text("Short and sweet. #bikelife"))
            caption = await _write(server, tmp_path, keyring_backend)
            return caption, server.requests

    caption, requests = asyncio.run(go())
    assert caption == "Short and sweet. #bikelife"
    assert "35 hashtags" in requests[1].body["messages"][-1]["content"]


def test_two_bad_answers_raise_a_clear_error(tmp_path, keyring_backend):
    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text("x" * 2300), text("y" * 2300))
            return await _write(server, tmp_path, keyring_backend)

    with pytest.raises(InstagramError, match="did not write a usable caption") as raised:
        asyncio.run(go())
    assert raised.value.where == "caption" and "2300 characters" in str(raised.value)
