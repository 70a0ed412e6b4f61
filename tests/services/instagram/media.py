"""Media files for the Instagram tests: real JPEG/PNG (Pillow) and MP4/MOV headers.

The MP4s carry a real ISO-BMFF structure (ftyp, moov/mvhd, trak/tkhd, mdat) with the duration
and picture size a test asks for; there is no ffmpeg here to encode frames, and pre-flight only
reads the headers.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from PIL import Image


def jpeg(path: Path, size=(1080, 1080), color=(200, 80, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG", quality=90)
    return path


def png(path: Path, size=(1080, 1080)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGBA", size, (10, 120, 200, 128)).save(path, "PNG")
    return path


def noisy_jpeg(path: Path, size=(4000, 3000)) -> Path:
    """A JPEG over 8 MB: random pixels do not compress."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(path, "JPEG", quality=100)
    return path


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(path: Path, seconds: float, size=(1080, 1920), brand=b"isom", padding=0) -> Path:
    timescale = 1000
    mvhd = (
        bytes(4)
        + struct.pack(">III", 0, 0, timescale)
        + struct.pack(">I", int(seconds * timescale))
        + bytes(80)
    )
    tkhd = bytes(4) + bytes(72) + struct.pack(">II", size[0] << 16, size[1] << 16)
    data = (
        _box(b"ftyp", brand + struct.pack(">I", 512) + brand)
        + _box(b"moov", _box(b"mvhd", mvhd) + _box(b"trak", _box(b"tkhd", tkhd)))
        + _box(b"mdat", bytes(padding))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def real_mp4(path: Path, seconds: float = 4, size=(540, 960), color="orange") -> Path:
    """A video ffmpeg can decode (one colour), made with the ffmpeg of the imageio-ffmpeg wheel
    the studio uses for poster frames."""
    import subprocess

    import imageio_ffmpeg

    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"color=c={color}:s={size[0]}x{size[1]}:d={seconds}:r=10"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source),
            *("-c:v", "mpeg4", "-movflags", "+faststart", str(path)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path
