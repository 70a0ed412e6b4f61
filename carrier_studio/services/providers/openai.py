"""OpenAI: the Responses API, with the key ``OPENAI_API_KEY`` (and an optional gateway URL)."""

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

KEY = "OPENAI_API_KEY"


class OpenAIProvider(ModelProvider):
    name = "openai"
    title = "OpenAI"

    def check(self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
        require_key(secrets, KEY, self.title)

    def target(
        self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
    ) -> Target:
        return Target(providers.openai_base_url or None, secrets.get(KEY) or "")

    def client(self, target: Target, http: Any = None) -> Any:
        import openai

        return openai.AsyncOpenAI(
            api_key=target.api_key,
            base_url=target.base_url,
            max_retries=1,
            http_client=http or http_client(openai),
        )

    def text_model(self, client: Any, choice: ModelChoice, label: str) -> ResponsesTextModel:
        return ResponsesTextModel(client, choice.model, choice.temperature, label)

    def agents_model(self, client: Any, choice: ModelChoice) -> tuple[Any, Any]:
        from agents import ModelSettings, OpenAIResponsesModel

        model = OpenAIResponsesModel(model=choice.model, openai_client=client)
        return model, ModelSettings(temperature=choice.temperature)


class ResponsesTextModel:
    def __init__(self, client: Any, model: str, temperature: float, label: str) -> None:
        self._client, self._model, self._temperature, self.label = client, model, temperature, label

    async def close(self) -> None:
        await self._client.close()

    async def complete(
        self,
        system: str,
        messages: list[dict[str, str]],
        max_tokens: int | None = None,
        schema: dict[str, Any] | None = None,
    ) -> Completion:
        extra: dict[str, Any] = {"max_output_tokens": max_tokens} if max_tokens else {}
        if schema is not None:
            # Not strict: strict mode wants every object closed and every key required.
            extra["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": "answer",
                    "schema": schema,
                    "strict": False,
                }
            }
        try:
            response = await self._client.responses.create(
                model=self._model,
                instructions=system,
                input=messages,
                temperature=self._temperature,
                **extra,
            )
        except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
            raise provider_error(exc, self.label) from exc
        usage = response.usage
        return Completion(
            response.output_text,
            usage.input_tokens if usage else 0,
            usage.output_tokens if usage else 0,
        )
