"""The turns of a test run: each user message through the `ChatSession`, approvals answered
from the scenario, memories recalled, and for ``client: discord`` the bot's own wording and
splitting; a simulated user plays its brief for at most its turn limit."""

from __future__ import annotations

import json
import time
from typing import Any

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.runtime.events import Done, MemoriesRecalled
from carrier_studio.core.runtime.transcript import Handoff, TurnReducer
from carrier_studio.core.runtime.transcript import ToolCall as StoredCall
from carrier_studio.core.scenarios.record import RunRecord, ToolCall, TurnRecord
from carrier_studio.services.scenarios.players import SimulatedUserPlayer
from carrier_studio.services.scenarios.setup import Run, model_for

#: How many times one turn may stop for approvals before the test gives up on it.
MAX_APPROVAL_ROUNDS = 8


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_value": value}


async def _recall(run: Run, text: str, turn: TurnRecord) -> None:
    from carrier_studio.core.runtime.memory_hooks import (
        context_block,
        memory_settings,
        recalled_event,
    )

    run.memory_block = ""
    if run.memory is None or run.doc is None:
        return
    limit = memory_settings(run.doc.section("memory"))[1]
    hits = await run.memory.recall(run.doc.name, text, limit=limit)
    recalled: MemoriesRecalled = recalled_event(run.doc.name, hits)
    run.memory_block = context_block(recalled)
    turn.recalled = [(m.memory_id, m.content) for m in recalled.memories]


def _discord_prompt(run: Run, text: str) -> str:
    """The message as the bot hands it to the agent (``Author: text`` in a channel)."""
    return f"tester: {text}"


async def _one_turn(run: Run, session: Any, text: str) -> TurnRecord:
    discord = run.scenario.setup.client == "discord"
    turn = TurnRecord(user=text)
    await _recall(run, text, turn)
    reducer = TurnReducer(run.scenario.character)
    approvals = run.scenario.setup.approvals
    clock = time.monotonic()
    stream = session.send(_discord_prompt(run, text) if discord else text)
    rounds, gave_up, rejected = 0, False, set()
    while True:
        reducer.done = None
        async for event in stream:
            if turn.first_token_s is None and getattr(event, "text", None):
                turn.first_token_s = time.monotonic() - clock
            reducer.feed(event)
        done: Done | None = reducer.done
        if done is None or not done.pending_approvals:
            break
        if rounds == MAX_APPROVAL_ROUNDS:
            gave_up = True
            break
        rounds += 1
        asked = {a.approval_id: a.tool for a in reducer.approvals()}
        # Discord cannot approve anything (the bot rejects every call); the chat answers as
        # the scenario says, and rejects a tool it does not name.
        decisions = {
            i: (not discord) and bool(approvals.get(asked.get(i, ""), False))
            for i in done.pending_approvals
        }
        rejected.update(i for i, ok in decisions.items() if not ok)
        stream = session.resolve(decisions)
    turn.latency_s = time.monotonic() - clock
    turn.input_tokens, turn.output_tokens = reducer.input_tokens, reducer.output_tokens
    turn.agent = reducer.agent
    turn.approvals_asked = [a.tool for a in reducer.approvals()]
    for item in reducer.items:
        if isinstance(item, StoredCall) and item.call_id not in rejected:
            turn.tool_calls.append(
                ToolCall(item.name, _arguments(item.arguments), item.result, item.agent)
            )
        elif isinstance(item, Handoff):
            turn.handoffs.append(item.to_agent)
    failures = reducer.failures()
    if failures:
        turn.error = failures[-1].message
    if discord:
        from carrier_studio.core.discord.split import split_reply
        from carrier_studio.services.discord import NO_ANSWER, bot_reply

        turn.reply, _failure = bot_reply(reducer, gave_up=gave_up)
        turn.messages = split_reply(turn.reply) or [NO_ANSWER]
    else:
        turn.reply = "\n\n".join(text.strip() for text in reducer.replies())
    return turn


async def run_turns(run: Run, session: Any, record: RunRecord) -> None:
    scenario = run.scenario
    if scenario.setup.client == "discord":
        _check_discord(run)
    if scenario.simulated_user is None:
        for scripted in scenario.turns:
            record.turns.append(await _one_turn(run, session, scripted.user))
        return
    brief = scenario.simulated_user
    providers = run.deps.settings.settings.providers
    from carrier_studio.services.scenarios.choices import parse_model

    choice = parse_model(brief.model, providers) if brief.model else providers.default
    if run.tape.mode != "replay":
        await run.pool.check(choice)
    player = SimulatedUserPlayer(brief.brief, scenario.character, *model_for(run, choice, "user"))
    for _ in range(brief.max_turns):
        said = await player.next_message(record.turns)
        if said is None:
            break
        record.turns.append(await _one_turn(run, session, said))


def _check_discord(run: Run) -> None:
    """The bot answers only where its policy lets it: a rehearsal in a channel it would ignore
    says so instead of pretending."""
    from carrier_studio.core.discord.policy import IncomingMessage, should_answer
    from carrier_studio.services.discord import policy_from

    channel = run.scenario.setup.channel or "general"
    policy = policy_from(run.deps.settings.settings.discord)
    bot = 1
    message = IncomingMessage(2, 3, channel, 4, 5, False, f"<@{bot}> hello", mentions=[bot])
    answer, why = should_answer(message, bot, policy)
    if not answer:
        raise CarrierError(
            f"the Discord bot would not answer in #{channel}: {why}",
            hint="Add the channel to the Discord page's allowlist, or rehearse in another.",
        )
