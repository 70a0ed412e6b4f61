"""Hostile media for the Instagram tests, made on the spot: a PNG that declares 30,000 × 30,000
pixels (a decompression bomb), a 4000×10 strip, cut-off JPEG/PNG files, text named .jpg."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import Image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A valid PNG header declaring ``width``×``height`` RGB pixels, with the first rows of
    zeros (a few KB on disk; decoded whole it would take width×height×3 bytes)."""
    row = bytes(1 + width * 3)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(row * 16, 9))
        + _chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def strip_png(path: Path, size=(4000, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (250, 120, 30)).save(path, "PNG")
    return path


def cut(source: Path, path: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` of ``source``: a download that stopped half-way."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def text_named(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Shopping list: flour, eggs, candles.\n", "utf-8")
    return path
