"""What a new user met in the first minutes at 1024x700 (h-walk): each test is one finding.

The studio is the real window (``make_studio``) at the size it opens on a 1024x700 screen.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QWidget,
)

from carrier_studio.core.mcp import ServerState
from carrier_studio.ui.widgets.team_builder import TeamsEmptyState
from tests.helpers.waiting import wait_until
from tests.helpers.walkthrough import click, type_into

SMALL = (1008, 660)  # the window MainWindow._fitting opens on a 1024x700 screen


def _settle(studio, loop) -> None:
    for _ in range(3):  # the page's layout request, then the splitter's
        studio.window.layout().activate()
        loop.run_until_complete(studio.tasks.wait_idle())


def _studio(make_studio, loop):
    """A studio at the size it opens on a 1024x700 screen."""
    studio = make_studio()
    studio.window.resize(*SMALL)
    return studio


def _wanted(widget: QWidget) -> int:
    """The height a layout may not go under: a minimum set on the widget, else its hint."""
    return widget.minimumHeight() or widget.minimumSizeHint().height()


def test_a_new_memory_form_is_not_squeezed_at_1024x700(make_studio, loop):
    """The New memory form's Character, Kind and Importance boxes were a few pixels tall: the
    splitter shared ~410 px between the form and the map, less than the two want."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("memory")
    click(loop, page.new_button)
    _settle(studio, loop)
    detail = page.detail
    assert detail.is_new
    squeezed = [
        f"{type(w).__name__} {w.objectName()!r}: {w.height()} px, wants {_wanted(w)}"
        for w in detail.findChildren(QWidget)
        if isinstance(w, (QComboBox, QAbstractSpinBox, QCheckBox, QPlainTextEdit))
        and w.isVisible()
        and w.height() < _wanted(w)
    ]
    assert not squeezed, "\n".join(squeezed)
    fields = detail.fields  # they scroll up and down, and are never cut at the right
    assert fields.widget().width() <= fields.viewport().width()
    # Save stays in view (below the scrolling fields), nothing of it cut off.
    save = detail.save_button
    assert save.isVisible() and save.visibleRegion().boundingRect() == save.rect()


def test_a_pages_keys_work_right_after_choosing_it_in_the_sidebar(make_studio, loop):
    """Ctrl+F on the Memory page, straight after clicking Memory in the sidebar, typed into the
    sidebar instead (its type-ahead then jumped to Settings): the page's keys only listened
    with the focus inside the page."""
    studio = _studio(make_studio, loop)
    window = studio.window
    window.activateWindow()
    wait_until(loop, lambda: QApplication.activeWindow() is window)
    window.show_page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = window.page("memory")
    window.sidebar.setFocus()
    wait_until(loop, window.sidebar.hasFocus)
    QTest.keySequence(window.sidebar, QKeySequence.StandardKey.Find)
    assert page.search.hasFocus()
    window.sidebar.setFocus()
    wait_until(loop, window.sidebar.hasFocus)
    QTest.keySequence(window.sidebar, QKeySequence.StandardKey.New)
    assert page.detail.is_new
    assert window.current_page_key() == "memory"


def _wheel_down(widget: QWidget) -> QWheelEvent:
    """A mouse wheel's notch down over ``widget``, sent as the window system sends it."""
    middle = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        middle,
        QPointF(widget.mapToGlobal(middle)),
        QPoint(),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)
    return event


def test_scrolling_the_settings_past_a_box_leaves_its_value(make_studio, loop):
    """Scrolling Settings with the wheel, the pointer crossed Temperature: 0.70 became 0.40
    and nothing said so. A box takes the wheel once the user has clicked or tabbed into it."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("settings")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("settings")
    box, choice = page.temperature, page.theme_choice
    before, chosen = box.value(), choice.currentIndex()
    studio.window.sidebar.setFocus()
    for widget in (box, choice):
        assert not widget.hasFocus()
        assert not _wheel_down(widget).isAccepted(), "the wheel goes on to the page"
    assert (box.value(), choice.currentIndex()) == (before, chosen)
    assert box.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel gives it no focus
    box.setFocus()
    wait_until(loop, box.hasFocus)
    _wheel_down(box)
    assert box.value() < before, "a box the user is in still takes the wheel"


def test_an_off_server_says_how_to_start_it_and_a_failed_one_why(make_studio, loop, tmp_path):
    """Start on a server that is off answered with an error box ("github is turned off Turn it
    on first."), and a server that failed to start said "Start the server to see its tools."."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    off = {"type": "stdio", "command": str(tmp_path / "no-such-server"), "enabled": False}
    (workspace / "mcp_servers.json").write_text(json.dumps({"mcpServers": {"broken": off}}))
    studio = make_studio(str(workspace))
    studio.window.resize(*SMALL)
    studio.window.show_page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("mcp")
    page.table.selectRow(page.model.row_of("broken"))
    assert page.restart_button.text() == "Start" and not page.restart_button.isEnabled()
    assert "On box" in page.restart_button.toolTip()
    assert "broken is off. Tick its On box" in page.no_tools.text()
    page.model.setData(
        page.model.index(page.model.row_of("broken"), 0),
        Qt.CheckState.Checked.value,
        Qt.ItemDataRole.CheckStateRole,
    )
    loop.run_until_complete(studio.tasks.wait_idle())
    wait_until(loop, page.restart_button.isEnabled)
    click(loop, page.restart_button)
    wait_until(loop, lambda: studio.session.mcp.status("broken").state is ServerState.FAILED)
    loop.run_until_complete(studio.tasks.wait_idle())
    assert page.no_tools.text().startswith("broken did not start: ")
    assert studio.session.mcp.status("broken").error in page.no_tools.text()


def test_a_new_memory_left_blank_is_not_unsaved_work(make_studio, loop):
    """New on the Memory page, nothing typed, then quit: "The open memory has unsaved
    changes." asked Save / Discard / Cancel of an empty form."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("memory")
    click(loop, page.new_button)
    assert page.detail.is_new and not page.dirty
    assert not page.detail.save_button.isEnabled()
    type_into(loop, page.detail.content, "Hazel bakes rye on Saturdays.")
    assert page.dirty and page.detail.save_button.isEnabled()


def test_the_discord_pages_lists_show_their_whole_titles(make_studio, loop):
    """The Discord page's server list read "Servers and channels the bo" at 1024x700."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("discord")
    _settle(studio, loop)
    page = studio.window.page("discord")
    header = page.guilds.header()
    title = page.guilds.headerItem().text(0)
    assert header.sectionSize(0) >= header.fontMetrics().horizontalAdvance(title) + 8, title


@pytest.mark.parametrize("size", [SMALL, (2560, 1440)])
def test_the_teams_page_explains_a_team_in_full(make_studio, loop, size):
    """With no team yet, the Teams page's explanation stopped after "A team is a few of your
    characters working": the label had one line's height at every window size."""
    studio = make_studio()
    studio.window.resize(*size)
    studio.window.show_page("teams")
    _settle(studio, loop)
    text = studio.window.page("teams").findChild(TeamsEmptyState).text
    assert text.isVisible() and text.width() >= min(600, text.maximumWidth())
    assert text.height() >= text.heightForWidth(text.width()), "the text is cut off"


def test_after_a_haas_import_the_team_graph_keeps_its_room(make_studio, loop, monkeypatch):
    """After importing the newsroom at 1024x700, its report took 170 px and the graph's
    legend was drawn over the graph, hiding the Reporter's node."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("teams")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("teams")
    newsroom = str(Path(__file__).parents[1] / "data" / "teams" / "newsroom")
    monkeypatch.setattr(type(page), "ask_folder", staticmethod(lambda _parent: newsroom))
    click(loop, page.import_button)
    _settle(studio, loop)
    assert page.picker.currentText() == "newsroom"
    assert page.import_report.isVisibleTo(page)
    graph = page.graph
    legend = next(w for w in graph.parentWidget().findChildren(QLabel) if w.isVisible())
    assert graph.height() >= graph.minimumHeight()
    graph_bottom = graph.mapTo(page, QPoint(0, graph.height())).y()
    assert legend.mapTo(page, QPoint(0, 0)).y() >= graph_bottom, "the legend covers the graph"
    click(loop, page.import_panel.hide_button)
    assert not page.import_report.isVisibleTo(page)


def test_a_server_missing_a_secret_says_which_first(make_studio, loop, tmp_path):
    """A server whose ${TOKEN} was not set showed "/tmp/…/workspace/mcp_servers.json (…" in
    the Last error column, cut off before what was missing."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    server = {"type": "stdio", "command": "true", "env": {"TOKEN": "${H_WALK_UNSET_TOKEN}"}}
    (workspace / "mcp_servers.json").write_text(json.dumps({"mcpServers": {"needy": server}}))
    studio = make_studio(str(workspace))
    studio.window.show_page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("mcp")
    page.table.selectRow(page.model.row_of("needy"))
    click(loop, page.restart_button)
    wait_until(loop, lambda: studio.session.mcp.status("needy").state is ServerState.FAILED)
    shown = page.model.index(page.model.row_of("needy"), 5).data()
    assert shown.startswith("H_WALK_UNSET_TOKEN is not set (used in $.mcpServers.needy.env."), shown
    assert shown.endswith("then start the server again.")
    # It sends the user to places the screens name ("Settings (secrets)" matched no heading).
    tabs = [page.details.tabText(i) for i in range(page.details.count())]
    assert "Configuration" in tabs and ". Type it in the server's Configuration tab" in shown
    studio.window.show_page("settings")
    loop.run_until_complete(studio.tasks.wait_idle())
    groups = [g.title() for g in studio.window.page("settings").findChildren(QGroupBox)]
    assert "MCP server secrets" in groups and "Settings → MCP server secrets" in shown


def test_importing_several_characters_names_them_all(make_studio, loop):
    """Three files chosen in the import dialog: the status bar said only "Imported Wren from
    eliza_v2.json as wren.json", each file's line having replaced the one before."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("characters")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("characters")
    data = Path(__file__).parents[1] / "data" / "characters"
    files = [data / "samples" / "rook.eliza-v0.json", data / "formats" / "eliza_v2.json"]
    loop.run_until_complete(page._import(files))
    loop.run_until_complete(studio.tasks.wait_idle())
    said = studio.window.statusBar().currentMessage()
    assert said == "Imported 2 characters: Rook, Wren.", said


def test_a_character_with_an_avatar_fits_the_list(make_studio, loop):
    """Hazel Thornbury's PNG card, imported at 1024x700: her name beside her avatar gave the
    character list a sideways scrollbar."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("characters")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("characters")
    hazel = Path(__file__).parents[1] / "data" / "characters" / "samples" / "hazel.card-v2.png"
    loop.run_until_complete(page._import([hazel]))
    _settle(studio, loop)
    assert "Hazel Thornbury" in page.heading.text()
    assert not page.list.horizontalScrollBar().isVisible()


def test_a_queued_post_is_described_in_full_at_1024x700(make_studio, loop, tmp_path):
    """Queued an image with Instagram not set up: the status bar said "Queued a image post",
    and the post's title, beside three buttons, read "Post 1 / · image / · / queued"."""
    from PIL import Image

    studio = _studio(make_studio, loop)
    studio.window.show_page("instagram")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("instagram")
    photo = tmp_path / "rye.jpg"
    Image.new("RGB", (1080, 1080), "orange").save(photo)
    page.add_files([str(photo)])
    loop.run_until_complete(studio.tasks.wait_idle())
    page.editor.caption.setPlainText("Fresh rye this Saturday #bakery")
    click(loop, page.queue_button)
    loop.run_until_complete(studio.tasks.wait_idle())
    _settle(studio, loop)
    said = studio.window.statusBar().currentMessage()
    assert said.startswith("Queued an image post"), said
    title = page.detail_title
    assert "<b>Post 1</b> · image · queued" in title.text()
    assert title.width() >= page.timeline.width() - 2, "the title has the pane's width"
    assert title.height() >= title.heightForWidth(title.width())
    assert page.timeline.topLevelItemCount() == 1
    assert not page.timeline.horizontalScrollBar().isVisible(), "the timeline scrolls sideways"


def test_on_a_wide_screen_the_tests_list_shows_whole_scenario_names(make_studio, loop):
    """At 2560x1440 the scenario list stayed 390 px wide and cut "Mira keeps an unhappy
    cu…", beside a results grid with hundreds of empty pixels."""
    studio = make_studio()
    studio.window.resize(2560, 1440)
    studio.window.show_page("tests")
    _settle(studio, loop)
    tree = studio.window.page("tests").tree
    items = []
    for top in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(top)
        items += [group.child(i) for i in range(group.childCount())]
    assert items, "the shipped scenarios are listed"
    metrics = tree.fontMetrics()
    cut = [
        item.text(0)
        for item in items
        if tree.visualItemRect(item).left() + metrics.horizontalAdvance(item.text(0))
        > tree.viewport().width()
    ]
    assert not cut, cut


def test_start_without_a_bot_token_says_only_why_it_did_not_start(make_studio, loop):
    """Start on the Discord page with no token: the line beside it said "no bot token" while
    the status bar said "Discord options saved.", as if something had worked."""
    studio = _studio(make_studio, loop)
    studio.window.show_page("discord")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("discord")
    wait_until(loop, lambda: page.character.count() > 0)
    chosen = page.character.currentText()
    click(loop, page.start_button)
    loop.run_until_complete(studio.tasks.wait_idle())
    wait_until(loop, lambda: "no bot token" in page.status_label.text())
    assert "saved" not in studio.window.statusBar().currentMessage()
    assert studio.session.settings.settings.discord.character == chosen  # saved all the same
