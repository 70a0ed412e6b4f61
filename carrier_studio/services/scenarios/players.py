"""The other models in a test: the simulated user who plays a brief, and the judge who grades
plain-words criteria. Both run through the agents SDK on a model the runner hands in (live,
recording or replaying), so a recorded run replays them too."""

from __future__ import annotations

from typing import Any

from carrier_studio.core.scenarios.cassette import Cassette, CassetteError, judge_key
from carrier_studio.core.scenarios.record import TurnRecord

#: What the simulated user says when its brief is done.
DONE = "DONE"


async def _ask(model: Any, settings: Any, name: str, instructions: str, items: list) -> str:
    from agents import Agent, RunConfig, Runner

    agent = Agent(name=name, instructions=instructions, model=model, model_settings=settings)
    result = await Runner.run(
        agent, items, run_config=RunConfig(tracing_disabled=True), max_turns=2
    )
    output = result.final_output
    return output if isinstance(output, str) else str(output or "")


class SimulatedUserPlayer:
    """Plays the user from ``brief``, one message at a time."""

    def __init__(self, brief: str, character: str, model: Any, settings: Any) -> None:
        self._model, self._settings = model, settings
        self._instructions = (
            f"You are playing a person who is chatting with {character}. Your brief:\n{brief}\n\n"
            f"Write only your next message to {character}: one message, as that person, in "
            f"plain words, no stage directions. When the brief is done, answer exactly {DONE}."
        )

    async def next_message(self, turns: list[TurnRecord]) -> str | None:
        """The user's next message, or None when the brief is done."""
        # Seen from the simulated user's side, the character is the one talking to it.
        items: list[dict[str, str]] = [
            {"role": "user", "content": "(The conversation starts: write your first message.)"}
        ]
        for turn in turns:
            items.append({"role": "assistant", "content": turn.user})
            items.append({"role": "user", "content": turn.reply or "(no answer)"})
        said = (
            await _ask(self._model, self._settings, "Simulated user", self._instructions, items)
        ).strip()
        if not said or said.strip(" .").upper() == DONE:
            return None
        return said


class ModelJudge:
    """Grades criteria on a transcript (core/scenarios/judging.py has the words). Gradings
    are kept in the cassette by what was asked about what, so a replay needs no model."""

    def __init__(
        self, model: Any, settings: Any, cassette: Cassette | None = None, mode: str = "live"
    ) -> None:
        self._model, self._settings = model, settings
        self._cassette, self._mode = cassette, mode

    async def grade(self, criteria: str, transcript: str) -> tuple[bool, str]:
        key = judge_key(criteria, transcript)
        if self._mode == "replay":
            kept = self._cassette.judge.get(key) if self._cassette else None
            if kept is None:
                raise CassetteError(
                    f'the cassette has no grading of "{criteria}" on this transcript (the '
                    "criteria or the replies changed): re-record with --record"
                )
            return bool(kept["passed"]), str(kept["reasoning"])
        from carrier_studio.core.scenarios.judging import (
            JUDGE_INSTRUCTIONS,
            judge_input,
            parse_judge_answer,
        )

        asked = [{"role": "user", "content": judge_input(criteria, transcript)}]
        answer = await _ask(self._model, self._settings, "Judge", JUDGE_INSTRUCTIONS, asked)
        passed, reasoning = parse_judge_answer(answer)
        if self._mode == "record" and self._cassette is not None:
            self._cassette.judge[key] = {"passed": passed, "reasoning": reasoning}
        return passed, reasoning
