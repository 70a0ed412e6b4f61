"""`carrier-studio characters import | export | lint`: character files without a window.

The same `CharacterStore` the Characters page uses, on the same workspace, so a file imported
here is exactly what the page would have made. Imports no Qt.

Exit status: 0 when everything asked for was done, 1 when a file or character had a problem
(each named on stderr with the file and the field), 2 when the command could not start (no
workspace, a bad argument).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from carrier_studio.core.errors import CarrierError

if TYPE_CHECKING:
    from carrier_studio.services.characters.store import CharacterStore, Entry

#: The formats `export --format` offers, by the names the issue and the docs use.
EXPORT_FORMATS = ("carrier", "eliza-v1", "eliza-v0", "card-v2", "card-v3", "card-png")


def add_parser(commands: argparse._SubParsersAction) -> None:
    characters = commands.add_parser("characters", help="import, export and check character files")
    actions = characters.add_subparsers(dest="characters_command", metavar="ACTION", required=True)
    imported = actions.add_parser(
        "import", help="add characters from files (Carrier, ElizaOS, Character Card JSON or PNG)"
    )
    imported.add_argument("files", nargs="+", type=Path, metavar="FILE")
    export = actions.add_parser("export", help="write a character in another format")
    export.add_argument("name", metavar="NAME", help="the character's name (or its file's name)")
    export.add_argument("--format", "-f", required=True, choices=EXPORT_FORMATS)
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        help="the file to write (default: <file>.<format>.json, or .png, in this folder)",
    )
    lint = actions.add_parser("lint", help="check characters for errors and warnings")
    lint.add_argument("names", nargs="*", metavar="NAME", help="default: every character")
    lint.add_argument(
        "--format",
        "-f",
        choices=EXPORT_FORMATS,
        help="also warn about what would not validate when exported to this format",
    )


def run_characters(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    # Looked up at call time, so a redirected sys.stdout (tests, a wrapper) is honoured.
    out, err = out or sys.stdout, err or sys.stderr
    command = f"carrier-studio characters {args.characters_command}"
    try:
        store = _open_store(args)
    except CarrierError as exc:
        print(f"{command}: could not open the workspace: {exc}", file=err)
        return 2
    action = {"import": _import, "export": _export, "lint": _lint}[args.characters_command]
    try:
        return action(store, args, out, err)
    except CarrierError as exc:
        print(f"{command}: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=err)
        return 130


def _open_store(args: argparse.Namespace) -> CharacterStore:
    # Session.build wires the store exactly as the window does (workspace choice, seeding) and
    # starts nothing: no database, no network.
    from carrier_studio.services.platform.paths import AppPaths
    from carrier_studio.session import Session

    return Session.build(AppPaths.for_user(), args.workspace).characters


def _format(name: str):  # noqa: ANN202 - the enum is imported lazily to keep startup light
    from carrier_studio.core.characters.formats import Format

    return Format(name)


def _import(store: CharacterStore, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    failed = 0
    for source in args.files:
        try:
            doc, path, notes = store.import_file(source)
        except CarrierError as exc:
            failed += 1
            # The error names the file itself (and the line or field) when it knows it.
            print(f"Could not import {exc if exc.path else f'{source}: {exc}'}", file=err)
            continue
        print(f"Imported {doc.name} from {source} as {path}", file=out)
        for note in notes:
            print(f"  {note}", file=out)
    return 1 if failed else 0


def _find(store: CharacterStore, name: str) -> Entry:
    entries = store.list()
    for entry in entries:
        if entry.doc is not None and name in (entry.doc.name, entry.path.stem, entry.path.name):
            if entry.error is not None:
                raise entry.error
            return entry
    for entry in entries:
        if entry.doc is None and name in (entry.path.stem, entry.path.name):
            raise entry.error or CarrierError("cannot be read", path=entry.path)
    raise CarrierError(
        f'no character is named "{name}"',
        hint=f"Known: {', '.join(sorted(e.name for e in entries if e.doc)) or 'none'}.",
    )


def _export(store: CharacterStore, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from carrier_studio.core.characters.validation import export_warnings

    kind = _format(args.format)
    entry = _find(store, args.name)
    assert entry.doc is not None
    suffix = ".png" if args.format == "card-png" else ".json"
    target = args.output or Path(f"{entry.path.stem}.{args.format}{suffix}")
    lost = store.export(entry.doc, kind, target, entry.path)
    print(f"Exported {entry.doc.name} as {args.format} to {target}", file=out)
    for field in lost:
        print(f"  not carried: {field}", file=err)
    for issue in export_warnings(entry.doc, kind):
        print(f"  warning: {entry.path} ({issue.path}): {issue.message}", file=err)
    return 0


def _lint(store: CharacterStore, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from carrier_studio.core.characters.validation import Severity, export_warnings

    entries = [_find(store, name) for name in args.names] if args.names else store.list()
    kind = _format(args.format) if args.format else None
    errors = warnings = 0
    for entry in entries:
        if entry.doc is None or (entry.error is not None and not args.names):
            errors += 1
            print(f"error: {entry.error}", file=err)
            if entry.doc is None:
                continue
        issues = store.check(entry.doc, entry.path)
        if kind is not None:
            issues += export_warnings(entry.doc, kind)
        for issue in issues:
            is_error = issue.severity is Severity.ERROR
            errors += is_error
            warnings += not is_error
            print(f"{issue.severity.value}: {entry.path} ({issue.path}): {issue.message}", file=err)
    print(
        f"{len(entries)} character(s) checked: {errors} error(s), {warnings} warning(s)", file=out
    )
    return 1 if errors else 0
