"""Safe file writes and backups: nothing the user had is lost or half-written."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The temporary file of an atomic write: ``.NAME.XXXXXXXX.tmp``, where ``XXXXXXXX`` is
#: `tempfile.mkstemp`'s eight random characters (lower-case letters, digits and ``_``).
TEMP_PATTERN = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
#: A temporary file older than this is left over from a write that was interrupted.
STALE_TEMP_AGE = 600.0


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see either the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temps(folders: Iterable[Path], older_than: float = STALE_TEMP_AGE) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left in ``folders`` (not
    their subfolders); returns the ones removed.

    Only names the writers here make (`TEMP_PATTERN`) and only files not modified for
    ``older_than`` seconds: an atomic write writes, fsyncs and renames its file within moments,
    so a file that old belongs to a writer that died (kill -9, power loss). Age, not a lock, is
    the test because the writers take no lock, and another process of the studio (a second
    window, headless, a CLI) may be writing the same folder right now: its fresh file is kept.
    """
    removed: list[Path] = []
    now = time.time()
    for folder in folders:
        try:
            candidates = [p for p in folder.iterdir() if TEMP_PATTERN.match(p.name)]
        except OSError:  # missing or unreadable: nothing of ours to clean
            continue
        for path in candidates:
            try:
                info = path.lstat()
                if not path.is_file() or path.is_symlink() or now - info.st_mtime < older_than:
                    continue
                path.unlink()
            except OSError:  # gone already, or not ours to delete
                continue
            removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by interrupted writes", len(removed))
    return removed


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def backup_path(path: Path, tag: str = "corrupt") -> Path:
    """A free name beside ``path`` such as ``settings.json.corrupt-20261122-101500``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.{tag}-{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{tag}-{stamp}-{counter}")
        counter += 1
    return candidate


def move_aside(path: Path, tag: str = "corrupt") -> Path:
    """Rename a damaged file out of the way, keeping it for the user; returns the new name."""
    target = backup_path(path, tag)
    os.replace(path, target)
    return target
