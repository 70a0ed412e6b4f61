"""One scenario on one model, through the chat's own runtime, into a `RunRecord`.

The agent is built as the chat builds it (services/chat/thread.py): the provider registry's
model, the character's tools under its policies, the MCP servers it names (started by the
shared `McpManager`), `AgentFactory` and `ChatSession`. What differs is only the set-up a test
needs: seeded memories in a throw-away store (never the user's), MCP servers turned on or off,
approvals answered from the scenario, and, for ``client: discord``, the bot's own wording and
message splitting. With a cassette the model and the tools record, or replay without a key,
a server or the network (cassette.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.scenarios.cassette import Cassette, Fingerprint, cassette_path
from carrier_studio.core.scenarios.model import Scenario
from carrier_studio.core.scenarios.pricing import cost_usd
from carrier_studio.core.scenarios.record import RunRecord
from carrier_studio.core.settings import ModelChoice
from carrier_studio.services.platform.secrets import character_secret_values
from carrier_studio.services.providers import classify_error
from carrier_studio.services.scenarios.choices import model_key
from carrier_studio.services.scenarios.players import ModelJudge
from carrier_studio.services.scenarios.setup import (
    Mode,
    ModelPool,
    Run,
    RunnerDeps,
    Tape,
    builtin_tools,
    involved,
    mcp_tools,
    model_for,
    seed_memories,
    with_mcp,
)
from carrier_studio.services.scenarios.turns import run_turns

log = logging.getLogger(__name__)

__all__ = ["Mode", "ModelPool", "RunnerDeps", "run_scenario"]


async def run_scenario(
    deps: RunnerDeps,
    scenario: Scenario,
    choice: ModelChoice,
    mode: Mode = "live",
    pool: ModelPool | None = None,
    characters: dict[str, CharacterDoc] | None = None,
) -> RunRecord:
    """Run ``scenario`` on ``choice``. Never raises for a run that cannot start: the record's
    ``error`` says why."""
    record = RunRecord(scenario.name, scenario.character, choice.label, replayed=mode == "replay")
    run = Run(deps, scenario, choice, Tape(mode), pool or ModelPool(deps))
    run.docs = characters or {}
    try:
        async with run.stack:
            if pool is None:  # this run's own models, closed with it
                run.stack.push_async_callback(run.pool.close)
            await _prepare(run)
            session = await _session(run, record)
            await run_turns(run, session, record)
            record.cost_usd = cost_usd(
                choice.provider,
                choice.model,
                sum(t.input_tokens for t in record.turns),
                sum(t.output_tokens for t in record.turns),
            )
            await _judge(run, record)
            if mode == "record" and run.tape.cassette is not None and run.tape.path is not None:
                text = run.tape.cassette.to_json()
                _refuse_secrets(text, _secrets(run), run.tape.path)
                await asyncio.to_thread(_save, run.tape.path, text)
    except CarrierError as exc:
        record.error = str(exc)  # the message with its hint, as the studio words errors
    except Exception as exc:  # noqa: BLE001 - a test run reports, it never crashes the suite
        record.error = f"the run stopped: {type(exc).__name__}: {exc}"
    return record


def _secrets(run: Run) -> set[str]:
    """The secret values no reply may repeat: the workspace's and the characters' own."""
    secrets = set(run.deps.secret_values() if run.deps.secret_values else ())
    if run.doc is not None:
        for doc in involved(run.docs, run.doc):
            secrets.update(character_secret_values(doc.data))
    return {value for value in secrets if value}


def _refuse_secrets(text: str, secrets: set[str], path: Path) -> None:
    """A cassette is committed with the tests: one holding a secret value (a reply or a tool
    result that repeated a key) is not written at all, rather than written redacted, which
    would let its replay pass a no_leak check the live run failed."""
    for secret in secrets:
        if secret in text or json.dumps(secret)[1:-1] in text:
            raise CarrierError(
                f"the run's exchanges hold one of the workspace's secret values, so the "
                f"cassette {path.name} was not saved",
                hint="Fix what leaked it (see the no_leak check), then record again.",
            )


def _save(path: Path, text: str) -> None:
    from carrier_studio.services.platform.files import atomic_write_text

    atomic_write_text(path, text)


# -- set-up


async def _prepare(run: Run) -> None:
    scenario = run.scenario
    if scenario.team:
        raise CarrierError(
            f"{scenario.name} tests the team {scenario.character!r}: team scenarios cannot be "
            "run yet",
            hint="Test one of its members as a character instead.",
        )
    # A matrix reads the characters once for all its runs (the same files for each).
    run.docs = run.docs or await run.deps.characters_by_name()
    doc = run.docs.get(scenario.character)
    if doc is None:
        raise CarrierError(
            f'the character "{scenario.character}" is not in the workspace (or cannot be read)',
            hint="Check the name in the scenario against the Characters page.",
        )
    run.doc = with_mcp(doc, scenario.setup.mcp_servers)
    run.docs = {**run.docs, doc.name: run.doc}
    tape = run.tape
    if tape.mode == "live":
        return
    path = cassette_path(scenario.path, model_key(run.choice))
    characters = {d.name: d.data for d in involved(run.docs, run.doc)}
    fingerprint = Fingerprint.of(characters, scenario, model_key(run.choice))
    tape.path = path
    if tape.mode == "record":
        tape.cassette = Cassette(fingerprint)
        return
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError:
        raise CarrierError(
            f"there is no cassette for {scenario.name} on {run.choice.label} ({path.name})",
            hint="Record one first with --record.",
        ) from None
    tape.cassette = Cassette.from_json(text, path)
    tape.cassette.check(fingerprint, path)
    from carrier_studio.services.scenarios.cassette import ToolTape

    tape.tools = ToolTape(tape.cassette.tools)


async def _session(run: Run, record: RunRecord) -> Any:
    from agents import RunConfig

    from carrier_studio.core.runtime.agent_factory import AgentFactory
    from carrier_studio.core.runtime.session import ChatSession

    assert run.doc is not None
    tape = run.tape
    if tape.mode != "replay":
        # Nothing is started (MCP servers, memory) for a model that cannot answer.
        await run.pool.check(run.choice)
    servers = await mcp_tools(run)
    await seed_memories(run)
    policies = await run.deps.workspace_policies() if run.deps.workspace_policies else {}
    tested = run.doc.name

    def resolve(character: CharacterDoc) -> Any:
        # Every agent of a run (the tested character and those it hands off to) answers on
        # the model under test, so a handoff is tested on that model too.
        return model_for(run, run.choice, "character")

    factory = AgentFactory(
        resolve,
        run.docs,
        {},  # approvals remembered in the studio do not apply: the scenario answers them
        tools=builtin_tools(run),
        mcp_tools=servers,
        workspace_policy=policies,
    )
    agent = await asyncio.to_thread(factory.build, run.doc)

    from carrier_studio.core.runtime.context_budget import (
        ItemSizes,
        agent_model,
        context_window,
        fit_agent,
        fit_model_input,
        reachable_agents,
        tools_tokens,
        windows_by_agent,
    )
    from carrier_studio.core.runtime.memory_hooks import with_memory_block

    if tape.mode == "replay":  # asks no server: the windows the recording was fitted to
        listed = dict(tape.cassette.windows) if tape.cassette else {}
    else:
        from carrier_studio.services.providers import windows_for

        settings = run.deps.settings.settings.providers
        listed = await windows_for(run.choice, settings, run.deps.secrets)
        if tape.cassette is not None:  # what the run's characters' models stated, for replays
            used = {agent_model(each) for each in reachable_agents(agent)}
            tape.cassette.windows = {m: w for m, w in listed.items() if m in used}
    window = listed.get(run.choice.model) or context_window(run.choice.model)
    # As the chat does: a window too small for every MCP server's tools goes without the
    # largest, for the tested character and each one it hands off to (on its own model's
    # window); the record says so.
    window_of = windows_by_agent(run.choice.model, window, listed)
    names = {server: [tool.name for tool in tools] for server, tools in servers.items()}
    agent, left_out = fit_agent(agent, names, window_of)
    record.notes += [f"{server} {why}" for server, why in left_out.items()]
    for server, why in left_out.items():
        log.info("scenario %s, %s: MCP server %s %s", run.scenario.name, run.choice, server, why)
    sizes = ItemSizes()  # each item measured once over the run's model calls, as the chat does

    def with_memories(data: Any) -> Any:
        """As the chat sends a request: this turn's memories in the tested character's
        instructions, then without the oldest turns that no longer fit the model's window."""
        model_data = data.model_data
        if data.agent.name == tested:
            model_data = with_memory_block(model_data, run.memory_block)
        fitted = fit_model_input(model_data, window_of(data.agent), sizes, tools_tokens(data.agent))
        return fitted[0]

    config = RunConfig(
        tracing_disabled=True,
        workflow_name="Carrier Studio test",
        call_model_input_filter=with_memories,
    )
    return ChatSession(lambda: agent, classify_error, run_config=config)


async def _judge(run: Run, record: RunRecord) -> None:
    """Grade the transcript: plain expectations, then the judge model's criteria."""
    from carrier_studio.services.scenarios.grading import grade

    judge_choice = None
    providers = run.deps.settings.settings.providers
    from carrier_studio.core.scenarios.expectations import needs_judge

    if needs_judge(run.scenario):
        from carrier_studio.services.scenarios.choices import parse_model

        spec = run.scenario.judge_model
        judge_choice = parse_model(spec, providers) if spec else run.choice
    judge = None
    if judge_choice is not None:
        if run.tape.mode == "replay":
            judge = ModelJudge(None, None, run.tape.cassette, "replay")
        else:
            await run.pool.check(judge_choice)
            model, settings = run.pool.get(judge_choice)
            judge = ModelJudge(model, settings, run.tape.cassette, run.tape.mode)
    assert run.doc is not None
    secrets = _secrets(run)
    # The prompt is only needed to look for it in replies: comparing costs ~6 ms a run.
    prompt = ""
    if _checks(run.scenario, "no_leak"):
        from carrier_studio.core.characters.prompt import compose_instructions

        prompt = compose_instructions(run.doc)
    record.verdicts = await grade(
        run.scenario,
        record.turns,
        secrets=sorted(secrets),
        system_prompt=prompt,
        judge=judge,
        character=run.doc,
    )


def _checks(scenario: Scenario, kind: str) -> bool:
    """Whether any expectation of ``scenario`` is of ``kind``."""
    expects = [*scenario.expect, *(e for turn in scenario.turns for e in turn.expect)]
    if scenario.simulated_user is not None:
        expects += getattr(scenario.simulated_user, "expect", ())
    return any(e.kind == kind for e in expects)
