"""A chat session: one conversation with one character, as a stream of `ChatEvent`s.

The session owns the conversation's input history (the SDK's item list) and turns each run's
stream into SDK-neutral events. A run that stops for tool approvals keeps its `RunState`; the
user's decisions resume it. Cancel ends a run at once; the text streamed so far is kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from agents import Agent, RunConfig, Runner, RunState, ToolApprovalItem
from agents.stream_events import (
    AgentUpdatedStreamEvent,
    RawResponsesStreamEvent,
    RunItemStreamEvent,
)

from carrier_studio.core.runtime.attachments import Attachment, user_content
from carrier_studio.core.runtime.events import (
    ApprovalRequested,
    ChatEvent,
    Done,
    HandoffEvent,
    RunError,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    UsageEvent,
)
from carrier_studio.core.runtime.tool_output import tool_output_text

Item = dict[str, Any]
ErrorClassifier = Callable[[BaseException], RunError]


def _field(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


class ChatSession:
    def __init__(
        self,
        make_agent: Callable[[], Agent],
        classify_error: ErrorClassifier,
        *,
        history: list[Item] | None = None,
        run_config: RunConfig | Callable[[], RunConfig] | None = None,
        max_turns: int = 12,
        on_response: Callable[[], None] | None = None,
    ) -> None:
        self._make_agent = make_agent
        #: Called when a model's response starts streaming (its request has gone): what can
        #: wait for that (the chat's writes and memory card) is done then, not before it.
        self._on_response = on_response
        self._classify = classify_error
        self.history: list[Item] = list(history or [])
        self._run_config = run_config or RunConfig(tracing_disabled=True)
        self._max_turns = max_turns
        self._result: Any = None
        self._cancelled = False
        self._state: RunState | None = None
        self._approvals: dict[str, ToolApprovalItem] = {}
        self._agent: Agent | None = None
        #: Tool calls started and not yet finished (a call may finish in a resumed run).
        self._started: dict[str, tuple[str, float]] = {}
        #: When the run paused for approvals (None: not paused in this process), and how long
        #: each approved call waited for the user, so a card shows that apart from run time.
        self._paused_at: float | None = None
        self._waited: dict[str, float | None] = {}

    # -- public API -------------------------------------------------------------------------

    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> AsyncIterator[ChatEvent]:
        """Run one user turn; attached images and text files go as input parts."""
        turn = [*self.history, {"role": "user", "content": user_content(text, list(attachments))}]
        return self._run(turn, self._new_agent())

    def retry(self) -> AsyncIterator[ChatEvent]:
        """Run the last user turn again, forgetting its previous answer."""
        last_user = max(
            (i for i, item in enumerate(self.history) if _field(item, "role") == "user"),
            default=None,
        )
        if last_user is None:
            raise ValueError("there is no turn to retry")
        text = self.history[last_user].get("content", "")
        self.history = self.history[:last_user]
        return self.send(text if isinstance(text, str) else str(text))

    def start_over(self, history: list[Item]) -> None:
        """Go on from ``history`` (another branch of the conversation); a paused run is
        dropped with the branch it belonged to."""
        self.history = list(history)
        self._state, self._approvals = None, {}
        self._paused_at = None

    def cancel(self) -> None:
        """Stop the running turn now; what was streamed is kept."""
        if self._result is not None:
            self._cancelled = True
            self._result.cancel()

    def resolve(self, decisions: dict[str, bool]) -> AsyncIterator[ChatEvent]:
        """Approve (True) or reject (False) the pending tool calls and continue the run."""
        if self._state is None:
            raise ValueError("nothing is waiting for approval")
        now = time.monotonic()
        for approval_id, item in self._approvals.items():
            # The call's run time starts now: the wait for the user is counted apart.
            name = item.tool_name or str(_field(item.raw_item, "name") or "tool")
            self._started[approval_id] = (name, now)
            self._waited[approval_id] = None if self._paused_at is None else now - self._paused_at
            if decisions.get(approval_id):
                self._state.approve(item)
            else:
                self._state.reject(item)
        state, self._state, self._approvals = self._state, None, {}
        self._paused_at = None
        return self._run(state, self._agent or self._new_agent())

    def pending_state(self) -> str | None:
        """The paused run, serialised, so a pending approval survives a restart."""
        return self._state.to_string() if self._state is not None else None

    async def restore_pending(self, serialized: str) -> list[ApprovalRequested]:
        """Load a paused run saved with `pending_state`; returns its approval requests."""
        agent = self._new_agent()
        self._state = await RunState.from_string(agent, serialized)
        self._approvals = {}
        return [self._approval(item, agent.name) for item in self._state.get_interruptions()]

    # -- running ----------------------------------------------------------------------------

    def _new_agent(self) -> Agent:
        self._agent = self._make_agent()
        return self._agent

    def _approval(self, item: ToolApprovalItem, agent: str) -> ApprovalRequested:
        raw = item.raw_item
        approval_id = str(_field(raw, "call_id") or _field(raw, "id") or len(self._approvals))
        self._approvals[approval_id] = item
        return ApprovalRequested(
            approval_id=approval_id,
            tool=item.tool_name or str(_field(raw, "name")),
            arguments=str(_field(raw, "arguments") or ""),
            agent=getattr(item.agent, "name", agent),
        )

    async def _run(self, turn: list[Item] | RunState, agent: Agent) -> AsyncIterator[ChatEvent]:
        self._cancelled = False
        before = self.history
        config = self._run_config() if callable(self._run_config) else self._run_config
        result = Runner.run_streamed(agent, turn, run_config=config, max_turns=self._max_turns)
        self._result = result
        current = agent.name
        streamed: list[str] = []
        started = self._started
        try:
            async for event in result.stream_events():
                if isinstance(event, RawResponsesStreamEvent):
                    if self._on_response is not None:
                        self._on_response()
                    if getattr(event.data, "type", "") == "response.output_text.delta":
                        streamed.append(event.data.delta)
                        yield TextDelta(event.data.delta, current)
                elif isinstance(event, AgentUpdatedStreamEvent):
                    if event.new_agent.name != current:
                        yield HandoffEvent(current, event.new_agent.name)
                        current = event.new_agent.name
                        streamed.clear()
                elif isinstance(event, RunItemStreamEvent):
                    mapped = self._item_event(event, current, started)
                    if mapped is not None:
                        yield mapped
        except (asyncio.CancelledError, GeneratorExit):
            # The consumer went away (its task was cancelled, or it stopped iterating): stop
            # the SDK run too, or it would go on calling the model and tools in the background.
            self._result = None
            result.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a RunError event
            self._result = None
            yield self._classify(exc)
            yield Done("".join(streamed), current, completed=False)
            return
        self._result = None
        usage = result.context_wrapper.usage
        if usage.requests:
            yield UsageEvent(usage.input_tokens, usage.output_tokens, usage.requests)
        if self._cancelled:
            partial = "".join(streamed)
            base = turn if isinstance(turn, list) else before
            self.history = [
                *base,
                *([{"role": "assistant", "content": partial}] if partial else []),
            ]
            yield Done(partial, current, completed=False, cancelled=True)
            return
        if result.interruptions:
            self._paused_at = time.monotonic()
            self._state = result.to_state()
            self._approvals = {}
            requests = [self._approval(item, current) for item in result.interruptions]
            for request in requests:
                yield request
            yield Done(
                "".join(streamed),
                current,
                completed=False,
                pending_approvals=[r.approval_id for r in requests],
            )
            return
        self.history = result.to_input_list()
        final = result.final_output
        yield Done(final if isinstance(final, str) else str(final or ""), result.last_agent.name)

    def _item_event(
        self, event: RunItemStreamEvent, agent: str, started: dict[str, tuple[str, float]]
    ) -> ChatEvent | None:
        raw = event.item.raw_item
        if event.name == "tool_called":
            call_id = str(_field(raw, "call_id") or _field(raw, "id") or "")
            name = str(_field(raw, "name") or "tool")
            started[call_id] = (name, time.monotonic())
            return ToolCallStarted(call_id, name, str(_field(raw, "arguments") or ""), agent)
        if event.name == "tool_output":
            call_id = str(_field(raw, "call_id") or "")
            name, at = started.pop(call_id, ("tool", time.monotonic()))
            output = getattr(event.item, "output", "")
            waited = self._waited.pop(call_id, 0.0)
            text = tool_output_text(output)  # an MCP tool's content parts, as text
            return ToolCallFinished(call_id, name, text, time.monotonic() - at, waited)
        return None
