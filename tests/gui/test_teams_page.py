"""The Teams page on a running studio: import a HAAS folder, run the team against a scripted
model server, watch edges light and the transcript fill, stop a team mid-turn, make a tool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.services.teams.service import TeamService
from carrier_studio.ui.pages.teams import TeamsPage
from tests.fakes import hang, running_server, text, tool_call
from tests.helpers.waiting import wait_until

DATA = Path(__file__).parent.parent / "data" / "teams"

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


def teams_page(studio) -> tuple[TeamsPage, TeamService]:
    """The page as the window builds it (app.py's factory), shown."""
    studio.window.show_page("teams")
    return studio.window.page("teams"), studio.session.teams


@pytest.fixture
def world(make_studio, loop, monkeypatch):
    with running_server() as llm:
        studio = make_studio()
        providers = studio.session.settings.settings.providers
        providers.endpoints = [CompatEndpoint(name="local", base_url=llm.openai_base_url)]
        providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
        page, teams = teams_page(studio)
        loop.run_until_complete(studio.tasks.wait_idle())
        yield studio, page, llm
        loop.run_until_complete(page.shutdown())


def import_folder(page, loop, studio, monkeypatch, folder: str) -> None:
    monkeypatch.setattr(TeamsPage, "ask_folder", staticmethod(lambda _parent: str(DATA / folder)))
    page.import_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())


def test_import_start_edges_light_and_the_transcript_fills(world, loop, monkeypatch):
    studio, page, llm = world
    assert "import a folder" in page.status_label.text()
    import_folder(page, loop, studio, monkeypatch, "desk")
    assert page.picker.currentText() == "desk"
    assert page.graph.nodes() == ["USER", "Boss", "Worker"]
    assert {("Boss", "Worker"), ("Worker", "Boss"), ("USER", "Boss"), ("Boss", "USER")} <= set(
        page.graph.edges()
    )
    llm.script(
        tool_call("assign_task", {"to": "Worker", "task": "Compute 6 * 7."}),
        text("Asked Worker."),
        tool_call("calculate", {"expression": "6 * 7"}),
        tool_call("resolve_task", {"task_id": "T1", "result": "42"}),
        text("Done."),
        tool_call("send_message", {"to": "USER", "text": "The answer is 42."}),
        text("Reported."),
    )
    lit: list[set] = []
    flash = page.graph.flash
    monkeypatch.setattr(
        page.graph, "flash", lambda s, r: (flash(s, r), lit.append(page.graph.lit_edges()))
    )
    page.start_button.click()
    assert page.stop_button.isEnabled() and not page.start_button.isEnabled()
    loop.run_until_complete(studio.tasks.wait_idle())
    rows = [page.transcript.item(i).text() for i in range(page.transcript.count())]
    assert "Boss → Worker (task T1): Compute 6 * 7." in rows
    assert "Worker → Boss (result of T1): 42" in rows
    assert "Boss → USER: The answer is 42." in rows
    assert "Worker used calculate: 42" in rows
    assert rows[-1].startswith("Finished")
    assert page.status_label.text().startswith("Finished")
    # Each message lit its edge as it passed.
    assert ("Boss", "Worker") in lit[1] and ("Worker", "Boss") in lit[3]
    assert page.graph.counts[("Boss", "Worker")] == 1
    assert page.graph.counts[("Boss", "USER")] == 2  # the reply and the report
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()

    # The transcript was stored: picking the team again shows it from studio.db.
    loop.run_until_complete(page.reload(select="desk"))
    loop.run_until_complete(studio.tasks.wait_idle())
    again = [page.transcript.item(i).text() for i in range(page.transcript.count())]
    assert again == rows

    # The user speaks as USER: the entry member answers on the next turn.
    llm.script(text("You are welcome."))
    page.user_input.setText("Thanks, Boss!")
    page.send_button.click()
    wait_until(
        loop,
        lambda: any(
            "You are welcome." in page.transcript.item(i).text()
            for i in range(page.transcript.count())
        ),
    )
    loop.run_until_complete(studio.tasks.wait_idle())
    rows = [page.transcript.item(i).text() for i in range(page.transcript.count())]
    assert "USER → Boss: Thanks, Boss!" in rows and "Boss → USER: You are welcome." in rows


def test_stop_ends_a_running_team(world, loop, monkeypatch):
    studio, page, llm = world
    import_folder(page, loop, studio, monkeypatch, "chatter")
    assert page.picker.currentText() == "chatter"
    llm.script(tool_call("send_message", {"to": "Pong", "text": "Hello!"}), text("ok"), hang())
    page.start_button.click()

    async def stop_when_pong_thinks() -> None:
        await asyncio.to_thread(llm.wait_for_requests, 3)  # Pong is waiting for the model
        page.stop_button.click()
        await studio.tasks.wait_idle()

    loop.run_until_complete(stop_when_pong_thinks())
    assert page.status_label.text() == "Stopped by the user."
    rows = [page.transcript.item(i).text() for i in range(page.transcript.count())]
    assert "Ping → Pong: Hello!" in rows and rows[-1] == "Stopped by the user."
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()


def test_the_tool_maker_dialog_saves_a_reviewed_tool_turned_off(world, loop):
    studio, page, llm = world
    llm.script(text(TOOL))
    dialog = page.open_tool_maker()
    dialog.description.setPlainText("Shout a text back in capitals.")
    dialog.write_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert "def shout" in dialog.code.toPlainText() and dialog.save_button.isEnabled()
    assert "shouter" in dialog.status.text()
    accepted = []
    dialog.accepted.connect(lambda: accepted.append(True))
    dialog.save_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert accepted == [True], "the dialog closed as accepted"
    tools = studio.session.workspace.paths.tools_dir
    assert (tools / "shouter.py").read_text().startswith("from mcp.server.mcpserver import")
    entry = json.loads(studio.session.workspace.paths.mcp_config.read_text())["mcpServers"][
        "shouter"
    ]
    assert entry["enabled"] is False
    assert "shouter" in studio.session.mcp.configured, "the MCP page sees it at once"


def test_the_import_result_says_what_changed_per_member(world, loop, monkeypatch):
    studio, page, _llm = world
    assert not page.import_report.isVisibleTo(page)
    import_folder(page, loop, studio, monkeypatch, "newsroom")
    assert page.picker.currentText() == "newsroom"
    assert page.import_report.isVisibleTo(page)
    lines = page.import_report.text().splitlines()
    assert lines[0] == "What importing newsroom changed:"
    editor, reporter, publisher = lines[1:]
    assert editor.startswith("• Editor: rendered editor.md as a Jinja template (included")
    assert "renamed the tool sendMessage to send_message" in editor
    assert "dropped the tools web_search" in reporter
    assert "end of the pipeline" in publisher
