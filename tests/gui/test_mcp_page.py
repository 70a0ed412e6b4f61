"""The MCP Servers page against a real (Python, FastMCP) MCP server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.core.mcp import ServerState
from tests.mcp.servers import fastmcp_stdio


@pytest.fixture
def mcp(make_studio, loop, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    catalogue = {
        "mcpServers": {
            "calc": fastmcp_stdio(),
            "broken": {"type": "stdio", "command": "/nonexistent/mcp-server", "enabled": False},
        },
        "x-note": "kept",
    }
    (workspace / "mcp_servers.json").write_text(json.dumps(catalogue, indent=2))
    studio = make_studio(str(workspace))
    studio.window.show_page("mcp")
    page = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    yield studio, page, workspace / "mcp_servers.json"


def _run(loop, coro):
    return loop.run_until_complete(coro)


def _select(page, name):
    page.table.selectRow(page.model.row_of(name))


def _start_calc(page, studio, loop):
    _select(page, "calc")
    page.restart_button.click()  # "Start" for a stopped server
    _run(loop, studio.tasks.wait_idle())


def test_servers_are_listed_with_their_state(mcp):
    _studio, page, _path = mcp
    rows = {page.model.status(r).name: r for r in range(page.model.rowCount())}
    assert set(rows) == {"calc", "broken"}
    index = page.model.index(rows["calc"], 0)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    broken = page.model.index(rows["broken"], 0)
    assert broken.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert page.model.index(rows["calc"], 2).data() == "stopped"
    assert page.model.index(rows["calc"], 3).data() == "stdio"


def test_start_shows_tools_and_a_test_call_works(mcp, loop):
    studio, page, _path = mcp
    _start_calc(page, studio, loop)
    status = studio.session.mcp.status("calc")
    assert status.state is ServerState.RUNNING
    assert page.model.index(page.model.row_of("calc"), 2).data() == "running"
    assert page.model.index(page.model.row_of("calc"), 4).data() == "3"
    tools = [page.tool_list.item(i).text() for i in range(page.tool_list.count())]
    assert tools == ["add", "shout", "fail"]
    page.tool_list.setCurrentRow(0)
    assert '"a"' in page.schema_view.toPlainText()
    page.form._fields["a"][1].setText("20")
    page.form._fields["b"][1].setText("22")
    page.call_button.click()
    _run(loop, studio.tasks.wait_idle())
    assert page.result.toPlainText().startswith("42")
    assert "carrier-test MCP server ready" in page.log.toPlainText()


def test_a_tool_error_is_shown_as_such(mcp, loop):
    studio, page, _path = mcp
    _start_calc(page, studio, loop)
    page.tool_list.setCurrentRow(2)
    page.form._fields["message"][1].setText("nope")
    page.call_button.click()
    _run(loop, studio.tasks.wait_idle())
    assert page.result.toPlainText().startswith("The tool reported an error")
    assert "Error executing tool fail" in page.result.toPlainText()


def test_toggling_off_stops_the_server_and_saves_only_that(mcp, loop):
    studio, page, path = mcp
    _start_calc(page, studio, loop)
    row = page.model.row_of("calc")
    page.model.setData(
        page.model.index(row, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
    )
    _run(loop, studio.tasks.wait_idle())
    assert studio.session.mcp.status("calc").state is ServerState.STOPPED
    saved = json.loads(path.read_text())
    assert saved["mcpServers"]["calc"]["enabled"] is False
    assert saved["x-note"] == "kept"
    page.model.setData(
        page.model.index(row, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole
    )
    _run(loop, studio.tasks.wait_idle())
    assert studio.session.mcp.status("calc").state is ServerState.RUNNING


def test_a_killed_server_comes_back(mcp, loop):
    studio, page, _path = mcp
    _start_calc(page, studio, loop)
    pid = studio.session.mcp.status("calc").pid
    assert pid
    states = []

    async def kill_and_wait():
        back = asyncio.Event()

        def listen(status):
            if status.name == "calc":
                states.append(status.state)
                if status.state is ServerState.RUNNING and ServerState.FAILED in states:
                    back.set()

        unsubscribe = studio.session.mcp.changed.subscribe(listen)
        os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(back.wait(), 10)
        unsubscribe()

    _run(loop, kill_and_wait())
    assert ServerState.FAILED in states and states[-1] is ServerState.RUNNING
    assert page.model.index(page.model.row_of("calc"), 2).data() == "running"


def test_add_edit_and_remove_with_validation(mcp, loop, monkeypatch):
    studio, page, path = mcp
    monkeypatch.setattr(page, "ask_server", lambda *a: ("notes", {"url": "http://127.0.0.1:9/mcp"}))
    page.add_server()
    _run(loop, studio.tasks.wait_idle())
    saved = json.loads(path.read_text())
    assert saved["mcpServers"]["notes"] == {"url": "http://127.0.0.1:9/mcp"}
    assert page.model.row_of("notes") >= 0
    monkeypatch.setattr(page, "confirm_remove", lambda name: True)
    _select(page, "notes")
    page.remove_server()
    _run(loop, studio.tasks.wait_idle())
    assert "notes" not in json.loads(path.read_text())["mcpServers"]


def test_the_server_dialog_refuses_invalid_entries(qapp):
    from carrier_studio.ui.widgets.mcp_server_dialog import ServerDialog

    dialog = ServerDialog("x", {"type": "carrier-pigeon"})
    dialog._on_accepted()
    assert not dialog.error.isHidden() and "$.mcpServers.x.type" in dialog.error.text()
    dialog.editor.setPlainText('{"command": "node", "args": "not-a-list"}')
    dialog._on_accepted()
    assert "$.mcpServers.x.args" in dialog.error.text()
    dialog.editor.setPlainText("{oops")
    dialog._on_accepted()
    assert "Not valid JSON" in dialog.error.text()
    assert dialog.result_raw is None


def test_a_broken_file_on_reload_changes_nothing(mcp, loop):
    studio, page, path = mcp
    text = '{"mcpServers": {"calc": {"command": 5}}}'
    path.write_text(text)
    page.reload()
    _run(loop, studio.tasks.wait_idle())
    assert path.read_text() == text
    errors = [m.text for m in studio.messages.history if "has an error" in m.text]
    assert errors
    assert studio.session.mcp.config("calc") is not None, "the running catalogue is kept"


def test_the_tool_policy_feeds_chat(mcp, loop):
    studio, page, _path = mcp
    _start_calc(page, studio, loop)
    page.tool_list.setCurrentRow(0)
    page.policy.setCurrentIndex(page.policy.findData("auto"))
    page.policy.activated.emit(page.policy.currentIndex())
    _run(loop, studio.tasks.wait_idle())
    assert _run(loop, studio.session.chat.conversations.remembered("*")) == {"add": "auto"}


CLAUDE = Path(__file__).parent.parent / "data" / "mcp" / "claude_desktop_config.json"
GITHUB_TOKEN = "ghp_R8xTq2LmV9sKd4Wn7YbZ1cHf6JpA3eUo5GiN"


def test_import_from_claude_desktop_previews_renames_and_moves_secrets(
    mcp, loop, tmp_path, keyring_backend
):
    studio, page, path = mcp
    page.deps.secrets = studio.session.secrets
    claude = tmp_path / "claude_desktop_config.json"
    data = json.loads(CLAUDE.read_text())
    data["mcpServers"]["calc"] = {"command": "uvx", "args": ["mcp-server-calculator"]}
    claude.write_text(json.dumps(data))
    page.ask_import_file = lambda _parent, _locations: claude
    previews = []

    async def choose(_parent, source, plan, existing, note):
        previews.append((source, {c.source_name: c for c in plan}, existing, note))
        candidates = previews[0][1]
        candidates["sequential-thinking"].choose("skip")
        return plan  # calc: the suggested rename; github: its token to the keyring

    page.ask_import = choose
    page.import_button.click()
    _run(loop, studio.tasks.wait_idle())

    source, candidates, existing, note = previews[0]
    assert source == claude and note is None and set(existing) == {"calc", "broken"}
    assert candidates["calc"].clash and candidates["calc"].name == "calc-2"
    assert candidates["github"].move_secrets
    assert any("Windows path" in w for w in candidates["filesystem"].warnings)
    text = path.read_text()
    written = json.loads(text)["mcpServers"]
    assert list(written) == [
        "calc",
        "broken",
        "filesystem",
        "github",
        "brave-search",
        "postgres",
        "calc-2",
    ]
    assert written["calc-2"]["args"] == ["mcp-server-calculator"]
    assert written["github"]["env"] == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PERSONAL_ACCESS_TOKEN}"
    }
    assert GITHUB_TOKEN not in text
    stored = keyring_backend.get_password("carrier-studio", "GITHUB_PERSONAL_ACCESS_TOKEN")
    assert stored == GITHUB_TOKEN
    assert {page.model.status(r).name for r in range(page.model.rowCount())} >= {"calc-2"}
    # The imported filesystem server names a Windows folder: its configuration says so.
    _select(page, "filesystem")
    assert not page.lint_label.isHidden()
    assert "$.mcpServers.filesystem.args[3]" in page.lint_label.text()
    assert "Windows path" in page.lint_label.text()


def test_without_a_keyring_secrets_stay_as_written_and_the_preview_says_why(mcp, loop):
    studio, page, path = mcp
    page.deps.secrets = None
    page.ask_import_file = lambda _parent, _locations: CLAUDE
    notes = []

    async def choose(_parent, _source, plan, _existing, note):
        notes.append(note)
        assert not any(c.move_secrets for c in plan)
        return [c for c in plan if c.source_name == "github"]

    page.ask_import = choose
    page.import_button.click()
    _run(loop, studio.tasks.wait_idle())
    assert "no keyring" in notes[0]
    github = json.loads(path.read_text())["mcpServers"]["github"]
    assert github["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] == GITHUB_TOKEN


def test_the_import_preview_dialog_applies_choices_and_refuses_a_taken_name(qapp, tmp_path):
    from carrier_studio.core.mcp.importing import plan_import, read_client_config
    from carrier_studio.ui.widgets.mcp_import_dialog import McpImportDialog

    existing = ["filesystem", "time"]
    plan = plan_import(read_client_config(CLAUDE.read_text()), existing, on_clash="rename")
    dialog = McpImportDialog(CLAUDE, plan, existing, secrets_note=None)
    boxes = {box.candidate.source_name: box for box in dialog.boxes}
    clash = boxes["filesystem"]
    assert clash.new_name.text() == "filesystem-2"
    clash.new_name.setText("time")
    dialog._on_accepted()
    assert dialog.error.isVisibleTo(dialog)
    assert "filesystem: time is already in the catalogue" in dialog.error.text()
    assert dialog.result() != McpImportDialog.DialogCode.Accepted
    clash.clash.setCurrentIndex(clash.clash.findData("replace"))
    assert not clash.new_name.isVisibleTo(dialog)
    boxes["github"].move.setChecked(False)
    boxes["postgres"].include.setChecked(False)
    dialog._on_accepted()
    assert dialog.result() == McpImportDialog.DialogCode.Accepted
    chosen = {c.source_name: c for c in dialog.plan()}
    assert chosen["filesystem"].action == "replace" and chosen["filesystem"].name == "filesystem"
    assert not chosen["github"].move_secrets
    assert chosen["postgres"].action == "skip"
    assert chosen["brave-search"].move_secrets

    blocked = McpImportDialog(CLAUDE, plan, existing, secrets_note="no keyring here")
    github = {b.candidate.source_name: b for b in blocked.boxes}["github"]
    assert not github.move.isEnabled() and not github.move.isChecked()
    dialog.deleteLater()
    blocked.deleteLater()


@pytest.mark.parametrize("size", [(1024, 700), (1008, 660)])
def test_the_servers_table_shows_whole_rows_at_a_small_window(mcp, qapp, size):
    """At 1024x700 (and the 1008x660 window such a screen opens) the table showed 4½ rows
    (#15): now at least five whole rows, and no part of a row at the bottom."""
    studio, page, _path = mcp
    studio.window.resize(*size)
    studio.window.show()
    qapp.processEvents()
    row = page.table.verticalHeader().defaultSectionSize()
    viewport = page.table.viewport().height()
    assert viewport // row >= 5, (viewport, row)
    assert viewport % row == 0, (viewport, row)
    # Dragging the splitter to anywhere still leaves whole rows.
    sizes = page.splitter.sizes()
    page.restore_splitter([sizes[0] + row + row // 2, sizes[1] - row - row // 2])
    qapp.processEvents()
    assert page.table.viewport().height() % row == 0, page.table.viewport().height()
    # Dragged as small as it goes, it still shows five whole rows.
    page.restore_splitter([row, sum(page.splitter.sizes()) - row])
    qapp.processEvents()
    assert page.table.viewport().height() == 5 * row, page.table.viewport().height()


TOOL = '''```python
from mcp.server.mcpserver import MCPServer

server = MCPServer("shouter")


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


if __name__ == "__main__":
    server.run()
```'''


def test_the_tool_maker_saves_a_reviewed_tool_turned_off_into_the_table(mcp, loop):
    """The tool maker sits on the MCP page (it was on Teams): what it makes is a server."""
    from carrier_studio.core.settings import CompatEndpoint, ModelChoice
    from tests.fakes import running_server, text

    studio, page, config = mcp
    assert page.tool_button.isEnabled() and page.tool_button.isVisibleTo(page)
    with running_server() as llm:
        providers = studio.session.settings.settings.providers
        providers.endpoints = [CompatEndpoint(name="local", base_url=llm.openai_base_url)]
        providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
        llm.script(text(TOOL))
        dialog = page.open_tool_maker()
        dialog.description.setPlainText("Shout a text back in capitals.")
        dialog.write_button.click()
        _run(loop, studio.tasks.wait_idle())
    assert "def shout" in dialog.code.toPlainText() and dialog.save_button.isEnabled()
    assert "shouter" in dialog.status.text()
    accepted = []
    dialog.accepted.connect(lambda: accepted.append(True))
    dialog.save_button.click()
    _run(loop, studio.tasks.wait_idle())
    assert accepted == [True], "the dialog closed as accepted"
    tools = studio.session.workspace.paths.tools_dir
    assert (tools / "shouter.py").read_text().startswith("from mcp.server.mcpserver import")
    saved = json.loads(config.read_text())
    assert saved["mcpServers"]["shouter"]["enabled"] is False and saved["x-note"] == "kept"
    assert "shouter" in studio.session.mcp.configured
    assert page.model.row_of("shouter") >= 0, "the table lists the new server"


def test_a_servers_secrets_are_set_on_its_own_entry(make_studio, loop, tmp_path, keyring_backend):
    """#15: the GitHub server said "add it in Settings (secrets)"; its entry now has a field for
    each ${VAR} it uses (not the ones the studio fills), saved to the secret store."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    github = {
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-github", "${WORKSPACE}"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PERSONAL_ACCESS_TOKEN}"},
        "enabled": False,
    }
    catalogue = {"mcpServers": {"calc": fastmcp_stdio(), "github": github}}
    (workspace / "mcp_servers.json").write_text(json.dumps(catalogue))
    studio = make_studio(str(workspace))
    studio.window.show_page("mcp")
    page = studio.window.page("mcp")
    _run(loop, studio.tasks.wait_idle())
    _select(page, "calc")
    _run(loop, studio.tasks.wait_idle())
    assert page.server_secrets.isHidden(), "calc uses no secret"
    _select(page, "github")
    _run(loop, studio.tasks.wait_idle())
    box = page.server_secrets
    assert list(box.fields) == ["GITHUB_PERSONAL_ACCESS_TOKEN"], "no field for WORKSPACE"
    assert box.note.text() == "Not set: GITHUB_PERSONAL_ACCESS_TOKEN"
    assert not box.save_button.isEnabled()
    QTest.keyClicks(
        box.fields["GITHUB_PERSONAL_ACCESS_TOKEN"].edit, "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    )
    box.save_button.click()
    _run(loop, studio.tasks.wait_idle())
    stored = keyring_backend.entries[("carrier-studio", "GITHUB_PERSONAL_ACCESS_TOKEN")]
    assert stored == "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    assert box.note.text() == "" and box.fields["GITHUB_PERSONAL_ACCESS_TOKEN"].edit.text() == ""
    assert box.fields["GITHUB_PERSONAL_ACCESS_TOKEN"].source == "keyring"
    assert "ghp_" not in (workspace / "mcp_servers.json").read_text()


def test_another_tool_or_server_clears_the_last_result(mcp, loop):
    studio, page, _path = mcp
    _start_calc(page, studio, loop)
    assert page.heading.text() == "calc"  # names the server the tabs are about
    page.tool_list.setCurrentRow(1)
    page.form._fields["text"][1].setText("hi")
    page.call_button.click()
    _run(loop, studio.tasks.wait_idle())
    assert page.result.toPlainText().startswith("HI!")
    page.tool_list.setCurrentRow(0)
    assert page.result.toPlainText() == ""
    page.tool_list.setCurrentRow(1)
    page.form._fields["text"][1].setText("hi")
    page.call_button.click()
    _run(loop, studio.tasks.wait_idle())
    assert page.result.toPlainText().startswith("HI!")
    _select(page, "broken")
    assert page.heading.text() == "broken"
    _select(page, "calc")
    assert page.result.toPlainText() == ""


def test_a_tools_fields_keep_their_height_at_1024x700(mcp, loop, qapp):
    """Four fields and a long description at 1024x700 were squashed to 8 px strips: the
    form scrolls instead."""
    studio, page, _path = mcp
    studio.window.resize(1008, 660)
    studio.window.show()
    _start_calc(page, studio, loop)
    names = ["message", "url", "elicitationId", "note", "extra", "more"]
    schema = {"type": "object", "properties": {n: {"type": "string"} for n in names}}
    page.tool_description.setText("<b>many</b> — " + "A long description. " * 20)
    page.form.set_schema(schema)
    for _ in range(3):  # the new rows' layout requests travel up one widget per pass
        qapp.processEvents()
    for name in names:
        field = page.form._fields[name][1]
        assert field.height() >= field.minimumSizeHint().height(), (name, field.height())
    assert page.result.height() >= 80


def test_on_a_big_screen_the_table_shows_every_server(make_studio, loop, qapp, tmp_path):
    """At 2560x1440 the table showed six of eight rows and scrolled, a thousand empty pixels
    below; the selected server stays in view and the heading names it."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    off = {"type": "stdio", "command": "/nonexistent/mcp-server", "enabled": False}
    names = [f"server{i}" for i in range(8)]
    catalogue = {"mcpServers": {name: off for name in names}}
    (workspace / "mcp_servers.json").write_text(json.dumps(catalogue))
    studio = make_studio(str(workspace))
    studio.window.resize(2560, 1400)
    studio.window.show()
    studio.window.show_page("mcp")
    page = studio.window.page("mcp")
    _run(loop, studio.tasks.wait_idle())
    qapp.processEvents()
    row = page.table.verticalHeader().defaultSectionSize()
    assert page.table.viewport().height() >= 8 * row, page.table.viewport().height()
    assert not page.table.verticalScrollBar().isVisible()
    # At 1008x660 fewer fit; the selected one is scrolled into view.
    studio.window.resize(1008, 660)
    qapp.processEvents()
    _select(page, "server7")
    qapp.processEvents()
    rect = page.table.visualRect(page.model.index(page.model.row_of("server7"), 1))
    assert page.table.viewport().rect().contains(rect), rect
    assert page.heading.text() == "server7"
    # A size the user chose is kept and handed back for the next start.
    page.restore_splitter([5 * row + 40, 400])
    assert page.splitter_sizes() and page.splitter_sizes() == page.splitter.sizes()


def test_the_splitter_the_user_dragged_survives_a_restart(mcp, make_studio, loop, qapp):
    studio, page, path = mcp
    studio.window.resize(1440, 900)
    studio.window.show()
    qapp.processEvents()
    row = page.table.verticalHeader().defaultSectionSize()
    total = sum(page.splitter.sizes())
    page.restore_splitter([page._table_height(8), total - page._table_height(8)])
    chosen = page.splitter.sizes()
    _run(loop, studio.shutdown())
    again = make_studio(str(path.parent))
    again.window.resize(1440, 900)
    again.window.show()
    again.window.show_page("mcp")
    qapp.processEvents()
    assert again.session.settings.settings.ui.mcp_splitter == chosen
    # Larger than the five rows it opens with (within a row: a narrow test screen's sideways
    # scrollbar takes part of a row, snapped away).
    restored = again.window.page("mcp").splitter.sizes()[0]
    assert abs(restored - chosen[0]) <= row and restored > page._table_height(6), restored
