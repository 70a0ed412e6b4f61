"""The one transcript: what a turn leaves behind, how it is stored, and how events become it.

A chat run streams `ChatEvent`s (events.py). Everything that reads a run — the chat page's live
view, the stored history it redraws, persistence, the Discord bot, the team runner — turns
those events into the same typed items with one `TurnReducer`, and stores or reads them with
one encoder/decoder (`encode` / `decode`). No other module knows the stored format.

The stored format is one row per item in ``studio.db``'s ``messages`` table: ``kind`` (the
item's `KIND`), ``agent``, ``content`` (text, or JSON for structured items) and ``meta`` (a JSON
object). It is the format earlier versions wrote, so old conversations read unchanged:

=================  ===========================================  ===============================
kind               content                                      meta
=================  ===========================================  ===============================
user               the text                                     attachments (optional)
assistant          the text                                     input_tokens, output_tokens,
                                                                stopped, left_out
tool               {"name", "arguments", "result"}              duration_s, call_id, waited_s
handoff            "from → to"
memories           [RecalledMemory fields, ...]
approval           {"tool", "arguments"}                        approval_id
approval_result    "approved" | "rejected"                      tool, approval_id
error              the message                                  hint, kind, retry_after
=================  ===========================================  ===============================

A tool row's ``duration_s`` is the tool's own run time and ``waited_s`` the time it waited for
the user's approval (null: not known). Rows written before ``waited_s`` existed have no such
key: their ``duration_s`` included any approval wait, and they read back with ``waited_s`` None.

A user row's ``attachments`` (attachments.py) is a list of ``{"name", "mime", "data"}``: an
image as a base64 data URL, a text file's text. They are kept in the row, not as files beside the
database: they go with the conversation (deleted, exported, backed up with it) and the SDK
history kept with the turn holds the same image as a data URL anyway. Rows without the key
(written before attachments existed) read back with none.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from carrier_studio.core.runtime.attachments import Attachment
from carrier_studio.core.runtime.events import (
    ApprovalRequested,
    ChatEvent,
    Done,
    ErrorKind,
    HandoffEvent,
    MemoriesRecalled,
    RecalledMemory,
    RunError,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    UsageEvent,
)
from carrier_studio.core.runtime.tool_output import tool_output_text

# -- the items -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserText:
    KIND: ClassVar[str] = "user"
    text: str
    agent: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class AssistantText:
    KIND: ClassVar[str] = "assistant"
    text: str
    agent: str
    input_tokens: int = 0
    output_tokens: int = 0
    #: The user stopped the run while this text streamed.
    stopped: bool = False
    #: Whether the text ended the turn (it then carries the turn's usage).
    final: bool = False
    #: How many of the conversation's oldest input items the turn's request went without,
    #: because they no longer fit the model's context window (context_budget.fit).
    left_out: int = 0


@dataclass(frozen=True)
class ToolCall:
    KIND: ClassVar[str] = "tool"
    name: str
    arguments: str
    result: str
    agent: str
    #: The tool's own run time.
    duration_s: float = 0.0
    call_id: str = ""
    #: Time spent waiting for the user's approval (0: none asked; None: not known).
    waited_s: float | None = 0.0


@dataclass(frozen=True)
class Handoff:
    KIND: ClassVar[str] = "handoff"
    from_agent: str
    to_agent: str
    agent: str = ""


@dataclass(frozen=True)
class Memories:
    KIND: ClassVar[str] = "memories"
    memories: tuple[RecalledMemory, ...]
    agent: str = ""


@dataclass(frozen=True)
class Approval:
    KIND: ClassVar[str] = "approval"
    approval_id: str
    tool: str
    arguments: str
    agent: str


@dataclass(frozen=True)
class ApprovalResult:
    KIND: ClassVar[str] = "approval_result"
    tool: str
    approved: bool
    approval_id: str = ""
    agent: str = ""


@dataclass(frozen=True)
class Failure:
    KIND: ClassVar[str] = "error"
    message: str
    hint: str = ""
    kind: ErrorKind = ErrorKind.OTHER
    retry_after: float | None = None
    agent: str = ""


TranscriptItem = (
    UserText | AssistantText | ToolCall | Handoff | Memories | Approval | ApprovalResult | Failure
)


@dataclass(frozen=True)
class Stored:
    """One stored item with its row id (edits and retries cut the transcript at an id)."""

    id: int
    item: TranscriptItem
    #: The ids of the alternatives at this item's place, itself among them, oldest first; empty
    #: when there are none (core/runtime/branches.py).
    siblings: tuple[int, ...] = ()


# -- the stored format ---------------------------------------------------------------------------


def encode(item: TranscriptItem) -> tuple[str, str, str, dict[str, Any]]:
    """An item as its stored row: (kind, agent, content, meta)."""
    if isinstance(item, UserText):
        files = [asdict(a) for a in item.attachments]
        return item.KIND, item.agent, item.text, {"attachments": files} if files else {}
    if isinstance(item, AssistantText):
        meta: dict[str, Any] = {}
        if item.final:
            meta = {"input_tokens": item.input_tokens, "output_tokens": item.output_tokens}
            if item.stopped:
                meta["stopped"] = True
            if item.left_out:
                meta["left_out"] = item.left_out
        return item.KIND, item.agent, item.text, meta
    if isinstance(item, ToolCall):
        card = {"name": item.name, "arguments": item.arguments, "result": item.result}
        meta = {"duration_s": round(item.duration_s, 4), "call_id": item.call_id}
        meta["waited_s"] = None if item.waited_s is None else round(item.waited_s, 4)
        return item.KIND, item.agent, json.dumps(card), meta
    if isinstance(item, Handoff):
        return item.KIND, item.to_agent, f"{item.from_agent} → {item.to_agent}", {}
    if isinstance(item, Memories):
        content = json.dumps([asdict(m) for m in item.memories])
        return item.KIND, item.agent, content, {}
    if isinstance(item, Approval):
        content = json.dumps({"tool": item.tool, "arguments": item.arguments})
        return item.KIND, item.agent, content, {"approval_id": item.approval_id}
    if isinstance(item, ApprovalResult):
        verdict = "approved" if item.approved else "rejected"
        meta = {"tool": item.tool, "approval_id": item.approval_id}
        return item.KIND, item.agent, verdict, meta
    if isinstance(item, Failure):
        meta = {"hint": item.hint, "kind": item.kind.value, "retry_after": item.retry_after}
        return item.KIND, item.agent, item.message, meta
    raise TypeError(f"not a transcript item: {item!r}")


def decode(kind: str, agent: str, content: str, meta: dict[str, Any]) -> TranscriptItem | None:
    """A stored row as its item; None for a kind this version does not know (kept, not shown)."""
    if kind == "user":
        rows = meta.get("attachments")
        files = tuple(
            Attachment(str(r.get("name", "")), str(r.get("mime", "")), str(r.get("data", "")))
            for r in (rows if isinstance(rows, list) else [])
            if isinstance(r, dict)
        )
        return UserText(content, agent, files)
    if kind == "assistant":
        final = "input_tokens" in meta or "output_tokens" in meta or "stopped" in meta
        return AssistantText(
            content,
            agent,
            int(meta.get("input_tokens") or 0),
            int(meta.get("output_tokens") or 0),
            bool(meta.get("stopped")),
            final,
            left_out=int(meta.get("left_out") or 0),
        )
    if kind == "tool":
        card = _json_object(content)
        return ToolCall(
            str(card.get("name", "")),
            str(card.get("arguments", "")),
            # Rows stored before hold the repr of an MCP tool's content parts.
            tool_output_text(str(card.get("result", ""))),
            agent,
            float(meta.get("duration_s") or 0.0),
            str(meta.get("call_id", "")),
            _seconds(meta.get("waited_s")) if "waited_s" in meta else None,
        )
    if kind == "handoff":
        source, _, target = content.partition(" → ")
        return Handoff(source, target or agent, agent)
    if kind == "memories":
        try:
            rows = json.loads(content)
        except ValueError:
            rows = []
        fields = RecalledMemory.__dataclass_fields__
        memories = tuple(
            RecalledMemory(**{k: v for k, v in row.items() if k in fields})
            for row in rows
            if isinstance(row, dict)
        )
        return Memories(memories, agent)
    if kind == "approval":
        data = _json_object(content)
        return Approval(
            str(meta.get("approval_id", "")),
            str(data.get("tool", "")),
            str(data.get("arguments", "")),
            agent,
        )
    if kind == "approval_result":
        return ApprovalResult(
            str(meta.get("tool", "Tool")),
            content == "approved",
            str(meta.get("approval_id", "")),
            agent,
        )
    if kind == "error":
        try:
            error_kind = ErrorKind(meta.get("kind", ErrorKind.OTHER.value))
        except ValueError:
            error_kind = ErrorKind.OTHER
        return Failure(content, str(meta.get("hint") or ""), error_kind, meta.get("retry_after"))
    return None


def _seconds(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _json_object(content: str) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def failure_of(error: RunError) -> Failure:
    return Failure(error.message, error.hint, error.kind, error.retry_after)


# -- the reducer ---------------------------------------------------------------------------------


@dataclass
class TurnReducer:
    """Turns one run's events into transcript items, as each item is complete.

    `feed` returns the items an event completed (text is complete when something else starts
    or the run ends). Between events, `text` and `agent` say what is streaming now and
    `calls` holds the tool calls that started and have not finished, for a live view.
    """

    agent: str
    text: list[str] = field(default_factory=list)
    calls: dict[str, ToolCallStarted] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    #: Every item so far, in order (what this turn added to the transcript).
    items: list[TranscriptItem] = field(default_factory=list)
    done: Done | None = None
    #: Set before the run's `Done` is fed: what the final text's request went without.
    left_out: int = 0

    def feed(self, event: ChatEvent) -> list[TranscriptItem]:
        finished: list[TranscriptItem] = []
        if isinstance(event, TextDelta):
            if self.text and event.agent != self.agent:
                finished += self._flush()
            self.text.append(event.text)
            self.agent = event.agent
        elif isinstance(event, ToolCallStarted):
            finished += self._flush()
            self.calls[event.call_id] = event
        elif isinstance(event, ToolCallFinished):
            call = self.calls.pop(event.call_id, None)
            finished.append(
                ToolCall(
                    event.name,
                    call.arguments if call else "",
                    event.result,
                    call.agent if call else self.agent,
                    event.duration_s,
                    event.call_id,
                    event.waited_s,
                )
            )
        elif isinstance(event, HandoffEvent):
            finished += self._flush()
            self.agent = event.to_agent
            finished.append(Handoff(event.from_agent, event.to_agent, event.to_agent))
        elif isinstance(event, MemoriesRecalled):
            finished.append(Memories(event.memories, event.character))
        elif isinstance(event, ApprovalRequested):
            finished += self._flush()
            finished.append(Approval(event.approval_id, event.tool, event.arguments, event.agent))
        elif isinstance(event, UsageEvent):
            self.input_tokens, self.output_tokens = event.input_tokens, event.output_tokens
        elif isinstance(event, RunError):
            finished += self._flush()
            finished.append(failure_of(event))
        elif isinstance(event, Done):
            self.done = event
            finished += self._flush(final=True, stopped=event.cancelled)
        self.items += finished
        return finished

    def _flush(self, *, final: bool = False, stopped: bool = False) -> list[TranscriptItem]:
        if not self.text:
            return []
        text, self.text = "".join(self.text), []
        if not final:
            return [AssistantText(text, self.agent)]
        return [
            AssistantText(
                text,
                self.agent,
                self.input_tokens,
                self.output_tokens,
                stopped,
                final=True,
                left_out=self.left_out,
            )
        ]

    # -- what readers of a whole turn want ------------------------------------------------------

    def replies(self) -> list[str]:
        """The turn's texts, one per stretch between tool calls, handoffs and approvals."""
        return [i.text for i in self.items if isinstance(i, AssistantText) and i.text.strip()]

    def failures(self) -> list[Failure]:
        return [i for i in self.items if isinstance(i, Failure)]

    def approvals(self) -> list[Approval]:
        return [i for i in self.items if isinstance(i, Approval)]
