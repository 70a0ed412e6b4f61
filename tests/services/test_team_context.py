"""A team on a small local model fits each member's requests into its model's window as the chat
does: the largest MCP servers' tools left out (the run's transcript says which), and the oldest
turns of a member's conversation left out of a request once they no longer fit. The scripted
server states each model's window as llama.cpp does (``meta.n_ctx``); the MCP servers are real
(FastMCP over stdio, ``--big``: ≈2,500 tokens of tool definitions)."""

from __future__ import annotations

import asyncio
import json

from carrier_studio.core.runtime.context_budget import estimate_tokens
from tests.fakes import text, tool_call
from tests.services.test_teams import DATA, workspace


def _edit(service, stem: str, **fields) -> None:
    path = next(service.characters.folder.glob(f"{stem}*.json"))
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def _tools(request) -> list[str]:
    return [tool["function"]["name"] for tool in request.body.get("tools", [])]


def test_a_member_on_a_4096_window_goes_without_its_big_server_and_the_run_says_so(
    tmp_path, keyring_backend
):
    from carrier_studio.core.mcp import lookup_chain
    from carrier_studio.services.mcp.manager import McpManager
    from tests.mcp.servers import fastmcp_stdio

    catalogue = tmp_path / "mcp_servers.json"
    servers = {"helper": fastmcp_stdio(), "files": fastmcp_stdio("--big")}
    catalogue.write_text(json.dumps({"mcpServers": servers}))
    auto = {"add": "auto", "read_everything": "auto"}

    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, server):
            service.mcp = McpManager(catalogue, lookup_chain({}))
            try:
                await service.import_haas(DATA / "desk")
                # The worker on llama.cpp -c 4096; the boss on a model of its own, whose
                # 32,768-token window has room for the big server.
                server.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}
                server.models = (*server.models, "wide-model")
                server.model_fields["wide-model"] = {"meta": {"n_ctx": 32768}}
                _edit(service, "worker", mcp_servers=["helper", "files"], tool_policy=auto)
                wide = {"provider": "openai-compatible", "endpoint": "local", "model": "wide-model"}
                _edit(service, "boss", mcp_servers=["files"], tool_policy=auto, model=wide)
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
                stored = await service.transcript(runner.run_id)
                return stop, runner, server.completions, server.requests, stored
            finally:
                await service.mcp.shutdown()

    stop, runner, completions, requests, stored = asyncio.run(go())
    assert stop.kind == "finished", stop.reason
    assert runner.windows == {"Boss": 32768, "Worker": 4096}
    worker = [r for r in completions if "You do the work you are given" in json.dumps(r.body)]
    boss = [r for r in completions if "You run a small desk" in json.dumps(r.body)]
    assert len(worker) == 3 and len(boss) == 4
    for request in worker:
        assert "read_everything" not in _tools(request), "the big server's tools are left out"
        assert "add" in _tools(request), "the small server's tools stay"
        # What llama.cpp would count, about: within the 4096 window less the reply's reserve.
        assert estimate_tokens(json.dumps(request.body)) <= 3072
    # The boss's own window has room: it keeps the big server (each member its own model).
    assert all("read_everything" in _tools(r) and r.body["model"] == "wide-model" for r in boss)
    notes = [e.text for e in runner.events if e.kind == "note" and not e.sender]
    (left,) = [n for n in notes if "files" in n]
    assert left.startswith("Worker goes without the tools of files, which is left out of")
    assert "4,096-token context window" in left
    assert left in [e.text for e in stored]  # the Teams page replays runs from studio.db
    # One model listing per model, not per member or per request.
    assert [r.path for r in requests if r.method == "GET"] == ["/v1/models"] * 2


def test_a_long_team_conversation_leaves_the_oldest_turns_out_of_the_request(
    tmp_path, keyring_backend
):
    filler = "the tide came in over the flats " * 120  # ≈ 960 tokens a message

    async def go():
        async with workspace(tmp_path, keyring_backend) as (service, server):
            await service.import_haas(DATA / "desk")
            server.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}
            team = await service.load("desk")
            runner = service.runner(team)
            await runner.open(initial=False)
            for number in range(5):
                server.script(text(f"Noted {number}."))
                await runner.say(f"Message {number}: {filler}")
                stop = await runner.step()
                assert stop is not None and stop.kind == "finished", stop
            await runner.close()
            history = json.dumps(runner._sessions["Boss"].history)
            return runner, server.completions, history

    runner, completions, history = asyncio.run(go())
    bodies = [json.dumps(r.body) for r in completions]
    assert len(bodies) == 5
    assert "Message 0:" in bodies[0] and "Message 0:" in bodies[1]
    # The last request: the newest message, the oldest ones left out, and it fits.
    assert "Message 4:" in bodies[-1] and "Message 0:" not in bodies[-1]
    for body in bodies:
        assert estimate_tokens(body) <= 3072
    assert "Message 0:" in history  # the member's own conversation keeps every turn
    (note,) = [e for e in runner.events if e.kind == "note" and e.meta.get("member") == "Boss"]
    assert note.text.startswith("Boss's model was not sent the oldest")
    assert "4,096-token context window" in note.text
