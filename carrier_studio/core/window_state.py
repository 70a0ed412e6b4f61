"""The few settings the window needs before its first paint, read without pydantic.

Start-up paints the window before the full settings model (pydantic) is imported, so the
theme, geometry and last page are peeked from the raw file here. Anything odd falls back to the
default; the full load right after the first paint reports what is wrong with the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class WindowState:
    theme: str = "system"
    #: QMainWindow.saveGeometry() / saveState(), base64.
    geometry: str = ""
    window_state: str = ""
    last_page: str = "characters"

    @classmethod
    def from_raw(cls, raw: object) -> WindowState:
        ui = raw.get("ui") if isinstance(raw, dict) else None
        if not isinstance(ui, dict):
            return cls()
        default = cls()

        def text(key: str) -> str:
            value = ui.get(key)
            return value if isinstance(value, str) else getattr(default, key)

        theme = text("theme")
        return cls(
            theme=theme if theme in THEMES else default.theme,
            geometry=text("geometry"),
            window_state=text("window_state"),
            last_page=text("last_page"),
        )


def peek_window_state(settings_file: Path) -> WindowState:
    try:
        return WindowState.from_raw(json.loads(settings_file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return WindowState()
