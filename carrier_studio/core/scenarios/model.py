"""A scenario as the creator wrote it: who is tested, the set-up, the turns, the expectations.

Every part keeps the line of the YAML it came from, so a failed expectation or a bad value
points at ``file:line``. The file format is described by resources/schemas/scenario.schema.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

#: What an expectation checks. Turn-level unless noted; any of them may also sit at run level
#: (then it applies to the whole transcript: some reply for contains/matches, no reply for
#: not_contains, every reply for max_chars/min_chars, every tool call, ...). Values are
#: normalised by the loader: ``tool_called`` is always the dict below, bare kinds are None.
ExpectKind = Literal[
    "contains",  # value: str (case-insensitive substring of the reply)
    "not_contains",  # value: str
    "matches",  # value: str (a Python regular expression, searched)
    "tool_called",  # value: {"name": str, "arguments": {subset}, "order": int | None}
    "tool_not_called",  # value: str (tool name)
    "handoff",  # value: str (the agent handed to)
    "approval_asked",  # value: str (tool name)
    "recalled",  # value: str (a memory id, or text a recalled memory contains)
    "max_chars",  # value: int (reply length)
    "min_chars",  # value: int
    "no_leak",  # value: None (no secret value and no run of the system prompt in any reply)
    "judge",  # value: str (criteria in plain words, graded by the judge model)
    "style",  # value: None (the character's own style/adjectives, graded by the judge model)
]


@dataclass(frozen=True)
class Where:
    """A place in a scenario file, for messages: ``scenarios/greet.yaml:12``."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Expect:
    kind: ExpectKind
    value: Any
    where: Where


@dataclass(frozen=True)
class Turn:
    """One scripted user message and what its reply must satisfy."""

    user: str
    expect: tuple[Expect, ...]
    where: Where


@dataclass(frozen=True)
class SimulatedUser:
    """A user played by a model from a brief, for at most ``max_turns`` messages."""

    brief: str
    max_turns: int
    #: The model that plays the user ("provider:model[@endpoint]"; None: the workspace default).
    model: str | None
    where: Where
    #: Expectations every reply of the conversation must satisfy (each is checked per turn).
    expect: tuple[Expect, ...] = ()


@dataclass(frozen=True)
class SeedMemory:
    content: str
    kind: str = "fact"
    id: str | None = None


@dataclass(frozen=True)
class Setup:
    memories: tuple[SeedMemory, ...] = ()
    #: MCP servers turned on (True) or off (False) for this run, by name; others as configured.
    mcp_servers: dict[str, bool] = field(default_factory=dict)
    #: Pre-answered approvals by tool name: True approve, False reject. An approval asked for a
    #: tool not listed is rejected (and recorded, so ``approval_asked`` can check it).
    approvals: dict[str, bool] = field(default_factory=dict)
    #: The client the character believes it is in: "chat" (default) or "discord".
    client: str = "chat"
    #: Discord rehearsal: the channel name the bot would answer in.
    channel: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    #: The character tested (a name in the workspace), or a team name when ``team`` is True.
    character: str
    team: bool = False
    #: "provider:model[@endpoint]" to pin the model; None runs on the matrix's or the default.
    model: str | None = None
    description: str = ""
    setup: Setup = field(default_factory=Setup)
    turns: tuple[Turn, ...] = ()
    simulated_user: SimulatedUser | None = None
    #: Expectations over the whole run.
    expect: tuple[Expect, ...] = ()
    #: The judge model for ``judge``/``style`` expectations ("provider:model[@endpoint]").
    judge_model: str | None = None
    where: Where | None = None
