"""Teams end to end: HAAS import, routing, the loop guard and stored transcripts, with the real
agents SDK and openai client talking to a scripted model server over HTTP."""

from __future__ import annotations

import asyncio
import json
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings
from carrier_studio.core.teams import TeamError
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.teams.service import TeamService
from tests.fakes import ScriptedLLMServer, text, tool_call

DATA = Path(__file__).parent.parent / "data" / "teams"


@asynccontextmanager
async def workspace(tmp_path, keyring_backend):
    async with ScriptedLLMServer() as server:
        settings = Settings()
        settings.providers.endpoints = [
            CompatEndpoint(name="local", base_url=server.openai_base_url)
        ]
        settings.providers.default = ModelChoice(
            provider="openai-compatible", model="test-model", endpoint="local"
        )
        db = Database(tmp_path / "studio.db")
        await db.open()
        service = TeamService(
            tmp_path / "teams",
            CharacterStore(tmp_path / "characters", tmp_path / ".trash"),
            SettingsStore(tmp_path / "settings.json", settings),
            SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={}),
            db,
        )
        try:
            yield service, server
        finally:
            await db.close()


def routes(events):
    return [(e.sender, e.recipients, e.kind, e.text) for e in events if e.moves]


def test_a_boss_worker_team_runs_to_completion(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, server):
            imported = await service.import_haas(DATA / "desk")
            assert imported.created == ["Boss", "Worker"]
            team = await service.load("desk")
            server.script(
                tool_call("assign_task", {"to": "Worker", "task": "Compute 6 * 7."}),
                text("Asked Worker."),
                tool_call("send_message", {"to": "USER", "text": "42"}),  # not allowed
                tool_call("calculate", {"expression": "6 * 7"}),
                tool_call("resolve_task", {"task_id": "T1", "result": "6 * 7 = 42"}),
                text("Done."),
                tool_call("send_message", {"to": "USER", "text": "The answer is 42."}),
                text("Reported."),
            )
            runner = service.runner(team)
            seen = []
            runner.changed.subscribe(seen.append)
            await runner.open()
            stop = await runner.run()
            await runner.close()
            stored = await service.transcript(runner.run_id)
            runs = await service.runs("desk")
            return imported, stop, seen, runner, server.completions, stored, runs, service

    imported, stop, seen, runner, requests, stored, runs, service = asyncio.run(go())
    assert stop.kind == "finished", stop.reason
    assert routes(seen) == [
        ("USER", ("Boss",), "user", "What is 6 * 7? Have it worked out and report back."),
        ("Boss", ("Worker",), "task", "Compute 6 * 7."),
        ("Boss", ("USER",), "reply", "Asked Worker."),
        ("Worker", ("Boss",), "result", "6 * 7 = 42"),
        ("Boss", ("USER",), "message", "The answer is 42."),
    ]
    turns = [(e.sender, e.meta["from"]) for e in seen if e.kind == "turn"]
    assert turns == [("Boss", "USER"), ("Worker", "Boss"), ("Boss", "Worker")]
    refused = [e for e in seen if e.kind == "refused"]
    assert len(refused) == 1 and refused[0].sender == "Worker"
    assert "Worker does not talk to USER" in refused[0].text
    # The refusal is what the worker's model read back as the tool's output.
    assert "refused: Worker does not talk to USER" in json.dumps(requests[3].body)
    tool = next(e for e in seen if e.kind == "tool")
    assert (tool.sender, tool.meta["name"], tool.text) == ("Worker", "calculate", "42")
    assert [e.text for e in seen if e.kind == "note"] == ["Done.", "Reported."]
    assert runner.network.tasks["T1"].result == "6 * 7 = 42"
    # Each member's model got its own instructions and the team briefing.
    first = json.dumps(requests[0].body)
    assert "You run a small desk" in first and "You can message: Worker" in first
    assert "You do the work you are given" in json.dumps(requests[2].body)
    # The transcript reloads from studio.db exactly as it was emitted.
    assert stored == seen
    assert [(r.team, r.status, r.turns) for r in runs] == [("desk", "finished", 3)]
    # The import made real character files, with the markdown as their instructions.
    boss = service.characters.list()[0].doc
    assert boss.name == "Boss" and boss.text("system").startswith("You run a small desk")


def test_the_loop_guard_stops_a_team_that_would_talk_forever(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, server):
            await service.import_haas(DATA / "chatter")
            team = await service.load("chatter")
            for _ in range(20):  # more than enough: they would go on as long as replies last
                server.script(tool_call("send_message", {"to": "Pong", "text": "Hello, Pong!"}))
                server.script(text("Said hello."))
                server.script(tool_call("send_message", {"to": "Ping", "text": "Hello, Ping!"}))
                server.script(text("Said hello."))
            runner = service.runner(team)

            async def watch():  # the async-iterator view of the same events
                return [event async for event in runner.stream()]

            watching = asyncio.ensure_future(watch())
            await asyncio.sleep(0)  # let the watcher subscribe before anything happens
            await runner.open()
            stop = await runner.run()
            await runner.close()  # ends the stream
            return stop, runner, await service.runs("chatter"), server.pending, await watching

    stop, runner, runs, pending, streamed = asyncio.run(go())
    assert streamed == runner.events
    assert stop.kind == "loop"
    assert "Ping sent Pong the same message 3 times" in stop.reason
    assert runner.network.turns == 5  # Ping, Pong, Ping, Pong, Ping: the third hello
    assert runner.events[-1].kind == "stopped" and runner.events[-1].meta["reason"] == "loop"
    assert (runs[0].status, runs[0].reason) == ("loop", stop.reason)
    assert pending > 0, "the guard stopped it before the script ran out"


def test_the_turn_budget_stops_a_team_and_user_can_go_on(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, server):
            await service.import_haas(DATA / "chatter")
            team = await service.load("chatter")
            team.turn_budget = 2
            for i in range(3):
                server.script(tool_call("send_message", {"to": "Pong", "text": f"Hi {i}"}))
                server.script(text("ok"))
                server.script(tool_call("send_message", {"to": "Ping", "text": f"Yo {i}"}))
                server.script(text("ok"))
            runner = service.runner(team)
            await runner.open()
            first = await runner.run()
            await runner.say("Ping, stop now.")
            server.reset()
            server.script(text("Stopping."))
            second = await runner.step()
            await runner.close()
            return first, second, runner

    first, second, runner = asyncio.run(go())
    assert first.kind == "budget" and "turn budget (2)" in first.reason
    assert second is None, "the pending Pong message is still queued"
    user = [e for e in runner.events if e.kind == "user"]
    assert user[-1].recipients == ("Ping",)


def test_import_keeps_existing_characters_and_names_yaml_lines(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, _server):
            service.characters.folder.mkdir(parents=True)
            mine = service.characters.folder / "boss.json"
            mine.write_text(json.dumps({"name": "Boss", "system": "My own boss."}))
            result = await service.import_haas(DATA / "desk")
            bad = tmp_path / "bad"
            shutil.copytree(DATA / "desk", bad)
            text_ = (bad / "agents.yaml").read_text().replace("talksTo: [Boss]", "talksTo: [Bos]")
            (bad / "agents.yaml").write_text(text_)
            with pytest.raises(TeamError) as unknown:
                await service.import_haas(bad)
            (bad / "agents.yaml").write_text("- name: A\n  talksTo: [B\n")
            with pytest.raises(TeamError) as syntax:
                await service.import_haas(bad)

            # Saving keeps what the studio does not know (here, where the team came from).
            team = await service.load("desk")
            team.turn_budget = 7
            saved = await service.save(team)
            return result, mine.read_text(), unknown.value, syntax.value, saved

    result, mine, unknown, syntax, saved = asyncio.run(go())
    data = json.loads(saved.read_text())
    assert saved.name == "desk.json" and data["turnBudget"] == 7
    assert data["source"].endswith("agents.yaml") and data["initMessage"].startswith("What is")
    assert result.created == ["Worker"] and result.kept == ["Boss"]
    assert "not overwritten" in result.notes[0]
    assert json.loads(mine)["system"] == "My own boss."
    assert 'talks to "Bos", who is not in the team' in unknown.message
    assert unknown.where == "line 10" and unknown.path.name == "agents.yaml"
    assert syntax.where.startswith("line 3") and "not valid YAML" in syntax.message


def test_members_use_their_mcp_tools_and_tools_that_would_ask_are_left_out(
    tmp_path, keyring_backend
):
    from carrier_studio.core.mcp import lookup_chain
    from carrier_studio.services.mcp.manager import McpManager
    from tests.mcp.servers import fastmcp_stdio

    catalogue = tmp_path / "mcp_servers.json"
    catalogue.write_text(json.dumps({"mcpServers": {"helper": fastmcp_stdio()}}))

    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, server):
            service.mcp = McpManager(catalogue, lookup_chain({}))
            try:
                await service.import_haas(DATA / "desk")
                path = next(service.characters.folder.glob("worker*.json"))
                data = json.loads(path.read_text())
                data.update(mcp_servers=["helper"], tool_policy={"add": "auto"})
                path.write_text(json.dumps(data))
                team = await service.load("desk")
                server.script(
                    tool_call("assign_task", {"to": "Worker", "task": "Add 6 and 7."}),
                    text("Asked."),
                    tool_call("add", {"a": 6, "b": 7}),
                    tool_call("resolve_task", {"task_id": "T1", "result": "13"}),
                    text("Done."),
                    tool_call("send_message", {"to": "USER", "text": "13."}),
                    text("Reported."),
                )
                runner = service.runner(team)
                await runner.open()
                stop = await runner.run()
                await runner.close()
                return stop, runner.events, server.completions
            finally:
                await service.mcp.shutdown()

    stop, events, requests = asyncio.run(go())
    assert stop.kind == "finished", stop.reason
    tool = next(e for e in events if e.kind == "tool")
    assert (tool.sender, tool.meta["name"], tool.text) == ("Worker", "add", "13")
    offered = [t["function"]["name"] for t in requests[2].body["tools"]]
    assert "add" in offered and "shout" not in offered and "fail" not in offered
    notes = [e.text for e in events if e.kind == "note" and not e.sender]
    assert notes and "Worker goes without shout, fail" in notes[0]


def test_a_jinja_haas_team_with_a_pipeline_end_imports_whole(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, _server):
            result = await service.import_haas(DATA / "newsroom")
            systems = {e.doc.name: e.doc.data["system"] for e in service.characters.list() if e.doc}
            return result, systems, await service.load("newsroom")

    result, systems, team = asyncio.run(go())
    assert result.created == ["Editor", "Reporter", "Publisher"]
    assert team.names == ["Editor", "Reporter", "Publisher"]
    assert team.member("Publisher").talks_to == ()
    # What reaches the model is the rendered text, not the template.
    assert "We are the newsroom of a small-town paper." in systems["Publisher"]
    assert "{{" not in systems["Editor"] and "{%" not in systems["Editor"]
    changes = {m.name: m.changes for m in result.members}
    assert "renamed the tool resolveTask to resolve_task" in changes["Reporter"]
    assert any(c.startswith("rendered publisher.md") for c in changes["Publisher"])


def test_team_transcripts_store_no_secret(tmp_path, keyring_backend):
    from carrier_studio.core.teams.events import TeamEvent

    leaked = "ghp_" + "Q7w" * 12

    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, _server):
            await service.import_haas(DATA / "desk")
            team = await service.load("desk")
            run_id = await service._new_run(team)
            said = TeamEvent("message", "Boss", ("Worker",), f"use {leaked} for the repo", 1)
            await service.record_event(run_id, said)
            failed = TeamEvent("error", "Worker", (), "x", 2, {"detail": f"401 for {leaked}"})
            await service.record_event(run_id, failed)
            return await service.transcript(run_id)

    events = asyncio.run(go())
    assert leaked not in events[0].text and events[0].text.endswith("for the repo")
    assert leaked not in json.dumps(events[1].meta) and "401 for" in events[1].meta["detail"]
