"""Every page at the size the studio opens on a 1024x700 screen, in both themes, and on 1440x900
and 2560x1440 screens: nothing runs off the page's right edge, no tab hides behind scroll arrows,
no list, table or form needs a sideways scrollbar, and no table column is narrower than its title.

1008x660 is the window `MainWindow._fitting` opens on a 1024x700 screen. A new user on such a
screen saw the chat's model box and the Settings form run off the right edge.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTabBar,
    QToolButton,
    QWidget,
)


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
    for button in page.findChildren(QPushButton):
        # A row of buttons squeezed under their size hints cuts their labels short (the MCP
        # toolbar's "Import from Claude Desktop…" read "om Claude D", the Memory page's
        # "To Supabase…" lost its end at 1024x700).
        text = button.text().replace("&", "")
        if button.isVisible() and text and button.width() < button.minimumSizeHint().width() - 1:
            found.append(f"{key}: button {text!r} is {button.width()} px, its label cut short")
    for edit in page.findChildren(QLineEdit):
        # A search box squeezed under its own minimum width (the Memory page's collapsed).
        wanted = edit.minimumWidth()
        if edit.isVisible() and wanted and edit.width() < wanted:
            found.append(f"{key}: {edit.objectName()!r} is {edit.width()} px, under {wanted}")
    for area in page.findChildren(QAbstractScrollArea):
        if area.isVisible() and area.horizontalScrollBar().isVisible():
            found.append(f"{key}: {type(area).__name__} {area.objectName()!r} scrolls sideways")
    for area in page.findChildren(QScrollArea):
        # With its sideways scrollbar turned off, a scroll area wider inside than its viewport
        # simply cuts the right edge off (the Instagram draft's text and caption box).
        inside = area.widget()
        if area.isVisible() and inside is not None:
            over = inside.width() - area.viewport().width()
            if over > 1:
                found.append(f"{key}: {inside.objectName()!r} is cut {over} px at its right edge")
    for view in page.findChildren(QAbstractItemView):
        header = getattr(view, "horizontalHeader", lambda: None)()
        if view.isVisible() and isinstance(header, QHeaderView) and header.isVisible():
            found += _narrow_columns(view, header, key)
    return found


def _narrow_columns(view: QAbstractItemView, header: QHeaderView, key: str) -> list[str]:
    """Columns narrower than their own header text (the Memory table's Content column shrank
    to a few pixels at 1024x700)."""
    model, found = view.model(), []
    metrics = header.fontMetrics()
    for column in range(header.count()):
        if header.isSectionHidden(column):
            continue
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        if title and header.sectionSize(column) < metrics.horizontalAdvance(title) + 8:
            found.append(
                f"{key}: {view.objectName()!r} column {title!r} is "
                f"{header.sectionSize(column)} px, narrower than its title"
            )
    return found


@pytest.mark.parametrize(
    ("theme", "size"),
    [
        ("light", (1008, 660)),
        ("dark", (1008, 660)),
        ("light", (1440, 900)),
        ("dark", (2560, 1440)),
    ],
)
def test_every_page_fits_from_a_1024x700_screen_to_a_2560x1440_one(make_studio, loop, theme, size):
    studio = make_studio()
    studio.theme.set_choice(theme)
    studio.window.resize(*size)
    problems = []
    for key in studio.window.page_keys():  # every page, a new one included
        studio.window.show_page(key)
        loop.run_until_complete(studio.tasks.wait_idle())
        page = studio.window.page(key)
        if key == "chat":  # with a conversation open, its model box filled
            loop.run_until_complete(page._new(page.character.currentText()))
            loop.run_until_complete(studio.tasks.wait_idle())
            assert page.model.count() > 0
            studio.window.layout().activate()
            loop.run_until_complete(studio.tasks.wait_idle())
            # The title beside the model box: at 1024x700 it read "Hello, wh…".
            room = page.heading.width() / page.heading.fontMetrics().averageCharWidth()
            if room < 18:
                problems.append(f"chat: the title has room for {room:.0f} characters")
        problems += _problems(page, key)
        if key == "mcp":  # a selected running server turns "Start" into "Restart"
            page.restart_button.setText("Restart")
            for _ in range(3):  # the toolbar's layout request, then the page's
                studio.window.layout().activate()
                loop.run_until_complete(studio.tasks.wait_idle())
            problems += _problems(page, "mcp, Restart")
    assert not problems, "\n".join(problems)
