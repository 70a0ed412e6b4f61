"""Hostile media on the way into the Instagram queue (#20): a decompression bomb is refused
before a pixel is decoded, a strip too thin to crop gets words instead of a 19×10 JPEG, and
cut-off or fake images name the file and say what is wrong. Pillow's DecompressionBombWarning is
an error under this suite's warning filter, so any path that still trips it fails here."""

from __future__ import annotations

import asyncio

import pytest
from PIL import Image, ImageFile, ImageOps

from carrier_studio.core.instagram import PostKind, check_post, convertible
from carrier_studio.services.instagram import media as instagram_media
from carrier_studio.services.instagram.media import (
    MAX_PIXELS,
    ImageRefusedError,
    convert_for_instagram,
    make_thumbnail,
    probe,
)
from carrier_studio.services.instagram.queue import InstagramQueue, QueuePreflightError
from carrier_studio.services.platform.db import Database
from tests.services.instagram import hostile_media as hostile
from tests.services.instagram import media


def _run(tmp_path, body):
    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            return await body(InstagramQueue(db, tmp_path / "instagram"))
        finally:
            await db.close()

    return asyncio.run(go())


@pytest.fixture
def no_decoding(monkeypatch):
    """Any decode of pixels fails the test: a refusal must come from the header alone."""

    def load(self):
        raise AssertionError(f"decoded the pixels of {self.filename}")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_decompression_bomb_is_refused_from_its_header_with_its_size(tmp_path, no_decoding):
    bomb = hostile.bomb_png(tmp_path / "in" / "cake.png")
    assert bomb.stat().st_size < 100_000, "a small file"
    info = probe(bomb)
    assert info.error == (
        "is 30,000 × 30,000 pixels (900 megapixels); the studio opens images up to 250 megapixels"
    )
    (finding,) = check_post([info], PostKind.IMAGE, "")
    assert str(finding) == (
        "cake.png: is 30,000 × 30,000 pixels (900 megapixels); "
        "the studio opens images up to 250 megapixels"
    )
    assert not finding.fixable, "no conversion is offered for it"
    with pytest.raises(ImageRefusedError, match=r"^cake\.png is 30,000 × 30,000 pixels"):
        convert_for_instagram(bomb, tmp_path / "out" / "cake")
    assert make_thumbnail(bomb, tmp_path / "out" / "cake.thumb.png") is None
    assert not (tmp_path / "out").exists(), "nothing is written"


def test_the_queue_refuses_a_bomb_even_with_consent_and_leaves_it_as_it_was(tmp_path):
    bomb = hostile.bomb_png(tmp_path / "in" / "cake.png")
    before = bomb.read_bytes()

    async def body(queue):
        with pytest.raises(QueuePreflightError) as refused:
            await queue.add([bomb], convert=True)
        return refused.value, await queue.list()

    error, posts = _run(tmp_path, body)
    assert posts == []
    assert [f.code for f in error.findings] == ["unreadable"]
    assert "cake.png: is 30,000 × 30,000 pixels" in str(error)
    assert bomb.read_bytes() == before


def test_the_limit_sits_just_over_it(tmp_path, no_decoding):
    """One pixel over the studio's limit is refused; Pillow's own limit does not decide."""
    side = int(MAX_PIXELS**0.5) + 1
    info = probe(hostile.bomb_png(tmp_path / "over.png", side, side))
    assert info.error and "the studio opens images up to 250 megapixels" in info.error


def test_a_100_megapixel_phone_photo_is_converted_without_a_warning(tmp_path):
    # 12,000 × 8,400 = 100.8 MP: over Pillow's default limit (89.5 MP), which would warn
    # (an error in this suite) and refuse from 179 MP.
    photo = media.jpeg(tmp_path / "in" / "phone.jpg", size=(12_000, 8_400))
    info = probe(photo)
    assert (info.error, info.format, info.width, info.height) == (None, "JPEG", 12_000, 8_400)
    assert check_post([info], PostKind.IMAGE, "") == [], "a JPEG of an allowed aspect as it is"

    async def body(queue):
        return await queue.add([photo])

    post = _run(tmp_path, body)
    assert post.media[0].thumbnail, "its thumbnail is made too"
    out = convert_for_instagram(photo, tmp_path / "out" / "phone")
    with Image.open(out) as image:
        assert image.format == "JPEG" and image.size == (1440, 1008)
    assert make_thumbnail(photo, tmp_path / "out" / "phone.thumb.png") is not None


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(tmp_path, monkeypatch):
    photo = media.jpeg(tmp_path / "in" / "wide.jpg", size=(6000, 3000))
    decoded = []
    real = ImageOps.exif_transpose

    def exif_transpose(image, **kwargs):
        decoded.append(image.size)
        return real(image, **kwargs)

    monkeypatch.setattr(ImageOps, "exif_transpose", exif_transpose)
    with Image.open(convert_for_instagram(photo, tmp_path / "out" / "wide")) as image:
        assert image.size == (1440, 754)
    assert decoded == [(3000, 1500)], "decoded at half scale, still larger than the copy"


def test_a_strip_too_thin_to_crop_says_so_instead_of_becoming_a_speck(tmp_path):
    strip = hostile.strip_png(tmp_path / "in" / "banner.png")
    info = probe(strip)
    findings = check_post([info], PostKind.IMAGE, "")
    (aspect,) = [f for f in findings if f.code == "aspect"]
    assert str(aspect) == (
        "banner.png: is 4000×10 (aspect 400.00:1); feed images must be between 4:5 (0.80:1) "
        "and 1.91:1; cropped to 1.91:1 it would be 19×10 pixels, under Instagram's minimum of "
        "320 px on the short side. Crop it to that range yourself"
    )
    assert not aspect.fixable and not convertible(findings, str(strip))
    with pytest.raises(ImageRefusedError, match=r"^banner\.png is 4000×10; .* 19×10 pixels"):
        convert_for_instagram(strip, tmp_path / "out" / "banner")
    assert not (tmp_path / "out" / "banner.jpg").exists(), "no speck of a JPEG"

    async def body(queue):
        with pytest.raises(QueuePreflightError) as refused:
            await queue.add([strip], convert=True)
        return refused.value, await queue.list()

    error, posts = _run(tmp_path, body)
    assert posts == [] and not error.convertible


def test_a_tall_strip_too(tmp_path):
    tall = hostile.strip_png(tmp_path / "tower.png", size=(300, 5000))
    (aspect,) = check_post([probe(tall)], PostKind.IMAGE, "")[1:]
    assert "cropped to 0.80:1 it would be 300×375 pixels" in aspect.message
    assert not aspect.fixable


def test_a_wide_picture_with_room_to_crop_still_converts_and_is_never_under_the_minimum(
    tmp_path,
):
    wide = media.jpeg(tmp_path / "pano.jpg", size=(3000, 400))
    (aspect,) = check_post([probe(wide)], PostKind.IMAGE, "")
    assert aspect.fixable
    with Image.open(convert_for_instagram(wide, tmp_path / "out" / "pano")) as image:
        assert image.size == (764, 400)
    # A small logo of an allowed aspect is scaled up to Instagram's minimum, as Instagram would.
    logo = media.png(tmp_path / "logo.png", size=(200, 250))
    with Image.open(convert_for_instagram(logo, tmp_path / "out" / "logo")) as image:
        assert image.size == (320, 400)


@pytest.mark.parametrize(
    ("name", "make", "said"),
    [
        ("half.jpg", lambda p: hostile.cut(media.jpeg(p.with_name("full.jpg")), p),
         "is a damaged JPEG image (image file is truncated"),
        ("half.png", lambda p: hostile.cut(media.png(p.with_name("full.png")), p),
         "is a damaged PNG image ("),
        ("header-only.jpg", lambda p: hostile.cut(media.jpeg(p.with_name("full.jpg")), p, 0.02),
         "is a damaged JPEG image ("),
        ("notes.jpg", hostile.text_named,
         "is not an image the studio can read (its content is not JPEG, PNG, WebP, GIF, BMP "
         "or TIFF)"),
        ("empty.jpg", lambda p: (p.write_bytes(b""), p)[1], "is an empty file (0 bytes)"),
    ],
)  # fmt: skip
def test_damaged_and_fake_images_name_the_file_and_the_problem(tmp_path, name, make, said):
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    make(path)
    before = path.read_bytes()
    info = probe(path)
    assert info.error and info.error.startswith(said), info.error
    (finding,) = check_post([info], PostKind.IMAGE, "")
    assert str(finding).startswith(f"{name}: {said}")
    assert finding.code == "unreadable" and not finding.fixable
    if before:
        with pytest.raises(ImageRefusedError, match=rf"^{name.replace('.', '[.]')} is "):
            convert_for_instagram(path, tmp_path / "out" / name)
    assert make_thumbnail(path, tmp_path / "out" / f"{name}.png") is None
    assert path.read_bytes() == before


def test_a_format_outside_the_list_is_not_opened(tmp_path):
    # Pillow would open an EPS through Ghostscript; a dropped file is read only as a picture.
    eps = tmp_path / "art.jpg"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert "is not an image the studio can read" in probe(eps).error
    assert "EPS" not in instagram_media.IMAGE_FORMATS


def test_what_pillow_still_refuses_past_the_header_is_refused_in_words(tmp_path, monkeypatch):
    # Pillow keeps its own check in a few places after the header (a TIFF's tiles): with its
    # limit lowered, a 100×100 TIFF trips it there, and it must come out as a refusal.
    tiff = tmp_path / "scan.tif"
    Image.new("RGB", (100, 100), "gray").save(tiff, "TIFF")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    info = probe(tiff)
    assert info.error and info.error.startswith("has a TIFF part too large to open (Image size")
    with pytest.raises(ImageRefusedError, match=r"^scan\.tif has a TIFF part too large"):
        convert_for_instagram(tiff, tmp_path / "out" / "scan")
    assert make_thumbnail(tiff, tmp_path / "out" / "scan.png") is None
