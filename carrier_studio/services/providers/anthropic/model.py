"""Run OpenAI Agents SDK agents on Anthropic models: an `agents.Model` over the Messages API.

The Agents SDK speaks the OpenAI Responses format: it hands a model Responses input items and
expects Responses output items (or, when streaming, Responses stream events) back. Like the SDK's
own Chat Completions adapter, `AnthropicModel` only drives the call and records the generation
span; the conversions live beside it, one module per direction:

* request.py: input items, tools and settings -> an Anthropic Messages request;
* response.py: an Anthropic `Message` -> Responses output items and usage;
* stream.py: Anthropic stream events -> Responses stream events.

Anthropic API errors (`AuthenticationError`, `RateLimitError`, `NotFoundError`,
`APIConnectionError`, ...) are deliberately not caught: they reach the caller unchanged, which maps
them to messages for a person. Importing this module costs seconds (the `agents` and `anthropic`
SDKs); import it on first use.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import anthropic
from agents import (
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
    Usage,
)
from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.tracing import GenerationSpanData, Span, generation_span
from openai.types.responses import Response, ResponseCompletedEvent
from openai.types.responses.response_prompt_param import ResponsePromptParam

from carrier_studio.services.providers.anthropic.request import (
    AnthropicRequest,
    reject_server_side_state,
)
from carrier_studio.services.providers.anthropic.response import (
    agents_usage,
    output_items,
    responses_tool_choice,
    usage_from_anthropic,
)
from carrier_studio.services.providers.anthropic.stream import StreamTranslator

__all__ = ["AnthropicModel"]


class AnthropicModel(Model):
    """An `agents.Model` that answers with an Anthropic model through `anthropic.AsyncAnthropic`.

    `max_tokens` is required by the Messages API; `model_settings.max_tokens` overrides it per
    agent. The client is borrowed, not owned: whoever made it closes it.
    """

    def __init__(self, model: str, client: anthropic.AsyncAnthropic, max_tokens: int = 4096):
        self.model = model
        self.client = client
        self.max_tokens = max_tokens

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        reject_server_side_state(previous_response_id, conversation_id, prompt)
        request = AnthropicRequest.build(
            model=self.model,
            max_tokens=self.max_tokens,
            system_instructions=system_instructions,
            input=input,
            model_settings=model_settings,
            tools=tools,
            output_schema=output_schema,
            handoffs=handoffs,
        )
        with self._span(request, tracing) as span:
            message = await self.client.messages.create(**request.kwargs())
            usage = agents_usage(usage_from_anthropic(message.usage))
            output = output_items(message)
            _record_span_result(span, tracing, output, usage)
        return ModelResponse(
            output=output,
            usage=usage,
            # Anthropic keeps no server-side conversation to continue from a response id.
            response_id=None,
            # Set on messages parsed from an HTTP response; absent on hand-made ones.
            request_id=getattr(message, "_request_id", None),
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        reject_server_side_state(previous_response_id, conversation_id, prompt)
        request = AnthropicRequest.build(
            model=self.model,
            max_tokens=self.max_tokens,
            system_instructions=system_instructions,
            input=input,
            model_settings=model_settings,
            tools=tools,
            output_schema=output_schema,
            handoffs=handoffs,
        )
        with self._span(request, tracing) as span:
            stream = await self.client.messages.create(**request.kwargs(), stream=True)
            # Closing in `finally` releases the HTTP connection however the run ends: finished,
            # failed, cancelled (`result.cancel()`), or abandoned by the consumer (`aclose()`).
            try:
                translator = StreamTranslator(
                    self._empty_response(model_settings, stream.response.headers.get("request-id"))
                )
                async for event in stream:
                    for responses_event in translator.feed(event):
                        yield responses_event
                for responses_event in translator.finish():
                    if isinstance(responses_event, ResponseCompletedEvent):
                        final = responses_event.response
                        assert final.usage is not None  # the translator always reports usage
                        _record_span_result(span, tracing, final.output, agents_usage(final.usage))
                    yield responses_event
            finally:
                await stream.close()

    def _empty_response(self, settings: ModelSettings, request_id: str | None) -> Response:
        """The `Response` that `response.created` announces and `response.completed` fills in.

        Like the SDK's Chat Completions adapter, it carries the placeholder id: the runner must
        not mistake it for a server-side response it could continue from.
        """
        response = Response(
            id=FAKE_RESPONSES_ID,
            created_at=time.time(),
            model=self.model,
            object="response",
            output=[],
            tool_choice=responses_tool_choice(settings.tool_choice),
            tools=[],
            parallel_tool_calls=settings.parallel_tool_calls is not False,
        )
        # The runner reads `_request_id` off the terminal response (a copy keeps it).
        response._request_id = request_id
        return response

    @contextmanager
    def _span(
        self, request: AnthropicRequest, tracing: ModelTracing
    ) -> Iterator[Span[GenerationSpanData]]:
        """A generation span like the SDK's own models record (a no-op when tracing is off)."""
        config = {"max_tokens": request.max_tokens, "provider": "anthropic"}
        with generation_span(
            model=self.model, model_config=config, disabled=tracing.is_disabled()
        ) as span:
            if tracing.include_data():
                system = [{"role": "system", "content": request.system}] if request.system else []
                span.span_data.input = [*system, *request.messages]
            yield span


def _record_span_result(
    span: Span[GenerationSpanData],
    tracing: ModelTracing,
    output: list[TResponseOutputItem],
    usage: Usage,
) -> None:
    """Fill in what the generation span learned: usage always, the output items only with data."""
    span.span_data.usage = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if tracing.include_data():
        span.span_data.output = [item.model_dump() for item in output]
