"""What a chat run tells the UI, independent of the agent SDK's own stream types."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextDelta:
    text: str
    agent: str


@dataclass(frozen=True)
class ToolCallStarted:
    call_id: str
    name: str
    arguments: str
    agent: str


@dataclass(frozen=True)
class ToolCallFinished:
    call_id: str
    name: str
    result: str
    #: The tool's own run time, from its start (or its approval) to its result.
    duration_s: float
    #: How long the call waited for the user's approval before it ran (0: it did not ask;
    #: None: not known, e.g. approved after a restart).
    waited_s: float | None = 0.0


@dataclass(frozen=True)
class HandoffEvent:
    from_agent: str
    to_agent: str


@dataclass(frozen=True)
class ApprovalRequested:
    """A tool call waits for the user: approve or reject (optionally remembered)."""

    approval_id: str
    tool: str
    arguments: str
    agent: str


@dataclass(frozen=True)
class RecalledMemory:
    """One memory put into the context of a run, and why it was chosen."""

    memory_id: str
    kind: str
    content: str
    #: The combined ranking score, 0…1, and its parts (None: that search did not find it).
    score: float
    semantic: float | None
    keyword: float | None
    #: Where it came from (chat, discord, instagram, import, user) and when (ISO 8601, UTC).
    client: str
    created_at: str
    pinned: bool = False


@dataclass(frozen=True)
class MemoriesRecalled:
    """The memories recalled for this turn (sent before the run starts; may be empty)."""

    character: str
    memories: tuple[RecalledMemory, ...]


@dataclass(frozen=True)
class ToolsUnavailable:
    """MCP servers whose tools this reply runs without, each with why (still starting, failed,
    turned off): the turn is not held up by them, and the transcript says so."""

    servers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UsageEvent:
    input_tokens: int
    output_tokens: int
    requests: int = 1


class ErrorKind(enum.Enum):
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    NETWORK = "network"
    UNKNOWN_MODEL = "unknown_model"
    CONFIG = "config"
    OTHER = "other"


@dataclass(frozen=True)
class RunError:
    kind: ErrorKind
    message: str
    hint: str = ""
    #: Seconds the provider asked to wait before retrying (HTTP 429), when it said.
    retry_after: float | None = None


@dataclass(frozen=True)
class Done:
    final_text: str
    agent: str
    #: False when the run stopped early: cancelled, failed, or waiting for approvals.
    completed: bool = True
    cancelled: bool = False
    pending_approvals: list[str] = field(default_factory=list)


ChatEvent = (
    TextDelta
    | ToolCallStarted
    | ToolCallFinished
    | HandoffEvent
    | ApprovalRequested
    | MemoriesRecalled
    | ToolsUnavailable
    | UsageEvent
    | RunError
    | Done
)
