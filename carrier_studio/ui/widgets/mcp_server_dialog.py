"""Add or edit one MCP server as JSON, checked before it is accepted (the MCP page's dialog)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.mcp.config import check_server


class ServerDialog(QDialog):
    """Add or edit one server as JSON, checked before it is accepted."""

    def __init__(self, name: str, raw: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("MCP server")
        self.resize(560, 420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(name)
        self.name.setObjectName("serverName")
        form.addRow("Name", self.name)
        layout.addLayout(form)
        hint = QLabel(
            'The server as in Claude Desktop\'s config: "command"/"args"/"env" for stdio, '
            '"url" (and "headers") for sse or streamable-http. ${VAR} is filled from the '
            "keyring, the environment or the workspace .env."
        )
        hint.setWordWrap(True)
        hint.setProperty("muted", True)
        layout.addWidget(hint)
        self.editor = QPlainTextEdit(json.dumps(raw, indent=2))
        self.editor.setObjectName("serverJson")
        layout.addWidget(self.editor, 1)
        self.error = QLabel()
        self.error.setObjectName("serverError")
        self.error.setStyleSheet("color: #D0393E")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.result_raw: dict[str, Any] | None = None

    def _on_accepted(self) -> None:
        name = self.name.text().strip()
        if not name:
            self._show("The server needs a name.")
            return
        try:
            raw = json.loads(self.editor.toPlainText())
        except ValueError as exc:
            self._show(f"Not valid JSON: {exc}")
            return
        checked = check_server(name, raw)
        if isinstance(checked, list):
            self._show("\n".join(f"{p.where}: {p.message}" for p in checked))
            return
        self.result_raw = raw
        self.accept()

    def _show(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    @classmethod
    def ask(cls, parent: QWidget, name: str, raw: dict[str, Any]) -> tuple[str, dict] | None:
        """Run the dialog; tests replace this."""
        dialog = cls(name, raw, parent)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_raw is not None:
            return dialog.name.text().strip(), dialog.result_raw
        return None
