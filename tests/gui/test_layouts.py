"""Every page at the size the studio opens on a 1024x700 screen, in both themes: nothing runs
off the page's right edge, no tab hides behind scroll arrows and no list, table or form
needs a sideways scrollbar.

1008x660 is the window `MainWindow._fitting` opens on a 1024x700 screen. A new user on such a
screen saw the chat's model box and the Settings form run off the right edge.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QAbstractScrollArea, QTabBar, QToolButton, QWidget

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


def _problems(page: QWidget, key: str) -> list[str]:
    found = []
    right = page.mapToGlobal(QPoint(page.width(), 0)).x()
    for widget in page.findChildren(QWidget):
        if not widget.isVisible():
            continue
        beyond = widget.mapToGlobal(QPoint(widget.width(), 0)).x() - right
        if beyond > 1:
            found.append(f"{key}: {type(widget).__name__} {widget.objectName()!r} {beyond} px over")
    for tabs in page.findChildren(QTabBar):
        # Qt's scroll arrows are tool buttons inside the bar, shown when the tabs do not fit.
        titles = [tabs.tabText(i) for i in range(tabs.count())]
        if tabs.isVisible() and any(b.isVisible() for b in tabs.findChildren(QToolButton)):
            found.append(f"{key}: tabs {titles} scroll")
        elif tabs.isVisible() and tabs.sizeHint().width() > tabs.width():
            found.append(f"{key}: tabs {titles} are cut short")
    for area in page.findChildren(QAbstractScrollArea):
        if area.isVisible() and area.horizontalScrollBar().isVisible():
            found.append(f"{key}: {type(area).__name__} {area.objectName()!r} scrolls sideways")
    return found


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_fits_a_1024x700_screen(make_studio, loop, theme):
    studio = make_studio()
    studio.theme.set_choice(theme)
    studio.window.resize(1008, 660)
    problems = []
    for key in PAGES:
        studio.window.show_page(key)
        loop.run_until_complete(studio.tasks.wait_idle())
        page = studio.window.page(key)
        if key == "chat":  # with a conversation open, its model box filled
            loop.run_until_complete(page._new(page.character.currentText()))
            loop.run_until_complete(studio.tasks.wait_idle())
            assert page.model.count() > 0
        problems += _problems(page, key)
    assert not problems, "\n".join(problems)
