"""Character Cards inside PNG images: read the card and the picture, write both back.

Card apps (SillyTavern, Chub, RisuAI) share a character as its portrait with the card JSON,
base64-encoded, in a ``tEXt`` chunk: keyword ``chara`` for a V2 card, ``ccv3`` for a V3 card.
SillyTavern writes both; a reader prefers ``ccv3``. The picture becomes the character's avatar.

Images come from strangers, so every read is bounded before Pillow decodes anything: the file
size, then the pixel count from the header (a decompression bomb is a small file that decodes to
gigabytes). Pillow's own bomb warning is turned into the same refusal rather than left to the
process-wide warning filter, and any broken chunk or truncated stream is one `CharacterError`
naming the file.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from carrier_studio.core.characters.document import CharacterError
from carrier_studio.core.jsonfile import decode_text, parse_json

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Card portraits are tens to a few hundred kB; 20 MB is far past any real one.
MAX_PNG_BYTES = 20 * 1024 * 1024
#: 6000 × 6000: larger than any portrait, and about 144 MB decoded as RGBA, which is still safe.
MAX_PIXELS = 36_000_000
#: The keywords in the order a reader tries them (V3 first, as SillyTavern does).
KEYWORDS = ("ccv3", "chara")
#: Written when a character has no avatar: a plain portrait-shaped canvas.
_PLACEHOLDER_SIZE = (400, 600)
_PLACEHOLDER_COLOUR = (58, 64, 82)


@dataclass(frozen=True)
class PngCard:
    """The card found in a PNG, which chunk it came from, and the picture without the card."""

    card: Any
    keyword: str
    image: bytes
    notes: list[str]


def is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE)


def read_png_file(path: Path) -> bytes:
    """The bytes of a PNG file, refusing huge files before reading them."""
    try:
        size = path.stat().st_size
        if size > MAX_PNG_BYTES:
            raise CharacterError(
                f"is {size / 1e6:.0f} MB; PNG cards over {MAX_PNG_BYTES // 2**20} MB are not read",
                path=path,
            )
        return path.read_bytes()
    except OSError as exc:
        raise CharacterError(f"cannot be read ({exc.strerror or exc})", path=path) from None


def open_image(data: bytes, path: Path | str | None) -> Image.Image:
    """A fully decoded PNG, or a `CharacterError` saying why it is refused."""
    if len(data) > MAX_PNG_BYTES:
        raise CharacterError(
            f"is {len(data) / 1e6:.0f} MB; PNG cards over {MAX_PNG_BYTES // 2**20} MB are not read",
            path=path,
        )
    if not is_png(data):
        raise CharacterError(
            "is not a PNG image (its first bytes are not a PNG signature)", path=path
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns between its own limit and twice that; either way it is refused here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise CharacterError(
                    f"is a {width}×{height} image ({width * height / 1e6:.0f} megapixels); "
                    f"images over {MAX_PIXELS // 1_000_000} megapixels are refused as a possible "
                    "decompression bomb",
                    path=path,
                )
            # Pillow checks the checksums of the chunks after the pixels (where SillyTavern puts
            # the card) only in verify(), which leaves the image unusable: check, then reopen.
            image.verify()
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            image.load()  # decodes the pixels and reads the chunks after them
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CharacterError(f"is refused as a decompression bomb ({exc})", path=path) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports a bad checksum as SyntaxError, a cut-off file as OSError, an oversized
        # text chunk as ValueError: to a person they are all "this PNG is damaged".
        raise CharacterError(f"is a damaged PNG image ({exc})", path=path) from None
    return image


def read_card_png(data: bytes, path: Path | str | None = None) -> PngCard:
    """The card in a PNG's ``ccv3`` or ``chara`` chunk and the picture, as a plain PNG."""
    image = open_image(data, path)
    text = getattr(image, "text", {}) or {}
    found = [keyword for keyword in KEYWORDS if keyword in text]
    if not found:
        raise CharacterError(
            "is a PNG image without a character card (no chara or ccv3 text chunk)", path=path
        )
    notes: list[str] = []
    first_error: CharacterError | None = None
    for keyword in found:
        try:
            card = _decode_chunk(text[keyword], keyword, path)
        except CharacterError as exc:
            first_error = first_error or exc
            continue
        if first_error is not None:
            notes.append(
                f"The {found[0]} chunk could not be read ({first_error.message}); "
                f"the card was read from the {keyword} chunk."
            )
        return PngCard(card, keyword, _plain_png(image), notes)
    assert first_error is not None
    raise first_error


def _decode_chunk(value: str, keyword: str, path: Path | str | None) -> Any:
    where = f"tEXt chunk {keyword}"
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CharacterError("holds text that is not base64", path=path, where=where) from None
    try:
        return parse_json(
            decode_text(raw, path=path, error=CharacterError), path=path, error=CharacterError
        )
    except CharacterError as exc:
        inner = f"{where}, {exc.where}" if exc.where else where
        raise CharacterError(exc.message, path=path, where=inner) from None


def _plain_png(image: Image.Image) -> bytes:
    """The picture alone: the card's chunks are not kept in the avatar file."""
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def write_card_png(
    image: bytes | None, cards: dict[str, Any], path: Path | str | None = None
) -> bytes:
    """A PNG of ``image`` (or a plain canvas) carrying each card under its keyword.

    Any card chunks the image already had are replaced, never doubled.
    """
    if image is None:
        picture = Image.new("RGB", _PLACEHOLDER_SIZE, _PLACEHOLDER_COLOUR)
    else:
        picture = open_image(image, path)
    info = PngImagePlugin.PngInfo()
    for keyword, card in cards.items():
        encoded = json.dumps(card, ensure_ascii=False).encode("utf-8")
        info.add_text(keyword, base64.b64encode(encoded).decode("ascii"))
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info)
    return out.getvalue()
