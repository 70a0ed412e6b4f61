"""Pre-flight on real files: what each one breaks, and what the Pillow conversion fixes."""

from __future__ import annotations

import asyncio

from PIL import Image

from carrier_studio.core.instagram import PostKind, check_post, convertible
from carrier_studio.services.instagram.media import convert_for_instagram, probe
from tests.services.instagram import media


def test_the_corpus_and_what_conversion_fixes(tmp_path):
    corpus = tmp_path / "corpus"
    files = {
        "png": media.png(corpus / "logo.png"),
        "large": media.noisy_jpeg(corpus / "huge.jpg"),
        "wide": media.jpeg(corpus / "banner.jpg", size=(2000, 500)),
        "tall": media.jpeg(corpus / "tall.jpg", size=(600, 1200)),
        "fine": media.jpeg(corpus / "fine.jpg", size=(1080, 1350)),
    }
    infos = {name: probe(path) for name, path in files.items()}
    codes = {
        name: sorted(f.code for f in check_post([info], PostKind.IMAGE, ""))
        for name, info in infos.items()
    }
    assert codes == {
        "png": ["format"],
        "large": ["size"],
        "wide": ["aspect"],
        "tall": ["aspect"],
        "fine": [],
    }
    assert infos["large"].size_bytes > 8 * 1024 * 1024
    for name in ("png", "large", "wide", "tall"):
        findings = check_post([infos[name]], PostKind.IMAGE, "")
        assert convertible(findings, str(files[name])), name
        before = files[name].read_bytes()
        fixed = convert_for_instagram(files[name], tmp_path / "fixed" / name)
        assert files[name].read_bytes() == before, "the original stays as it was"
        after = probe(fixed)
        assert check_post([after], PostKind.IMAGE, "") == [], (name, after)
    with Image.open(convert_for_instagram(files["wide"], tmp_path / "w2")) as image:
        assert round(image.width / image.height, 2) == 1.91


def test_videos_and_captions_conversion_cannot_fix(tmp_path):
    short = probe(media.mp4(tmp_path / "short.mp4", 2.0))
    long_reel = probe(media.mp4(tmp_path / "long.mp4", 16 * 60.0))
    story = probe(media.mp4(tmp_path / "story.mov", 75.0, brand=b"qt  "))
    good = probe(media.mp4(tmp_path / "good.mp4", 45.0))
    assert (good.format, good.duration_s, good.width, good.height) == ("MP4", 45.0, 1080, 1920)
    assert story.format == "MOV"
    for info, kind in ((short, PostKind.REEL), (long_reel, PostKind.REEL),
                       (story, PostKind.STORY)):  # fmt: skip
        (finding,) = check_post([info], kind, "")
        assert finding.code == "duration" and finding.file == info.path
        assert not convertible([finding], info.path)
    assert check_post([good], PostKind.REEL, "") == []
    not_video = tmp_path / "fake.mp4"
    not_video.write_bytes(b"hello, not a movie")
    (broken,) = check_post([probe(not_video)], PostKind.REEL, "")
    assert broken.code == "unreadable" and "not a video" in broken.message
    caption = "x" * 2300 + " " + " ".join(f"#t{i}" for i in range(40))
    assert [f.code for f in check_post([good], PostKind.REEL, caption)] == [
        "caption_length",
        "hashtags",
    ]


def test_preflight_through_the_queue_reads_files_off_the_loop(tmp_path):
    from carrier_studio.services.instagram.queue import InstagramQueue
    from carrier_studio.services.platform.db import Database

    files = [media.jpeg(tmp_path / f"{i}.jpg") for i in range(11)]

    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            return await InstagramQueue(db, tmp_path / "ig").preflight(files, "#a " * 31)
        finally:
            await db.close()

    findings = asyncio.run(go())
    assert [f.code for f in findings] == ["count", "hashtags"]
