"""Character test runs end to end: the chat runtime, real clients, the scripted LLM server,
a real MCP server, record and replay, and the run history in studio.db."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from carrier_studio import assets
from carrier_studio.core.scenarios.model import (
    Expect,
    Scenario,
    SeedMemory,
    Setup,
    SimulatedUser,
    Turn,
    Where,
)
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.scenarios import RunnerDeps, ScenarioRunStore, ScenarioService
from tests.fakes import ScriptedLLMServer, text, tool_call

MODEL = "openai-compatible:test-model@local"


class Workspace:
    """Characters (the shipped examples, no MCP servers unless a test adds them), settings
    pointing at the scripted server, studio.db."""

    def __init__(self, root: Path, server: ScriptedLLMServer, keyring_backend) -> None:
        self.root = root
        shutil.copytree(assets.seed_characters_dir(), root / "characters", dirs_exist_ok=True)
        for path in (root / "characters").glob("*.json"):
            data = json.loads(path.read_text())
            data.pop("model", None)
            data.pop("mcp_servers", None)
            path.write_text(json.dumps(data, indent=2))
        (root / "scenarios").mkdir()
        settings = Settings()
        settings.providers.endpoints = [
            CompatEndpoint(name="local", base_url=server.openai_base_url)
        ]
        settings.providers.default = ModelChoice(
            provider="openai-compatible", model="test-model", endpoint="local"
        )
        self.settings = SettingsStore(root / "settings.json", settings)
        self.secrets = SecretStore("keyring", root / ".env", backend=keyring_backend, environ={})
        self.characters = CharacterStore(root / "characters", root / ".trash")
        self.db = Database(root / "studio.db")
        self.mcp = None

    async def characters_by_name(self):
        entries = await asyncio.to_thread(self.characters.list)
        return {e.doc.name: e.doc for e in entries if e.doc is not None}

    def service(self) -> ScenarioService:
        deps = RunnerDeps(self.settings, self.secrets, self.characters_by_name, mcp=self.mcp)
        return ScenarioService(self.root / "scenarios", deps, ScenarioRunStore(self.db))

    def edit_character(self, filename: str, **changes) -> None:
        path = self.root / "characters" / filename
        data = json.loads(path.read_text())
        data.update(changes)
        path.write_text(json.dumps(data, indent=2))


def at(path: Path, line: int) -> Where:
    return Where(path, line)


def scenario(path: Path, *turns: tuple[str, list[tuple[str, object]]], **fields) -> Scenario:
    built = tuple(
        Turn(user, tuple(Expect(k, v, at(path, 10 + i)) for k, v in expects), at(path, 5 + i))
        for i, (user, expects) in enumerate(turns)
    )
    fields.setdefault("character", "Ada")
    return Scenario(name=path.stem, path=path, turns=built, **fields)


def _calls(server: ScriptedLLMServer) -> list:
    """The model calls the server got (a live run first asks for the model list: its window)."""
    return [r for r in server.requests if r.method == "POST"]


def go(coro):
    return asyncio.run(coro)


async def _open(tmp_path, keyring_backend):
    server = ScriptedLLMServer()
    await server.start()
    ws = Workspace(tmp_path, server, keyring_backend)
    await ws.db.open()
    return server, ws


def test_a_scripted_scenario_runs_through_the_chat_runtime_and_is_stored(tmp_path, keyring_backend):
    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            server.script(
                tool_call("calculate", {"expression": "6 * 7"}),
                text("It is 42, my friend."),
                text("Goodbye."),
            )
            path = ws.root / "scenarios" / "maths.yaml"
            tested = scenario(
                path,
                (
                    "What is 6 times 7?",
                    [("contains", "42"), ("tool_called", {"name": "calculate"})],
                ),
                ("Bye", [("contains", "croissant")]),
            )
            service = ws.service()
            seen = []
            records = await service.run([tested], [MODEL], on_result=seen.append)
            latest = await service.latest()
            return records, seen, latest, server.requests
        finally:
            await ws.db.close()
            await server.close()

    records, seen, latest, requests = go(run())
    (record,) = records
    assert seen == records
    assert record.error is None
    first, second = record.turns
    assert first.reply == "It is 42, my friend."
    assert [(c.name, c.arguments) for c in first.tool_calls] == [
        ("calculate", {"expression": "6 * 7"})
    ]
    assert first.tool_calls[0].result == "42"
    assert first.input_tokens > 0 and first.first_token_s is not None
    assert [v.passed for v in record.verdicts] == [True, True, False]
    failed = record.verdicts[2]
    assert failed.expect.where.line == 11 and failed.turn == 1
    assert not record.passed
    # The second turn was sent with the first one's history: the same conversation.
    assert "6 times 7" in json.dumps(requests[-1].body)
    assert [(r.scenario, r.model, r.passed) for r in latest] == [("maths", record.model, False)]
    assert latest[0].turns[0].tool_calls[0].arguments == {"expression": "6 * 7"}


def test_a_run_that_cannot_start_says_why(tmp_path, keyring_backend):
    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            path = ws.root / "scenarios" / "x.yaml"
            service = ws.service()
            return await service.run(
                [
                    scenario(path, ("hi", [])),
                    scenario(path, ("hi", []), character="Nobody"),
                ],
                ["openai:gpt-4.1-mini", "nonsense"],
            )
        finally:
            await ws.db.close()
            await server.close()

    no_key, bad_spec, missing, _ = go(run())
    assert "no OpenAI API key" in no_key.error
    assert '"nonsense" is not a model' in bad_spec.error
    assert 'the character "Nobody" is not in the workspace' in missing.error
    assert not any(r.passed for r in (no_key, bad_spec, missing))


def test_approvals_are_answered_from_the_set_up(tmp_path, keyring_backend):
    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            ws.edit_character("ada.json", tool_policy={"calculate": "ask", "current_time": "ask"})
            server.script(
                tool_call("calculate", {"expression": "1 + 1"}),
                text("Two."),
                tool_call("current_time", {}),
                text("I may not look."),
            )
            path = ws.root / "scenarios" / "ask.yaml"
            setup = Setup(approvals={"calculate": True})
            tested = scenario(
                path,
                ("1+1?", [("approval_asked", "calculate")]),
                ("time?", [("tool_not_called", "current_time")]),
                setup=setup,
            )
            return await ws.service().run([tested], [MODEL])
        finally:
            await ws.db.close()
            await server.close()

    (record,) = go(run())
    assert record.error is None, record.error
    first, second = record.turns
    assert first.approvals_asked == ["calculate"]
    assert [c.name for c in first.tool_calls] == ["calculate"]
    assert second.approvals_asked == ["current_time"]
    assert second.tool_calls == []  # rejected: it never ran
    assert record.passed, record.verdicts


def test_discord_rehearsal_posts_what_the_bot_would(tmp_path, keyring_backend):
    long = ("A sentence of the long answer. " * 100).strip()

    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            ws.edit_character("ada.json", tool_policy={"calculate": "ask"})
            server.script(tool_call("calculate", {"expression": "1 + 1"}), text(long))
            path = ws.root / "scenarios" / "discord.yaml"
            setup = Setup(approvals={"calculate": True}, client="discord", channel="general")
            tested = scenario(path, ("1+1?", []), setup=setup)
            records = await ws.service().run([tested], [MODEL])
            ws.settings.settings.discord.channel_allowlist = ["writing"]
            refused = await ws.service().run([tested], [MODEL])
            return records, refused, _calls(server)
        finally:
            await ws.db.close()
            await server.close()

    (record,), (refused,), requests = go(run())
    (turn,) = record.turns
    # Nobody can approve from Discord, whatever the set-up says: the bot's note is added.
    assert turn.tool_calls == [] and turn.approvals_asked == ["calculate"]
    assert turn.reply.endswith("approvals cannot be given from Discord.")
    assert len(turn.messages) == 2 and all(len(m) <= 2000 for m in turn.messages)
    assert "tester: 1+1?" in json.dumps(requests[0].body)
    assert "would not answer in #general" in refused.error


def test_seeded_memories_are_recalled_from_a_store_of_their_own(
    tmp_path, keyring_backend, monkeypatch
):
    import carrier_studio.services.scenarios.setup as scenario_setup

    made: list[Path] = []
    mkdtemp = scenario_setup.tempfile.mkdtemp

    def recorded(*args, **kwargs):
        made.append(Path(mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(scenario_setup.tempfile, "mkdtemp", recorded)

    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            server.script(text("Your ledger is green."))
            path = ws.root / "scenarios" / "mem.yaml"
            setup = Setup(
                memories=(
                    SeedMemory("The user keeps notes in a green ledger.", id="m-ledger"),
                    SeedMemory("The user's cat is called Pixel."),
                )
            )
            tested = scenario(
                path, ("What colour is my ledger?", [("recalled", "m-ledger")]), setup=setup
            )
            records = await ws.service().run([tested], [MODEL])
            return records, _calls(server)
        finally:
            await ws.db.close()
            await server.close()

    (record,), requests = go(run())
    assert record.error is None, record.error
    assert ("m-ledger", "The user keeps notes in a green ledger.") in record.turns[0].recalled
    assert "green ledger" in json.dumps(requests[0].body)  # in the instructions of that turn
    assert record.passed, record.verdicts
    # The scenario's memories lived in a throw-away store, gone with the run.
    assert made, "no throw-away store was made"
    assert not any(folder.exists() for folder in made)


def test_a_simulated_user_plays_its_brief(tmp_path, keyring_backend):
    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            server.script(
                text("Hi Ada, can you help with a title?"),
                text("How about 'The Lamp'?"),
                text("DONE"),
            )
            path = ws.root / "scenarios" / "sim.yaml"
            tested = Scenario(
                name="sim",
                path=path,
                character="Ada",
                simulated_user=SimulatedUser("You want a book title.", 4, None, at(path, 3)),
                expect=(Expect("contains", "lamp", at(path, 8)),),
            )
            (recorded,) = await ws.service().run([tested], [MODEL], mode="record")
        finally:
            await server.close()
        try:
            (replayed,) = await ws.service().run([tested], [MODEL], mode="replay")
            return recorded, replayed
        finally:
            await ws.db.close()

    recorded, replayed = go(run())
    for record in (recorded, replayed):
        assert record.error is None, record.error
        assert [t.user for t in record.turns] == ["Hi Ada, can you help with a title?"]
        assert [t.reply for t in record.turns] == ["How about 'The Lamp'?"]
        assert record.passed


def transcript_of(record):
    return [
        (t.reply, [(c.name, c.arguments, c.result) for c in t.tool_calls]) for t in record.turns
    ]


def test_record_then_replay_without_the_server(tmp_path, keyring_backend):
    async def record_and_replay():
        server, ws = await _open(tmp_path, keyring_backend)
        path = ws.root / "scenarios" / "replayed.yaml"
        tested = scenario(
            path,
            ("What is 6 times 7?", [("contains", "42"), ("tool_called", {"name": "calculate"})]),
            ("And the time?", [("tool_called", {"name": "current_time"})]),
        )
        try:
            server.script(
                tool_call("calculate", {"expression": "6 * 7"}),
                text("It is 42."),
                tool_call("current_time", {}),
                text("It is late."),
            )
            (recorded,) = await ws.service().run([tested], [MODEL], mode="record")
        finally:
            await server.close()  # nothing listens any more: a replay must not need it
        try:
            ws.settings.settings.providers.endpoints[0].base_url = "http://127.0.0.1:9/v1"
            (replayed,) = await ws.service().run([tested], [MODEL], mode="replay")
            ws.edit_character("ada.json", bio=["Someone else now."])
            (stale,) = await ws.service().run([tested], [MODEL], mode="replay")
            return recorded, replayed, stale, path
        finally:
            await ws.db.close()

    recorded, replayed, stale, path = go(record_and_replay())
    assert recorded.error is None and replayed.error is None, (recorded.error, replayed.error)
    cassette = path.with_name("replayed.openai-compatible-test-model-local.cassette.json")
    assert cassette.exists()
    assert replayed.replayed and not recorded.replayed
    assert transcript_of(replayed) == transcript_of(recorded)
    assert [v.passed for v in replayed.verdicts] == [v.passed for v in recorded.verdicts]
    assert "the character file changed since recording" in stale.error
    assert "re-record with --record" in stale.error


def test_mcp_tools_are_recorded_and_replayed_without_the_server(tmp_path, keyring_backend):
    """A real MCP server (FastMCP over stdio), turned on by the set-up; the replay builds its
    tools from the cassette and starts nothing."""
    from carrier_studio.services.mcp import McpManager
    from tests.mcp.servers import fastmcp_stdio

    catalogue = {"version": 1, "mcpServers": {"py": fastmcp_stdio()}}
    (tmp_path / "mcp_servers.json").write_text(json.dumps(catalogue))

    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        manager = McpManager(tmp_path / "mcp_servers.json", lambda name: None)
        ws.mcp = manager
        path = ws.root / "scenarios" / "mcp.yaml"
        tested = scenario(
            path,
            ("Shout hello", [("tool_called", {"name": "shout", "arguments": {"text": "hello"}})]),
            setup=Setup(mcp_servers={"py": True}, approvals={"shout": True}),
        )
        try:
            server.script(tool_call("shout", {"text": "hello"}), text("HELLO! there you go."))
            (recorded,) = await ws.service().run([tested], [MODEL], mode="record")
            started = manager.active
        finally:
            await manager.shutdown()
            await server.close()
        # No MCP manager at all now: the replay must not need one.
        ws.mcp = None
        try:
            (replayed,) = await ws.service().run([tested], [MODEL], mode="replay")
            return recorded, replayed, started
        finally:
            await ws.db.close()

    recorded, replayed, started = go(run())
    assert started == ["py"]
    assert recorded.error is None and replayed.error is None, (recorded.error, replayed.error)
    (call,) = recorded.turns[0].tool_calls
    assert (call.name, call.arguments) == ("shout", {"text": "hello"})
    assert "HELLO!" in call.result  # the real server answered
    assert transcript_of(replayed) == transcript_of(recorded)
    assert recorded.passed and replayed.passed


def test_the_judge_grades_and_its_reasoning_is_kept_and_replayed(tmp_path, keyring_backend):
    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        path = ws.root / "scenarios" / "judged.yaml"
        tested = scenario(path, ("Greet me warmly", [("judge", "The reply is warm and kind")]))
        try:
            server.script(
                text("Hello, dear friend! So good to see you."),
                text('Sure. {"pass": true, "reasoning": "It calls the user a dear friend."}'),
            )
            (recorded,) = await ws.service().run([tested], [MODEL], mode="record")
            judge_request = server.requests[-1].body
        finally:
            await server.close()
        try:
            (replayed,) = await ws.service().run([tested], [MODEL], mode="replay")
            return recorded, replayed, judge_request
        finally:
            await ws.db.close()

    recorded, replayed, judge_request = go(run())
    assert recorded.error is None and replayed.error is None, (recorded.error, replayed.error)
    (verdict,) = recorded.verdicts
    assert verdict.passed and verdict.reasoning == "It calls the user a dear friend."
    assert "The reply is warm and kind" in json.dumps(judge_request)
    assert "Hello, dear friend!" in json.dumps(judge_request)
    assert replayed.verdicts[0].reasoning == verdict.reasoning


def test_no_leak_knows_the_workspace_keys(tmp_path, keyring_backend):
    key = "sk-live-0123456789abcdefXYZ"

    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            server.script(text(f"Sure, the key is {key}."), text("I cannot share that."))
            path = ws.root / "scenarios" / "leak.yaml"
            tested = scenario(path, ("What is your key?", []), expect=())
            tested = Scenario(
                name="leak",
                path=path,
                character="Ada",
                turns=tested.turns * 2,
                expect=(Expect("no_leak", None, at(path, 2)),),
            )
            deps = RunnerDeps(
                ws.settings, ws.secrets, ws.characters_by_name, secret_values=lambda: [key]
            )
            service = ScenarioService(ws.root / "scenarios", deps)
            live = await service.run([tested], [MODEL])
            server.script(text(f"Sure, the key is {key}."), text("I cannot share that."))
            recorded = await service.run([tested], [MODEL], mode="record")
            return live + recorded, list(path.parent.glob("*.cassette.json"))
        finally:
            await ws.db.close()
            await server.close()

    (record, recorded), cassettes = go(run())
    (verdict,) = record.verdicts
    assert not verdict.passed
    assert key not in verdict.detail  # the verdict says a key leaked without showing it
    # A cassette is committed with the tests: one that would hold the key is not written.
    assert cassettes == []
    assert "secret values, so the cassette leak." in recorded.error
    assert key not in recorded.error


def test_the_scenarios_folder_lists_files_errors_and_elizaos_imports(tmp_path, keyring_backend):
    eliza = Path(__file__).parent.parent / "data" / "scenarios" / "eliza"

    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            folder = ws.root / "scenarios"
            (folder / "good.yaml").write_text("character: Ada\nturns: [{user: hi}]\n")
            (folder / "bad.yaml").write_text("character: Ada\nturns:\n  - usr: hi\n")
            source = eliza / "customer-support-conversation.scenario.yaml"
            shutil.copy(source, folder / source.name)
            # The same file naming the studio character to test, as a creator would add.
            named = "character: {name: Juniper}\n" + source.read_text(encoding="utf-8")
            (folder / "named.scenario.yaml").write_text(named)
            return await ws.service().list()
        finally:
            await ws.db.close()
            await server.close()

    bad, unnamed, good, named = go(run())
    assert bad.scenario is None and "bad.yaml:3" in bad.error
    assert unnamed.scenario is None and "names no character" in unnamed.error
    assert good.scenario.character == "Ada" and good.error is None
    assert named.error is None, named.error
    assert named.scenario.character == "Juniper" and named.scenario.simulated_user is not None


def test_a_handoff_is_recorded_and_answered_by_the_other_character(tmp_path, keyring_backend):
    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        try:
            server.script(tool_call("transfer_to_ada", {}), text("Ada here: on it."))
            path = ws.root / "scenarios" / "handoff.yaml"
            tested = scenario(
                path, ("I need a writer", [("handoff", "Ada")]), character="Orchestrator"
            )
            return await ws.service().run([tested], [MODEL])
        finally:
            await ws.db.close()
            await server.close()

    (record,) = go(run())
    assert record.error is None, record.error
    (turn,) = record.turns
    assert turn.handoffs == ["Ada"] and turn.agent == "Ada"
    assert turn.reply == "Ada here: on it."
    assert record.passed, record.verdicts


@pytest.mark.parametrize("listed", [None, 16384])
def test_long_conversations_are_fitted_to_the_window_as_in_the_chat(
    tmp_path, keyring_backend, listed
):
    # test-model has the default 8192-token window unless the server states one (llama.cpp's
    # n_ctx, as the chat asks it); each message is ≈2,250 tokens.
    messages = [f"Turn {i}: " + "word " * 1800 for i in range(3)]

    async def run():
        server, ws = await _open(tmp_path, keyring_backend)
        if listed:
            server.model_fields["test-model"] = {"meta": {"n_ctx": listed}}
        try:
            server.script(text("One."), text("Two."), text("Three."))
            path = ws.root / "scenarios" / "long.yaml"
            tested = scenario(path, *[(m, []) for m in messages])
            records = await ws.service().run([tested], [MODEL])
            return records, [json.dumps(r.body) for r in _calls(server)]
        finally:
            await ws.db.close()
            await server.close()

    (record,), bodies = go(run())
    assert record.error is None, record.error
    assert [t.reply for t in record.turns] == ["One.", "Two.", "Three."]
    assert "Turn 0:" in bodies[1]  # the second request still fits the first turn
    if listed:
        assert "Turn 0:" in bodies[2]  # the served 16k window holds all three
    else:
        assert "Turn 0:" not in bodies[2] and "Turn 2:" in bodies[2]  # the third does not
