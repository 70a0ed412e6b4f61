"""A character test on a small local model fits its MCP tools as the chat does: the tested
character and each character it hands off to go without the largest servers' tools that leave
no room for a conversation, and the run's record says which (real npm server-filesystem)."""

from __future__ import annotations

import json

import pytest

from carrier_studio.core.runtime.context_budget import estimate_tokens
from tests.fakes import text, tool_call
from tests.mcp.servers import node_servers
from tests.services.test_scenario_runner import MODEL, _calls, _open, go, scenario


async def _small_model(tmp_path, keyring_backend):
    """A workspace on a server stating a 4,096-token window (llama.cpp's listing), Ada with the
    real npm server-filesystem: (server, workspace, MCP manager)."""
    from carrier_studio.services.mcp import McpManager

    fs = node_servers().filesystem_stdio(str(tmp_path))
    (tmp_path / "mcp_servers.json").write_text(json.dumps({"mcpServers": {"fs": fs}}))
    server, ws = await _open(tmp_path, keyring_backend)
    server.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}
    ws.edit_character("ada.json", mcp_servers=["fs"])
    manager = McpManager(tmp_path / "mcp_servers.json", lambda name: None)
    ws.mcp = manager
    return server, ws, manager


#: server-filesystem's tools, a few of them: ≈3,000 tokens of descriptions in all.
FS_TOOLS = ("read_text_file", "list_directory", "write_file")


@pytest.mark.parametrize(
    ("tested", "named"), [("Ada", "fs"), ("Orchestrator", "Ada's fs")], ids=["own", "handoff"]
)
def test_a_small_window_leaves_the_largest_servers_tools_out_and_the_record_says_so(
    tmp_path, keyring_backend, tested, named
):
    async def run():
        server, ws, manager = await _small_model(tmp_path, keyring_backend)
        path = ws.root / "scenarios" / "small.yaml"
        if tested == "Orchestrator":
            server.script(tool_call("transfer_to_ada", {}), text("Ada here: on it."))
        else:
            server.script(text("Ada here: on it."))
        checked = scenario(path, ("Read my notes", [("contains", "on it")]), character=tested)
        try:
            service = ws.service()
            (record,) = await service.run([checked], [MODEL])
            started = manager.active
            (stored,) = await service.latest()
            return record, stored, started, [json.dumps(r.body) for r in _calls(server)]
        finally:
            await manager.shutdown()
            await ws.db.close()
            await server.close()

    record, stored, started, bodies = go(run())
    assert record.error is None, record.error
    assert started == ["fs"] and record.passed, record.verdicts
    # The request Ada answers (after the Orchestrator's handoff, or her own): no fs tools, and
    # about what llama.cpp would count fits the 4096 window less the reply's reserve.
    ada = bodies[-1]
    assert "You are Ada" in ada and not any(name in ada for name in FS_TOOLS)
    assert estimate_tokens(ada) <= 3072
    (note,) = record.notes
    assert note.startswith(f"{named} is left out of this model's requests")
    assert "4,096-token context window" in note
    assert stored.notes == record.notes  # kept with the run in studio.db


def test_a_replay_fits_the_requests_to_the_window_the_recording_was_made_on(
    tmp_path, keyring_backend
):
    """Recorded on a 4,096-token local model (fs left out), replayed in CI with no server to
    ask: the replay is fitted to the window kept in the cassette, so it offers the model the
    same tools and its record says the same, instead of the 8,192 an unknown model is taken
    for."""

    async def run():
        server, ws, manager = await _small_model(tmp_path, keyring_backend)
        path = ws.root / "scenarios" / "small.yaml"
        server.script(text("Ada here: on it."))
        checked = scenario(path, ("Read my notes", [("contains", "on it")]))
        try:
            (recorded,) = await ws.service().run([checked], [MODEL], mode="record")
        finally:
            await manager.shutdown()
            await server.close()  # a replay asks no server
        try:
            ws.mcp = None
            (replayed,) = await ws.service().run([checked], [MODEL], mode="replay")
            return recorded, replayed, path
        finally:
            await ws.db.close()

    recorded, replayed, path = go(run())
    assert recorded.error is None and replayed.error is None, (recorded.error, replayed.error)
    (cassette,) = path.parent.glob("small.*.cassette.json")
    assert json.loads(cassette.read_text())["windows"] == {"test-model": 4096}
    assert recorded.notes and replayed.notes == recorded.notes
    assert "4,096-token context window" in replayed.notes[0]
