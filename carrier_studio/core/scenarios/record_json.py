"""A `RunRecord` as JSON and back: how run history is stored (studio.db) and exported (--json).

Plain dictionaries with every field named, so a stored run stays readable by people and by a
later version (unknown keys are ignored when read, missing ones take their defaults).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carrier_studio.core.scenarios.model import Expect, Where
from carrier_studio.core.scenarios.record import RunRecord, ToolCall, TurnRecord, Verdict

FORMAT_VERSION = 1


def _expect(expect: Expect) -> dict[str, Any]:
    return {
        "kind": expect.kind,
        "value": expect.value,
        "path": str(expect.where.path),
        "line": expect.where.line,
    }


def _turn(turn: TurnRecord) -> dict[str, Any]:
    return {
        "user": turn.user,
        "reply": turn.reply,
        "agent": turn.agent,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments, "result": c.result, "agent": c.agent}
            for c in turn.tool_calls
        ],
        "handoffs": list(turn.handoffs),
        "approvals_asked": list(turn.approvals_asked),
        "recalled": [list(pair) for pair in turn.recalled],
        "messages": list(turn.messages),
        "error": turn.error,
        "latency_s": turn.latency_s,
        "first_token_s": turn.first_token_s,
        "input_tokens": turn.input_tokens,
        "output_tokens": turn.output_tokens,
    }


def record_to_dict(record: RunRecord) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "scenario": record.scenario,
        "character": record.character,
        "model": record.model,
        "passed": record.passed,
        "error": record.error,
        "replayed": record.replayed,
        "cost_usd": record.cost_usd,
        "finished_at": record.finished_at,
        "notes": list(record.notes),
        "turns": [_turn(t) for t in record.turns],
        "verdicts": [
            {
                "expect": _expect(v.expect),
                "passed": v.passed,
                "detail": v.detail,
                "turn": v.turn,
                "reasoning": v.reasoning,
            }
            for v in record.verdicts
        ],
    }


def _read_expect(data: dict[str, Any]) -> Expect:
    return Expect(data["kind"], data.get("value"), Where(Path(data["path"]), int(data["line"])))


def _read_turn(data: dict[str, Any]) -> TurnRecord:
    return TurnRecord(
        user=data.get("user", ""),
        reply=data.get("reply", ""),
        agent=data.get("agent", ""),
        tool_calls=[
            ToolCall(c["name"], dict(c.get("arguments") or {}), c.get("result", ""), c["agent"])
            for c in data.get("tool_calls", [])
        ],
        handoffs=list(data.get("handoffs", [])),
        approvals_asked=list(data.get("approvals_asked", [])),
        recalled=[(str(a), str(b)) for a, b in data.get("recalled", [])],
        messages=list(data.get("messages", [])),
        error=data.get("error"),
        latency_s=float(data.get("latency_s", 0.0)),
        first_token_s=data.get("first_token_s"),
        input_tokens=int(data.get("input_tokens", 0)),
        output_tokens=int(data.get("output_tokens", 0)),
    )


def record_from_dict(data: dict[str, Any]) -> RunRecord:
    return RunRecord(
        scenario=data["scenario"],
        character=data.get("character", ""),
        model=data["model"],
        turns=[_read_turn(t) for t in data.get("turns", [])],
        verdicts=[
            Verdict(
                _read_expect(v["expect"]),
                bool(v["passed"]),
                v.get("detail", ""),
                v.get("turn"),
                v.get("reasoning"),
            )
            for v in data.get("verdicts", [])
        ],
        error=data.get("error"),
        replayed=bool(data.get("replayed", False)),
        cost_usd=data.get("cost_usd"),
        finished_at=data.get("finished_at"),
        notes=[str(note) for note in data.get("notes", [])],
    )
