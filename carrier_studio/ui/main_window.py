"""The main window: a sidebar of pages, the page stack, and a status bar. Nothing else.

The window is built from page *specs* (key, title, icon) so that it can paint before any page
content or service exists. A page's widget is asked for (`page_needed`) the first time it is
shown, and app/window.py answers with `set_page_widget`. The window keeps the shortcuts (Ctrl+1…8,
Ctrl+, for Settings, Ctrl+Q) and restores its geometry.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from carrier_studio import __version__
from carrier_studio.core.status import ServiceStatus, StatusBoard
from carrier_studio.core.window_state import WindowState
from carrier_studio.ui import icons
from carrier_studio.ui.theme import ThemeManager
from carrier_studio.ui.wheel_guard import WheelGuard
from carrier_studio.ui.widgets.status_slot import StatusSlot


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    icon: str


class _Sidebar(QListWidget):
    """The page list. No type-ahead: letters typed after clicking a page (a message meant for
    the Chat page) went here and jumped to the page whose name they began."""

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt override
        return


class MainWindow(QMainWindow):
    #: The user asked to close the window; app/window.py shuts down the session and then quits.
    close_requested = Signal()
    #: The window has painted for the first time (start-up benchmark, tests).
    first_painted = Signal()
    page_changed = Signal(str)
    #: A page without content is about to be shown; the owner should call `set_page_widget`.
    page_needed = Signal(str)

    def __init__(
        self,
        pages: list[PageSpec],
        status: StatusBoard,
        theme: ThemeManager,
        workspace_label: str,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Carrier Studio")
        self.setWindowIcon(icons.icon("app", size=64))
        self.setMinimumSize(720, 480)
        self.resize(self._fitting(QSize(1180, 760)))
        self._theme = theme
        self._pages = pages
        self._painted = False
        self._services_ready = False
        self._closing_allowed = False

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self._build_sidebar(workspace_label))
        self.stack = QStackedWidget()
        self.stack.setObjectName("pageStack")
        self._built: set[str] = set()
        self._wheel_guard = WheelGuard(self)
        for _page in pages:
            # An empty stand-in until the page is first shown: cheap to paint at start-up.
            self.stack.addWidget(QWidget())
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status_slots: dict[str, StatusSlot] = {}
        colors = self._theme.colors()
        for service in status.all():
            slot = StatusSlot(service, colors)
            self.status_slots[service.key] = slot
            self.statusBar().addPermanentWidget(slot)
        status.changed.subscribe(self._on_status_changed)
        theme.changed.connect(self._on_theme_changed)

        self._install_shortcuts()
        self.sidebar.currentRowChanged.connect(self._on_sidebar_current_row_changed)
        self.sidebar.itemClicked.connect(self._focus_page)
        self.sidebar.setCurrentRow(0)
        self.installEventFilter(self)

    # -- building ---------------------------------------------------------------------------

    def _build_sidebar(self, workspace_label: str) -> QWidget:
        panel = QFrame()
        panel.setObjectName("sidebarPanel")
        panel.setFixedWidth(212)
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        title = QLabel("Carrier Studio")
        title.setObjectName("appTitle")
        column.addWidget(title)
        self.sidebar = _Sidebar()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(18, 18))
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for number, page in enumerate(self._pages, start=1):
            item = QListWidgetItem(page.title)
            item.setData(Qt.ItemDataRole.UserRole, page.key)
            item.setToolTip(f"{page.title} (Ctrl+{number})")
            self.sidebar.addItem(item)
        self._paint_sidebar_icons()
        column.addWidget(self.sidebar, 1)
        workspace = QLabel(f"Workspace\n{workspace_label}\nv{__version__}")
        workspace.setObjectName("workspaceLabel")
        workspace.setToolTip(workspace_label)
        workspace.setWordWrap(True)
        column.addWidget(workspace)
        return panel

    def _paint_sidebar_icons(self) -> None:
        color = self._theme.color("text_muted")
        for row, page in enumerate(self._pages):
            self.sidebar.item(row).setIcon(icons.icon(page.icon, color))

    def _install_shortcuts(self) -> None:
        self.page_actions: dict[str, QAction] = {}
        for number, page in enumerate(self._pages, start=1):
            action = QAction(f"Go to {page.title}", self)
            shortcuts = [QKeySequence(f"Ctrl+{number}")]
            if page.key == "settings":
                shortcuts.append(QKeySequence("Ctrl+,"))
            action.setShortcuts(shortcuts)
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.triggered.connect(lambda _checked=False, key=page.key: self.show_page(key))
            self.addAction(action)
            self.page_actions[page.key] = action
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.close)
        self.addAction(self.quit_action)

    # -- pages ------------------------------------------------------------------------------

    def page_keys(self) -> list[str]:
        return [page.key for page in self._pages]

    def page(self, key: str) -> QWidget:
        """The page's widget, asking for it first if it has not been built yet."""
        if key not in self._built:
            self.page_needed.emit(key)
        return self.stack.widget(self.page_keys().index(key))

    def built_pages(self) -> list[str]:
        return [key for key in self.page_keys() if key in self._built]

    def set_page_widget(self, key: str, widget: QWidget) -> None:
        index = self.page_keys().index(key)
        current = self.stack.currentIndex()
        stand_in = self.stack.widget(index)
        self.stack.insertWidget(index, widget)
        self._wheel_guard.protect(widget)
        self.stack.removeWidget(stand_in)
        stand_in.deleteLater()
        self._built.add(key)
        self.stack.setCurrentIndex(current)

    def current_page_key(self) -> str:
        return self._pages[self.stack.currentIndex()].key

    def show_page(self, key: str) -> None:
        self.sidebar.setCurrentRow(self.page_keys().index(key))

    def build_current_page(self) -> None:
        """Ask for the visible page's content (after the first paint)."""
        self.page(self.current_page_key())

    def _on_sidebar_current_row_changed(self, row: int) -> None:
        if row < 0:
            return
        key = self._pages[row].key
        if self._services_ready and key not in self._built:
            self.page_needed.emit(key)
        self.stack.setCurrentIndex(row)
        self._wheel_guard.protect(self.stack.currentWidget())  # boxes it added since
        self.page_changed.emit(key)

    def _focus_page(self) -> None:
        """A page chosen with the mouse takes the keyboard where its work starts (the Chat
        page's message box): typed after the click, a message went to the sidebar. Chosen with
        the arrow keys, the focus stays in the sidebar for the next key."""
        focus = getattr(self.stack.currentWidget(), "focus_on_open", None)
        if callable(focus):
            focus()

    def services_ready(self) -> None:
        """From now on pages are built when shown; the current one at once."""
        self._services_ready = True
        self.build_current_page()
        self._focus_page()  # reopened on the Chat page, typing goes to the message box

    def _fitting(self, wanted: QSize) -> QSize:
        """``wanted``, made small enough for the screen's free area (a 1024×700 screen showed
        only part of a 1180×760 window, its right edge off the screen)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return wanted
        free = screen.availableGeometry().size()
        # The frame (title bar, borders) comes on top of the client size asked for.
        return wanted.boundedTo(QSize(max(720, free.width() - 16), max(480, free.height() - 40)))

    # -- state that survives a restart ------------------------------------------------------

    def restore_window_state(self, state: WindowState) -> None:
        try:
            if state.geometry:
                self.restoreGeometry(QByteArray(base64.b64decode(state.geometry)))
            if state.window_state:
                self.restoreState(QByteArray(base64.b64decode(state.window_state)))
        except ValueError:  # not base64: keep the default geometry
            pass
        if state.last_page in self.page_keys():
            self.show_page(state.last_page)

    def window_state(self, theme: str) -> WindowState:
        return WindowState(
            theme=theme,
            geometry=base64.b64encode(bytes(self.saveGeometry().data())).decode(),
            window_state=base64.b64encode(bytes(self.saveState().data())).decode(),
            last_page=self.current_page_key(),
        )

    # -- events -----------------------------------------------------------------------------

    @property
    def painted(self) -> bool:
        return self._painted

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self and not self._painted and event.type() == QEvent.Type.Paint:
            self._painted = True
            self.first_painted.emit()
        return super().eventFilter(watched, event)

    def allow_close(self) -> None:
        """Called by app/window.py once shutdown is done, so the next close really closes."""
        self._closing_allowed = True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self._closing_allowed:
            event.accept()
            return
        # Services shut down asynchronously first; app/window.py closes the window after.
        event.ignore()
        self.close_requested.emit()

    def _on_theme_changed(self, _scheme: str) -> None:
        colors = self._theme.colors()
        for slot in self.status_slots.values():
            slot.set_colors(colors)
        self._paint_sidebar_icons()

    def _on_status_changed(self, status: ServiceStatus) -> None:
        self.status_slots[status.key].show_status(status)
