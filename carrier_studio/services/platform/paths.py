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
    root: Path

    @property
    def characters_dir(self) -> Path:
        return self.root / "characters"

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
    def database(self) -> Path:
        return self.root / "studio.db"

    @property
    def trash_dir(self) -> Path:
        return self.root / ".trash"

    @property
    def tools_dir(self) -> Path:
        return self.root / "tools"
