"""The Characters page: a searchable list, the form, the raw JSON, and the prompt preview.

The page edits a working copy of one character. It is dirty when the copy's JSON differs from
what was last loaded or saved. All file work goes through the `CharacterStore` in a worker
thread; the page only decides what to ask and shows the answer.
"""

# Long: the Characters page (list with avatars, import, export, builder, trash); the import/export
# actions are the next cut into a pages/characters/ package.

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QFileSystemWatcher, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.characters.document import (
    CharacterDoc,
    CharacterError,
    ExternalChangeError,
)
from carrier_studio.core.characters.formats import EXPORTERS, FORMAT_LABELS, Format
from carrier_studio.core.characters.prompt import compose_instructions
from carrier_studio.core.characters.validation import (
    Issue,
    Severity,
    export_warnings,
    is_placeholder,
    validate,
)
from carrier_studio.ui import icons
from carrier_studio.ui.models.character_list import (
    CharacterFilterModel,
    ErrorRole,
    PathRole,
    QtCharacterListModel,
)
from carrier_studio.ui.pages.character_form import CharacterForm, generated_system
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.ask import Ask
from carrier_studio.ui.widgets.avatar import AVATAR_SIZE, avatar_icons
from carrier_studio.ui.widgets.builder_dialog import BuilderDialog, Draft
from carrier_studio.ui.widgets.examples_editor import count_speaker, rename_speaker
from carrier_studio.ui.widgets.page import Page, page_shortcut

if TYPE_CHECKING:
    from carrier_studio.services.characters.store import CharacterStore, Entry, Stamp, TrashEntry
    from carrier_studio.services.platform.secrets import SecretStore


#: The export menu: every JSON exporter, then the PNG card.
EXPORT_KINDS = [*EXPORTERS, Format.CARD_PNG]


class CharacterFiles(Ask):
    """The page's file dialogs: imports accept PNG cards, a PNG export is saved as .png."""

    @staticmethod
    def open_file(parent: QWidget) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(
            parent,
            "Import characters",
            "",
            "Character files (*.json *.png);;PNG character cards (*.png);;All files (*)",
        )
        return paths

    @staticmethod
    def yes_no(parent: QWidget, title: str, text: str) -> bool:
        """A question answered Yes or No (Yes is the default)."""
        answer = QMessageBox.question(
            parent,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    @staticmethod
    def save_file(parent: QWidget, suggested: str) -> str | None:
        kind = "PNG character card (*.png)" if suggested.endswith(".png") else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(parent, "Export character", suggested, kind)
        return path or None


#: Marks the list model may append to a broken file's name; an emoji shows as an empty box
#: where no emoji font is installed, so the page draws an SVG icon instead (#15).
_EMOJI_MARKS = "⚠⛔\ufe0f"

#: Severity icons for the list and the issues, drawn from resources/icons so they always render.
_SEVERITY_COLORS = {"error": "#D0393E", "warning": "#C98A00"}


def severity_icon(kind: str) -> QIcon:
    """The ``error`` or ``warning`` icon, in its colour."""
    return icons.icon(kind, _SEVERITY_COLORS[kind])


class _EntryProxy(CharacterFilterModel):
    """The search filter, showing a broken file with an error icon rather than an emoji."""

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        value = super().data(index, role)
        if role == Qt.ItemDataRole.DisplayRole and isinstance(value, str):
            return value.rstrip(_EMOJI_MARKS + " ")
        if role == Qt.ItemDataRole.DecorationRole and super().data(index, ErrorRole):
            return severity_icon("error")
        return value


class _EntryDelegate(QStyledItemDelegate):
    """Draws each character with its avatar and, for a sub-folder, the folder's name.

    The list model belongs to ui/models; what it shows beside the name is the page's choice.
    """

    def __init__(self, page: CharactersPage) -> None:
        super().__init__(page)
        self.page = page

    def initStyleOption(self, option: QStyleOptionViewItem, index: Any) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        path = index.data(PathRole)
        icon = self.page.avatar_icons.get(path)
        if icon is not None and not index.data(ErrorRole):
            option.icon = icon
            option.decorationSize = QSize(AVATAR_SIZE, AVATAR_SIZE)
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        folder = self.page.entry_folders.get(path)
        if folder:
            option.text = f"{option.text}   {folder}/"

    def sizeHint(self, option: QStyleOptionViewItem, index: Any) -> QSize:  # noqa: N802
        # No wider than the list: a name beside an avatar ("Hazel Thornbury") is elided,
        # where it gave the list a sideways scrollbar at 1024x700.
        size = super().sizeHint(option, index)
        size.setWidth(min(size.width(), self.page.list.viewport().width()))
        return size


@dataclass
class CharacterPageDeps:
    """What the page needs, handed in by app/pages.py."""

    store: CharacterStore
    secrets: SecretStore
    #: Reads the workspace MCP catalogue's server names (called off the GUI thread).
    mcp_servers: Callable[[], list[str]]
    #: The names of the configured OpenAI-compatible endpoints (in memory, cheap).
    endpoints: Callable[[], list[str]]
    #: Drafts a character from a description with the default model (the builder).
    draft: Draft
    #: Which model the builder will use, for the dialog to say.
    model_label: Callable[[], str]
    #: Called after a rename so conversations, approvals and settings follow the new name.
    renamed: Callable[[str, str], Awaitable[None]]


class CharactersPage(Page):
    #: The open character was saved (tests, other pages).
    saved = Signal(str)
    dirty_changed = Signal(bool)

    def __init__(self, deps: CharacterPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(
            "Characters",
            "Persona files your agents are built from. Drop a character file here to import it.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        self.ask = CharacterFiles
        #: Avatar icons and sub-folders by file path (str), for the list's delegate.
        self.avatar_icons: dict[str, QIcon] = {}
        self.entry_folders: dict[str, str] = {}
        self.path: Path | None = None
        self.stamp: Stamp | None = None
        self.doc: CharacterDoc | None = None
        self._saved_text = ""
        #: The name as loaded or last committed in the name field (examples follow a rename).
        self._committed_name = ""
        self._mcp_names: list[str] = []
        self._json_error: str | None = None
        self._updating_json = False
        self._last_trashed: TrashEntry | None = None
        #: Set when the user chose to keep their version over a change made outside.
        self._overwrite_next = False
        self.issues: list[Issue] = []
        self.setAcceptDrops(True)

        splitter = QSplitter()
        splitter.addWidget(self._build_list_panel())
        splitter.addWidget(self._build_editor_panel())
        splitter.setSizes([260, 900])
        splitter.setChildrenCollapsible(False)
        self.body.addWidget(splitter, 1)

        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._on_watcher_directory_changed)
        self.watcher.fileChanged.connect(self._on_watcher_file_changed)
        # Bursts of file events (an editor's save is several) become one check.
        self._recheck = QTimer(self, singleShot=True, interval=150)
        self._recheck.timeout.connect(self._check_external_change)

        page_shortcut(QKeySequence.StandardKey.Save, self, self.save)
        self._set_editor_enabled(False)
        self.refresh()

    # -- building ---------------------------------------------------------------------------

    def _build_list_panel(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 8, 0)
        self.search = QLineEdit()
        self.search.setObjectName("characterSearch")
        self.search.setPlaceholderText("Search characters…")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.model = QtCharacterListModel(self)
        self.proxy = _EntryProxy(self)
        self.proxy.setSourceModel(self.model)
        self.search.textChanged.connect(self.proxy.set_search)
        self.list = QListView()
        self.list.setObjectName("characterList")
        self.list.setModel(self.proxy)
        self.list.setItemDelegate(_EntryDelegate(self))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)  # rows follow the list's width
        self.list.setIconSize(QSize(AVATAR_SIZE, AVATAR_SIZE))
        self.list.selectionModel().currentChanged.connect(self._on_list_current_changed)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("A new, empty character (Ctrl+N)")
        self.new_button.clicked.connect(self.new_character)
        page_shortcut(QKeySequence.StandardKey.New, self, self.new_character)
        self.more_button = QPushButton("More")
        menu = QMenu(self.more_button)
        self.describe_action = menu.addAction("New from description…", self.open_builder)
        menu.addSeparator()
        self.import_action = menu.addAction("Import…", self.import_files)
        self.duplicate_action = menu.addAction("Duplicate", self.duplicate)
        self.rename_action = menu.addAction("Rename…", self.rename)
        menu.addSeparator()
        self.delete_action = menu.addAction("Delete", self.delete)
        self.more_button.setMenu(menu)
        self.more_button.setProperty("hasMenu", True)
        row.addWidget(self.new_button)
        row.addWidget(self.more_button)
        layout.addLayout(row)
        self.trash_banner = QFrame()
        self.trash_banner.setObjectName("banner")
        trash_row = QHBoxLayout(self.trash_banner)
        trash_row.setContentsMargins(8, 4, 8, 4)
        self.trash_label = QLabel()
        self.trash_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo_delete)
        trash_row.addWidget(self.trash_label, 1)
        trash_row.addWidget(self.undo_button)
        self.trash_banner.hide()
        layout.addWidget(self.trash_banner)
        return panel

    def _build_editor_panel(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(8, 0, 0, 0)
        header = QHBoxLayout()
        self.heading = QLabel("No character selected")
        self.heading.setObjectName("characterTitle")
        self.heading.setStyleSheet("font-size: 13pt; font-weight: 600")
        header.addWidget(self.heading, 1)
        self.export_button = QPushButton("Export")
        export_menu = QMenu(self.export_button)
        for kind in EXPORT_KINDS:
            export_menu.addAction(f"{FORMAT_LABELS[kind]}…", lambda k=kind: self.export(k))
        self.export_button.setMenu(export_menu)
        self.export_button.setProperty("hasMenu", True)
        header.addWidget(self.export_button)
        self.save_button = QPushButton("Save")
        self.save_button.setProperty("primary", True)
        self.save_button.setToolTip("Save this character (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        header.addWidget(self.save_button)
        layout.addLayout(header)

        self.reload_banner = QFrame()
        self.reload_banner.setObjectName("banner")
        self.reload_banner.setProperty("severity", "warning")
        reload_row = QHBoxLayout(self.reload_banner)
        reload_row.setContentsMargins(8, 4, 8, 4)
        self.reload_label = QLabel("This file changed on disk.")
        self.reload_label.setWordWrap(True)
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload)
        self.keep_button = QPushButton("Keep mine")
        self.keep_button.clicked.connect(self._on_keep_mine_clicked)
        reload_row.addWidget(self.reload_label, 1)
        reload_row.addWidget(self.reload_button)
        reload_row.addWidget(self.keep_button)
        self.reload_banner.hide()
        layout.addWidget(self.reload_banner)

        self.issue_list = QListWidget()
        self.issue_list.setObjectName("issueList")
        self.issue_list.setMaximumHeight(96)
        self.issue_list.itemClicked.connect(self._go_to_issue)
        self.issue_list.itemActivated.connect(self._go_to_issue)
        self.issue_list.hide()
        layout.addWidget(self.issue_list)
        self.move_secrets_button = QPushButton("Move secrets to the keyring")
        self.move_secrets_button.clicked.connect(self.move_secrets_to_keyring)
        self.move_secrets_button.hide()
        layout.addWidget(self.move_secrets_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.form = CharacterForm()
        self.form.edited.connect(self._on_form_edited)
        self.form.name_edit.editingFinished.connect(self._on_name_committed)
        self.json_edit = QPlainTextEdit()
        self.json_edit.setObjectName("jsonEdit")
        self.json_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.json_edit.textChanged.connect(self._on_json_text_changed)
        self.json_error = QLabel()
        self.json_error.setObjectName("jsonError")
        self.json_error.setStyleSheet("color: #D0393E")
        self.json_error.hide()
        json_page = QWidget()
        json_layout = QVBoxLayout(json_page)
        json_layout.addWidget(self.json_error)
        json_layout.addWidget(self.json_edit)
        self.json_tab = self.form.addTab(json_page, "JSON")
        prompt_page = QWidget()
        prompt_layout = QVBoxLayout(prompt_page)
        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("What the model is told. Sample seed:"))
        self.seed = QSpinBox()
        self.seed.setRange(0, 9999)
        self.seed.valueChanged.connect(lambda _v: self._update_prompt())
        seed_row.addWidget(self.seed)
        seed_row.addStretch(1)
        prompt_layout.addLayout(seed_row)
        self.prompt_view = QPlainTextEdit()
        self.prompt_view.setObjectName("promptPreview")
        self.prompt_view.setReadOnly(True)
        prompt_layout.addWidget(self.prompt_view)
        self.prompt_tab = self.form.addTab(prompt_page, "Prompt")
        layout.addWidget(self.form, 1)
        return panel

    # -- list -------------------------------------------------------------------------------

    def refresh(self, select: Path | None = None) -> None:
        self.tasks.start("Loading characters", self._refresh(select))

    async def _refresh(self, select: Path | None = None) -> None:
        entries = await asyncio.to_thread(self.deps.store.list)
        self._mcp_names = await asyncio.to_thread(self.deps.mcp_servers)
        self.avatar_icons = await avatar_icons({str(e.path): e.avatar for e in entries if e.avatar})
        self.entry_folders = {str(e.path): e.folder for e in entries if e.folder}
        self._apply_entries(entries, select or self.path)

    def _apply_entries(self, entries: list[Entry], select: Path | None) -> None:
        self.list.selectionModel().blockSignals(True)
        self.model.set_entries(entries)
        if self.path is not None and self.dirty:
            self.model.set_dirty(self.path, True)
        self.list.selectionModel().blockSignals(False)
        folders = {str(self.deps.store.folder)} | {str(e.path.parent) for e in entries}
        watched = set(self.watcher.directories())
        for folder in sorted(folders - watched):
            if Path(folder).is_dir():
                self.watcher.addPath(folder)  # sub-folders too: a retired/ edit is noticed
        row = self.model.row_of(select) if select else -1
        if row < 0 and self.path is None and entries:
            row = 0
        if row >= 0:
            proxy_index = self.proxy.mapFromSource(self.model.index(row))
            self.list.selectionModel().blockSignals(True)
            self.list.setCurrentIndex(proxy_index)
            self.list.selectionModel().blockSignals(False)
            entry = self.model.entry(row)
            if entry.path != self.path or (self.doc is None and entry.doc is not None):
                self._open(entry)

    def _on_list_current_changed(self, current: Any, previous: Any) -> None:
        if not current.isValid():
            return
        entry = self.model.entry(self.proxy.mapToSource(current).row())
        if entry.path == self.path:
            return
        if self.dirty:
            answer = self.ask.unsaved(self, self.doc.name if self.doc else "This character")
            if answer == "cancel":
                self.list.selectionModel().blockSignals(True)
                self.list.setCurrentIndex(previous)
                self.list.selectionModel().blockSignals(False)
                return
            if answer == "save":
                self.tasks.start("Saving", self._save_then_open(entry))
                return
        self._open(entry)

    async def _save_then_open(self, entry: Entry) -> None:
        if await self._save():
            self._open(entry)

    def _open(self, entry: Entry) -> None:
        if self.path is not None:
            self.model.set_dirty(self.path, False)
            if str(self.path) in self.watcher.files():
                self.watcher.removePath(str(self.path))
        self.reload_banner.hide()
        self.path = entry.path
        self.stamp = entry.stamp
        if entry.doc is None:
            self.doc = None
            self._saved_text = ""
            self._set_editor_enabled(False)
            self.heading.setText(entry.path.name)
            self._show_issues([], error=str(entry.error))
            return
        self.watcher.addPath(str(entry.path))
        self._load_doc(entry.doc.copy())
        self._saved_text = self.doc.to_text() if self.doc else ""
        self._update_dirty()

    def _load_doc(self, doc: CharacterDoc, *, from_json: bool = False) -> None:
        self.doc = doc
        self._committed_name = doc.name
        self._set_editor_enabled(True)
        self.form.load(
            doc,
            mcp_servers=self._mcp_names,
            characters=[self.model.entry(r).name for r in range(self.model.rowCount())],
            endpoints=self.deps.endpoints(),
        )
        if not from_json:  # the user's own JSON text stays as they typed it
            self._set_json_text(doc.to_text())
        self._after_change()

    def _set_editor_enabled(self, enabled: bool) -> None:
        for widget in (self.form, self.save_button, self.export_button):
            widget.setEnabled(enabled)
        for action in (self.duplicate_action, self.rename_action, self.delete_action):
            action.setEnabled(self.path is not None)
        self.describe_action.setEnabled(True)

    # -- edits ------------------------------------------------------------------------------

    @property
    def unsaved_label(self) -> str:
        return self.doc.name if self.doc and self.doc.name else "This character"

    @property
    def dirty(self) -> bool:
        return self.doc is not None and (
            self._json_error is not None or self.doc.to_text() != self._saved_text
        )

    def _on_name_committed(self) -> None:
        """The name field was edited and committed: offer to rename the old name in the
        examples too (#15: they kept the old name, and each one became a warning)."""
        if self.doc is None or self.doc.name == self._committed_name:
            return
        old, self._committed_name = self._committed_name, self.doc.name
        if self._ask_rename_examples(self.doc, old, self.doc.name):
            self._load_doc(self.doc)
            self._update_dirty()

    def _ask_rename_examples(self, doc: CharacterDoc, old: str, new: str) -> bool:
        """Ask whether ``doc``'s examples should say ``new`` where they say ``old``; rename
        them in ``doc`` on yes. True when ``doc`` was changed."""
        examples = doc.data.get("messageExamples")
        count = count_speaker(examples, old)
        if not count or not new:
            return False
        plural = "example" if count == 1 else "examples"
        if not self.ask.yes_no(
            self, "Rename in examples", f"Also rename {old} to {new} in its {count} {plural}?"
        ):
            return False
        doc.data["messageExamples"] = rename_speaker(examples, old, new)
        return True

    def _on_form_edited(self) -> None:
        if self.doc is not None:
            self._set_json_text(self.doc.to_text())
            self._after_change()

    def _set_json_text(self, text: str) -> None:
        self._updating_json = True
        self.json_edit.setPlainText(text)
        self._updating_json = False
        self._set_json_error(None)

    def _on_json_text_changed(self) -> None:
        if self._updating_json or self.doc is None:
            return
        try:
            doc = CharacterDoc.from_text(self.json_edit.toPlainText())
        except CharacterError as exc:
            self._set_json_error(f"{exc.where}: {exc.message}" if exc.where else exc.message)
            self._update_dirty()
            return
        self._set_json_error(None)
        self._load_doc(doc, from_json=True)

    def _set_json_error(self, error: str | None) -> None:
        self._json_error = error
        self.json_error.setText(f"Invalid JSON, not applied: {error}" if error else "")
        self.json_error.setVisible(error is not None)
        # While the raw JSON is broken the form would overwrite it: lock the other tabs.
        for index in range(self.form.count()):
            if index != self.json_tab:
                self.form.setTabEnabled(index, error is None)

    def _after_change(self) -> None:
        self._update_prompt()
        self._update_issues()
        self._update_dirty()

    def _update_prompt(self) -> None:
        if self.doc is not None:
            self.prompt_view.setPlainText(compose_instructions(self.doc, seed=self.seed.value()))

    def _update_issues(self) -> None:
        if self.doc is None:
            return
        entries = [self.model.entry(r) for r in range(self.model.rowCount())]
        others = [e.name for e in entries if e.path != self.path]
        issues = validate(self.doc, mcp_servers=self._mcp_names, characters=others)
        if self.doc.name in others:
            issues.insert(
                0,
                Issue(Severity.ERROR, "$.name", f'another character is named "{self.doc.name}"'),
            )
        self._show_issues(issues)

    def _show_issues(self, issues: list[Issue], error: str | None = None) -> None:
        self.issues = issues
        self.issue_list.clear()
        if error:
            self.issue_list.addItem(QListWidgetItem(severity_icon("error"), error))
        for issue in issues:
            kind = "error" if issue.severity is Severity.ERROR else "warning"
            item = QListWidgetItem(severity_icon(kind), str(issue))
            item.setData(Qt.ItemDataRole.UserRole, issue.path)
            item.setToolTip("Click to go to the field")
            self.issue_list.addItem(item)
        self.issue_list.setVisible(bool(issues) or bool(error))
        self.move_secrets_button.setVisible(any(i.code == "secret-in-file" for i in issues))

    def _go_to_issue(self, item: QListWidgetItem) -> None:
        """A warning or error goes to its field (#15); one the form has no field for shows
        its key in the JSON tab."""
        path = item.data(Qt.ItemDataRole.UserRole)
        if not path or self.form.show_field(path):
            return
        key = next(iter(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path)), "")
        self.form.setCurrentIndex(self.json_tab)
        if key:
            self.json_edit.find(f'"{key}"')
        self.json_edit.setFocus()

    def _update_dirty(self) -> None:
        name = self.doc.name if self.doc else ""
        dirty = self.dirty
        self.heading.setText(f"{name or 'Unnamed'}{' •' if dirty else ''}")
        if self.path is not None:
            self.model.set_dirty(self.path, dirty)
        self.dirty_changed.emit(dirty)

    # -- saving -----------------------------------------------------------------------------

    def save(self) -> None:
        if self.tasks.running("Saving character"):
            return  # Ctrl+S again while saving: the running save has the latest text
        force, self._overwrite_next = self._overwrite_next, False
        self.tasks.start("Saving character", self._save(force), busy=[self.save_button])

    async def save_now(self) -> bool:
        """Save if there is anything to save; False when it could not be saved."""
        return await self._save(self._overwrite_next) if self.dirty else True

    async def _save(self, force: bool = False) -> bool:
        if self.doc is None or self.path is None:
            return False
        if self._json_error:
            messages.error(
                f"{self.path.name} was not saved: the JSON tab has an error "
                f"({self._json_error}). Fix it, or select another tab's value to revert."
            )
            return False
        doc = self.doc.copy()
        try:
            self.stamp = await asyncio.to_thread(
                self.deps.store.save, doc, self.path, self.stamp, force=force
            )
        except CharacterError as exc:
            if isinstance(exc, ExternalChangeError):
                self.reload_label.setText(
                    f"{self.path.name} changed on disk since you opened it; saving would "
                    "overwrite that change. Reload it, or save again to overwrite."
                )
                self.reload_banner.show()
                self._overwrite_next = True
            else:
                messages.error(str(exc))
            return False
        self._saved_text = doc.to_text()
        self._overwrite_next = False
        self.reload_banner.hide()
        self._update_dirty()
        messages.info(f"Saved {self.path.name}")
        self.saved.emit(str(self.path))
        if str(self.path) not in self.watcher.files():
            self.watcher.addPath(str(self.path))
        await self._refresh(self.path)
        return True

    # -- external changes -------------------------------------------------------------------

    def _on_watcher_directory_changed(self, _path: str) -> None:
        self.refresh()
        self._recheck.start()

    def _on_watcher_file_changed(self, _path: str) -> None:
        self._recheck.start()

    def _check_external_change(self) -> None:
        if self.path is not None:
            self.tasks.start("Checking for outside changes", self._check())

    async def _check(self) -> None:
        path, stamp = self.path, self.stamp
        if path is None:
            return
        changed = await asyncio.to_thread(self.deps.store.changed_on_disk, path, stamp)
        # An editor that saves by replacing the file makes the watcher drop it: watch again.
        if path.exists() and str(path) not in self.watcher.files():
            self.watcher.addPath(str(path))
        if changed and path == self.path:
            gone = not path.exists()
            self.reload_label.setText(
                f"{path.name} was {'removed' if gone else 'changed'} outside the studio."
                + ("" if gone else " Reload it to see the change.")
            )
            self.reload_button.setVisible(not gone)
            self.reload_banner.show()

    def _on_keep_mine_clicked(self) -> None:
        self._overwrite_next = True
        self.reload_banner.hide()

    def reload(self) -> None:
        self.tasks.start("Reloading", self._reload())

    async def _reload(self) -> None:
        if self.path is None:
            return
        entries = await asyncio.to_thread(self.deps.store.list)
        self.model.set_entries(entries)
        row = self.model.row_of(self.path)
        if row >= 0:
            current = self.path
            self.path = None
            self._open(self.model.entry(row))
            self.path = current
            self.reload_banner.hide()

    # -- list actions -------------------------------------------------------------------------

    def new_character(self) -> None:
        self.tasks.start("Creating a character", self._create(CharacterDoc.new("New character")))

    async def _create(self, doc: CharacterDoc) -> None:
        store = self.deps.store
        doc.data["name"] = await asyncio.to_thread(store.free_name, doc.name)
        path, _stamp = await asyncio.to_thread(store.create, doc)
        await self._refresh(path)
        messages.info(f"Created {path.name}")

    def open_unsaved(self, doc: CharacterDoc) -> None:
        """Show a drafted character that is not saved yet (the builder's output)."""
        self.tasks.start("Opening draft", self._open_draft(doc))

    async def _open_draft(self, doc: CharacterDoc) -> None:
        store = self.deps.store
        doc.data["name"] = await asyncio.to_thread(store.free_name, doc.name or "Draft")
        path = await asyncio.to_thread(store.free_path, doc.name)
        if self.path is not None:
            self.model.set_dirty(self.path, False)
        self.path, self.stamp = path, None
        self._saved_text = ""
        self._load_doc(doc)
        self._update_dirty()

    def open_builder(self) -> BuilderDialog:
        dialog = BuilderDialog(self.deps.draft, self.deps.model_label(), self.tasks, self)
        dialog.drafted.connect(self.open_unsaved)
        dialog.open()
        self.builder_dialog = dialog
        return dialog

    def duplicate(self) -> None:
        if self.doc is not None:
            self.tasks.start("Duplicating", self._duplicate(self.doc.copy()))

    async def _duplicate(self, doc: CharacterDoc) -> None:
        _copy, path, _stamp = await asyncio.to_thread(self.deps.store.duplicate, doc)
        await self._refresh(path)

    def rename(self) -> None:
        if self.doc is None or self.path is None:
            return
        if self.dirty:
            messages.warning("Save or revert your changes before renaming.")
            return
        name = self.ask.text(self, "Rename character", "New name:", self.doc.name)
        if name and name.strip() != self.doc.name:
            # Asked before the task starts: a modal question inside a task would stop the others.
            probe = self.doc.copy()
            examples = self._ask_rename_examples(probe, self.doc.name, name.strip())
            self.tasks.start("Renaming", self._rename(self.path, name, examples))

    async def _rename(self, path: Path, name: str, examples: bool = False) -> None:
        old = self.doc.name if self.doc else ""
        new = name.strip()
        target, _stamp = await asyncio.to_thread(self.deps.store.rename, path, self.stamp, name)
        if old:
            await self.deps.renamed(old, new)
        self.path = None
        await self._refresh(target)
        if self.doc is None or self.path != target:
            return
        changed = False
        if examples:
            self.doc.data["messageExamples"] = rename_speaker(
                self.doc.data.get("messageExamples"), old, new
            )
            changed = True
        if self.doc.data.get("system") == generated_system(old):
            self.doc.data["system"] = generated_system(new)
            changed = True
        if changed:
            self._load_doc(self.doc)
            await self._save()

    def delete(self) -> None:
        if self.path is not None:
            self.tasks.start("Deleting", self._delete(self.path))

    async def _delete(self, path: Path) -> None:
        name = self.doc.name if self.doc else path.name
        entry = await asyncio.to_thread(self.deps.store.delete, path)
        self._last_trashed = entry
        self.path, self.doc, self.stamp = None, None, None
        self._saved_text = ""
        self.trash_label.setText(f"Deleted {name}. It is in the workspace trash.")
        self.trash_banner.show()
        await self._refresh()

    def undo_delete(self) -> None:
        if self._last_trashed is not None:
            entry, self._last_trashed = self._last_trashed, None
            self.tasks.start("Restoring", self._restore(entry))

    async def _restore(self, entry: TrashEntry) -> None:
        path = await asyncio.to_thread(self.deps.store.restore, entry)
        self.trash_banner.hide()
        await self._refresh(path)

    # -- import / export ----------------------------------------------------------------------

    def import_files(self) -> None:
        paths = self.ask.open_file(self)
        if paths:
            self.tasks.start("Importing", self._import([Path(p) for p in paths]))

    async def _import(self, sources: list[Path]) -> None:
        last = None
        names: list[str] = []
        details: list[str] = []
        for source in sources:
            try:
                doc, path, notes = await asyncio.to_thread(self.deps.store.import_file, source)
            except CharacterError as exc:
                messages.error(f"Could not import {source.name}: {exc}")
                continue
            last = path
            names.append(doc.name)
            details += [f"{doc.name} from {source.name} as {path.name}", *notes]
            if len(sources) == 1:
                said = f"Imported {doc.name} from {source.name} as {path.name}"
                messages.info(said, "\n".join(notes) or None)
        if len(sources) > 1 and names:
            # One line for them all: each file's line replaced the one before in the status
            # bar, and after three files it named only the last.
            plural = "character" if len(names) == 1 else "characters"
            messages.info(
                f"Imported {len(names)} {plural}: {', '.join(names)}.", "\n".join(details)
            )
        if last is not None:
            await self._refresh(last)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.tasks.start("Importing", self._import(paths))

    def export(self, kind: Format) -> None:
        if self.doc is None:
            return
        extension = "png" if kind is Format.CARD_PNG else "json"
        stem = self.path.stem if self.path else "character"
        target = self.ask.save_file(self, f"{stem}.{kind.value}.{extension}")
        if target:
            self.tasks.start("Exporting", self._export(self.doc.copy(), kind, Path(target)))

    async def _export(self, doc: CharacterDoc, kind: Format, target: Path) -> None:
        try:
            lost = await asyncio.to_thread(self.deps.store.export, doc, kind, target, self.path)
        except CharacterError as exc:
            messages.error(f"Could not export {doc.name}: {exc}")
            return
        label = FORMAT_LABELS[kind]
        # What the target's schema would refuse, named by field, beside what it cannot carry.
        problems = [f"{issue}" for issue in export_warnings(doc, kind)]
        if lost or problems:
            messages.warning(
                f"Exported {doc.name} as {label} to {target.name}. "
                f"{len(lost)} field(s) could not be carried, {len(problems)} would not validate "
                "(details).",
                "\n".join([*lost, *problems]),
            )
        else:
            messages.info(f"Exported {doc.name} as {label} to {target.name}")

    # -- secrets ------------------------------------------------------------------------------

    def move_secrets_to_keyring(self) -> None:
        if self.doc is not None:
            self.tasks.start("Moving secrets", self._move_secrets())

    async def _move_secrets(self) -> None:
        assert self.doc is not None
        secrets = self.doc.section("settings").get("secrets", {})
        candidates = {
            k: v for k, v in secrets.items() if isinstance(v, str) and v and not is_placeholder(v)
        }
        # The keyring is shared by every character: never replace a different key already there.
        existing = await self.deps.secrets.sources(list(candidates))
        moving = {k: v for k, v in candidates.items() if existing.get(k) is None}
        kept = sorted(set(candidates) - set(moving))
        if kept:
            messages.warning(
                f"{', '.join(kept)} already has a value in your secrets, so the one in "
                f"{self.doc.name} was left in the file. Compare them under Settings."
            )
        if not moving:
            return
        await self.deps.secrets.store(moving)
        for key in moving:
            # The character keeps naming the secret; the keyring holds its value.
            secrets[key] = ""
        self._load_doc(self.doc)
        self._update_dirty()
        messages.info(
            f"Moved {', '.join(moving)} to the keyring. Save the character to remove "
            "the values from its file."
        )

    async def shutdown(self) -> None:
        """Stop watching files (window shutdown)."""
        self._recheck.stop()
        paths = self.watcher.files() + self.watcher.directories()
        if paths:
            self.watcher.removePaths(paths)

    def json_payload(self) -> Any:
        """The raw JSON currently shown (tests)."""
        return json.loads(self.json_edit.toPlainText())
