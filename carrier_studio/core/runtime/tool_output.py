"""A tool's output as the person reading a chat sees it.

The agents SDK hands an MCP tool's result on as content parts: one ``{"type": "text", ...}``
dict, an image dict with a data URL, or a list of them, and a part it has no type for (an
embedded resource, a resource link) as text holding that block's JSON. `str()` of that showed a
Python dict on the tool card; `tool_output_text` joins the text, notes an image by its type and
size, and names a resource by its URI. Conversations stored before keep that dict's repr as their
result; it is read back the same way.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from carrier_studio.core.runtime.attachments import human_size

#: A stored result longer than this is shown as it is rather than parsed (a repr of parts this
#: long would be mostly an image's base64, and parsing it would hold the loop).
MAX_REPR_CHARS = 200_000

_PART_TYPES = frozenset({"text", "image", "file", "audio", "resource", "resource_link"})


def tool_output_text(output: Any) -> str:
    """``output`` (a string, a content part, a list of them, or a stored repr of those) as text."""
    if isinstance(output, str):
        parts = _stored_parts(output)
        return output if parts is None else _joined(parts)
    if hasattr(output, "model_dump"):  # the SDK's ToolOutputText / ToolOutputImage models
        output = output.model_dump(exclude_none=True)
    if isinstance(output, Mapping) and output.get("type") in _PART_TYPES:
        return _joined([output])
    if isinstance(output, list | tuple) and output and all(_is_part(p) for p in output):
        return _joined(
            [p.model_dump(exclude_none=True) if hasattr(p, "model_dump") else p for p in output]
        )
    return "" if output is None else str(output)


def _is_part(value: Any) -> bool:
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    return isinstance(value, Mapping) and value.get("type") in _PART_TYPES


def _stored_parts(text: str) -> list[Mapping[str, Any]] | None:
    """The parts a stored result's Python repr holds, or None when it is not one."""
    if len(text) > MAX_REPR_CHARS or not text.startswith(("{'type': ", "[{'type': ")):
        return None
    try:
        value = ast.literal_eval(text)  # literals only: a stored string, never run as code
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    parts = value if isinstance(value, list) else [value]
    return parts if parts and all(_is_part(p) for p in parts) else None


def _joined(parts: list[Mapping[str, Any]]) -> str:
    return "\n".join(_part_text(p) for p in parts)


def _part_text(part: Mapping[str, Any]) -> str:
    kind = part.get("type")
    if kind == "text":
        text = str(part.get("text", ""))
        block = _block(text)
        return text if block is None else _block_text(block)
    if kind == "image":
        return _image_note(str(part.get("image_url") or ""), part.get("file_id"))
    if kind == "file":
        name = part.get("filename") or part.get("file_url") or part.get("file_id") or "a file"
        return f"[file: {name}]"
    return _block_text(part)


def _block(text: str) -> Mapping[str, Any] | None:
    """An MCP content block the SDK passed on as its JSON (resources, links, audio)."""
    if not text.startswith("{") or '"type"' not in text[:200]:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("type") in {"resource", "resource_link", "audio"}:
        return value
    return None


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "resource_link":
        return f"[resource link: {block.get('uri', '')}]"
    if kind == "resource":
        resource = block.get("resource")
        resource = resource if isinstance(resource, Mapping) else {}
        head = f"[resource: {resource.get('uri', '')}]"
        text = resource.get("text")
        if isinstance(text, str):
            return f"{head}\n{text}"
        mime = resource.get("mimeType") or resource.get("mime_type") or "binary"
        return f"{head} ({mime}, {human_size(_base64_bytes(str(resource.get('blob') or '')))})"
    if kind == "audio":
        mime = block.get("mimeType") or block.get("mime_type") or "audio"
        return f"[{mime}, {human_size(_base64_bytes(str(block.get('data') or '')))}]"
    return json.dumps(dict(block), ensure_ascii=False)


def _image_note(url: str, file_id: Any) -> str:
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        mime = head[len("data:") :].split(";", 1)[0] or "image"
        return f"[image: {mime}, {human_size(_base64_bytes(data))}]"
    if url:
        return f"[image: {url}]"
    return f"[image: {file_id}]" if file_id else "[image]"


def _base64_bytes(data: str) -> int:
    data = data.strip()
    return max(0, len(data) * 3 // 4 - data[-2:].count("="))
