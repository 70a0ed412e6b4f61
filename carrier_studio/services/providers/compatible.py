"""Any OpenAI-compatible server (Ollama, LM Studio, llama.cpp, vLLM): Chat Completions at a
named endpoint from Settings, with the endpoint's own key when it needs one."""

from __future__ import annotations

import re
from typing import Any

from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers.base import (
    NO_KEY,
    Completion,
    ModelProvider,
    Target,
    http_client,
)
from carrier_studio.services.providers.errors import provider_error


class CompatibleProvider(ModelProvider):
    name = "openai-compatible"
    title = "OpenAI-compatible endpoint"

    def check(self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
        self._endpoint(choice, providers)

    def target(
        self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
    ) -> Target:
        endpoint = self._endpoint(choice, providers)
        return Target(str(endpoint.base_url), secrets.get(endpoint.secret_name) or NO_KEY)

    def client(self, target: Target, http: Any = None) -> Any:
        import openai

        return openai.AsyncOpenAI(
            base_url=target.base_url,
            api_key=target.api_key,
            max_retries=1,
            http_client=http or http_client(openai),
        )

    def label(self, choice: ModelChoice, providers: ProviderSettings) -> str:
        return f"{self._endpoint(choice, providers).name} ({choice.model})"

    def text_model(self, client: Any, choice: ModelChoice, label: str) -> ChatTextModel:
        return ChatTextModel(client, choice.model, choice.temperature, label)

    def agents_model(self, client: Any, choice: ModelChoice) -> tuple[Any, Any]:
        from agents import ModelSettings, OpenAIChatCompletionsModel

        # Chat Completions streams carry no usage unless asked for.
        settings = ModelSettings(temperature=choice.temperature, include_usage=True)
        return OpenAIChatCompletionsModel(model=choice.model, openai_client=client), settings

    @staticmethod
    def _endpoint(choice: ModelChoice, providers: ProviderSettings) -> CompatEndpoint:
        for endpoint in providers.endpoints:
            if endpoint.name == choice.endpoint:
                return endpoint
        raise ProviderError(
            f"the endpoint {choice.endpoint or '(none)'} is not configured",
            hint="Add it under Settings → OpenAI-compatible endpoints.",
        )


#: How a server says it does not take an output schema (400, or FastAPI's 422 for an unknown
#: field): other refusals (a context too long, a bad key) are the user's to read, not retried.
_FORMAT_WORDS = re.compile(r"response_format|json_schema|schema|grammar|structured", re.I)


def _refuses_format(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    return status in (400, 422) and bool(_FORMAT_WORDS.search(str(exc)))


class ChatTextModel:
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
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": "system", "content": system}, *messages],
            "temperature": self._temperature,
            **({"max_tokens": max_tokens} if max_tokens else {}),
        }
        if schema is not None:
            # llama.cpp, vLLM, LM Studio and Ollama turn the schema into a grammar: a small
            # model then writes valid JSON of bounded length instead of prose or a loop.
            format_ = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
            try:
                response = await self._client.chat.completions.create(
                    **request, response_format=format_
                )
            except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
                if not _refuses_format(exc):
                    raise provider_error(exc, self.label) from exc
                schema = None  # a server without structured output: ask as plain text
        if schema is None:
            try:
                response = await self._client.chat.completions.create(**request)
            except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
                raise provider_error(exc, self.label) from exc
        usage = response.usage
        return Completion(
            response.choices[0].message.content or "",
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )
