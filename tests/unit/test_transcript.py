"""The one transcript: events reduce to typed items, items round-trip through the stored rows,
and rows written by earlier versions read back as the same items."""

from __future__ import annotations

import json

import pytest

from carrier_studio.core.runtime.events import (
    ApprovalRequested,
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
from carrier_studio.core.runtime.transcript import (
    Approval,
    ApprovalResult,
    AssistantText,
    Failure,
    Handoff,
    Memories,
    ToolCall,
    TurnReducer,
    UserText,
    decode,
    encode,
)

MEMORY = RecalledMemory("m1", "fact", "Sam keeps bees.", 0.8, 0.7, None, "user", "2026-11-01")


def test_a_turn_reduces_to_items_in_order() -> None:
    turn = TurnReducer("Ada")
    events = [
        MemoriesRecalled("Ada", (MEMORY,)),
        TextDelta("Let me ", "Ada"),
        TextDelta("check.", "Ada"),
        ToolCallStarted("c1", "add", '{"a": 1}', "Ada"),
        ToolCallFinished("c1", "add", "2", 0.25),
        HandoffEvent("Ada", "Bob"),
        TextDelta("It is 2.", "Bob"),
        UsageEvent(12, 5),
        Done("It is 2.", "Bob"),
    ]
    finished = [[type(i).__name__ for i in turn.feed(e)] for e in events]

    assert finished == [
        ["Memories"],
        [],
        [],
        ["AssistantText"],  # the text is complete when the tool call starts
        ["ToolCall"],
        ["Handoff"],
        [],
        [],
        ["AssistantText"],
    ]
    assert turn.items[2] == ToolCall("add", '{"a": 1}', "2", "Ada", 0.25, "c1")
    assert turn.items[-1] == AssistantText("It is 2.", "Bob", 12, 5, final=True)
    assert turn.replies() == ["Let me check.", "It is 2."]
    assert turn.done == events[-1]


def test_errors_approvals_and_a_stop_end_the_text_they_interrupt() -> None:
    turn = TurnReducer("Ada")
    turn.feed(TextDelta("Half", "Ada"))
    assert turn.feed(ApprovalRequested("a1", "rm", "{}", "Ada")) == [
        AssistantText("Half", "Ada"),
        Approval("a1", "rm", "{}", "Ada"),
    ]
    turn.feed(TextDelta("More", "Ada"))
    error = RunError(ErrorKind.RATE_LIMIT, "slow down", "wait", 3.0)
    assert turn.feed(error) == [
        AssistantText("More", "Ada"),
        Failure("slow down", "wait", ErrorKind.RATE_LIMIT, 3.0),
    ]
    turn.feed(TextDelta("Stopped here", "Ada"))
    (last,) = turn.feed(Done("", "Ada", completed=False, cancelled=True))
    assert last.stopped and last.final
    assert [a.tool for a in turn.approvals()] == ["rm"]
    assert [f.message for f in turn.failures()] == ["slow down"]


ITEMS = [
    UserText("Hi"),
    AssistantText("Hello", "Ada"),
    AssistantText("Done", "Ada", 10, 4, stopped=True, final=True),
    ToolCall("add", '{"a": 1}', "2", "Ada", 0.1234, "c1"),
    # Waited 8.5 s for approval, then ran for 0.03 s; and one approved after a restart.
    ToolCall("add", '{"a": 1}', "2", "Ada", 0.03, "c2", 8.5),
    ToolCall("add", '{"a": 1}', "2", "Ada", 0.03, "c3", None),
    Handoff("Ada", "Bob", "Bob"),
    Memories((MEMORY,), "Ada"),
    Approval("a1", "rm", '{"path": "x"}', "Ada"),
    ApprovalResult("rm", False, "a1", "Ada"),
    Failure("no key", "Add it.", ErrorKind.CONFIG, None),
]


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: type(i).__name__)
def test_every_item_round_trips_through_its_stored_row(item) -> None:
    kind, agent, content, meta = encode(item)
    # What studio.db holds: meta goes through JSON.
    assert decode(kind, agent, content, json.loads(json.dumps(meta))) == item


def test_rows_written_by_earlier_versions_read_as_items() -> None:
    # Rows as services/chat wrote them before the transcript module existed.
    rows = [
        ("assistant", "Ada", "It is 2.", {"input_tokens": 3, "output_tokens": 2}),
        ("tool", "Ada", json.dumps({"name": "add", "arguments": "{}", "result": "2"}), {}),
        ("handoff", "Bob", "Ada → Bob", {}),
        ("approval_result", "Ada", "approved", {"tool": "rm", "approval_id": "a1"}),
        ("error", "", "boom", {"hint": "", "kind": "network", "retry_after": None}),
        ("memories", "Ada", json.dumps([MEMORY.__dict__ | {"future_field": 1}]), {}),
    ]
    items = [decode(*row) for row in rows]
    assert items[0] == AssistantText("It is 2.", "Ada", 3, 2, final=True)
    # Its duration included any approval wait, which was not recorded apart: not known.
    assert items[1] == ToolCall("add", "{}", "2", "Ada", waited_s=None)
    assert items[2] == Handoff("Ada", "Bob", "Bob")
    assert items[3] == ApprovalResult("rm", True, "a1", "Ada")
    assert items[4].kind is ErrorKind.NETWORK
    assert items[5] == Memories((MEMORY,), "Ada")  # an unknown field is ignored
    assert decode("a-kind-from-the-future", "", "", {}) is None
