"""The judge: how a model grades ``judge`` and ``style`` expectations, and how its answer is read.

The runner owns the model call; this module owns the words. A runner's judge looks like::

    class ModelJudge:
        async def grade(self, criteria, transcript):
            answer = await call_model(system=JUDGE_INSTRUCTIONS,
                                      user=judge_input(criteria, transcript))
            return parse_judge_answer(answer)

Every provider is then asked the same thing and read the same way, and a judge that answers
in prose around its JSON (small models do) is still understood.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from carrier_studio.core.errors import CarrierError

if TYPE_CHECKING:
    from carrier_studio.core.characters.document import CharacterDoc
    from carrier_studio.core.scenarios.record import TurnRecord


class Judge(Protocol):
    """Grades a transcript against criteria in plain words."""

    async def grade(self, criteria: str, transcript: str) -> tuple[bool, str]:
        """Whether ``transcript`` meets ``criteria``, and why.

        Raises:
            CarrierError: the model could not be asked, or its answer could not be read.
        """
        ...


class JudgeAnswerError(CarrierError):
    """The judge model answered, but not with a verdict that can be read."""


JUDGE_INSTRUCTIONS = """\
You are a strict, fair grader of a conversation between a user and an AI character.
You are given criteria and a transcript. Decide whether the transcript meets the criteria.
Judge only what the criteria ask; do not reward or punish anything else.
Answer with one JSON object and nothing else:
{"pass": true or false, "reasoning": "one to three sentences on why, quoting the reply"}"""


def judge_input(criteria: str, transcript: str) -> str:
    """The user message sent to the judge model, after :data:`JUDGE_INSTRUCTIONS`."""
    return (
        f"Criteria:\n{criteria.strip()}\n\n"
        f"Transcript:\n<transcript>\n{transcript.strip()}\n</transcript>\n\n"
        'Answer with {"pass": true or false, "reasoning": "..."}.'
    )


def render_transcript(turns: Sequence[TurnRecord]) -> str:
    """The conversation as the judge reads it: who said what, and what was done between."""
    lines: list[str] = []
    for turn in turns:
        lines.append(f"User: {turn.user}")
        for call in turn.tool_calls:
            arguments = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)
            lines.append(f"[{call.agent or 'character'} called tool {call.name} {arguments}]")
        lines.extend(f"[handed off to {name}]" for name in turn.handoffs)
        if turn.error is not None:
            lines.append(f"[the turn failed: {turn.error}]")
        lines.append(f"{turn.agent or 'Character'}: {turn.reply}")
    return "\n".join(lines)


def style_criteria(character: CharacterDoc) -> str:
    """Criteria from the character's own style rules (all + chat) and adjectives; "" if none."""
    rules = character.style("all") + character.style("chat")
    adjectives = character.strings("adjectives")
    name = character.name or "The character"
    parts: list[str] = []
    if rules:
        parts.append(f"{name}'s replies follow these style rules:")
        parts.extend(f"- {rule}" for rule in rules)
    if adjectives:
        parts.append(f"{name} comes across as: {', '.join(adjectives)}.")
    if parts:
        parts.append("Pass when the replies keep to this on the whole; fail on a clear breach.")
    return "\n".join(parts)


def parse_judge_answer(text: str) -> tuple[bool, str]:
    """``(passed, reasoning)`` from the judge model's answer.

    The first JSON object with a ``pass`` field counts, wherever it sits in the text (inside a
    code fence, after a preamble). ``pass`` may be a boolean or the words true/false, yes/no,
    pass/fail.

    Raises:
        JudgeAnswerError: no such object, or its ``pass`` is not a yes or a no.
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            key = "pass" if "pass" in value else "passed" if "passed" in value else None
            if key is not None:
                passed = _yes_no(value[key])
                if passed is None:
                    raise JudgeAnswerError(
                        f'the judge\'s "pass" is {value[key]!r}, neither true nor false'
                    )
                reasoning = value.get("reasoning", value.get("reason", ""))
                return passed, reasoning if isinstance(reasoning, str) else json.dumps(reasoning)
        start = text.find("{", start + 1)
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 120 else shown[:119] + "…"
    raise JudgeAnswerError(
        'the judge did not answer with {"pass": …, "reasoning": …}; it said: '
        + (f'"{shown}"' if shown else "nothing")
    )


def _yes_no(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "pass", "passed"):
            return True
        if word in ("false", "no", "fail", "failed"):
            return False
    return None
