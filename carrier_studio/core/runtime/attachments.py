"""Files attached to a chat message: what is accepted, and how they reach the model.

An image goes to the model as an ``input_image`` part (a base64 data URL: the SDK passes it to
Responses models as is and converts it to an ``image_url`` part for Chat Completions); a text
file goes as its text in an ``input_text`` part that names the file. Both are kept with the
user's message in the transcript (transcript.py), so they show again after a restart; they
never go anywhere but the workspace's database and the model's request.

Limits are checked before anything is sent, and a refusal names the file and the reason
(`AttachmentRefusedError`). `load` blocks on the disk and Pillow: ≤ 10 MB per file keeps that short.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_MAX_BYTES = 10 * 1024 * 1024
TEXT_MAX_BYTES = 200 * 1024
#: What vision models take (OpenAI and Anthropic both accept these four).
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
#: An image as it is kept and sent: a base64 data URL.
_DATA_URL = re.compile(r"data:image/[a-z.+-]+;base64,[A-Za-z0-9+/=]+")


class AttachmentRefusedError(ValueError):
    """A file that cannot be attached; the message names it and says why."""


@dataclass(frozen=True)
class Attachment:
    name: str
    #: "image/png" … for an image, "text/plain" for a text file.
    mime: str
    #: An image's bytes as a base64 data URL (``data:image/png;base64,…``); a text file's text.
    data: str

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    def image_bytes(self) -> bytes:
        return base64.b64decode(self.data.partition(",")[2]) if self.is_image else b""


def load(path: Path) -> Attachment:
    """The file at ``path`` as an attachment, or `AttachmentRefusedError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AttachmentRefusedError(f"{path.name} cannot be read ({exc.strerror})") from None
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if size > IMAGE_MAX_BYTES:
            raise AttachmentRefusedError(
                f"{path.name} is {size / 1e6:.1f} MB; images can be at most "
                f"{IMAGE_MAX_BYTES // (1024 * 1024)} MB"
            )
        return image(path.name, path.read_bytes())
    if size > TEXT_MAX_BYTES:
        raise AttachmentRefusedError(
            f"{path.name} is {size // 1024} KB; text files can be at most "
            f"{TEXT_MAX_BYTES // 1024} KB"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentRefusedError(
            f"{path.name} is neither an image (PNG, JPEG, GIF, WebP) nor UTF-8 text"
        ) from None
    if "\x00" in text:  # valid UTF-8, but binary all the same
        raise AttachmentRefusedError(f"{path.name} is a binary file, not text or an image")
    return Attachment(path.name, "text/plain", text)


def image(name: str, data: bytes) -> Attachment:
    """Image bytes (a file's, or a pasted picture's) as an attachment, or `AttachmentRefusedError`:
    Pillow must read them as one of `IMAGE_TYPES` within its decompression-bomb limit."""
    from PIL import Image

    if len(data) > IMAGE_MAX_BYTES:
        raise AttachmentRefusedError(
            f"{name} is {len(data) / 1e6:.1f} MB; images can be at most "
            f"{IMAGE_MAX_BYTES // (1024 * 1024)} MB"
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; a bomb is refused either way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES)) as picture:
                fmt = picture.format or ""
                picture.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRefusedError(f"{name} has too many pixels to open safely") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a file it cannot read
        raise AttachmentRefusedError(
            f"{name} is not an image the studio can read (PNG, JPEG, GIF or WebP)"
        ) from None
    mime = IMAGE_TYPES[fmt]
    return Attachment(name, mime, f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")


def user_content(text: str, attachments: tuple[Attachment, ...] | list[Attachment]) -> Any:
    """The SDK content of a user message: its text alone, or input parts with the files."""
    if not attachments:
        return text
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text else []
    for item in attachments:
        if item.is_image:
            parts.append({"type": "input_image", "image_url": item.data})
        else:
            parts.append({"type": "input_text", "text": f"File {item.name}:\n\n{item.data}"})
    return parts


def redact_around_images(text: str, redact: Callable[[str], str]) -> str:
    """``redact(text)`` with the images' data URLs left as they are: the redactor's credential
    shapes match inside random base64 (it changed a 10 MB image, and took 9 s over it), and a
    secret cannot be found in an image's bytes anyway. Each URL stands aside as a NUL-marked
    index, which JSON text never holds (json.dumps escapes NUL)."""
    urls: list[str] = []

    def lift(match: re.Match[str]) -> str:
        urls.append(match.group(0))
        return f"\x00{len(urls) - 1}\x00"

    redacted = redact(_DATA_URL.sub(lift, text))
    return re.sub("\x00(\\d+)\x00", lambda m: urls[int(m.group(1))], redacted)


def human_size(size: int) -> str:
    """A byte count as a person reads it: "12 bytes", "2.0 KB", "3.0 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
