"""Every filesystem location the studio uses, in one place.

`AppPaths` are per user (settings, logs, cache, the default workspace); `WorkspacePaths` are the
files of one workspace. Nothing else in the code builds a path from scratch, so tests redirect
everything by constructing these with a temporary folder (`AppPaths.under(tmp_path)`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "carrier-studio"
#: The folder, inside a workspace that is someone else's (a git checkout such as Carrier's),
#: that holds the studio's own files; it carries a ``.gitignore`` of ``*``.
STUDIO_DIR = ".carrier-studio"
#: Environment variable naming the workspace to open, like ``--workspace``.
HOME_ENV = "CARRIER_STUDIO_HOME"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def for_user(cls) -> AppPaths:
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """All per-user folders below one root (tests, portable installs)."""
        return cls(root / "config", root / "data", root / "cache", root / "logs")

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "carrier-studio.log"

    @property
    def default_workspace(self) -> Path:
        return self.data_dir / "workspace"

    @property
    def window_locks_dir(self) -> Path:
        """Which process has each workspace's window (one lock per workspace; see
        services/platform/window_claim.py). Not in the workspace: a new one must stay empty
        until it is seeded."""
        return self.data_dir / "windows"

    def choose_workspace(
        self, explicit: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ
    ) -> Path:
        """``--workspace`` wins, then ``CARRIER_STUDIO_HOME``, then the default workspace."""
        if explicit:
            return Path(explicit).expanduser().resolve()
        if env.get(HOME_ENV):
            return Path(env[HOME_ENV]).expanduser().resolve()
        return self.default_workspace


@dataclass(frozen=True)
class WorkspacePaths:
    """The files of one workspace.

    The user's files (characters, mcp_servers.json, .env, tools) are where the user keeps them.
    The studio's own files (studio.db, teams, the trash) sit in the root of a workspace the studio
    made, but inside a git checkout (a Carrier checkout, or any repository) they go under
    ``.carrier-studio/`` instead, so opening someone's repository adds nothing to its
    ``git status``. A file the studio already wrote in the root stays used where it is, so
    workspaces opened by older versions keep their database and teams.
    """

    root: Path

    @property
    def characters_dir(self) -> Path:
        return self.root / "characters"

    @property
    def scenarios_dir(self) -> Path:
        """Character tests (``*.yaml``) and their cassettes: the user's files, kept in the
        root even in a checkout, so they can be committed and run in the user's CI."""
        return self.root / "scenarios"

    @property
    def carrier_mcp_config(self) -> Path:
        """Where a Carrier checkout keeps its MCP catalogue."""
        return self.root / "config" / "mcp_servers.json"

    @property
    def is_carrier_checkout(self) -> bool:
        return self.carrier_mcp_config.is_file() and not (self.root / "mcp_servers.json").exists()

    @property
    def mcp_config(self) -> Path:
        return (
            self.carrier_mcp_config if self.is_carrier_checkout else self.root / "mcp_servers.json"
        )

    @property
    def env_file(self) -> Path:
        return self.root / ".env"

    @property
    def studio_dir(self) -> Path:
        """Where the studio keeps its own files in a workspace that is a git checkout."""
        return self.root / STUDIO_DIR

    @property
    def keeps_studio_files_apart(self) -> bool:
        """True when the studio's own files go under `studio_dir` (see the class doc)."""
        return self.is_carrier_checkout or (self.root / ".git").exists()

    def _own(self, name: str, apart_name: str | None = None) -> Path:
        legacy = self.root / name
        if legacy.exists() or not self.keeps_studio_files_apart:
            return legacy
        return self.studio_dir / (apart_name or name)

    @property
    def database(self) -> Path:
        return self._own("studio.db")

    @property
    def teams_dir(self) -> Path:
        return self._own("teams")

    @property
    def trash_dir(self) -> Path:
        return self._own(".trash", "trash")

    @property
    def instagram_dir(self) -> Path:
        """The Instagram queue's staged media."""
        return self._own("instagram")

    @property
    def tools_dir(self) -> Path:
        return self.root / "tools"
