"""The Teams page on a running studio: import a HAAS folder, run the team against a scripted
model server, watch edges light and the transcript fill, stop a team mid-turn; build a team
from characters and edit it. (The tool maker is on the MCP page: tests/gui/test_mcp_page.py.)"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.services.teams.service import TeamService
from carrier_studio.ui.pages.teams import TeamsPage
from tests.fakes import hang, running_server, text, tool_call
from tests.helpers.waiting import wait_until

DATA = Path(__file__).parent.parent / "data" / "teams"


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
    assert page.stack.currentWidget() is page.empty
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
        # Pong is waiting for the model (after the run's one model listing).
        await asyncio.to_thread(llm.wait_until, lambda: len(llm.completions) >= 3)
        page.stop_button.click()
        await studio.tasks.wait_idle()

    loop.run_until_complete(stop_when_pong_thinks())
    assert page.status_label.text() == "Stopped by the user."
    rows = [page.transcript.item(i).text() for i in range(page.transcript.count())]
    assert "Ping → Pong: Hello!" in rows and rows[-1] == "Stopped by the user."
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()


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


def characters(studio, *names: str) -> None:
    from carrier_studio.core.characters.document import CharacterDoc

    store = studio.session.characters
    for name in set(names) - set(store.names()):  # the examples may be there already
        store.create(CharacterDoc.new(name))


def open_builder(page, loop, button):
    button.click()
    wait_until(loop, lambda: page.builder is not None and page.builder.isVisible())
    return page.builder


def test_the_empty_page_says_what_a_team_is_and_builds_one(world, loop):
    studio, page, _llm = world
    characters(studio, "Ada", "Mira", "Juniper")
    assert page.stack.currentWidget() is page.empty
    assert "No team yet" in page.empty_text.text() and page.empty_import.isVisibleTo(page)

    builder = open_builder(page, loop, page.empty_new)
    save = builder.buttons.button(builder.buttons.StandardButton.Save)
    assert not save.isEnabled() and "needs a name" in builder.problems.text()
    builder.name.setText("Review desk")
    for i in range(builder.members.count()):
        if builder.members.item(i).text() in ("Ada", "Mira"):
            builder.members.item(i).setCheckState(Qt.CheckState.Checked)
    assert builder.grid.rowCount() == 2 and builder.entry.currentText() == "Ada"
    # Mira is reached by nobody, reaches nobody and shares no channel: refused, with where.
    assert not save.isEnabled() and "Mira is cut off" in builder.problems.text()
    builder.set_talks("Ada", "Mira")
    builder.set_talks("Mira", "Ada")
    builder.set_channels("Ada", "#desk, news")
    builder.set_channels("Mira", "desk")
    builder.init_message.setPlainText("Review the draft.")
    builder.budget.setValue(12)
    assert save.isEnabled() and not builder.problems.isVisibleTo(builder)
    save.click()
    loop.run_until_complete(studio.tasks.wait_idle())

    assert page.builder is None and page.picker.currentText() == "Review desk"
    assert page.stack.currentWidget() is not page.empty
    assert page.graph.nodes() == ["USER", "Ada", "Mira"]
    assert {("Ada", "Mira"), ("Mira", "Ada"), ("Ada", "USER")} <= set(page.graph.edges())
    saved = json.loads((studio.session.teams.folder / "review-desk.json").read_text())
    assert saved["members"] == [
        {"name": "Ada", "talksTo": ["Mira"], "channels": ["desk", "news"]},
        {"name": "Mira", "talksTo": ["Ada"], "channels": ["desk"]},
    ]
    assert saved["turnBudget"] == 12 and saved["initMessage"] == "Review the draft."
    assert saved["entry"] == "Ada"


def test_a_team_is_edited_in_place_keeping_unknown_keys(world, loop, monkeypatch):
    studio, page, _llm = world
    import_folder(page, loop, studio, monkeypatch, "desk")
    characters(studio, "Critic")
    path = studio.session.teams.folder / "desk.json"
    data = json.loads(path.read_text())
    data["x-note"] = "kept"
    path.write_text(json.dumps(data))
    loop.run_until_complete(page.reload(select="desk"))

    builder = open_builder(page, loop, page.edit_button)
    assert builder.name.text() == "desk" and builder.chosen() == ["Boss", "Worker"]
    for i in range(builder.members.count()):
        if builder.members.item(i).text() == "Critic":
            builder.members.item(i).setCheckState(Qt.CheckState.Checked)
    # The ticks already made survive a change of members.
    assert builder.team().member("Boss").talks_to == ("Worker",)
    builder.set_talks("Worker", "Critic")
    builder.budget.setValue(5)
    builder.buttons.button(builder.buttons.StandardButton.Save).click()
    loop.run_until_complete(studio.tasks.wait_idle())

    assert sorted(p.name for p in studio.session.teams.folder.glob("*.json")) == ["desk.json"]
    saved = json.loads(path.read_text())
    assert saved["x-note"] == "kept" and saved["turnBudget"] == 5
    assert [m["name"] for m in saved["members"]] == ["Boss", "Worker", "Critic"]
    assert ("Worker", "Critic") in page.graph.edges()


def test_a_new_team_cannot_take_another_teams_name(world, loop, monkeypatch):
    studio, page, _llm = world
    import_folder(page, loop, studio, monkeypatch, "desk")
    before = (studio.session.teams.folder / "desk.json").read_text()
    builder = open_builder(page, loop, page.new_button)
    builder.name.setText("desk")
    for i in range(builder.members.count()):
        if builder.members.item(i).text() == "Boss":
            builder.members.item(i).setCheckState(Qt.CheckState.Checked)
    builder.buttons.button(builder.buttons.StandardButton.Save).click()
    # The builder comes back with the error, and desk.json is untouched.
    wait_until(
        loop, lambda: any("already a team called" in m.text for m in studio.messages.history)
    )
    assert builder.isVisible() and builder.name.text() == "desk"
    assert (studio.session.teams.folder / "desk.json").read_text() == before
    builder.reject()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert page.builder is None


def test_a_member_on_a_small_window_goes_without_its_big_server_and_the_page_says_so(
    make_studio, loop, monkeypatch
):
    """llama.cpp -c 4096 and a worker with a ≈2,500-token MCP server: the run takes the
    window the chat learned (no listing of its own), leaves the server out of the worker's
    requests, and the transcript says so."""
    from tests.mcp.servers import fastmcp_stdio

    with running_server(models=("m",)) as llm:
        studio = make_studio(start=False)
        providers = studio.session.settings.settings.providers
        providers.endpoints = [CompatEndpoint(name="local", base_url=llm.openai_base_url)]
        providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
        root = studio.session.workspace.root
        catalogue = {"mcpServers": {"files": fastmcp_stdio("--big")}}
        (root / "mcp_servers.json").write_text(json.dumps(catalogue))
        loop.run_until_complete(studio.start())
        page, _teams = teams_page(studio)
        loop.run_until_complete(studio.tasks.wait_idle())
        try:
            import_folder(page, loop, studio, monkeypatch, "desk")
            worker = next((root / "characters").glob("worker*.json"))
            data = json.loads(worker.read_text())
            data.update(mcp_servers=["files"], tool_policy={"read_everything": "auto"})
            worker.write_text(json.dumps(data))
            llm.model_fields["m"] = {"meta": {"n_ctx": 4096}}
            # The chat (or the Discord bot) learned the window already.
            learned = studio.session.chat.context_windows(providers.default)
            assert loop.run_until_complete(learned) == {"m": 4096}
            listings = sum(r.method == "GET" for r in llm.requests)
            llm.script(
                tool_call("assign_task", {"to": "Worker", "task": "Compute 6 * 7."}),
                text("Asked Worker."),
                tool_call("resolve_task", {"task_id": "T1", "result": "42"}),
                text("Done."),
                text("The answer is 42."),
            )
            page.start_button.click()
            loop.run_until_complete(studio.tasks.wait_idle())
            rows = [page.transcript.item(i).text() for i in range(page.transcript.count())]
            assert rows[-1].startswith("Finished"), rows
            (note,) = [r for r in rows if r.startswith("Worker goes without the tools of files")]
            assert "4,096-token context window" in note
            worker_calls = [
                r for r in llm.completions if "You do the work you are given" in json.dumps(r.body)
            ]
            assert worker_calls
            for request in worker_calls:
                offered = [t["function"]["name"] for t in request.body["tools"]]
                assert "read_everything" not in offered and "resolve_task" in offered
            # The run asked the server nothing: it took the chat's answer.
            assert sum(r.method == "GET" for r in llm.requests) == listings
        finally:
            loop.run_until_complete(page.shutdown())
