"""Loads and saves `Settings` as JSON in the config folder.

A damaged or invalid settings file is never silently reset: it is moved aside as a backup, the
studio starts from defaults, and the user is told what was wrong, where, and where the backup is.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from carrier_studio.core import messages
from carrier_studio.core.errors import ConfigError
from carrier_studio.core.events import Change, Emitter
from carrier_studio.core.jsonfile import parse_json
from carrier_studio.core.settings import (
    NewerSettingsError,
    Settings,
    dump_settings,
    parse_settings,
)
from carrier_studio.services.platform.files import atomic_write_json, move_aside

log = logging.getLogger(__name__)


def read_settings(path: Path) -> Settings:
    """Read and validate a settings file; raises `ConfigError` naming the file and place."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=path) from exc
    raw = parse_json(text, path=path, error=ConfigError)
    try:
        return parse_settings(raw)
    except ConfigError as exc:
        kind = type(exc)
        raise kind(exc.message, path=path, where=exc.where, hint=exc.hint) from exc


@dataclass(frozen=True)
class SettingsChange(Change):
    """The settings were saved: the new settings, and who saved them."""

    settings: Settings = field(default_factory=Settings)


class SettingsStore:
    """The current settings, their file, and who wants to hear when they change."""

    def __init__(self, path: Path, settings: Settings, *, read_only: bool = False) -> None:
        self.path = path
        self.settings = settings
        #: True when the file belongs to a newer studio: it is used as defaults, never written.
        self.read_only = read_only
        #: Emits a `SettingsChange` after every save.
        self.changed: Emitter[SettingsChange] = Emitter("settings")

    @classmethod
    def load(cls, path: Path) -> SettingsStore:
        if not path.exists():
            return cls(path, Settings())
        try:
            return cls(path, read_settings(path))
        except NewerSettingsError as exc:
            messages.warning(
                "Your settings were written by a newer Carrier Studio. This version runs with "
                "default settings and will not change the file.",
                details=str(exc),
            )
            return cls(path, Settings(), read_only=True)
        except ConfigError as exc:
            backup = move_aside(path)
            messages.warning(
                "Your settings file could not be read, so Carrier Studio started with default "
                f"settings. The old file is kept as {backup.name}.",
                details=f"{exc}\n\nBackup: {backup}",
            )
            return cls(path, Settings())

    def save(self, settings: Settings | None = None, *, by: object | None = None) -> None:
        """Write the settings atomically and tell the listeners (``by``: who saved)."""
        if settings is not None:
            self.settings = settings
        if not self.read_only:
            atomic_write_json(self.path, dump_settings(self.settings))
        self._saved(by)

    async def save_async(
        self, settings: Settings | None = None, *, by: object | None = None
    ) -> None:
        """`save` with the disk write off the event loop; listeners run on the caller's thread."""
        if settings is not None:
            self.settings = settings
        if not self.read_only:
            await asyncio.to_thread(atomic_write_json, self.path, dump_settings(self.settings))
        self._saved(by)

    def _saved(self, by: object | None) -> None:
        log.info("settings saved to %s", self.path)
        self.changed.emit(SettingsChange(by, self.settings))
