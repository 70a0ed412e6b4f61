from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from carrier_studio.core.messages import Level
from carrier_studio.core.status import State
from carrier_studio.session import SERVICE_SLOTS
from carrier_studio.ui.pages.characters import CharactersPage
from carrier_studio.ui.pages.chat import ChatPage
from carrier_studio.ui.pages.discord import DiscordPage
from carrier_studio.ui.pages.instagram import InstagramPage
from carrier_studio.ui.pages.mcp import McpPage
from carrier_studio.ui.pages.memory import MemoryPage
from carrier_studio.ui.pages.settings import SettingsPage
from carrier_studio.ui.pages.teams import TeamsPage
from carrier_studio.ui.pages.tests import TestsPage
from tests.helpers.stops import STOP_ORDER, record_stops

PAGES = [
    "characters",
    "chat",
    "memory",
    "mcp",
    "instagram",
    "discord",
    "teams",
    "tests",
    "settings",
]


def test_window_opens_paints_and_lists_every_page(make_studio, qtbot):
    studio = make_studio(start=False)
    with qtbot.waitSignal(studio.window.first_painted, timeout=5000):
        studio.window.show()
    assert studio.window.page_keys() == PAGES
    assert studio.window.windowTitle() == "Carrier Studio"


def test_every_page_is_reachable_by_click(make_studio, qtbot):
    window = make_studio().window
    for row, key in enumerate(PAGES):
        item = window.sidebar.item(row)
        rect = window.sidebar.visualItemRect(item)
        QTest.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert window.current_page_key() == key
        assert window.stack.currentWidget() is window.page(key)


def test_every_page_is_reachable_by_shortcut(make_studio, qtbot):
    window = make_studio().window
    window.activateWindow()
    for number, key in reversed(list(enumerate(PAGES, start=1))):
        QTest.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page_key() == key
    QTest.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page_key() == "settings"


#: The real page class behind each key, written out here rather than read from the registry, so
#: a builder that returns a stand-in (or the wrong page) is caught.
PAGE_CLASSES = {
    "characters": CharactersPage,
    "chat": ChatPage,
    "memory": MemoryPage,
    "mcp": McpPage,
    "instagram": InstagramPage,
    "discord": DiscordPage,
    "teams": TeamsPage,
    "tests": TestsPage,
    "settings": SettingsPage,
}


def test_every_page_is_built(make_studio, loop):
    studio = make_studio()
    window = studio.window
    assert list(PAGE_CLASSES) == PAGES
    for key, page_class in PAGE_CLASSES.items():
        window.show_page(key)
        page = window.page(key)
        # The window's stand-in until a page is built is a bare QWidget.
        assert type(page) is page_class, f"{key}: {type(page).__name__}, not {page_class}"
        assert window.stack.currentWidget() is page, f"{key}: the stand-in is still shown"
    assert window.built_pages() == PAGES
    stand_ins = [
        w for i in range(window.stack.count()) if type(w := window.stack.widget(i)) is QWidget
    ]
    assert not stand_ins, "no stand-in is left in the page stack"
    assert window.stack.count() == len(PAGES)
    loop.run_until_complete(studio.tasks.wait_idle())


def test_status_bar_has_a_slot_per_service_and_the_database_runs(make_studio):
    studio = make_studio()
    assert list(studio.window.status_slots) == [key for key, _title in SERVICE_SLOTS]
    database = studio.session.status.get("database")
    assert database.state is State.RUNNING
    assert "sqlite-vec" in database.detail
    assert "sqlite-vec" in studio.window.status_slots["database"].toolTip()
    instagram = studio.window.status_slots["instagram"].status
    assert instagram.state is State.STOPPED and "Settings" in instagram.detail


def test_ctrl_q_shuts_down_in_order_and_closes(make_studio, loop, monkeypatch):
    studio = make_studio(start=False)
    stopped: list[str] = []
    record_stops(studio.session, monkeypatch, stopped)
    loop.run_until_complete(studio.start())
    QTest.keyClick(studio.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert studio.window.isVisible(), "the window waits for the services to stop"
    loop.run_until_complete(studio.wait_closed())
    loop.run_until_complete(studio.shutdown())
    assert not studio.window.isVisible()
    assert stopped == STOP_ORDER, "services stop in reverse order of start, studio.db last"
    assert studio.session.status.get("database").state is State.STOPPED
    assert studio.session.database._conn is None


def test_geometry_and_page_survive_a_restart(make_studio, loop):
    first = make_studio()
    first.window.resize(781, 563)  # inside the 800x600 offscreen screen
    first.window.move(QPoint(37, 41))
    first.window.show_page("memory")
    loop.run_until_complete(first.shutdown())
    second = make_studio()
    assert second.window.size().width() == 781
    assert second.window.size().height() == 563
    assert second.window.current_page_key() == "memory"


def test_the_window_fits_the_screen_new_and_after_a_restart_from_a_larger_one(make_studio, loop):
    # The offscreen screen is 800x600: smaller than the 1180x760 the window would like, as a
    # 1024x700 laptop screen is (where the right edge of the window once ran off the screen).
    first = make_studio()
    free = first.window.screen().availableGeometry()
    assert first.window.width() <= free.width() and first.window.height() <= free.height()
    assert first.window.width() >= 720 and first.window.height() >= 480  # still usable
    first.window.resize(1900, 1000)  # as saved on a large monitor
    loop.run_until_complete(first.shutdown())
    second = make_studio()
    assert second.window.width() <= free.width() and second.window.height() <= free.height()


def test_first_run_says_the_workspace_was_created(make_studio):
    studio = make_studio()
    texts = [m.text for m in studio.messages.history]
    assert any("Created a new workspace" in t for t in texts)
    assert studio.session.workspace.seeded


def test_a_damaged_database_is_reported_with_its_backup(make_studio, tmp_path):
    workspace = tmp_path / "damaged"
    workspace.mkdir()
    (workspace / "studio.db").write_bytes(b"\x00garbage" * 500)
    studio = make_studio(str(workspace))
    warnings = [m for m in studio.messages.history if m.level is Level.WARNING]
    assert len(warnings) == 1
    assert "studio.db.corrupt-" in warnings[0].text
    assert len(list(workspace.glob("studio.db.corrupt-*"))) == 1
    assert studio.session.status.get("database").state is State.RUNNING


def test_a_corrupt_settings_file_is_reported_once_the_window_exists(make_studio, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text("{ not json", encoding="utf-8")
    studio = make_studio()
    warning = next(m for m in studio.messages.history if m.level is Level.WARNING)
    assert "settings.json.corrupt-" in warning.text
    assert "line 1" in warning.details
    from PySide6.QtWidgets import QMessageBox

    shown = [b.text() for b in studio.window.findChildren(QMessageBox) if b.isVisible()]
    assert warning.text in shown, "a warning with details is shown in a dialog"


def test_choosing_chat_with_the_mouse_puts_the_keyboard_in_the_message_box(make_studio, loop):
    """A new user clicked Chat and typed: the letters went to the sidebar, whose type-ahead
    jumped to Memory ("My sister…"). Now the message box has them; letters in the sidebar
    move nowhere, arrows still do."""
    from tests.helpers.waiting import wait_until

    studio = make_studio()
    window = studio.window
    window.show()
    chat_row = PAGES.index("chat")
    rect = window.sidebar.visualItemRect(window.sidebar.item(chat_row))
    QTest.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    page = window.page("chat")
    wait_until(loop, page.composer.hasFocus)  # once Ada is chosen, if the page was new
    QTest.keyClicks(window.focusWidget(), "My sister")
    assert page.composer.toPlainText() == "My sister"

    window.sidebar.setFocus()
    wait_until(loop, window.sidebar.hasFocus)
    QTest.keyClicks(window.sidebar, "memory")
    assert window.current_page_key() == "chat"
    QTest.keyClick(window.sidebar, Qt.Key.Key_Down)
    assert window.current_page_key() == "memory"


def test_reopened_on_the_chat_page_the_message_box_has_the_keyboard(make_studio, loop):
    from tests.helpers.waiting import wait_until

    first = make_studio()
    first.window.show_page("chat")
    loop.run_until_complete(first.shutdown())
    second = make_studio()
    second.window.show()
    page = second.window.page("chat")
    wait_until(loop, page.composer.hasFocus)
