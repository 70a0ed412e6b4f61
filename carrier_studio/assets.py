"""Where the shipped resources live, for a wheel, a frozen app and a source checkout alike.

The project keeps `resources/`, the example `characters/` and `scenarios/` (character tests)
and the default `mcp_servers.json` at the top level. The wheel build copies them into the
package (`carrier_studio/resources`, with the seed files under `resources/seed`), so installed
and frozen apps find them through importlib.resources; a source checkout (and an editable
install) reads the top-level folders.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _packaged() -> Path | None:
    root = importlib.resources.files("carrier_studio") / "resources"
    path = Path(str(root))
    return path if path.is_dir() else None


def resources_dir() -> Path:
    """The folder holding icons, themes and SQL migrations."""
    return _packaged() or _SOURCE_ROOT / "resources"


def resource(*parts: str) -> Path:
    """A path inside the resources folder, e.g. ``resource("themes", "base.qss")``."""
    return resources_dir().joinpath(*parts)


def seed_characters_dir() -> Path:
    """The example characters a new workspace is seeded with."""
    packaged = _packaged()
    return packaged / "seed" / "characters" if packaged else _SOURCE_ROOT / "characters"


def seed_scenarios_dir() -> Path:
    """The example character tests (``*.yaml``) a new workspace is seeded with."""
    packaged = _packaged()
    return packaged / "seed" / "scenarios" if packaged else _SOURCE_ROOT / "scenarios"


def seed_mcp_catalogue() -> Path:
    """The default MCP server catalogue a new workspace is seeded with."""
    packaged = _packaged()
    return packaged / "seed" / "mcp_servers.json" if packaged else _SOURCE_ROOT / "mcp_servers.json"
