"""Record and replay: `agents.Model`s and tools that write to, or play back from, a `Cassette`.

Recording wraps the real model (each streamed event stored as the JSON of its pydantic model)
and each tool (name, arguments, result). Replaying builds a model and tools from the cassette
alone: no key, no server, no network; the run gets the very events it got when recorded, so
it is deterministic. The format is core/scenarios/cassette.py.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from agents import FunctionTool, ModelResponse, Usage
from agents.models.interface import Model

from carrier_studio.core.scenarios.cassette import Cassette, CassetteError

_ADAPTERS: dict[str, Any] = {}


def _adapter(name: str) -> Any:
    """Pydantic adapters for the Responses API's stream events and output items (built once:
    each costs milliseconds, and a replayed suite builds thousands of events)."""
    if name not in _ADAPTERS:
        from openai.types.responses import ResponseOutputItem, ResponseStreamEvent
        from pydantic import TypeAdapter

        kinds = {"event": ResponseStreamEvent, "item": ResponseOutputItem}
        _ADAPTERS[name] = TypeAdapter(kinds[name])
    return _ADAPTERS[name]


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "requests": usage.requests,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


class RecordingModel(Model):
    """The real model, its every call appended to ``calls`` as it happens."""

    def __init__(self, inner: Model, calls: list[dict[str, Any]]) -> None:
        self._inner = inner
        self._calls = calls
        #: The model's name, as the SDK's models say it (`agent_model`: each agent's window).
        self.model = getattr(inner, "model", None)

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        response = await self._inner.get_response(*args, **kwargs)
        self._calls.append(
            {
                "kind": "response",
                "output": [item.model_dump(mode="json") for item in response.output],
                "usage": _usage(response.usage),
                "response_id": response.response_id,
            }
        )
        return response

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        events: list[dict[str, Any]] = []
        # Stored as soon as the call starts, so calls keep their order even when one fails.
        self._calls.append({"kind": "stream", "events": events})
        async for event in self._inner.stream_response(*args, **kwargs):
            events.append(event.model_dump(mode="json"))
            yield event

    async def close(self) -> None:
        await self._inner.close()


class ReplayModel(Model):
    """Answers each call with the next recorded one."""

    def __init__(self, calls: list[dict[str, Any]], role: str, model: str | None = None) -> None:
        self._calls = deque(calls)
        self._role = role
        #: The recorded model's name (`agent_model`: each agent's window).
        self.model = model

    def _next(self, kind: str) -> dict[str, Any]:
        if not self._calls:
            raise CassetteError(
                f"the cassette has no more recorded {self._role} model calls (the run went "
                "further than when it was recorded): re-record with --record"
            )
        call = self._calls.popleft()
        if call.get("kind") != kind:
            raise CassetteError(
                f"the cassette's next {self._role} model call was not a {kind}: "
                "re-record with --record"
            )
        return call

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        call = self._next("response")
        items = _adapter("item")
        usage = call.get("usage") or {}
        return ModelResponse(
            output=[items.validate_python(item) for item in call.get("output", [])],
            usage=Usage(
                requests=usage.get("requests", 1),
                input_tokens=usage.get("input_tokens", 0),
                output_tokens=usage.get("output_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            ),
            response_id=call.get("response_id"),
        )

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        events = _adapter("event")
        for event in self._next("stream")["events"]:
            yield events.validate_python(event)

    async def close(self) -> None:
        return None


def recording_tool(tool: FunctionTool, log: list[dict[str, Any]]) -> FunctionTool:
    """``tool``, its invocations appended to ``log`` (name, arguments, result)."""
    invoke = tool.on_invoke_tool

    async def recorded(context: Any, arguments: str) -> Any:
        entry: dict[str, Any] = {"name": tool.name, "arguments": arguments, "result": None}
        log.append(entry)  # in call order, even if the call fails
        result = await invoke(context, arguments)
        # Kept as the value itself (an MCP tool returns content dicts, which the SDK turns
        # into text later), so the replay hands the run exactly what the tool returned.
        try:
            json.dumps(result)
            entry["result"] = result
        except (TypeError, ValueError):
            entry["result"] = str(result)
        return result

    return replace(tool, on_invoke_tool=recorded)


class ToolTape:
    """The recorded tool results, handed out per tool name in the order they were recorded."""

    def __init__(self, log: list[dict[str, Any]]) -> None:
        self._results: dict[str, deque[Any]] = defaultdict(deque)
        for entry in log:
            self._results[entry["name"]].append(entry.get("result"))

    def replaying(self, tool: FunctionTool) -> FunctionTool:
        """``tool`` with its invocation replaced by the recorded results."""
        results = self._results[tool.name]

        async def replayed(context: Any, arguments: str) -> Any:
            if not results:
                raise CassetteError(
                    f"the cassette has no more recorded results of the tool {tool.name}: "
                    "re-record with --record"
                )
            return results.popleft()

        return replace(tool, on_invoke_tool=replayed)


def schema_of(tool: FunctionTool) -> dict[str, Any]:
    return {
        "name": tool.name,
        "description": tool.description,
        "schema": tool.params_json_schema,
        "strict": tool.strict_json_schema,
    }


def replayed_servers(cassette: Cassette, tape: ToolTape) -> dict[str, list[FunctionTool]]:
    """The MCP tools the recorded run had, by server, answering from the tape."""

    async def unused(context: Any, arguments: str) -> Any:  # replaced by the tape below
        raise AssertionError

    return {
        server: [
            tape.replaying(
                FunctionTool(
                    name=spec["name"],
                    description=spec.get("description") or "",
                    params_json_schema=spec.get("schema") or {},
                    on_invoke_tool=unused,
                    strict_json_schema=bool(spec.get("strict", False)),
                )
            )
            for spec in specs
        ]
        for server, specs in cassette.servers.items()
    }
