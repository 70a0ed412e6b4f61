"""Opening media for the Instagram queue: facts for pre-flight, thumbnails, and the Pillow
conversion that fixes an image's format, size or aspect (run only when the user asks).

Everything here blocks (disk, decoding): call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from carrier_studio.core.instagram.preflight import IMAGE_MAX_BYTES, MediaInfo, target_aspect

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm"})
THUMBNAIL_SIZE = 256
#: Instagram shows feed images at most 1440 px wide; larger only costs upload time.
MAX_WIDTH = 1440


def media_type_of(path: Path) -> str:
    return "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"


def probe(path: Path) -> MediaInfo:
    """What pre-flight needs to know about ``path``; ``error`` says why it cannot be read."""
    path = Path(path)
    kind = media_type_of(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return MediaInfo(str(path), kind, error=f"cannot be read ({exc.strerror or exc})")
    if kind == "video":
        try:
            return _probe_video(path, size)
        except (OSError, ValueError, struct.error) as exc:
            return MediaInfo(str(path), kind, size_bytes=size, error=f"is not a video: {exc}")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = _oriented_size(image)
            return MediaInfo(str(path), "image", image.format or "", size, width, height)
    except (OSError, UnidentifiedImageError) as exc:
        return MediaInfo(str(path), "image", size_bytes=size, error=f"is not an image ({exc})")


def _oriented_size(image) -> tuple[int, int]:  # noqa: ANN001 - a PIL image
    # EXIF orientation 5-8 turns the picture by 90°: Instagram shows it the way it is seen.
    # Only formats with EXIF in the header: a PNG's getexif() decodes the whole picture.
    if image.format not in ("JPEG", "MPO", "TIFF", "WEBP"):
        return image.size
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) for each ISO-BMFF box in ``data[start:end]``."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            raise ValueError("a damaged box")
        yield kind.decode("latin-1"), offset + header, min(end, offset + size)
        offset += size


def _probe_video(path: Path, size: int) -> MediaInfo:
    """Container, duration and picture size from an MP4/MOV's ``moov`` box (no ffmpeg here)."""
    data = path.read_bytes() if size <= 64 * 1024 * 1024 else _moov_only(path)
    fmt, duration, width, height = "", None, 0, 0
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == "ftyp":
            brand = data[start : start + 4]
            fmt = "MOV" if brand == b"qt  " else "MP4"
        elif kind == "moov":
            for inner, s, e in _boxes(data, start, end):
                if inner == "mvhd":
                    duration = _mvhd_duration(data[s:e])
                elif inner == "trak" and not width:
                    width, height = _track_size(data, s, e)
    if not fmt:
        raise ValueError("no MP4/MOV header")
    if duration is None:
        raise ValueError("no movie header (moov/mvhd)")
    return MediaInfo(str(path), "video", fmt, size, width, height, duration)


def _moov_only(path: Path) -> bytes:
    # Large files: read the box headers and only the small boxes (ftyp, moov).
    out = bytearray()
    with path.open("rb") as handle:
        while header := handle.read(8):
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header)
            extra = b""
            if size == 1:
                extra = handle.read(8)
                size = struct.unpack(">Q", extra)[0]
            body_size = size - 8 - len(extra)
            if kind in (b"ftyp", b"moov"):
                out += header + extra + handle.read(body_size)
            else:
                handle.seek(body_size, 1)
    return bytes(out)


def _mvhd_duration(box: bytes) -> float:
    version = box[0]
    if version == 1:
        timescale, duration = struct.unpack(">IQ", box[20:32])
    else:
        timescale, duration = struct.unpack(">II", box[12:20])
    if not timescale:
        raise ValueError("movie header without a timescale")
    return duration / timescale


def _track_size(data: bytes, start: int, end: int) -> tuple[int, int]:
    for kind, _s, e in _boxes(data, start, end):
        if kind == "tkhd":
            width, height = struct.unpack(">II", data[e - 8 : e])
            return width >> 16, height >> 16
    return 0, 0


def make_thumbnail(source: Path, dest: Path) -> Path | None:
    """A small PNG of an image for the queue's list; None for a video or an unreadable file."""
    if media_type_of(source) != "image":
        return None
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            dest.parent.mkdir(parents=True, exist_ok=True)
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(dest)
        return dest
    except (OSError, UnidentifiedImageError):
        return None


def convert_for_instagram(source: Path, dest: Path, *, crop: bool = True) -> Path:
    """Write a JPEG of ``source`` that passes pre-flight: RGB, at most 1440 px wide, cropped to
    the nearest aspect Instagram's feed accepts (centre), at most 8 MB. ``source`` is left as it
    was; ``dest`` gets the ``.jpg`` suffix.

    The picture is cropped and made small first and flattened last: work on a 24 MP image holds
    the GIL for long stretches (flattening alone ≈25 ms), on a 1.4 MP one it does not.
    """
    from PIL import Image, ImageOps

    dest = dest.with_suffix(".jpg")
    with Image.open(source) as original:
        image = ImageOps.exif_transpose(original)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
        width, height = image.size
        box = (0, 0, width, height)
        if crop:
            aspect = target_aspect(width, height)
            if width / height > aspect + 1e-3:
                new_w = round(height * aspect)
                left = (width - new_w) // 2
                box = (left, 0, left + new_w, height)
            elif width / height < aspect - 1e-3:
                new_h = round(width / aspect)
                top = (height - new_h) // 2
                box = (0, top, width, top + new_h)
        crop_w, crop_h = box[2] - box[0], box[3] - box[1]
        size = (crop_w, crop_h)
        if crop_w > MAX_WIDTH:
            size = (MAX_WIDTH, round(crop_h * MAX_WIDTH / crop_w))
        image = image.resize(size, Image.LANCZOS, box=box)
        if image.mode == "RGBA":
            # Transparent pixels become white, as Instagram would show them.
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        dest.parent.mkdir(parents=True, exist_ok=True)
        for quality in (92, 85, 75, 65, 50):
            image.save(dest, "JPEG", quality=quality, optimize=True)
            if dest.stat().st_size <= IMAGE_MAX_BYTES:
                break
    return dest
