"""Opening media for the Instagram queue: facts for pre-flight, thumbnails, and the Pillow
conversion that fixes an image's format, size or aspect (run only when the user asks).

Everything here blocks (disk, decoding): call it through ``asyncio.to_thread``.

Images are opened by `open_image`, never by ``Image.open``: it reads the header, refuses a
picture over `MAX_PIXELS` (a decompression bomb: a small file that declares 30,000 × 30,000
pixels) before any pixel is decoded, and says which file and why in words (`ImageRefusedError`).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from carrier_studio.core.instagram.errors import PreflightError
from carrier_studio.core.instagram.preflight import (
    IMAGE_MAX_BYTES,
    IMAGE_MIN_SIDE,
    MediaInfo,
    crop_size,
    target_aspect,
)

if TYPE_CHECKING:
    from PIL.ImageFile import ImageFile

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm"})
THUMBNAIL_SIZE = 256
#: Instagram shows feed images at most 1440 px wide; larger only costs upload time.
MAX_WIDTH = 1440
#: The largest picture the studio opens. Instagram never shows more than 1440 px across (1080
#: in the feed), so every pixel past that is only scaled away: the limit is about memory, not
#: quality. It has to let in what cameras make: 100 MP phone photos (12,000 × 8,400) and the
#: 200 MP sensors (16,384 × 12,288 = 201 MP). Pillow's own limit (89 MP, a warning, an error
#: from 179 MP) would refuse both. JPEGs are decoded at 1/2 to 1/8 scale (``draft``), so a
#: 250 MP JPEG costs ~60 MB; other formats decode whole: 250 MP of RGBA is 1 GB, the most a
#: desktop should spend on one picture. A 30,000 × 30,000 PNG (900 MP, 3.6 GB) is refused.
MAX_PIXELS = 250_000_000
#: What a creator posts; Pillow reads more (EPS through Ghostscript, fonts, icons …), but a
#: file dropped here is opened only as one of these.
IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF")
#: What Pillow raises for a file whose header or data is damaged.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def _refused(exc: Exception, fmt: str | None, path: Path) -> ImageRefusedError | None:
    """The refusal for what Pillow raised while reading ``path``; None when it is not about the
    file (a bug here, which should surface as one)."""
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError):
        # Pillow's own check still guards a few places past the header (a TIFF's tiles, an MPO's
        # later frames); whatever it refuses there is refused here too, in words.
        return ImageRefusedError(f"has a {fmt} part too large to open ({exc})", path)
    if isinstance(exc, _DAMAGED):
        return ImageRefusedError(f"is a damaged {fmt} image ({exc})", path)
    return None


class ImageRefusedError(PreflightError):
    """An image the studio will not open: too many pixels, damaged, or not an image at all.

    The message names the file by its name ("cake.png is 30,000 × 30,000 pixels; …");
    ``reason`` is the same without the name, for pre-flight, which names the file itself.
    """

    def __init__(self, reason: str, file: Path) -> None:
        super().__init__(f"{Path(file).name} {reason}")
        self.reason = reason
        self.file = Path(file)


@contextmanager
def open_image(path: Path) -> Iterator[ImageFile]:
    """``path`` opened lazily (header read, no pixels decoded), or `ImageRefusedError`.

    This is what ``Image.open`` does — each plugin's ``accept`` on the first bytes, then its
    factory — without Pillow's decompression-bomb check, which only knows Pillow's own limit
    (below a 100 MP photo), warns instead of refusing below twice that, and gives no size in
    its message. `MAX_PIXELS` is checked here instead, before anything is decoded.
    """
    from PIL import Image

    path = Path(path)
    Image.init()
    with path.open("rb") as handle:
        prefix = handle.read(16)
        image = None
        for fmt in (f for f in Image.ID if f in IMAGE_FORMATS):
            factory, accept = Image.OPEN[fmt]
            found = accept(prefix) if accept else True
            if not found or isinstance(found, str):
                continue
            handle.seek(0)
            try:
                image = factory(handle, str(path))
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue  # as Image.open does: not this format after all
            except Exception as exc:
                if refusal := _refused(exc, fmt, path):
                    raise refusal from None
                raise
            break
        if image is None:
            raise ImageRefusedError(
                "is not an image the studio can read (its content is not JPEG, PNG, WebP, "
                "GIF, BMP or TIFF)",
                path,
            )
        try:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageRefusedError(
                    f"is {width:,} × {height:,} pixels ({width * height / 1e6:,.0f} megapixels); "
                    f"the studio opens images up to {MAX_PIXELS // 1_000_000} megapixels",
                    path,
                )
            if not width or not height:
                raise ImageRefusedError(f"is {width} × {height} pixels: it has no picture", path)
            yield image
        finally:
            image.close()


def _check_data(image: ImageFile) -> None:
    """Read through the picture's data so a cut-off or corrupt file is found now, cheaply:
    a JPEG is decoded at 1/8 scale, a PNG's chunks are checked without inflating them."""
    if image.format in ("JPEG", "MPO"):
        image.draft(None, (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        image.load()
    elif image.format == "PNG":
        image.verify()
    else:
        image.load()


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
    if not size:
        return MediaInfo(str(path), kind, error="is an empty file (0 bytes)")
    if kind == "video":
        try:
            return _probe_video(path, size)
        except (OSError, ValueError, struct.error) as exc:
            return MediaInfo(str(path), kind, size_bytes=size, error=f"is not a video: {exc}")
    try:
        with open_image(path) as image:
            width, height = _oriented_size(image)
            fmt = image.format or ""
            try:
                _check_data(image)
            except Exception as exc:
                if refusal := _refused(exc, fmt, path):
                    raise refusal from None
                raise
            return MediaInfo(str(path), "image", fmt, size, width, height)
    except ImageRefusedError as exc:
        return MediaInfo(str(path), "image", size_bytes=size, error=exc.reason)
    except OSError as exc:
        return MediaInfo(str(path), "image", size_bytes=size, error=f"cannot be read ({exc})")


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


#: How long ffmpeg may take for one poster frame (it reads only the start of the file).
POSTER_TIMEOUT = 30.0


def video_poster(source: Path, dest: Path) -> Path | None:
    """A PNG of a video's frame half a second in (the first frame of a shorter one), at most
    `THUMBNAIL_SIZE` on its long side; None when ffmpeg cannot read the file.

    ffmpeg is the binary inside the imageio-ffmpeg wheel, run as a child process with no
    shell; only the start of the file is decoded."""
    import subprocess

    import imageio_ffmpeg

    dest.parent.mkdir(parents=True, exist_ok=True)
    size = THUMBNAIL_SIZE
    for at in ("0.5", "0"):
        dest.unlink(missing_ok=True)
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-v", "error", "-nostdin", "-y", "-ss", at, "-i", str(source)),
            *("-frames:v", "1", "-an"),
            *("-vf", f"scale={size}:{size}:force_original_aspect_ratio=decrease"),
            str(dest),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=POSTER_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if dest.is_file() and dest.stat().st_size > 0:
            return dest
    return None


def make_thumbnail(source: Path, dest: Path) -> Path | None:
    """A small PNG of an image, or of a video's poster frame, for the queue's list; None for
    an unreadable file."""
    if media_type_of(source) == "video":
        return video_poster(source, dest)
    if media_type_of(source) != "image":
        return None
    from PIL import ImageOps

    try:
        with open_image(source) as image:
            if image.format in ("JPEG", "MPO"):
                image.draft(None, (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            image = ImageOps.exif_transpose(image)
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            dest.parent.mkdir(parents=True, exist_ok=True)
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(dest)
        return dest
    except Exception as exc:
        if isinstance(exc, ImageRefusedError) or _refused(exc, None, source):
            return None
        raise


def convert_for_instagram(source: Path, dest: Path, *, crop: bool = True) -> Path:
    """Write a JPEG of ``source`` that passes pre-flight: RGB, at most 1440 px wide, cropped to
    the nearest aspect Instagram's feed accepts (centre), at most 8 MB. ``source`` is left as it
    was; ``dest`` gets the ``.jpg`` suffix. The copy is never under Instagram's minimum
    (`IMAGE_MIN_SIDE` on the short side): a small picture is scaled up to it, and a strip whose
    crop would be a speck (4000×10 → 19×10) is refused with `ImageRefusedError`, as are pictures
    over `MAX_PIXELS` and damaged files.

    The picture is cropped and made small first and flattened last: work on a 24 MP image holds
    the GIL for long stretches (flattening alone ≈25 ms), on a 1.4 MP one it does not.
    """
    dest = dest.with_suffix(".jpg")
    with open_image(source) as original:
        try:
            return _convert(original, Path(source), dest, crop)
        except Exception as exc:
            if refusal := _refused(exc, original.format, Path(source)):
                raise refusal from None
            raise


def _convert(original: ImageFile, source: Path, dest: Path, crop: bool) -> Path:
    from PIL import Image, ImageOps

    if original.format in ("JPEG", "MPO"):
        # Decoded at 1/2..1/8 scale when both sides stay over 1440 px: a 100 MP photo is never
        # decoded whole. (``draft`` keeps both sides at least this big, so the crop below is
        # taken from a picture still larger than the copy.)
        original.draft(None, (MAX_WIDTH, MAX_WIDTH))
    image = ImageOps.exif_transpose(original)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    width, height = image.size
    crop_w, crop_h = crop_size(width, height) if crop else (width, height)
    if min(crop_w, crop_h) < IMAGE_MIN_SIDE and (crop_w, crop_h) != (width, height):
        # Pre-flight refuses these before anyone asks for a conversion; this guards a caller
        # that did not ask it (a story's copy is cropped too): never write a 19×10 JPEG.
        raise ImageRefusedError(
            f"is {width}×{height}; cropped to {target_aspect(width, height):.2f}:1 it would be "
            f"{crop_w}×{crop_h} pixels, under Instagram's minimum of {IMAGE_MIN_SIDE} px on the "
            "short side. Crop it to between 4:5 and 1.91:1 yourself",
            source,
        )
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    box = (left, top, left + crop_w, top + crop_h)
    size = (crop_w, crop_h)
    if crop_w > MAX_WIDTH:
        size = (MAX_WIDTH, round(crop_h * MAX_WIDTH / crop_w))
    elif min(crop_w, crop_h) < IMAGE_MIN_SIDE:
        # A small picture of an allowed aspect: Instagram scales it up to its minimum itself;
        # the copy is made that size so it is never under the minimum.
        scale = IMAGE_MIN_SIDE / min(crop_w, crop_h)
        size = (
            max(IMAGE_MIN_SIDE, round(crop_w * scale)),
            max(IMAGE_MIN_SIDE, round(crop_h * scale)),
        )
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
