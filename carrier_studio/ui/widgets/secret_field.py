"""An input for one secret: never shows the stored value, only where it comes from."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

_SOURCE_TEXT = {
    "keyring": "Saved in the system keyring — type to replace",
    "session": "Kept for this session only — type to replace",
    ".env": "Read from the workspace .env — type to replace",
    "environment": "Read from the environment — type to override",
}


class SecretField(QWidget):
    """A password-style line edit plus a Clear button for the secret ``name``."""

    edited = Signal()
    clear_requested = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.source: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"secret_{name}")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setClearButtonEnabled(True)
        self.edit.textEdited.connect(lambda _text: self.edited.emit())
        layout.addWidget(self.edit, 1)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip(f"Remove {name} from where it is stored")
        self.clear_button.clicked.connect(lambda: self.clear_requested.emit(self.name))
        layout.addWidget(self.clear_button)
        self.set_source(None)

    def set_source(self, source: str | None) -> None:
        self.source = source
        self.edit.setPlaceholderText(_SOURCE_TEXT.get(source or "", "Not set"))
        # Only secrets the studio stores itself can be cleared from here.
        self.clear_button.setEnabled(source in ("keyring", "session", ".env"))

    def new_value(self) -> str:
        """What the user typed (empty: keep the stored value)."""
        return self.edit.text().strip()

    def reset(self) -> None:
        self.edit.clear()
