"""Character files from outside: hostile input through every import path, PNG cards, round trips.

Round trips use realistic samples that carry keys the studio does not know
(tests/data/characters/samples); the hostile corpus is tests/data/hostile/characters.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from carrier_studio import assets
from carrier_studio.characters_cli import run_characters
from carrier_studio.cli import build_parser
from carrier_studio.core.characters import CharacterError
from carrier_studio.core.characters.formats import EXPORTERS, Format, import_character
from carrier_studio.services.characters import png_card
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.platform.paths import AppPaths

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "data" / "hostile" / "characters"
SAMPLES = ROOT / "tests" / "data" / "characters" / "samples"

#: What each refused file's message must say (besides the file's name).
REFUSED = {
    "deep-nesting.json": "nests more than 64 levels",
    "duplicate-keys.json": 'has the key "bio" twice',
    "invalid-utf8.json": "not UTF-8",
    "array.json": "must be a JSON object, not an array",
    "broken-chunk.png": "damaged PNG",
    "truncated.png": "damaged PNG",
    "no-card.png": "without a character card",
    "not-base64.png": "not base64",
    "card-duplicate-keys.png": 'has the key "spec" twice',
    "huge.json": "too large",
    "bomb.png": "decompression bomb",
    "giant-header.png": "decompression bomb",
    "huge.png": "PNG cards over 20 MB",
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_header_only(width: int, height: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"".join(
        [png_card.PNG_SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(b"IDAT", idat), _chunk(b"IEND", b"")]
    )


def _bomb() -> bytes:
    """7000 × 7000 black pixels (49 MB decoded) in a file of about 50 kB."""
    width = height = 7000
    packer = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return _png_header_only(width, height, idat)


@pytest.fixture(autouse=True)
def _user_folders_in_tmp(monkeypatch, tmp_path):
    """The CLI builds a Session on the user's folders: keep them in the test's temp folder."""
    monkeypatch.setattr(AppPaths, "for_user", classmethod(lambda cls: cls.under(tmp_path / "u")))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The vendored corpus plus the files too big to vendor, in one folder."""
    folder = tmp_path_factory.mktemp("hostile")
    for path in HOSTILE.iterdir():
        shutil.copy(path, folder / path.name)
    with (folder / "huge.json").open("w") as handle:
        handle.write('{"name": "Huge", "bio": ["' + "a" * (40 * 1024 * 1024) + '"]}')
    (folder / "bomb.png").write_bytes(_bomb())
    # 50000 × 50000 in the header: past even Pillow's own limit.
    (folder / "giant-header.png").write_bytes(_png_header_only(50_000, 50_000, zlib.compress(b"")))
    with (folder / "huge.png").open("wb") as handle:
        handle.write(png_card.PNG_SIGNATURE)
        handle.truncate(21 * 1024 * 1024)
    return folder


@pytest.fixture
def store(tmp_path) -> CharacterStore:
    folder = tmp_path / "characters"
    shutil.copytree(assets.seed_characters_dir(), folder)
    return CharacterStore(folder, tmp_path / ".trash")


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_store_import_refuses_each_hostile_file_by_name(corpus, store, name):
    source = corpus / name
    before, workspace = source.read_bytes(), _listing(store.folder)
    with pytest.raises(CharacterError) as caught:
        store.import_file(source)
    assert name in str(caught.value) and REFUSED[name] in str(caught.value), str(caught.value)
    assert source.read_bytes() == before, "the original is unchanged"
    assert _listing(store.folder) == workspace, "nothing was written to the workspace"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_cli_import_refuses_each_hostile_file_by_name(corpus, tmp_path, name, capsys):
    source = corpus / name
    before = source.read_bytes()
    args = build_parser().parse_args(
        ["--workspace", str(tmp_path / "ws"), "characters", "import", str(source)]
    )
    assert run_characters(args) == 1
    out, err = capsys.readouterr()
    assert name in err and REFUSED[name] in err, err
    assert "Traceback" not in err + out
    assert source.read_bytes() == before


def test_a_hostile_file_in_the_folder_is_one_listed_problem(corpus, store):
    for name in ("deep-nesting.json", "duplicate-keys.json", "invalid-utf8.json", "array.json"):
        shutil.copy(corpus / name, store.folder / name)
    entries = {e.path.name: e for e in store.list()}
    assert {"ada.json", "boss.json", "juniper.json", "mira.json"} <= set(entries)
    for name in ("deep-nesting.json", "duplicate-keys.json", "invalid-utf8.json", "array.json"):
        assert entries[name].doc is None and REFUSED[name] in str(entries[name].error)


def test_path_tricks_stay_inside_the_characters_folder(corpus, store):
    source = corpus / "path-trick.json"
    before = source.read_bytes()
    doc, path, _notes = store.import_file(source)
    assert path.parent == store.folder and path.name == "outside.json"
    assert store.avatar_of(doc, path) is None, "an avatar outside the folder is never read"
    assert next(e for e in store.list() if e.path == path).avatar is None
    assert source.read_bytes() == before


# -- PNG cards --------------------------------------------------------------------------------


def test_a_sillytavern_png_card_imports_with_its_avatar_and_every_key(store):
    source = SAMPLES / "hazel.card-v2.png"
    doc, path, notes = store.import_file(source)
    assert doc.name == "Hazel Thornbury"
    assert doc.data["avatar"] == "hazel-thornbury.png"
    avatar = store.folder / "hazel-thornbury.png"
    with Image.open(avatar) as image:
        assert image.size == (48, 64)
        assert "chara" not in image.info, "the avatar is the picture, not a second card"
    entry = next(e for e in store.list() if e.path == path)
    assert entry.avatar == avatar
    envelope = doc.data["card"]["envelope"]
    assert envelope["chat"] == "Hazel Thornbury - 2024-11-02@16h05m11s"
    assert envelope["create_date"] == "2024-11-02@16h05m11s"
    assert any("chara chunk" in note for note in notes)


def _chunks(data: bytes) -> dict[str, dict]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return {k: json.loads(base64.b64decode(v)) for k, v in image.text.items()}


def test_png_card_round_trip_keeps_the_picture_and_the_keys_beside_data(store, tmp_path):
    source = SAMPLES / "hazel.card-v2.png"
    with Image.open(source) as image:
        image.load()
        original = json.loads(base64.b64decode(image.text["chara"]))
        pixels = image.convert("RGB").tobytes()
    doc, path, _ = store.import_file(source)
    target = tmp_path / "hazel.png"
    lost = store.export(doc, Format.CARD_PNG, target, path)
    assert lost == []
    chunks = _chunks(target.read_bytes())
    assert set(chunks) == {"chara", "ccv3"}
    v2, v3 = chunks["chara"], chunks["ccv3"]
    assert v2["spec"] == "chara_card_v2" and v3["spec"] == "chara_card_v3"
    assert v3["data"]["group_only_greetings"] == []
    for key in ("avatar", "chat", "create_date", "creatorcomment", "talkativeness", "fav", "tags"):
        assert v2[key] == original[key], key
        assert v3[key] == original[key], key
    for key, value in original["data"].items():
        if key != "extensions":
            assert v2["data"][key] == value, key
    assert {k: v for k, v in v2["data"]["extensions"].items() if k != "carrier_studio"} == (
        original["data"]["extensions"]
    )
    with Image.open(target) as image:
        assert image.convert("RGB").tobytes() == pixels
    # And back in: the studio's document comes back, avatar and all.
    again, again_path, _ = store.import_file(target)
    assert again.data["card"] == doc.data["card"]
    assert (store.folder / again.data["avatar"]).is_file()


def test_png_export_without_an_avatar_writes_a_plain_picture_and_says_so(store, tmp_path):
    entry = next(e for e in store.list() if e.name == "Ada")
    lost = store.export(entry.doc, Format.CARD_PNG, tmp_path / "ada.png", entry.path)
    assert any(item.startswith("$.avatar") for item in lost)
    assert _chunks((tmp_path / "ada.png").read_bytes())["ccv3"]["data"]["name"] == "Ada"


def test_ccv3_is_preferred_and_a_broken_ccv3_falls_back_to_chara():
    def card(name: str) -> dict:
        return {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": name}}

    both = png_card.write_card_png(None, {"chara": card("Two"), "ccv3": card("Three")})
    assert png_card.read_card_png(both).card["data"]["name"] == "Three"
    info_broken = png_card.write_card_png(None, {"chara": card("Two")})
    image = Image.open(io.BytesIO(info_broken))
    image.load()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("ccv3", "%%%")
    info.add_text("chara", image.text["chara"])
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    found = png_card.read_card_png(out.getvalue())
    assert found.card["data"]["name"] == "Two" and found.keyword == "chara"
    assert "ccv3" in found.notes[0]


# -- round trips on samples with keys the studio does not know --------------------------------


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_eliza_v0_round_trip_keeps_unknown_keys():
    raw = _sample("rook.eliza-v0.json")
    result = import_character(raw)
    assert result.source is Format.ELIZA_V0
    exported = EXPORTERS[Format.ELIZA_V0](result.doc)
    assert exported.data == raw, "people, twitterProfile, knowledge, extends… all come back"
    assert exported.lost == []


def test_carrier_round_trip_keeps_unknown_and_image_keys(store):
    raw = _sample("wren.carrier.json")
    source = store.folder.parent / "wren-src.json"
    source.write_text(json.dumps(raw))
    doc, path, _ = store.import_file(source)
    assert json.loads(path.read_text()) == raw
    exported = EXPORTERS[Format.CARRIER](doc)
    assert exported.data == raw and exported.lost == []
    v0 = EXPORTERS[Format.ELIZA_V0](doc).data
    assert v0["image"] == raw["image"] and v0["settings"]["avatar"] == raw["settings"]["avatar"]
    assert v0["x-club"] == raw["x-club"]


def test_card_v3_round_trip_keeps_v3_fields():
    raw = _sample("ilse.card-v3.json")
    result = import_character(raw)
    assert result.source is Format.CARD_V3
    out = EXPORTERS[Format.CARD_V3](result.doc).data
    assert out["spec"] == "chara_card_v3" and out["spec_version"] == "3.0"
    for key, value in raw["data"].items():
        if key != "extensions":
            assert out["data"][key] == value, key
    again = import_character(json.loads(json.dumps(out)))
    assert again.doc == result.doc


def test_cli_exports_every_format_and_lints(store, capsys):
    workspace = store.folder.parent
    out_dir = workspace / "out"
    for kind in ("carrier", "eliza-v1", "eliza-v0", "card-v2", "card-v3", "card-png"):
        target = out_dir / f"mira.{kind}"
        args = build_parser().parse_args(
            [
                "--workspace",
                str(workspace),
                "characters",
                "export",
                "Mira",
                "-f",
                kind,
                "-o",
                str(target),
            ]
        )
        assert run_characters(args) == 0, capsys.readouterr().err
        assert target.stat().st_size > 0
    (store.folder / "bad.json").write_text('{"name": "Bad", "temperature": 9}')
    args = build_parser().parse_args(["--workspace", str(workspace), "characters", "lint"])
    assert run_characters(args) == 1
    err = capsys.readouterr().err
    assert "bad.json ($.temperature)" in err
    args = build_parser().parse_args(
        ["--workspace", str(workspace), "characters", "export", "Nobody", "-f", "carrier"]
    )
    assert run_characters(args) == 1
    assert 'no character is named "Nobody"' in capsys.readouterr().err
