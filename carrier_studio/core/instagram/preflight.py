"""Pre-flight: Instagram's rules for media and captions, checked before anything is uploaded.

Each problem is a `Finding` that names the file (or the caption) and the field at fault. Image
problems of format, size and aspect can be fixed by a conversion (services.instagram.media,
Pillow), which runs only when the user asks for it; `fixable` says which ones.

The facts about a file (`MediaInfo`) come from services, which open it; here are only the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from carrier_studio.core.instagram.post import PostKind

MB = 1024 * 1024
IMAGE_MAX_BYTES = 8 * MB
#: Feed images: from 4:5 (portrait) to 1.91:1 (landscape).
ASPECT_MIN = 4 / 5
ASPECT_MAX = 1.91
#: Instagram's smallest image: 320 px wide (its API scales a narrower one up). Kept here as the
#: short side, so a converted copy of any aspect in 4:5..1.91:1 is at least 320 px both ways.
IMAGE_MIN_SIDE = 320
CAPTION_MAX_CHARS = 2200
HASHTAGS_MAX = 30
MENTIONS_MAX = 20
CAROUSEL_MIN, CAROUSEL_MAX = 2, 10
IMAGE_FORMATS = frozenset({"JPEG"})
VIDEO_FORMATS = frozenset({"MP4", "MOV"})


@dataclass(frozen=True)
class VideoLimits:
    min_seconds: float
    max_seconds: float
    max_bytes: int


#: Meta's limits for video by where it goes (Reels: 3 s to 15 min, 300 MB; Stories and
#: carousel items: 3 to 60 s, 100 MB).
VIDEO_LIMITS: dict[str, VideoLimits] = {
    "reel": VideoLimits(3.0, 15 * 60.0, 300 * MB),
    "story": VideoLimits(3.0, 60.0, 100 * MB),
    "carousel": VideoLimits(3.0, 60.0, 100 * MB),
}

_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w])@[\w.]+")


@dataclass(frozen=True)
class MediaInfo:
    """What services learned by opening a file. ``error`` is set when it could not be read."""

    path: str
    media_type: str  # "image" | "video"
    format: str = ""  # "JPEG", "PNG", "MP4", …
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    duration_s: float | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return PurePath(self.path).name


@dataclass(frozen=True)
class Finding:
    """One pre-flight problem.

    Attributes:
        code: A stable name ("format", "size", "aspect", "caption_length", …).
        message: What is wrong, for a person.
        field: "media", "caption", "alt_text" or "kind".
        file: The file at fault, when it is about a file.
        fixable: A conversion (with the user's consent) would fix it.
        severity: "error" (Instagram refuses the post) or "warning" (it is accepted, but the
            user should know; nothing is blocked).
    """

    code: str
    message: str
    field: str
    file: str | None = None
    fixable: bool = False
    severity: str = "error"

    @property
    def warning(self) -> bool:
        return self.severity == "warning"

    def __str__(self) -> str:
        where = PurePath(self.file).name if self.file else self.field
        if self.message.startswith(where):  # the message names its file itself
            return self.message
        return f"{where}: {self.message}"


def check_caption(caption: str) -> list[Finding]:
    findings = []
    if len(caption) > CAPTION_MAX_CHARS:
        findings.append(
            Finding(
                "caption_length",
                f"the caption has {len(caption)} characters; Instagram allows "
                f"{CAPTION_MAX_CHARS} (remove {len(caption) - CAPTION_MAX_CHARS})",
                "caption",
            )
        )
    tags = hashtags(caption)
    if len(tags) > HASHTAGS_MAX:
        findings.append(
            Finding(
                "hashtags",
                f"the caption has {len(tags)} hashtags; Instagram allows {HASHTAGS_MAX}",
                "caption",
            )
        )
    mentions = _MENTION.findall(caption)
    if len(mentions) > MENTIONS_MAX:
        findings.append(
            Finding(
                "mentions",
                f"the caption tags {len(mentions)} accounts; Instagram allows {MENTIONS_MAX}",
                "caption",
            )
        )
    return findings


def check_alt_text(images: list[str], alt_text: str) -> list[Finding]:
    """A warning for each image of a post without alt text: Instagram accepts it, but people
    using screen readers hear nothing of the picture. ``images`` are the post's image files
    (videos take no alt text)."""
    if alt_text.strip():
        return []
    return [
        Finding(
            "alt_text",
            f"{PurePath(path).name} has no alt text: people using screen readers will hear nothing",
            "alt_text",
            path,
            severity="warning",
        )
        for path in images
    ]


def hashtags(caption: str) -> list[str]:
    return _HASHTAG.findall(caption)


def check_image(info: MediaInfo, kind: PostKind) -> list[Finding]:
    findings = []
    if info.format not in IMAGE_FORMATS:
        findings.append(
            Finding(
                "format",
                f"is {info.format or 'an unknown format'}; Instagram takes JPEG images",
                "media",
                info.path,
                fixable=True,
            )
        )
    if info.size_bytes > IMAGE_MAX_BYTES:
        findings.append(
            Finding(
                "size",
                f"is {info.size_bytes / MB:.1f} MB; images may be at most 8 MB",
                "media",
                info.path,
                fixable=True,
            )
        )
    # Stories are shown full screen (9:16); the feed's aspect limits do not apply to them.
    if kind is not PostKind.STORY and info.width and info.height:
        ratio = info.width / info.height
        if not ASPECT_MIN - 1e-3 <= ratio <= ASPECT_MAX + 1e-3:
            message = (
                f"is {info.width}×{info.height} (aspect {ratio:.2f}:1); feed images must "
                "be between 4:5 (0.80:1) and 1.91:1"
            )
            crop_w, crop_h = crop_size(info.width, info.height)
            # A strip (4000×10) cropped to the nearest allowed aspect is a speck (19×10):
            # scaling that up to Instagram's minimum shows nothing, so no conversion is offered.
            fixable = min(crop_w, crop_h) >= IMAGE_MIN_SIDE
            if not fixable:
                message += (
                    f"; cropped to {target_aspect(info.width, info.height):.2f}:1 it would be "
                    f"{crop_w}×{crop_h} pixels, under Instagram's minimum of {IMAGE_MIN_SIDE} px "
                    "on the short side. Crop it to that range yourself"
                )
            findings.append(Finding("aspect", message, "media", info.path, fixable=fixable))
    return findings


def check_video(info: MediaInfo, kind: PostKind) -> list[Finding]:
    limits = VIDEO_LIMITS.get(kind.value)
    if limits is None:
        return [Finding("kind", f"a {kind.value} post cannot hold a video", "media", info.path)]
    findings = []
    if info.format not in VIDEO_FORMATS:
        findings.append(
            Finding(
                "format",
                f"is {info.format or 'an unknown format'}; Instagram takes MP4 or MOV video",
                "media",
                info.path,
            )
        )
    if info.size_bytes > limits.max_bytes:
        findings.append(
            Finding(
                "size",
                f"is {info.size_bytes / MB:.0f} MB; a {kind.value} video may be at most "
                f"{limits.max_bytes // MB} MB",
                "media",
                info.path,
            )
        )
    if info.duration_s is not None and not (
        limits.min_seconds <= info.duration_s <= limits.max_seconds
    ):
        findings.append(
            Finding(
                "duration",
                f"lasts {info.duration_s:.1f} s; a {kind.value} video must last "
                f"{limits.min_seconds:g} to {limits.max_seconds:g} s",
                "media",
                info.path,
            )
        )
    return findings


def check_media(infos: list[MediaInfo], kind: PostKind) -> list[Finding]:
    findings = []
    count = len(infos)
    if kind is PostKind.CAROUSEL and not CAROUSEL_MIN <= count <= CAROUSEL_MAX:
        findings.append(
            Finding(
                "count",
                f"a carousel holds {CAROUSEL_MIN} to {CAROUSEL_MAX} files, not {count}",
                "media",
            )
        )
    elif kind is not PostKind.CAROUSEL and count != 1:
        findings.append(
            Finding("count", f"a {kind.value} post holds one file, not {count}", "media")
        )
    for info in infos:
        if info.error:
            findings.append(Finding("unreadable", info.error, "media", info.path))
        elif info.media_type == "image":
            if kind is PostKind.REEL:
                findings.append(Finding("kind", "a reel needs a video", "media", info.path))
            else:
                findings.extend(check_image(info, kind))
        else:
            if kind is PostKind.IMAGE:
                findings.append(
                    Finding("kind", "an image post cannot hold a video", "media", info.path)
                )
            else:
                findings.extend(check_video(info, kind))
    return findings


def check_post(infos: list[MediaInfo], kind: PostKind, caption: str) -> list[Finding]:
    """Every pre-flight problem of a post: its files, their count, its caption."""
    return [*check_media(infos, kind), *check_caption(caption)]


def convertible(findings: list[Finding], path: str) -> bool:
    """True when ``path`` has problems and a conversion would fix all of them."""
    mine = [f for f in findings if f.file == path]
    return bool(mine) and all(f.fixable for f in mine)


def target_aspect(width: int, height: int) -> float:
    """The aspect ratio a conversion crops to: the nearest one Instagram's feed accepts."""
    ratio = width / height
    return min(max(ratio, ASPECT_MIN), ASPECT_MAX)


def crop_size(width: int, height: int) -> tuple[int, int]:
    """The size of the centre crop a conversion makes: the whole picture when its aspect is
    allowed, else as much of it as fits the nearest allowed aspect."""
    aspect = target_aspect(width, height)
    ratio = width / height
    if ratio > aspect + 1e-3:
        return round(height * aspect), height
    if ratio < aspect - 1e-3:
        return width, round(width / aspect)
    return width, height
