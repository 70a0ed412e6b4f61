"""Reading JSON that somebody else wrote: strict, bounded, and wordy about what is wrong.

`json.loads` accepts duplicate keys (the last silently wins, so a save drops the other value),
raises `RecursionError` on deep nesting (which handlers for `JSONDecodeError` miss, so one bad
file could hide a whole list), and happily reads a file of any size. Every place that reads a
user's JSON (characters, teams, MCP configs, settings) goes through `parse_json` instead, and
gets a `CarrierError` subclass of its choosing that names the file and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from carrier_studio.core.errors import CarrierError

#: Far beyond any character, team or config a person writes; stops a 2 GB file being read.
MAX_JSON_BYTES = 32 * 1024 * 1024
#: Nesting deeper than this is not a hand-written document (personas nest 4–6 levels).
MAX_DEPTH = 64


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _line_of_second(text: str, key: str) -> str | None:
    """Where the second ``"key":`` sits: good enough to send a person to the right line."""
    pattern = re.compile(r'"' + re.escape(json.dumps(key)[1:-1]) + r'"\s*:')
    matches = list(pattern.finditer(text))
    if len(matches) < 2:
        return None
    offset = matches[1].start()
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _depth(text: str) -> int:
    """The deepest bracket nesting, ignoring brackets inside strings (a linear scan)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(
    text: str, *, path: Path | str | None = None, error: type[CarrierError] = CarrierError
) -> Any:
    """Parse ``text`` or raise ``error`` saying what is wrong and where.

    Refused: invalid JSON (line and column), duplicate keys (the key and the line of its second
    appearance), nesting deeper than `MAX_DEPTH`, text over `MAX_JSON_BYTES`.
    """
    if len(text) > MAX_JSON_BYTES:
        raise error(
            f"is {len(text) / 1e6:.0f} MB; files over {MAX_JSON_BYTES // 2**20} MB are not read",
            path=path,
        )
    # Cheap first: fewer brackets than the limit cannot nest past it.
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise error(
            f"nests more than {MAX_DEPTH} levels deep; this is not a document the studio reads",
            path=path,
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKeyError as exc:
        raise error(
            f'has the key "{exc.key}" twice in one object; keep one of them '
            "(a reader would silently drop the other)",
            path=path,
            where=_line_of_second(text, exc.key),
        ) from None
    except json.JSONDecodeError as exc:
        raise error(
            f"is not valid JSON: {exc.msg}",
            path=path,
            where=f"line {exc.lineno}, column {exc.colno}",
        ) from None
    except RecursionError:  # the depth check above should make this unreachable; belt and braces
        raise error("nests too deeply to read", path=path) from None


def decode_text(data: bytes, *, path: Path | str | None = None, error: type[CarrierError]) -> str:
    """UTF-8 (with or without a BOM) or a clear error naming the line of the first bad byte."""
    if len(data) > MAX_JSON_BYTES:
        raise error(
            f"is {len(data) / 1e6:.0f} MB; files over {MAX_JSON_BYTES // 2**20} MB are not read",
            path=path,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            path=path,
            where=f"line {line}",
        ) from None


def read_json_file(path: Path, *, error: type[CarrierError] = CarrierError) -> Any:
    """Read and parse a JSON file with every check of `parse_json` and `decode_text`."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise error(
                f"is {size / 1e6:.0f} MB; files over {MAX_JSON_BYTES // 2**20} MB are not read",
                path=path,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror or exc}", path=path) from None
    return parse_json(decode_text(data, path=path, error=error), path=path, error=error)
