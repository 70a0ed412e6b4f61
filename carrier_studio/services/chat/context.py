"""A conversation's request against its model's context window (core/runtime/context_budget.py).

`ContextFit` sits in the thread's run path as part of the SDK's ``call_model_input_filter``: each
model call is sent without the oldest turns that no longer fit, and `left_out` says how many
items that was, for the chat's marker. `budget` is the meter's reading for the next request.
Each keeps its items' token counts between calls (`ItemSizes`), so a call measures only what is
new: the filter runs on the event loop before every request leaves (#21).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from carrier_studio.core.runtime.context_budget import (
    Budget,
    ItemSizes,
    context_window,
    fit_agent,
    fit_model_input,
    measure,
    tools_tokens,
    windows_by_agent,
)


class ContextFit:
    """Fits one conversation's requests into its model's window.

    Args:
        model: The name of the model the conversation runs on now.
        agent: The conversation's agent (None while it is being built); its instructions count.
        history: The SDK history the next request starts from.
    """

    def __init__(
        self,
        model: Callable[[], str],
        agent: Callable[[], Any],
        history: Callable[[], list[Any]],
        servers: Callable[[], Mapping[str, Sequence[str]]] = dict,
    ) -> None:
        self._model = model
        self._agent = agent
        self._history = history
        self._servers = servers
        #: How many input items the last model call was sent without (0: all of them).
        self.left_out = 0
        #: Windows the model's server says in its listing, by model id (ChatService fills it):
        #: they win over the table of known models.
        self.listed: dict[str, int] = {}
        #: The items' counts, for the model calls and the meter alike: the SDK's copies equal
        #: the history's items, so the meter's reading as a conversation opens (or after a
        #: turn) leaves the next Send only its new message to measure.
        self._sizes = ItemSizes()
        #: Each agent's `tools_tokens` (the agent kept beside it, so its id is not reused):
        #: an agent's tools do not change (a change builds a new agent).
        self._tools: dict[int, tuple[Any, int]] = {}
        #: The last `fitted_agent`: ((agent id, window), agent, fitted agent, servers left out).
        self._fitted: tuple[tuple[int, int, int], Any, Any, dict[str, str], Any] | None = None

    def ready(self) -> bool:
        """Whether the agent is built, so `budget` counts its instructions."""
        return self._agent() is not None

    def window(self) -> int:
        model = self._model()
        return self.listed.get(model) or context_window(model)

    def window_of(self) -> Callable[[Any], int]:
        """Each agent's window: a character handed off to may run on its own model."""
        return windows_by_agent(self._model(), self.window(), self.listed)

    def budget(self, typed: str) -> Budget:
        """The next request: the agent's instructions and tools, the history and the ``typed``
        text."""
        agent, _ = self.fitted_agent(self._agent())
        instructions = getattr(agent, "instructions", "") if agent is not None else ""
        text = instructions if isinstance(instructions, str) else ""
        history = list(self._history())
        return measure(text, history, typed, self.window(), self._sizes, self.tools_of(agent))

    def fitted_agent(self, agent: Any) -> tuple[Any, dict[str, str]]:
        """`fit_agent` for this conversation's window (the characters it hands off to
        fitted too), kept until the agent or window changes (the meter asks at every
        keystroke)."""
        if agent is None:
            return agent, {}
        # The listing too: the characters it hands off to are fitted to their models' windows.
        key = (id(agent), self.window(), id(self.listed))
        fitted = self._fitted
        if fitted is not None and fitted[0] == key and fitted[1] is agent:
            return fitted[2], fitted[3]
        fitted_agent, why = fit_agent(
            agent, self._servers(), self.window_of(), self.tools_of(agent)
        )
        self._fitted = (key, agent, fitted_agent, why, self.listed)  # the listing kept: its id
        return fitted_agent, why

    def tools_of(self, agent: Any) -> int:
        """The tokens of ``agent``'s tool definitions, measured once per agent."""
        if agent is None:
            return 0
        known = self._tools.get(id(agent))
        if known is not None and known[0] is agent:
            return known[1]
        if len(self._tools) >= 8:  # a conversation's agents: the character and its handoffs
            self._tools.clear()
        tokens = tools_tokens(agent)
        self._tools[id(agent)] = (agent, tokens)
        return tokens

    def wrap(self, inner: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
        """A ``call_model_input_filter`` that runs ``inner`` and then leaves out what does not
        fit (the SDK allows one filter per run). ``inner`` may be async: the thread's awaits
        the turn's recall, which runs while the SDK sets the run up."""

        async def fitted(data: Any) -> Any:
            model_data = inner(data)
            if inspect.isawaitable(model_data):
                model_data = await model_data
            fitted_data, self.left_out = fit_model_input(
                model_data, self.window_of()(data.agent), self._sizes, self.tools_of(data.agent)
            )
            return fitted_data

        return fitted
