"""The secrets one MCP server needs, on its own entry: a field per ``${VAR}`` it uses.

The GitHub server's error said "add it in Settings (secrets)"; Settings lists every variable of
the workspace's servers too, but the entry that fails is where a person looks. Typed values go to
the secret store (the page saves them); the field shows only where a value comes from.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget

from carrier_studio.ui.widgets.secret_field import SecretField


class ServerSecrets(QGroupBox):
    #: The values typed, by name (only the fields typed into).
    save_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Secrets this server uses", parent)
        self.setObjectName("serverSecrets")
        self._form = QFormLayout(self)
        self.fields: dict[str, SecretField] = {}
        self.note = QLabel()
        self.note.setObjectName("serverSecretsNote")
        self.note.setWordWrap(True)
        self.save_button = QPushButton("Save secrets")
        self.save_button.setObjectName("saveServerSecrets")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._on_save)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.save_button)
        self._form.addRow(row)
        self.hide()

    def show_names(self, names: list[str]) -> None:
        """One field per name, in order (none: the box hides)."""
        if list(self.fields) == names:
            return
        for field in self.fields.values():
            self._form.removeRow(field)
        self.fields = {}
        for index, name in enumerate(names):
            field = SecretField(name)
            field.clear_button.hide()  # clearing is Settings' business
            field.edited.connect(self._on_edited)
            self._form.insertRow(index, name, field)
            self.fields[name] = field
        self.note.setText("")
        self.save_button.setEnabled(False)
        self.setVisible(bool(names))

    def show_sources(self, sources: dict[str, str | None]) -> None:
        for name, source in sources.items():
            if name in self.fields:
                self.fields[name].set_source(source)
        missing = [n for n, s in sources.items() if n in self.fields and s is None]
        self.note.setText(f"Not set: {', '.join(missing)}" if missing else "")

    def _on_edited(self) -> None:
        self.save_button.setEnabled(any(f.new_value() for f in self.fields.values()))

    def _on_save(self) -> None:
        typed = {n: f.new_value() for n, f in self.fields.items() if f.new_value()}
        if typed:
            self.save_requested.emit(typed)

    def saved(self) -> None:
        for field in self.fields.values():
            field.reset()
        self.save_button.setEnabled(False)
