"""Anthropic: the Messages API, with the key ``ANTHROPIC_API_KEY``.

Chats run through `AnthropicModel` (model.py), an `agents.Model` that converts the Agents SDK's
Responses items to Messages requests (request.py) and Anthropic's answers and stream events back
(response.py, stream.py).
"""

from __future__ import annotations

from typing import Any

from carrier_studio.core.settings import ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers.base import (
    Completion,
    ModelProvider,
    Target,
    http_client,
    require_key,
)
from carrier_studio.services.providers.errors import provider_error

KEY = "ANTHROPIC_API_KEY"


class AnthropicProvider(ModelProvider):
    name = "anthropic"
    title = "Anthropic"
    sdk = "anthropic"

    def check(self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
        require_key(secrets, KEY, self.title)

    def target(
        self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
    ) -> Target:
        return Target(providers.anthropic_base_url or None, secrets.get(KEY) or "")

    def client(self, target: Target, http: Any = None) -> Any:
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=target.api_key,
            base_url=target.base_url,
            max_retries=1,
            http_client=http or http_client(anthropic),
        )

    def text_model(self, client: Any, choice: ModelChoice, label: str) -> MessagesTextModel:
        return MessagesTextModel(client, choice.model, label)

    def agents_model(self, client: Any, choice: ModelChoice) -> tuple[Any, Any]:
        from agents import ModelSettings

        from carrier_studio.services.providers.anthropic.model import AnthropicModel

        return AnthropicModel(choice.model, client), ModelSettings(temperature=choice.temperature)


class MessagesTextModel:
    # anthropic 2.x's Messages API takes no temperature: the model's own default applies.
    def __init__(self, client: Any, model: str, label: str) -> None:
        self._client, self._model, self.label = client, model, label

    async def close(self) -> None:
        await self._client.close()

    async def complete(
        self,
        system: str,
        messages: list[dict[str, str]],
        max_tokens: int | None = None,
        schema: dict[str, Any] | None = None,
    ) -> Completion:
        # ``schema`` is not sent: the Messages API takes no output schema; the prompt asks
        # for the JSON and the caller reads it leniently.
        try:
            response = await self._client.messages.create(
                model=self._model,
                system=system,
                messages=messages,
                max_tokens=max_tokens or 4096,
            )
        except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
            raise provider_error(exc, self.label) from exc
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(text, response.usage.input_tokens, response.usage.output_tokens)
