"""Light and dark themes from one QSS template, following the OS unless the user chooses."""

from __future__ import annotations

import json
import string
from functools import cache

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from carrier_studio import assets


@cache
def palettes() -> dict[str, dict[str, str]]:
    return json.loads(assets.resource("themes", "palettes.json").read_text("utf-8"))


@cache
def _template() -> string.Template:
    return string.Template(assets.resource("themes", "base.qss").read_text("utf-8"))


def stylesheet(scheme: str) -> str:
    icons_dir = assets.resource("icons").as_posix()
    return _template().substitute(palettes()[scheme], scheme=scheme, icons_dir=icons_dir)


def _scheme_name(scheme: Qt.ColorScheme) -> str:
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


class ThemeManager(QObject):
    """Applies the chosen theme and re-applies it when the OS switches light/dark."""

    changed = Signal(str)

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self._choice = choice
        self.scheme = ""
        self._system = _scheme_name(QGuiApplication.styleHints().colorScheme())
        app.setStyle("Fusion")
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_hints_color_scheme_changed)
        self.apply()

    def close(self) -> None:
        """Stop following the OS (the window is going away)."""
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(
            self._on_hints_color_scheme_changed
        )

    @property
    def choice(self) -> str:
        return self._choice

    def set_choice(self, choice: str) -> None:
        self._choice = choice
        self.apply()

    def colors(self) -> dict[str, str]:
        return palettes()[self.scheme]

    def color(self, name: str) -> str:
        return self.colors()[name]

    def apply(self) -> None:
        scheme = self._system if self._choice == "system" else self._choice
        if scheme == self.scheme:
            return
        self.scheme = scheme
        colors = palettes()[scheme]
        palette = QPalette()
        # The palette covers what QSS does not reach (native dialogs, Fusion's drawing).
        for role, key in [
            (QPalette.ColorRole.Window, "window"),
            (QPalette.ColorRole.Base, "surface"),
            (QPalette.ColorRole.AlternateBase, "surface_alt"),
            (QPalette.ColorRole.Text, "text"),
            (QPalette.ColorRole.WindowText, "text"),
            (QPalette.ColorRole.ButtonText, "text"),
            (QPalette.ColorRole.Button, "surface"),
            (QPalette.ColorRole.Highlight, "accent"),
            (QPalette.ColorRole.HighlightedText, "accent_text"),
            (QPalette.ColorRole.PlaceholderText, "text_muted"),
            (QPalette.ColorRole.ToolTipBase, "surface"),
            (QPalette.ColorRole.ToolTipText, "text"),
        ]:
            palette.setColor(role, colors[key])
        self._app.setPalette(palette)
        self._app.setStyleSheet(stylesheet(scheme))
        self.changed.emit(scheme)

    def _on_hints_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._system = _scheme_name(scheme)
        if self._choice == "system":
            self.apply()
