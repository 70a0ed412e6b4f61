"""An approved MCP sampling request runs on a real provider client, within the server's limit.

`SettingsSampler` against the scripted server speaking each provider's wire format: the
request's system prompt and messages arrive, and so does its ``maxTokens`` — the limit the user
saw in the approval — as each API names it.
"""

from __future__ import annotations

import asyncio

import pytest

from carrier_studio.core.mcp.requests import SamplingMessage, SamplingRequest
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings, Settings
from carrier_studio.services.mcp.sampling import SettingsSampler
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from tests.fakes import ScriptedLLMServer, text

REQUEST = SamplingRequest(
    server="everything",
    system_prompt="You sum things up.",
    messages=(SamplingMessage("user", "Sum up: tea, cake."),),
    max_tokens=77,
)


def _providers(provider: str, server: ScriptedLLMServer) -> tuple[ModelChoice, ProviderSettings]:
    if provider == "openai-compatible":
        endpoint = CompatEndpoint(name="local", base_url=server.openai_base_url)
        return ModelChoice(provider=provider, model="m", endpoint="local"), ProviderSettings(
            endpoints=[endpoint]
        )
    if provider == "openai":
        return ModelChoice(provider=provider, model="m"), ProviderSettings(
            openai_base_url=server.openai_base_url
        )
    return ModelChoice(provider=provider, model="m"), ProviderSettings(
        anthropic_base_url=server.base_url
    )


@pytest.mark.parametrize(
    ("provider", "path", "limit"),
    [
        ("openai-compatible", "/v1/chat/completions", "max_tokens"),
        ("openai", "/v1/responses", "max_output_tokens"),
        ("anthropic", "/v1/messages", "max_tokens"),
    ],
)
def test_sampling_sends_the_servers_token_limit(tmp_path, keyring_backend, provider, path, limit):
    secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    secrets.set("OPENAI_API_KEY", "sk-test-000000000000")
    secrets.set("ANTHROPIC_API_KEY", "sk-ant-test-000000000")

    async def go():
        async with ScriptedLLMServer() as server:
            server.script(text("Tea and cake."))
            choice, providers = _providers(provider, server)
            settings = SettingsStore(tmp_path / "settings.json", Settings(providers=providers))
            answer = await SettingsSampler(settings, secrets).complete(choice, REQUEST)
            return answer, server.requests

    (answer, model), (request,) = asyncio.run(go())
    assert answer == "Tea and cake." and model == "m"
    assert request.path == path
    assert request.body[limit] == 77
    assert "Sum up: tea, cake." in str(request.body)
    assert "You sum things up." in str(request.body)
