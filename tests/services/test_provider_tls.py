"""Provider clients share one TLS context (#21): building one loads the CA bundle, ~45 ms of
CPU with the GIL held, and every opened conversation builds its own client."""

from __future__ import annotations

import asyncio

import httpcore2

from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import agents_model


def test_the_clients_of_every_provider_load_the_ca_bundle_at_most_once(
    tmp_path, keyring_backend, monkeypatch
):
    loads = []
    default = httpcore2.default_ssl_context
    monkeypatch.setattr(
        httpcore2, "default_ssl_context", lambda **kw: loads.append(1) or default(**kw)
    )
    providers = ProviderSettings(
        endpoints=[CompatEndpoint(name="local", base_url="http://127.0.0.1:9/v1")]
    )
    secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    secrets.set("OPENAI_API_KEY", "sk-test-openai-0000000000")
    secrets.set("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
    choices = [
        ModelChoice(provider="openai-compatible", model="m", endpoint="local"),
        ModelChoice(provider="openai-compatible", model="m", endpoint="local"),
        ModelChoice(provider="openai", model="gpt-4o-mini"),
        ModelChoice(provider="anthropic", model="claude-sonnet-4-5"),
    ]
    clients = [agents_model(choice, providers, secrets)[2] for choice in choices]

    async def close() -> None:
        for client in clients:
            await client.close()

    asyncio.run(close())
    assert len(clients) == 4
    assert len(loads) <= 1, f"{len(loads)} TLS contexts built for {len(clients)} clients"
