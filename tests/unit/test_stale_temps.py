"""Temporary files of interrupted atomic writes (#20): `remove_stale_temps` deletes the old
ones the writers' own pattern names, keeps a fresh one (another process's write in flight) and
everything else; `Session.start` runs it on the workspace's and the config's folders."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from carrier_studio.services.platform.files import (
    STALE_TEMP_AGE,
    TEMP_PATTERN,
    atomic_write_text,
    remove_stale_temps,
)
from carrier_studio.session import Session


def _temp_like_a_writer(folder: Path, name: str, *, age: float) -> Path:
    """A temporary file made the way `atomic_write_text` makes one, ``age`` seconds old."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.write(fd, b'{"half": ')
    os.close(fd)
    then = time.time() - age
    os.utime(tmp, (then, then))
    return Path(tmp)


def _old(path: Path, text: str = "x") -> Path:
    path.write_text(text)
    then = time.time() - 2 * STALE_TEMP_AGE
    os.utime(path, (then, then))
    return path


def test_the_pattern_is_the_writers_own(tmp_path):
    made = _temp_like_a_writer(tmp_path, "ada.json", age=0)
    assert TEMP_PATTERN.match(made.name)
    for other in ("ada.json", ".ada.json.tmp", "notes.tmp", ".ada.json.ABCDEFGH.tmp", ".x.tmp"):
        assert not TEMP_PATTERN.match(other), other


def test_old_temps_go_and_a_fresh_one_stays(tmp_path):
    chars = tmp_path / "characters"
    stale = _temp_like_a_writer(chars, "ada.json", age=2 * STALE_TEMP_AGE)
    stale_png = _temp_like_a_writer(chars, "ada.png", age=STALE_TEMP_AGE + 5)
    fresh = _temp_like_a_writer(chars, "juniper.json", age=1)  # a write in flight elsewhere
    kept = [
        _old(chars / "ada.json", "{}"),
        _old(chars / "notes.tmp"),  # the user's, not a writer's name
        _old(chars / ".ada.json.ABCDEFGH.tmp"),  # mkstemp never makes upper case
    ]
    deeper = _temp_like_a_writer(chars / "sub", "x.json", age=2 * STALE_TEMP_AGE)
    missing = tmp_path / "no-such-folder"

    removed = remove_stale_temps([chars, missing])

    assert sorted(removed) == sorted([stale, stale_png])
    assert not stale.exists() and not stale_png.exists()
    assert fresh.exists(), "a fresh temporary file may be another process's write in flight"
    assert all(p.exists() for p in kept)
    assert deeper.exists(), "only the folders given, not their subfolders"


def test_a_write_still_works_beside_a_kept_temp(tmp_path):
    fresh = _temp_like_a_writer(tmp_path, "settings.json", age=0)
    atomic_write_text(tmp_path / "settings.json", "{}\n")
    assert remove_stale_temps([tmp_path]) == []
    assert (tmp_path / "settings.json").read_text() == "{}\n"
    assert fresh.exists()


def test_session_start_clears_stale_temps(app_paths, keyring_backend, tmp_path):
    session = Session.build(
        app_paths, str(tmp_path / "workspace"), keyring_backend=keyring_backend, environ={}
    )
    paths = session.workspace.paths
    stale = [
        _temp_like_a_writer(app_paths.config_dir, "settings.json", age=2 * STALE_TEMP_AGE),
        _temp_like_a_writer(paths.characters_dir, "ada.json", age=2 * STALE_TEMP_AGE),
        _temp_like_a_writer(paths.mcp_config.parent, paths.mcp_config.name, age=2 * STALE_TEMP_AGE),
        _temp_like_a_writer(paths.teams_dir, "crew.yaml", age=2 * STALE_TEMP_AGE),
        _temp_like_a_writer(paths.tools_dir, "tool.py", age=2 * STALE_TEMP_AGE),
    ]
    fresh = _temp_like_a_writer(paths.characters_dir, "juniper.json", age=0)

    async def go():
        await session.start(instagram=False)
        await session.stop()

    asyncio.run(go())
    assert [p for p in stale if p.exists()] == []
    assert fresh.exists()
