"""Character files in a workspace: list, load, save, import, export, trash.

Reads are guarded (size, encoding, duplicate keys, nesting, folders posing as files, duplicate
names) so that bad input gives a message naming the file and the problem, and writes are atomic
and refuse to overwrite a file that changed on disk since it was loaded. Nothing is deleted:
"delete" moves a file to the workspace trash, and the move can be undone.

Characters may sit in sub-folders (a Carrier checkout keeps old ones in ``retired/``): they are
listed with their folder and saved where they are. Hidden folders (``.git``, ``.trash``) are
not characters. A character's avatar is an image beside its file, named by the ``avatar`` key
(or the ElizaOS ``image``/``imageUrl``/``settings.avatar`` fields) relative to the file; a name
that leads outside the characters folder is ignored.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
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
from carrier_studio.core.jsonfile import decode_text
from carrier_studio.services.characters import png_card
from carrier_studio.services.platform.files import atomic_write_text

if TYPE_CHECKING:
    from carrier_studio.core.characters.formats import Format

#: Larger files are refused: real character files are a few kB; a 5 MB "character" is a mistake.
MAX_BYTES = 1_000_000
#: How deep sub-folders are searched: a checkout nests one or two levels, not a whole disk.
MAX_FOLDER_DEPTH = 3
#: Where a character names its picture, first match wins: the studio's key, then ElizaOS's.
AVATAR_FIELDS = (("avatar",), ("image",), ("imageUrl",), ("settings", "avatar"))


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
    #: The sub-folder of the characters folder the file is in ("retired"), "" at the top.
    folder: str = ""
    #: The character's avatar image, when it names one that exists inside the folder.
    avatar: Path | None = None

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
    text = decode_text(data, path=path, error=CharacterError)
    return CharacterDoc.from_text(text, path), Stamp.of(path, data)


def character_files(folder: Path) -> list[Path]:
    """Every ``*.json`` under ``folder`` and its visible sub-folders, in a stable order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).relative_to(folder).parts)
        # Pruned in place so os.walk never enters them; symlinked folders are not followed.
        visible = [d for d in dirs if not d.startswith(".")]
        # A folder named like a character file is listed, so the user hears what is wrong.
        named = [d for d in visible if d.endswith(".json")]
        dirs[:] = sorted(d for d in visible if d not in named and depth < MAX_FOLDER_DEPTH)
        names = [*named, *(f for f in files if f.endswith(".json") and not f.startswith("."))]
        found += [Path(root) / name for name in names]
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _avatar_value(doc: CharacterDoc) -> str | None:
    for keys in AVATAR_FIELDS:
        value: object = doc.data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class CharacterStore:
    def __init__(
        self, folder: Path, trash: Path, *, on_read: Callable[[CharacterDoc], None] | None = None
    ) -> None:
        self.folder = folder
        self.trash = trash
        #: Called with every character `list` reads (the session registers its secrets with
        #: the redactor, so a key in ``settings.secrets`` never reaches a log or a crash report).
        self.on_read = on_read

    # -- reading ---------------------------------------------------------------------------

    def list(self) -> list[Entry]:
        """Every character file (sub-folders too), sorted by name; unreadable ones carry their
        error, so one bad file is one listed problem and never hides the others."""
        entries = []
        for path in character_files(self.folder) if self.folder.is_dir() else []:
            folder = path.parent.relative_to(self.folder).as_posix()
            folder = "" if folder == "." else folder
            try:
                doc, stamp = read_character(path)
                if self.on_read is not None:
                    self.on_read(doc)
                entries.append(Entry(path, doc, stamp, None, folder, self.avatar_of(doc, path)))
            except CharacterError as exc:
                entries.append(Entry(path, None, None, exc, folder))
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
                entry = Entry(entry.path, entry.doc, entry.stamp, error, entry.folder, entry.avatar)
            result.append(entry)
        return sorted(result, key=lambda e: e.name.lower())

    def avatar_of(self, doc: CharacterDoc, path: Path) -> Path | None:
        """The image ``doc`` names as its avatar, if it exists inside the characters folder.

        URLs are not fetched (the studio has no network here) and a name that leads outside the
        folder (``../../secret.png``, an absolute path) is ignored rather than read.
        """
        value = _avatar_value(doc)
        if value is None or "://" in value or value.startswith("data:"):
            return None
        try:
            candidate = (path.parent / value).resolve()
            inside = candidate.is_relative_to(self.folder.resolve())
            return candidate if inside and candidate.is_file() else None
        except (OSError, ValueError):
            return None

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

    def free_path(self, name: str, folder: Path | None = None, suffix: str = ".json") -> Path:
        """A file name for ``name`` that nothing uses yet, in ``folder`` (default: the top)."""
        folder = folder or self.folder
        base = slugify(name)
        candidate = folder / f"{base}{suffix}"
        counter = 2
        while candidate.exists():
            candidate = folder / f"{base}-{counter}{suffix}"
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
            target = self.free_path(new_name, path.parent)  # a retired/ character stays there
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
            target = self.free_path(target.stem, target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(entry.trashed, target)
        return target

    # -- import / export -------------------------------------------------------------------

    def import_file(self, source: Path) -> tuple[CharacterDoc, Path, list[str]]:
        """Convert any supported file (JSON in any format, a PNG card) into a new character.

        The source is only read. A PNG card's picture is stored beside the new file and named by
        its ``avatar`` key. Every refusal is a `CharacterError` naming ``source``.
        """
        from carrier_studio.core.characters import formats

        if source.is_dir():
            raise CharacterError("is a folder, not a character file", path=source)
        image: bytes | None = None
        notes: list[str] = []
        if source.suffix.lower() == ".png" or _starts_like_png(source):
            card = png_card.read_card_png(png_card.read_png_file(source), source)
            raw, image = card.card, card.image
            notes += card.notes
            notes.append(
                f"The card came from the {card.keyword} chunk of a PNG image; the "
                "image is kept as the character's avatar."
            )
        else:
            raw = read_character(source)[0].data
        try:
            result = formats.import_character(raw)
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
        notes += result.notes
        original = imported.name
        imported.data["name"] = self.free_name(original)
        if imported.name != original:
            notes.append(f'renamed to "{imported.name}": "{original}" already exists')
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.free_path(imported.name)
        avatar = None
        if image is not None:
            # The picture is written first so the file never names a missing avatar.
            avatar = self.free_path(path.stem, suffix=".png")
            _atomic_write_bytes(avatar, image)
            imported.data[formats.AVATAR_KEY] = avatar.name
        try:
            self.save(imported, path, None)
        except BaseException:
            if avatar is not None:
                avatar.unlink(missing_ok=True)
            raise
        return imported, path, notes

    def export_bytes(
        self, doc: CharacterDoc, kind: Format, path: Path | None = None
    ) -> tuple[bytes, list[str]]:
        """``doc`` in the format ``kind`` as file content, and what the format could not carry.

        ``path`` is the character's file, for its avatar (a PNG card's picture).
        """
        from carrier_studio.core.characters.formats import (
            EXPORTERS,
            Format,
            export_card_v2,
            export_card_v3,
        )

        if kind is Format.CARD_PNG:
            v2, v3 = export_card_v2(doc), export_card_v3(doc)
            avatar = self.avatar_of(doc, path) if path is not None else None
            image = png_card.read_png_file(avatar) if avatar is not None else None
            data = png_card.write_card_png(image, {"chara": v2.data, "ccv3": v3.data}, avatar)
            lost = list(v2.lost)
            if avatar is None:
                lost.append(
                    "$.avatar (the character has no avatar image; the card shows a plain picture)"
                )
            return data, lost
        result = EXPORTERS[kind](doc)
        return CharacterDoc(result.data).to_text().encode("utf-8"), result.lost

    def export(
        self, doc: CharacterDoc, kind: Format, target: Path, path: Path | None = None
    ) -> list[str]:
        """Write ``doc`` in the format ``kind``; returns what the format could not carry."""
        data, lost = self.export_bytes(doc, kind, path)
        _atomic_write_bytes(target, data)
        return lost


def _starts_like_png(path: Path) -> bool:
    """A PNG card saved with another extension is still a PNG card."""
    try:
        with path.open("rb") as handle:
            return png_card.is_png(handle.read(len(png_card.PNG_SIGNATURE)))
    except OSError:
        return False


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of it (as `atomic_write_text`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
