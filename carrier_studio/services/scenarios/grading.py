"""The verdicts of a run: core's expectations, with the judge model when the scenario has
criteria for it."""

from __future__ import annotations

from typing import Any

from carrier_studio.core.scenarios.model import Scenario
from carrier_studio.core.scenarios.record import TurnRecord, Verdict


async def grade(
    scenario: Scenario,
    turns: list[TurnRecord],
    *,
    secrets: list[str],
    system_prompt: str,
    judge: Any = None,
    character: Any = None,
) -> list[Verdict]:
    from carrier_studio.core.scenarios import expectations

    if judge is None:
        return expectations.evaluate(
            scenario, turns, secrets=secrets, system_prompt=system_prompt, character=character
        )
    return await expectations.evaluate_with_judge(
        scenario,
        turns,
        judge,
        secrets=secrets,
        system_prompt=system_prompt,
        character=character,
    )
