"""Character files in a workspace: list, load, save, import, export, trash.

Reads are guarded (size, encoding, folders posing as files, duplicate names) so that bad input
gives a message naming the file and the problem, and writes are atomic and refuse to overwrite a
file that changed on disk since it was loaded. Nothing is deleted: "delete" moves a file to the
workspace trash, and the move can be undone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from carrier_studio.core.characters.document import (
    CharacterDoc,
    CharacterError,
    ExternalChangeError,
)
from carrier_studio.core.characters.validation import Issue, Severity, errors, validate
from carrier_studio.services.platform.files import atomic_write_text

if TYPE_CHECKING:
    from carrier_studio.core.characters.formats import Format

#: Larger files are refused: real character files are a few kB; a 5 MB "character" is a mistake.
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Stamp:
    """What a file looked like when it was read, to notice changes made by someone else."""

    mtime_ns: int
    size: int
    digest: str

    @classmethod
    def of(cls, path: Path, data: bytes | None = None) -> Stamp:
        stat = path.stat()
        data = path.read_bytes() if data is None else data
        return cls(stat.st_mtime_ns, stat.st_size, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Entry:
    """One file in the characters folder: its character, or why it could not be read."""

    path: Path
    doc: CharacterDoc | None
    stamp: Stamp | None
    error: CharacterError | None = None

    @property
    def name(self) -> str:
        return self.doc.name if self.doc else self.path.stem


@dataclass(frozen=True)
class TrashEntry:
    original: Path
    trashed: Path


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "character"


def read_character(path: Path) -> tuple[CharacterDoc, Stamp]:
    """Read one character file; every failure is a `CharacterError` naming the file."""
    if path.is_dir():
        raise CharacterError("is a folder, not a character file", path=path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CharacterError(
                f"is too large for a character file ({size / 1_000_000:.1f} MB; the limit is "
                f"{MAX_BYTES // 1_000_000} MB)",
                path=path,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CharacterError(f"cannot be read ({exc.strerror})", path=path) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CharacterError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            path=path,
            where=f"line {line}",
            hint="Save the file as UTF-8 and try again.",
        ) from exc
    return CharacterDoc.from_text(text, path), Stamp.of(path, data)


class CharacterStore:
    def __init__(self, folder: Path, trash: Path) -> None:
        self.folder = folder
        self.trash = trash

    # -- reading ---------------------------------------------------------------------------

    def list(self) -> list[Entry]:
        """Every ``*.json`` in the folder, sorted by name; unreadable ones carry their error."""
        entries = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                doc, stamp = read_character(path)
                entries.append(Entry(path, doc, stamp))
            except CharacterError as exc:
                entries.append(Entry(path, None, None, exc))
        counts = Counter(entry.doc.name for entry in entries if entry.doc)
        result = []
        for entry in entries:
            if entry.doc and counts[entry.doc.name] > 1:
                others = [e.path.name for e in entries if e.doc and e.doc.name == entry.doc.name]
                error = CharacterError(
                    f'has the same name "{entry.doc.name}" as {", ".join(sorted(others))}; '
                    "rename one of them",
                    path=entry.path,
                    where="$.name",
                )
                entry = Entry(entry.path, entry.doc, entry.stamp, error)
            result.append(entry)
        return sorted(result, key=lambda e: e.name.lower())

    def names(self) -> list[str]:
        return [entry.doc.name for entry in self.list() if entry.doc]

    def changed_on_disk(self, path: Path, stamp: Stamp | None) -> bool:
        """True when the file is no longer what was loaded (edited, replaced or removed)."""
        if stamp is None:
            return path.exists()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return True
        if (stat.st_mtime_ns, stat.st_size) == (stamp.mtime_ns, stamp.size):
            return False
        return Stamp.of(path).digest != stamp.digest

    # -- writing ---------------------------------------------------------------------------

    def check(
        self, doc: CharacterDoc, path: Path | None, mcp_servers: list[str] | None = None
    ) -> list[Issue]:
        """Errors and warnings for ``doc`` as the file at ``path``, against this workspace."""
        others = [e.doc.name for e in self.list() if e.doc and e.path != path]
        issues = validate(doc, mcp_servers=mcp_servers, characters=others)
        if doc.name in others:
            issues.insert(
                0,
                Issue(
                    Severity.ERROR,
                    "$.name",
                    f'another character is already named "{doc.name}"',
                    "duplicate-name",
                ),
            )
        return issues

    def save(
        self, doc: CharacterDoc, path: Path, stamp: Stamp | None, *, force: bool = False
    ) -> Stamp:
        """Write ``doc`` to ``path`` atomically; returns the new stamp.

        Raises `CharacterError` when the document has errors, and `ExternalChangeError` when the
        file changed on disk since ``stamp`` (unless ``force``).
        """
        problems = errors(self.check(doc, path))
        if problems:
            raise CharacterError(
                f"was not saved: {len(problems)} error(s); the first: {problems[0]}", path=path
            )
        if not force and path.exists() and self.changed_on_disk(path, stamp):
            raise ExternalChangeError(
                "changed on disk since it was opened",
                path=path,
                hint="Reload it to see the other change, or save again to overwrite it.",
            )
        atomic_write_text(path, doc.to_text())
        return Stamp.of(path)

    def free_path(self, name: str) -> Path:
        base = slugify(name)
        candidate = self.folder / f"{base}.json"
        counter = 2
        while candidate.exists():
            candidate = self.folder / f"{base}-{counter}.json"
            counter += 1
        return candidate

    def free_name(self, name: str) -> str:
        taken = set(self.names())
        if name not in taken:
            return name
        counter = 2
        while f"{name} {counter}" in taken:
            counter += 1
        return f"{name} {counter}"

    def create(self, doc: CharacterDoc) -> tuple[Path, Stamp]:
        """Save a new character under a free file name (never overwriting)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.free_path(doc.name)
        return path, self.save(doc, path, None)

    def duplicate(self, doc: CharacterDoc) -> tuple[CharacterDoc, Path, Stamp]:
        copy = doc.copy()
        copy.data["name"] = self.free_name(f"{doc.name} copy")
        path, stamp = self.create(copy)
        return copy, path, stamp

    def rename(self, path: Path, stamp: Stamp | None, new_name: str) -> tuple[Path, Stamp]:
        """Give the character a new name and a file named after it."""
        new_name = new_name.strip()
        if not new_name:
            raise CharacterError("a character needs a name", path=path, where="$.name")
        doc, current = read_character(path)
        if new_name != doc.name and new_name in self.names():
            raise CharacterError(
                f'another character is already named "{new_name}"', path=path, where="$.name"
            )
        if stamp is not None and self.changed_on_disk(path, stamp):
            raise ExternalChangeError("changed on disk since it was opened", path=path)
        doc.data["name"] = new_name
        target = path
        if slugify(new_name) != path.stem:
            target = self.free_path(new_name)
        new_stamp = self.save(doc, target, None if target != path else current)
        if target != path:
            path.unlink()
        return target, new_stamp

    def delete(self, path: Path) -> TrashEntry:
        """Move a character file to the workspace trash; `restore` undoes it."""
        self.trash.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        trashed = self.trash / f"{stamp}-{path.name}"
        os.replace(path, trashed)
        return TrashEntry(path, trashed)

    def restore(self, entry: TrashEntry) -> Path:
        target = entry.original
        if target.exists():
            target = self.free_path(target.stem)
        shutil.move(entry.trashed, target)
        return target

    # -- import / export -------------------------------------------------------------------

    def import_file(self, source: Path) -> tuple[CharacterDoc, Path, list[str]]:
        """Convert any supported format into a new character file; the source is untouched."""
        from carrier_studio.core.characters import formats

        doc, _ = read_character(source)
        try:
            result = formats.import_character(doc.data)
        except CharacterError as exc:
            raise CharacterError(exc.message, path=source, where=exc.where, hint=exc.hint) from exc
        imported = result.doc
        problems = errors(validate(imported))
        if problems:
            raise CharacterError(
                f"cannot be imported: {problems[0]}",
                path=source,
                where=problems[0].path,
            )
        notes = list(result.notes)
        original = imported.name
        imported.data["name"] = self.free_name(original)
        if imported.name != original:
            notes.append(f'renamed to "{imported.name}": "{original}" already exists')
        path, _ = self.create(imported)
        return imported, path, notes

    def export(self, doc: CharacterDoc, kind: Format, target: Path) -> list[str]:
        """Write ``doc`` in the format ``kind``; returns what the format could not carry."""
        from carrier_studio.core.characters.formats import EXPORTERS

        result = EXPORTERS[kind](doc)
        atomic_write_text(target, CharacterDoc(result.data).to_text())
        return result.lost
