"""The provider registry: each provider module registered once, looked up by name.

Everything that needs a model goes through here: `check_choice` before starting anything for a
chat, `text_model` for plain completions, `agents_model` for chats, `choice_for` to read a
character's own model. Adding a provider is one module implementing `ModelProvider` (see
openai.py) and one `register` line below; its name also goes in `core.settings.PROVIDERS`, the
table settings and character files are validated against.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers.anthropic import AnthropicProvider
from carrier_studio.services.providers.base import ModelProvider, TextModel
from carrier_studio.services.providers.compatible import CompatibleProvider
from carrier_studio.services.providers.openai import OpenAIProvider

T = TypeVar("T")

_REGISTRY: dict[str, ModelProvider] = {}


def register(provider: ModelProvider) -> None:
    _REGISTRY[provider.name] = provider


register(OpenAIProvider())
register(AnthropicProvider())
register(CompatibleProvider())


def provider_named(name: str) -> ModelProvider:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ProviderError(
            f"there is no model provider named {name!r} (known: {known})",
            hint="Pick a provider under Settings or in the character's model section.",
        ) from None


def check_choice(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
    """Raise ProviderError if ``choice`` cannot work (no model, no key, unknown endpoint), before
    anything is started for it."""
    if not choice.model.strip():
        raise ProviderError("no model is chosen", hint="Pick a default model under Settings.")
    provider_named(choice.provider).check(choice, providers, secrets)


def _connect(
    choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
) -> tuple[ModelProvider, Any, str]:
    check_choice(choice, providers, secrets)
    provider = provider_named(choice.provider)
    client, label = provider.connect(choice, providers, secrets)
    return provider, client, label


def text_model(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> TextModel:
    """The model ``choice`` names, for plain completions (the character builder)."""
    provider, client, label = _connect(choice, providers, secrets)
    return provider.text_model(client, choice, label)


async def with_text_model(
    choice: ModelChoice,
    providers: ProviderSettings,
    secrets: SecretStore,
    work: Callable[[TextModel], Awaitable[T]],
) -> T:
    """Run ``work`` on a text model for ``choice`` and close the model after it. Reading the key
    (a keyring call) and importing the provider SDK happen off the event loop."""
    model = await asyncio.to_thread(text_model, choice, providers, secrets)
    try:
        return await work(model)
    finally:
        await model.close()


def agents_model(
    choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
) -> tuple[Any, Any, Any]:
    """An `agents.Model`, its `ModelSettings` and its HTTP client (the caller closes it).

    Raises ProviderError when the choice cannot work (no key, unknown endpoint).
    """
    provider, client, _label = _connect(choice, providers, secrets)
    model, settings = provider.agents_model(client, choice)
    return model, settings, client


def choice_for(doc: CharacterDoc, providers: ProviderSettings) -> ModelChoice:
    """The model a character runs on: its own ``model`` section, else the workspace default."""
    own = doc.section("model")
    default = providers.default
    if not own.get("provider"):
        temperature = doc.data.get("temperature")
        if isinstance(temperature, (int, float)) and 0 <= temperature <= 2:
            return default.model_copy(update={"temperature": float(temperature)})
        return default
    data = {
        "provider": own.get("provider"),
        "model": own.get("model") or default.model,
        "endpoint": own.get("endpoint"),
        "temperature": own.get("temperature", doc.data.get("temperature", default.temperature)),
    }
    try:
        return ModelChoice.model_validate(data)
    except ValueError as exc:
        raise ProviderError(f"{doc.name}'s model section is invalid: {exc}") from exc
