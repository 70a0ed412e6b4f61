"""What one run of a scenario produced, independent of the agents SDK, and how it was judged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carrier_studio.core.scenarios.model import Expect


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    result: str
    agent: str


@dataclass
class TurnRecord:
    """One user message and everything the run did for it, in order."""

    user: str
    reply: str = ""
    agent: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)
    approvals_asked: list[str] = field(default_factory=list)
    #: (memory id, content) of each memory recalled into the turn.
    recalled: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    #: Discord rehearsal: the messages the bot would post for this reply, as it splits them.
    messages: list[str] = field(default_factory=list)
    #: Send -> last event, seconds; first token, seconds (None: no text streamed).
    latency_s: float = 0.0
    first_token_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Verdict:
    """One expectation's outcome. ``turn`` is the 0-based turn index (None: the whole run)."""

    expect: Expect
    passed: bool
    #: What was seen, in words ("the reply has no 'croissant'"; "called search_web, not fetch").
    detail: str
    turn: int | None = None
    #: The judge model's reasoning, kept for ``judge``/``style`` expectations.
    reasoning: str | None = None


@dataclass
class RunRecord:
    """One scenario on one model: the transcript, the verdicts, what it cost."""

    scenario: str
    character: str
    #: The model label as people read it (ModelChoice.label).
    model: str
    turns: list[TurnRecord] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    #: The run could not start or stopped (no key, server down, cassette does not fit).
    error: str | None = None
    replayed: bool = False
    cost_usd: float | None = None
    #: When the run ended (ISO 8601, UTC), set as it is stored.
    finished_at: str | None = None
    #: What the run went without, in words: the MCP servers a small context window left out
    #: of a character's requests ("Ada's files is left out of this model's requests: …").
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and all(v.passed for v in self.verdicts)

    @property
    def latency_s(self) -> float:
        return sum(t.latency_s for t in self.turns)

    @property
    def tokens(self) -> int:
        return sum(t.input_tokens + t.output_tokens for t in self.turns)
