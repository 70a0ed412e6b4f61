"""The preview before servers from Claude Desktop (or Cursor, VS Code) join the catalogue.

One box per server: on a name clash, rename (``name-2`` suggested), replace or skip; secrets in
its ``env`` offered to the keyring (the entry then says ``${VAR}``); what cannot work on this
machine listed. The choices land on the `ImportCandidate`s the page then applies.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.mcp.importing import ConfigLocation, ImportCandidate, check_choices

_CLASH_CHOICES = (("rename", "Add it as"), ("replace", "Replace mine"), ("skip", "Skip it"))


class _ServerBox(QGroupBox):
    """The choices for one server."""

    def __init__(self, candidate: ImportCandidate, secrets_note: str | None) -> None:
        super().__init__(candidate.source_name)
        self.setObjectName(f"importServer:{candidate.source_name}")
        self.candidate = candidate
        layout = QVBoxLayout(self)
        self.include: QCheckBox | None = None
        self.clash: QComboBox | None = None
        self.new_name: QLineEdit | None = None
        self.move: QCheckBox | None = None
        if candidate.problems:
            problem = QLabel("Cannot be imported: " + "; ".join(candidate.problems))
            problem.setWordWrap(True)
            problem.setProperty("error", True)
            layout.addWidget(problem)
            return
        row = QHBoxLayout()
        if candidate.clash:
            row.addWidget(QLabel(f"You already have a server called {candidate.source_name}."))
            self.clash = QComboBox()
            self.clash.setObjectName("importClash")
            for value, label in _CLASH_CHOICES:
                self.clash.addItem(label, value)
            self.clash.setCurrentIndex(max(0, self.clash.findData(candidate.action)))
            self.new_name = QLineEdit(
                candidate.name if candidate.action == "rename" else candidate.suggested
            )
            self.new_name.setObjectName("importNewName")
            self.clash.currentIndexChanged.connect(self._on_clash_changed)
            row.addWidget(self.clash)
            row.addWidget(self.new_name, 1)
        else:
            self.include = QCheckBox("Import")
            self.include.setObjectName("importInclude")
            self.include.setChecked(candidate.action != "skip")
            row.addWidget(self.include)
            row.addStretch(1)
        layout.addLayout(row)
        if candidate.secrets:
            shown = ", ".join(f"{m.key} → ${{{m.variable}}}" for m in candidate.secrets)
            self.move = QCheckBox(f"Move to the keyring: {shown}")
            self.move.setObjectName("importMoveSecrets")
            self.move.setToolTip(
                "; ".join(f"{m.key}: {m.reason}" for m in candidate.secrets)
                + ". mcp_servers.json then holds only the ${NAME}, filled in when the server "
                "starts."
            )
            self.move.setChecked(secrets_note is None)
            self.move.setEnabled(secrets_note is None)
            layout.addWidget(self.move)
            if secrets_note is not None:
                note = QLabel(secrets_note)
                note.setWordWrap(True)
                note.setProperty("muted", True)
                layout.addWidget(note)
        for warning in candidate.warnings:
            label = QLabel(f"⚠ {warning}")
            label.setObjectName("importWarning")
            label.setWordWrap(True)
            layout.addWidget(label)
        self._on_clash_changed()

    def _on_clash_changed(self) -> None:
        if self.clash is not None and self.new_name is not None:
            self.new_name.setVisible(self.clash.currentData() == "rename")

    def apply(self) -> None:
        """Copy the widgets' state onto the candidate."""
        candidate = self.candidate
        if candidate.problems:
            candidate.action = "skip"
            return
        if self.clash is not None:
            action = self.clash.currentData()
            candidate.choose(action, self.new_name.text() if self.new_name else None)
        elif self.include is not None:
            candidate.choose("add" if self.include.isChecked() else "skip")
        candidate.move_secrets = bool(self.move and self.move.isChecked())


class McpImportDialog(QDialog):
    """Preview and choose; `plan()` is the candidates with the choices applied."""

    def __init__(
        self,
        source: Path,
        plan: list[ImportCandidate],
        existing: list[str],
        secrets_note: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``secrets_note`` says why secrets cannot be moved here (None: they can)."""
        super().__init__(parent)
        self.setWindowTitle("Import MCP servers")
        self.resize(640, 520)
        self._existing = existing
        layout = QVBoxLayout(self)
        intro = QLabel(f"{len(plan)} server(s) in {source}. Choose what to bring in.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        inner = QWidget()
        column = QVBoxLayout(inner)
        self.boxes = [_ServerBox(candidate, secrets_note) for candidate in plan]
        for box in self.boxes:
            column.addWidget(box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)
        self.error = QLabel()
        self.error.setObjectName("importError")
        self.error.setProperty("error", True)
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def plan(self) -> list[ImportCandidate]:
        for box in self.boxes:
            box.apply()
        return [box.candidate for box in self.boxes]

    def _on_accepted(self) -> None:
        problems = check_choices(self.plan(), self._existing)
        if problems:
            self.error.setText("\n".join(problems))
            self.error.show()
            return
        self.accept()

    @classmethod
    async def ask(
        cls,
        parent: QWidget,
        source: Path,
        plan: list[ImportCandidate],
        existing: list[str],
        secrets_note: str | None,
    ) -> list[ImportCandidate] | None:
        """Show the preview from an asyncio task (open(), not a nested exec()); tests
        replace this. None when the user cancels."""
        dialog = cls(source, plan, existing, secrets_note, parent)
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        dialog.finished.connect(lambda code: answer.done() or answer.set_result(bool(code)))
        dialog.open()
        try:
            accepted = await answer
            return dialog.plan() if accepted else None
        finally:
            dialog.deleteLater()

    @staticmethod
    def ask_file(parent: QWidget, locations: list[ConfigLocation]) -> Path | None:
        """Which file to import: one of the usual locations that exist, or any file; tests
        replace this."""
        choose = "Choose a file…"
        if locations:
            items = [f"{loc.label}: {loc.path}" for loc in locations] + [choose]
            item, ok = QInputDialog.getItem(
                parent, "Import MCP servers", "Import from", items, 0, False
            )
            if not ok:
                return None
            if item != choose:
                return locations[items.index(item)].path
        path, _ = QFileDialog.getOpenFileName(
            parent, "Claude Desktop, Cursor or VS Code config", "", "JSON (*.json)"
        )
        return Path(path) if path else None
