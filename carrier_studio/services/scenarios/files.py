"""Scenario files the studio writes itself: "Save as test" in the chat puts one in the
workspace's scenarios folder, written atomically, never over an existing file unless asked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from carrier_studio.core.errors import ConfigError
from carrier_studio.services.platform.files import atomic_write_text


class ScenarioFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, name: str) -> Path:
        """The file ``name`` (``.yaml`` added when it has no YAML suffix) in the folder.

        Raises:
            ConfigError: the name is empty, hidden, or reaches outside the folder.
        """
        name = name.strip()
        if not name or name.startswith(".") or any(c in name for c in "/\\:"):
            raise ConfigError(
                f"“{name}” is not a file name for the scenarios folder: use letters, digits, "
                "- and _ (no folders, not starting with a dot)"
            )
        if not name.endswith((".yaml", ".yml")):
            name += ".yaml"
        return self.folder / name

    def exists(self, name: str) -> bool:
        return self.path_for(name).exists()

    async def write(self, name: str, text: str) -> Path:
        """Write ``text`` as the file ``name`` (replacing one that is there) and return it."""
        path = self.path_for(name)
        await asyncio.to_thread(atomic_write_text, path, text)
        return path
