"""The Tests page on the real ScenarioService, through the chat runtime and the real OpenAI
client, against two scripted servers (one per model); and "Save as test" from the Chat page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.core.runtime.transcript import AssistantText, UserText
from carrier_studio.core.scenarios.loader import load_scenario
from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.ui.models.run_grid import RecordRole
from tests.fakes import Hang, running_server, text
from tests.gui.test_layouts import _problems
from tests.helpers.waiting import wait_until

ALPHA = "openai-compatible:alpha@a"
BETA = "openai-compatible:beta@b"
GREETS = """version: 1
name: greets
character: Ada
turns:
  - user: Hi Ada
    expect:
      - contains: hello
"""
CROISSANT = """version: 1
name: croissant
character: Ada
turns:
  - user: What do you bake?
    expect:
      - contains: hello
      - contains: croissant
"""
BROKEN = """version: 1
character: Ada
turns:
  - user: hi
    expect:
      - contain: hello
"""


@pytest.fixture
def servers():
    with running_server() as a, running_server() as b:
        yield a, b


@pytest.fixture
def studio(make_studio, loop, servers):
    a, b = servers
    studio = make_studio(start=False)
    settings = studio.session.settings.settings
    settings.providers.endpoints = [
        CompatEndpoint(name="a", base_url=a.openai_base_url, models=["alpha"]),
        CompatEndpoint(name="b", base_url=b.openai_base_url, models=["beta"]),
    ]
    settings.providers.default = ModelChoice(
        provider="openai-compatible", model="alpha", endpoint="a"
    )
    settings.ui.test_models = [ALPHA, BETA]  # chosen last time
    root = studio.session.workspace.root
    for path in (root / "characters").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("model", None)
        data.pop("mcp_servers", None)  # no npm servers here
        path.write_text(json.dumps(data, indent=2))
    folder = root / "scenarios"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()  # only this test's scenarios
    (folder / "greets.yaml").write_text(GREETS)
    (folder / "croissant.yaml").write_text(CROISSANT)
    (folder / "broken.yaml").write_text(BROKEN)
    loop.run_until_complete(studio.start())
    # The Characters page loads as the window starts: let it finish inside the running loop.
    loop.run_until_complete(studio.tasks.wait_idle())
    return studio


def _tests_page(studio, loop):
    studio.window.show_page("tests")
    page = studio.window.page("tests")
    loop.run_until_complete(studio.tasks.wait_idle())
    return page


def test_a_matrix_runs_live_and_a_failing_cell_marks_its_expectation(studio, loop, servers, qtbot):
    a, b = servers
    for _ in range(2):
        a.script(text("Hello! I bake a croissant every morning."))
        b.script(text("Hello! I bake bread."))
    studio.window.resize(1008, 660)
    page = _tests_page(studio, loop)

    assert page.checked_models() == [ALPHA, BETA]  # the choice that survived the restart
    broken = [i.text(0) for i in page.tree.items() if "broken" in i.text(0)]
    assert broken and broken[0].startswith("broken.yaml:6:"), broken  # file:line, not hidden
    assert 'did you mean "contains"' in broken[0]
    item = next(i for i in page.tree.items() if "broken" in i.text(0))
    page.tree.setCurrentItem(item)  # the list cuts the error short; the pane says it whole
    assert "This file cannot be run\nbroken.yaml:6:" in page.transcript.toPlainText()
    page.tree.clearSelection()

    page.tree.selectAll()
    studio.window.activateWindow()
    page.tree.setFocus()
    wait_until(loop, page.tree.hasFocus)
    QTest.keyClick(page.tree, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert page.running and page.stop_button.isEnabled()
    grid = page.grid_model
    failing = grid.index(0, 1)  # croissant on beta, picked while it waits for its result
    page.grid.setCurrentIndex(failing)
    assert page.transcript.toPlainText() == "This cell has no result yet."
    wait_until(loop, lambda: not page.running, timeout=60)
    loop.run_until_complete(studio.tasks.wait_idle())

    cells = {
        (
            grid.headerData(r, Qt.Orientation.Vertical),
            grid.headerData(c, Qt.Orientation.Horizontal),
        ): grid.index(r, c).data()
        for r in range(grid.rowCount())
        for c in range(grid.columnCount())
    }
    assert {k: v.split()[0] + " " + v.split()[1] for k, v in cells.items()} == {
        ("croissant", "alpha at a"): "✓ pass",
        ("croissant", "beta at b"): "✗ 1",
        ("greets", "alpha at a"): "✓ pass",
        ("greets", "beta at b"): "✓ pass",
    }
    assert " tok" in cells[("greets", "alpha at a")]
    assert page.state.text() == "4 runs: 3 passed, 1 failed"
    assert not _problems(page, "tests")  # the filled grid still fits a 1024x700 screen

    assert failing.data(RecordRole).model == "beta (openai-compatible at b)"
    shown = page.transcript.toPlainText()  # filled in as the result came
    # The failed expectation is marked with its file and line (the `- contains: croissant`).
    assert 'Failed expectations\n✗ contains "croissant" croissant.yaml:8' in shown
    assert "What do you bake?" in shown and "Hello! I bake bread." in shown
    assert "No earlier run of this scenario on this model." in shown

    # A second run of the same cell says what changed since the first.
    a.script(text("Hello! Croissants, always."))
    b.script(text("Hello! A croissant, today."))
    page.run(page.scenarios([page.scenarios()[0].path]))  # croissant.yaml only
    wait_until(loop, lambda: not page.running, timeout=60)
    loop.run_until_complete(studio.tasks.wait_idle())
    page.grid.setCurrentIndex(page.grid_model.index(0, 1))
    loop.run_until_complete(studio.tasks.wait_idle())
    shown = page.transcript.toPlainText()
    assert "Was fail, now pass." in shown
    assert "contains at croissant.yaml:8 now holds" in shown


def test_save_as_test_writes_a_scenario_the_loader_reads_and_opens_it(studio, loop, servers):
    chat = studio.session.chat.conversations

    async def conversation() -> int:
        conversation_id = await chat.create("Ada")
        await chat.rename(conversation_id, "Baking talk")
        for item in (
            UserText("What do you bake?"),
            AssistantText("Croissants, mostly.", "Ada", final=True),
            UserText("Why?"),
            AssistantText("The layers.", "Ada", final=True),
        ):
            await chat.add_item(conversation_id, item)
        return conversation_id

    loop.run_until_complete(conversation())
    studio.window.show_page("chat")
    page = studio.window.page("chat")
    loop.run_until_complete(studio.tasks.wait_idle())
    page.character.setCurrentText("Ada")
    wait_until(loop, lambda: page.thread is not None and page.thread.character == "Ada")
    loop.run_until_complete(studio.tasks.wait_idle())

    asked: list[str] = []

    class Answers:
        @staticmethod
        def text(_parent, _title, _label, value):
            asked.append(f"name {value}")
            return value

        @staticmethod
        def confirm(_parent, _title, question, _action):
            asked.append(question)
            return False  # keep the file that is there

    page.save_test.ask = Answers
    page.save_test.ask_open = lambda _parent, path: asked.append(f"open {path.name}") or True
    QTest.mouseClick(page.save_test_button, Qt.MouseButton.LeftButton)
    wait_until(loop, lambda: studio.window.current_page_key() == "tests")
    loop.run_until_complete(studio.tasks.wait_idle())

    saved = studio.session.workspace.root / "scenarios" / "baking-talk.yaml"
    assert asked == ["name baking-talk.yaml", "open baking-talk.yaml"]
    scenario = load_scenario(saved)
    assert scenario.character == "Ada" and scenario.name == "Baking talk"
    assert [t.user for t in scenario.turns] == ["What do you bake?", "Why?"]
    tests = studio.window.page("tests")
    assert tests.selected_paths() == [saved]

    # Saving again under the same name asks first, and "no" leaves the file as it was.
    before = saved.read_text()
    saved.write_text(before + "# edited by hand\n")
    asked.clear()
    studio.window.show_page("chat")
    page.save_as_test()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert asked == [
        "name baking-talk.yaml",
        "baking-talk.yaml is already in the scenarios folder. Replace it?",
    ]
    assert saved.read_text().endswith("# edited by hand\n")

    # Under another file name it is a test of its own, with a name of its own.
    Answers.text = staticmethod(lambda *_args: "baking-copy")
    page.save_as_test()
    loop.run_until_complete(studio.tasks.wait_idle())
    copy = load_scenario(saved.with_name("baking-copy.yaml"))
    assert copy.name == "Baking talk (baking-copy)"


def test_the_saved_file_name_must_stay_in_the_folder(studio, loop):
    from carrier_studio.core.errors import ConfigError
    from carrier_studio.services.scenarios.files import ScenarioFiles

    files = ScenarioFiles(Path(studio.session.workspace.root) / "scenarios")
    for bad in ("../x", ".hidden", "a/b.yaml", ""):
        with pytest.raises(ConfigError, match="not a file name"):
            files.path_for(bad)
    assert files.path_for("ok").name == "ok.yaml"


def test_stop_ends_a_running_matrix_and_says_which_cells_did_not_run(studio, loop, servers):
    a, b = servers
    a.script(Hang(), Hang())
    b.script(Hang(), Hang())
    page = _tests_page(studio, loop)
    page.run_all()
    wait_until(loop, lambda: len(a.requests) + len(b.requests) >= 2, timeout=30)
    QTest.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    wait_until(loop, lambda: not page.running, timeout=10)
    loop.run_until_complete(studio.tasks.wait_idle())
    grid = page.grid_model
    shown = {grid.index(r, c).data() for r in range(grid.rowCount()) for c in range(2)}
    assert shown == {"stopped"}
    assert page.state.text() == "Stopped after 0 of 4 runs"
    assert page.run_button.isEnabled() and not page.stop_button.isEnabled()


def test_the_chosen_models_are_remembered_in_the_settings_file(studio, loop, app_paths):
    from carrier_studio.services.platform.settings_store import read_settings

    page = _tests_page(studio, loop)
    beta = next(
        page.models.item(i)
        for i in range(page.models.count())
        if page.models.item(i).data(Qt.ItemDataRole.UserRole) == BETA
    )
    beta.setCheckState(Qt.CheckState.Unchecked)
    path = app_paths.settings_file
    wait_until(loop, lambda: path.exists() and read_settings(path).ui.test_models == [ALPHA])
    loop.run_until_complete(studio.tasks.wait_idle())
    assert [page.grid_model.headerData(0, Qt.Orientation.Horizontal)] == ["alpha at a"]
    # A theme switch repaints the list's broken files in the new theme's red.
    studio.theme.set_choice("dark" if studio.theme.scheme == "light" else "light")
    broken = next(i for i in page.tree.items() if "broken" in i.text(0))
    assert broken.foreground(0).color().name().upper() == studio.theme.color("error").upper()


def test_record_then_replay_gives_the_same_grid_without_asking_the_servers(studio, loop, servers):
    a, b = servers
    for _ in range(2):
        a.script(text("Hello! I bake a croissant every morning."))
        b.script(text("Hello! I bake bread."))
    page = _tests_page(studio, loop)

    def run(mode: str) -> dict[tuple[int, int], str]:
        page.mode.setCurrentIndex(page.mode.findData(mode))
        page.run_all()
        wait_until(loop, lambda: not page.running, timeout=60)
        loop.run_until_complete(studio.tasks.wait_idle())
        grid = page.grid_model
        return {
            (r, c): grid.index(r, c).data().split("\n")[0]
            for r in range(grid.rowCount())
            for c in range(grid.columnCount())
        }

    recorded = run("record")
    asked = len(a.requests) + len(b.requests)
    replayed = run("replay")
    assert replayed == recorded and "✗ 1 failed" in recorded.values()
    assert len(a.requests) + len(b.requests) == asked  # the cassettes answered
    assert "replayed" in page.grid_model.index(0, 0).data()
