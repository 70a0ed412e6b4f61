"""Opening a workspace folder, seeding a new one from the shipped examples."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from carrier_studio import assets
from carrier_studio.core.errors import WorkspaceError
from carrier_studio.services.platform.paths import WorkspacePaths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedWorkspace:
    paths: WorkspacePaths
    #: True when this run created the workspace and copied the examples into it.
    seeded: bool

    @property
    def root(self) -> Path:
        return self.paths.root


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def open_workspace(root: Path) -> OpenedWorkspace:
    """Open ``root`` as a workspace, creating and seeding it when it is new or empty.

    An existing folder with content is never seeded or rewritten: only a missing
    ``characters/`` folder is created. A Carrier checkout (``config/mcp_servers.json``) is used
    in place; in it, and in any other git checkout, the studio's own files go under
    ``.carrier-studio/`` (`WorkspacePaths`), which ignores itself.
    """
    if root.exists() and not root.is_dir():
        raise WorkspaceError("is a file, not a folder", path=root, hint="Choose a folder.")
    fresh = not root.exists() or _is_empty_dir(root)
    paths = WorkspacePaths(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if fresh:
            _seed(paths)
        paths.characters_dir.mkdir(exist_ok=True)
        if paths.keeps_studio_files_apart:
            _make_studio_dir(paths)
    except OSError as exc:
        raise WorkspaceError(f"cannot be created or written ({exc.strerror})", path=root) from exc
    log.info(
        "workspace %s%s%s",
        root,
        " (seeded with examples)" if fresh else "",
        " (Carrier checkout)" if paths.is_carrier_checkout else "",
    )
    return OpenedWorkspace(paths, seeded=fresh)


def _seed(paths: WorkspacePaths) -> None:
    source = assets.seed_characters_dir()
    paths.characters_dir.mkdir(exist_ok=True)
    for item in sorted(source.glob("*.json")):
        shutil.copy2(item, paths.characters_dir / item.name)
    paths.scenarios_dir.mkdir(exist_ok=True)
    for item in sorted(assets.seed_scenarios_dir().glob("*.yaml")):
        shutil.copy2(item, paths.scenarios_dir / item.name)
    shutil.copy2(assets.seed_mcp_catalogue(), paths.root / "mcp_servers.json")


def _make_studio_dir(paths: WorkspacePaths) -> None:
    # A .gitignore of "*" ignores the folder and itself, so the checkout's own .gitignore (the
    # user's file) need not change and git status stays as it was.
    paths.studio_dir.mkdir(exist_ok=True)
    ignore = paths.studio_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Carrier Studio's own files (database, teams): not for git.\n*\n")
