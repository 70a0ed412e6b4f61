"""The first-run answer stored as Settings would store it (services/providers/first_model.py)."""

from __future__ import annotations

import asyncio

from carrier_studio.core.settings import CompatEndpoint, Settings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers import (
    FirstModel,
    apply_first_model,
    needs_model_setup,
    skip_first_model,
)


def _stores(tmp_path, keyring_backend, settings: Settings | None = None):
    store = SettingsStore(tmp_path / "settings.json", settings or Settings())
    secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    return store, secrets


def test_a_fresh_profile_with_no_key_needs_the_guide_and_an_answer_ends_that(
    tmp_path, keyring_backend
):
    store, secrets = _stores(tmp_path, keyring_backend)
    assert needs_model_setup(store.settings, secrets), "OpenAI by default, and no key"
    answer = FirstModel("openai-compatible", "qwen3:4b", "http://127.0.0.1:11434/v1", "ollama")
    saved = asyncio.run(apply_first_model(store, secrets, answer))
    default = saved.providers.default
    assert (default.provider, default.model, default.endpoint) == (
        "openai-compatible",
        "qwen3:4b",
        "ollama",
    )
    (endpoint,) = saved.providers.endpoints
    assert str(endpoint.base_url).rstrip("/") == "http://127.0.0.1:11434/v1"
    assert endpoint.models == ["qwen3:4b"]
    assert saved.ui.first_run_done
    # Written to disk, and the next start does not ask again.
    again = Settings.model_validate_json((tmp_path / "settings.json").read_text())
    assert again.providers.default == default and again.ui.first_run_done
    assert not needs_model_setup(again, secrets)


def test_a_server_already_listed_is_reused_not_added_twice(tmp_path, keyring_backend):
    settings = Settings()
    settings.providers.endpoints = [
        CompatEndpoint(name="lm", base_url="http://127.0.0.1:1234/v1", models=["a"])
    ]
    store, secrets = _stores(tmp_path, keyring_backend, settings)
    # The same server as LM Studio spells it: localhost, with a trailing slash.
    answer = FirstModel("openai-compatible", "b", "http://localhost:1234/v1/", "lm-studio")
    saved = asyncio.run(apply_first_model(store, secrets, answer))
    assert [(e.name, e.models) for e in saved.providers.endpoints] == [("lm", ["a", "b"])]
    assert saved.providers.default.endpoint == "lm"


def test_a_cloud_key_goes_to_the_secret_store_not_the_settings_file(tmp_path, keyring_backend):
    store, secrets = _stores(tmp_path, keyring_backend)
    key = "sk-ant-test-0123456789abcdef"
    asyncio.run(apply_first_model(store, secrets, FirstModel("anthropic", "claude-x", api_key=key)))
    assert secrets.get("ANTHROPIC_API_KEY") == key
    assert key not in (tmp_path / "settings.json").read_text()
    assert store.settings.providers.default.provider == "anthropic"
    assert not needs_model_setup(
        store.settings.model_copy(
            update={"ui": store.settings.ui.model_copy(update={"first_run_done": False})}
        ),
        secrets,
    ), "with the key stored, the default can run: no guide"


def test_later_is_remembered(tmp_path, keyring_backend):
    store, secrets = _stores(tmp_path, keyring_backend)
    asyncio.run(skip_first_model(store))
    assert not needs_model_setup(store.settings, secrets)
    assert store.settings.providers.default == Settings().providers.default, "nothing else set"
