"""Memories as JSON Lines: one record per line, its vector optional.

The first line may be a header naming the embedding space of the vectors in the file
(``{"format": "carrier-studio-memory", "version": 1, "embedder_id": …, "dimension": …}``);
vectors are only reused on import when that space is the importing store's, otherwise the
content is embedded again. A record line::

    {"id": "…", "character": "Ada", "kind": "fact", "content": "…",
     "provenance": {"client": "chat", "room": "12", "message_id": null, "speaker": "sam"},
     "created_at": "2026-11-22T03:00:00+00:00", "importance": 0.5, "pinned": false,
     "metadata": {}, "vector": [0.01, …]}

Only ``character`` and ``content`` are required. Reading checks every line first and reports
every bad one with its line number; the caller imports nothing unless all are good.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.jsonfile import parse_json
from carrier_studio.core.memory.errors import MemoryImportError
from carrier_studio.core.memory.model import (
    KINDS,
    EmbeddingSpace,
    MemoryRecord,
    Provenance,
)

FORMAT = "carrier-studio-memory"
VERSION = 1
#: Reported problems stop here; a file that bad is the wrong file.
MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class ParsedFile:
    records: list[MemoryRecord]
    #: The vector of each record (same order), None where the line had none.
    vectors: list[np.ndarray | None]
    space: EmbeddingSpace | None


def header_line(space: EmbeddingSpace | None) -> str:
    head: dict[str, object] = {"format": FORMAT, "version": VERSION}
    if space is not None:
        head.update(embedder_id=space.embedder_id, dimension=space.dimension)
    return json.dumps(head)


def record_line(record: MemoryRecord, vector: np.ndarray | None = None) -> str:
    p = record.provenance
    data: dict[str, object] = {
        "id": record.id,
        "character": record.character,
        "kind": record.kind,
        "content": record.content,
        "provenance": {
            "client": p.client,
            "room": p.room,
            "message_id": p.message_id,
            "speaker": p.speaker,
        },
        "created_at": record.created_at.isoformat(),
        "importance": record.importance,
        "pinned": record.pinned,
        "metadata": dict(record.metadata),
    }
    if vector is not None:
        data["vector"] = [round(float(x), 7) for x in np.asarray(vector, dtype=np.float32)]
    return json.dumps(data, ensure_ascii=False)


def write_lines(
    items: Iterable[tuple[MemoryRecord, np.ndarray | None]], space: EmbeddingSpace | None
) -> Iterator[str]:
    """The file, line by line (each ending in a newline)."""
    yield header_line(space) + "\n"
    for record, vector in items:
        yield record_line(record, vector) + "\n"


def _text(data: dict, key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ValueError(f'"{key}" is missing')
        return None
    if not isinstance(value, str):
        raise ValueError(f'"{key}" must be text, not {type(value).__name__}')
    if required and not value.strip():
        raise ValueError(f'"{key}" is empty')
    return value


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError('"created_at" must be an ISO 8601 date and time')
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'"created_at" is not an ISO 8601 date and time: {value!r}') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_record(data: object, dimension: int | None) -> tuple[MemoryRecord, np.ndarray | None]:
    """One record line's JSON; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("a memory line must be a JSON object")
    kind = _text(data, "kind") or "message"
    if kind not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}, not {kind!r}')
    prov = data.get("provenance")
    prov = {} if prov is None else prov
    if not isinstance(prov, dict):
        raise ValueError('"provenance" must be an object')
    importance = data.get("importance", 0.5)
    if isinstance(importance, bool) or not isinstance(importance, (int, float)):
        raise ValueError('"importance" must be a number from 0 to 1')
    if not 0 <= importance <= 1:
        raise ValueError(f'"importance" must be from 0 to 1, not {importance}')
    pinned = data.get("pinned", False)
    if not isinstance(pinned, bool):
        raise ValueError('"pinned" must be true or false')
    metadata = data.get("metadata")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise ValueError('"metadata" must be an object')
    fields: dict[str, object] = {}
    if data.get("id") is not None:
        fields["id"] = _text(data, "id", required=True)
    if data.get("created_at") is not None:
        fields["created_at"] = _parse_time(data["created_at"])
    record = MemoryRecord(
        character=_text(data, "character", required=True) or "",
        content=_text(data, "content", required=True) or "",
        kind=kind,  # type: ignore[arg-type]
        provenance=Provenance(
            client=_text(prov, "client") or "import",
            room=_text(prov, "room"),
            message_id=_text(prov, "message_id"),
            speaker=_text(prov, "speaker"),
        ),
        importance=float(importance),
        pinned=pinned,
        metadata=metadata,
        **fields,  # type: ignore[arg-type]
    )
    vector = None
    raw = data.get("vector")
    if raw is not None:
        if not isinstance(raw, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in raw
        ):
            raise ValueError('"vector" must be a list of numbers')
        if dimension is not None and len(raw) != dimension:
            raise ValueError(f'"vector" has {len(raw)} numbers; the header says {dimension}')
        vector = np.asarray(raw, dtype=np.float32)
    return record, vector


def read_lines(lines: Iterable[str], source: str = "the file") -> ParsedFile:
    """Every record of a file; MemoryImportError listing each bad line if any is bad."""
    records: list[MemoryRecord] = []
    vectors: list[np.ndarray | None] = []
    problems: list[tuple[int, str]] = []
    space: EmbeddingSpace | None = None
    seen_ids: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = parse_json(line)
        except CarrierError as exc:
            # The strict reader: a key written twice or deep nesting is named, not a crash.
            # Its "line 1" is this line, already numbered: only the column is worth saying.
            problem = exc.message.removeprefix("is ")
            column = (exc.where or "").removeprefix("line 1").removeprefix(", ")
            problems.append((number, f"{problem} ({column})" if column else problem))
        else:
            if isinstance(data, dict) and data.get("format") == FORMAT:
                if number != 1 and records:
                    problems.append((number, "the header must be the first line"))
                elif data.get("version") != VERSION:
                    problems.append((number, f"format version {data.get('version')!r} is unknown"))
                elif data.get("embedder_id") is not None:
                    dim = data.get("dimension")
                    if not isinstance(dim, int) or dim <= 0:
                        problems.append((number, '"dimension" must be a positive whole number'))
                    else:
                        space = EmbeddingSpace(str(data["embedder_id"]), dim)
                continue
            try:
                record, vector = parse_record(data, space.dimension if space else None)
            except ValueError as exc:
                problems.append((number, str(exc)))
            else:
                if record.id in seen_ids:
                    problems.append(
                        (number, f"id {record.id} is also on line {seen_ids[record.id]}")
                    )
                seen_ids.setdefault(record.id, number)
                records.append(record)
                vectors.append(vector)
        if len(problems) >= MAX_PROBLEMS:
            problems.append((number, "stopped reading: too many bad lines"))
            break
    if problems:
        first = problems[0]
        raise MemoryImportError(
            f"{len(problems)} bad line(s); nothing was imported (line {first[0]}: {first[1]})",
            problems,
            path=source if source != "the file" else None,
        )
    return ParsedFile(records, vectors, space)


__all__ = [
    "FORMAT",
    "VERSION",
    "ParsedFile",
    "header_line",
    "parse_record",
    "read_lines",
    "record_line",
    "write_lines",
]
