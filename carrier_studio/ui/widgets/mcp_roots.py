"""The folders one MCP server may see (its MCP roots), on its Configuration tab.

The workspace folder is always one; the user adds others (Add folder…) or takes them away
(Remove). A change is saved to the settings (``settings.mcp.roots``) by the page, which tells
a running server its roots changed.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


class ServerFolders(QGroupBox):
    #: The server's added folders after a change (the workspace is not among them).
    changed = Signal(list)

    def __init__(self, workspace: str, parent: QWidget | None = None) -> None:
        super().__init__("Folders this server may see (MCP roots)", parent)
        self.setObjectName("serverFolders")
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 4, 8, 4)
        column.setSpacing(4)
        self.workspace = QLabel(f"{workspace} (the workspace, always)")
        self.workspace.setProperty("muted", True)
        self.workspace.setWordWrap(True)
        column.addWidget(self.workspace)
        self.folders = QListWidget()
        self.folders.setObjectName("serverFolderList")
        # Compact, buttons beside it: the server's JSON below gets the tab's height.
        self.folders.setMaximumHeight(3 * self.folders.fontMetrics().height() + 12)
        self.folders.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        row = QHBoxLayout()
        row.addWidget(self.folders, 1)
        buttons = QVBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.setObjectName("addServerFolder")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeServerFolder")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        column.addLayout(row)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.add_button.clicked.connect(self._on_add)
        self.remove_button.clicked.connect(self._on_remove)
        self.folders.currentRowChanged.connect(lambda _row: self._enable())
        self._enable()

    def show_folders(self, folders: list[str]) -> None:
        self.folders.clear()
        self.folders.addItems(folders)
        self._enable()

    def added(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def choose_folder(self) -> str:
        """The folder the user picks ("" when cancelled); tests replace it."""
        return QFileDialog.getExistingDirectory(self, "A folder this server may see")

    def _on_add(self) -> None:
        folder = self.choose_folder()
        if folder and folder not in self.added():
            self.folders.addItem(folder)
            self._enable()
            self.changed.emit(self.added())

    def _on_remove(self) -> None:
        row = self.folders.currentRow()
        if row >= 0:
            self.folders.takeItem(row)
            self._enable()
            self.changed.emit(self.added())

    def _enable(self) -> None:
        self.remove_button.setEnabled(self.folders.currentRow() >= 0)
