"""The character store against real files, including a corpus of bad input."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from carrier_studio import assets
from carrier_studio.core.characters import CharacterDoc, CharacterError
from carrier_studio.services.characters.store import (
    CharacterStore,
    ExternalChangeError,
    read_character,
)


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "characters"
    shutil.copytree(assets.seed_characters_dir(), folder)
    return CharacterStore(folder, tmp_path / ".trash")


def _snapshot(folder):
    return {p.name: p.read_bytes() if p.is_file() else "dir" for p in folder.iterdir()}


def test_examples_load_and_save_byte_for_byte(store):
    for entry in store.list():
        assert entry.error is None, entry.error
        before = entry.path.read_bytes()
        store.save(entry.doc, entry.path, entry.stamp)
        assert entry.path.read_bytes() == before


def test_unknown_keys_and_order_survive(store, tmp_path):
    path = store.folder / "odd.json"
    text = '{"zeta": 1, "name": "Odd", "bio": "one line", "x-custom": {"keep": [1, 2]}}\n'
    path.write_text(text)
    doc, stamp = read_character(path)
    doc.set("topics", [])  # an absent key set to empty stays absent
    store.save(doc, path, stamp)
    assert json.loads(path.read_text()) == json.loads(text)
    assert list(json.loads(path.read_text())) == ["zeta", "name", "bio", "x-custom"]


BAD_FILES = {
    "malformed.json": (b'{"name": "A",\n  "bio": [,]\n}', "line 2, column 11"),
    "array.json": (b'["not", "an", "object"]', "must be a JSON object"),
    "latin1.json": ('{"name": "Jos\xe9"}'.encode("latin-1"), "not UTF-8"),
}


@pytest.mark.parametrize("filename", sorted(BAD_FILES))
def test_bad_files_give_clear_errors_and_stay_untouched(store, filename):
    content, expected = BAD_FILES[filename]
    path = store.folder / filename
    path.write_bytes(content)
    before = _snapshot(store.folder)
    entry = next(e for e in store.list() if e.path == path)
    assert entry.doc is None
    assert entry.error.path == path
    assert expected in str(entry.error)
    assert _snapshot(store.folder) == before


def test_a_huge_file_is_refused_without_reading_it(store):
    path = store.folder / "huge.json"
    path.write_bytes(b'{"name": "Huge", "bio": ["' + b"x" * 5_000_000 + b'"]}')
    with pytest.raises(CharacterError, match=r"too large .*5\.0 MB"):
        read_character(path)


def test_a_folder_named_like_a_character_is_reported(store):
    (store.folder / "x.json").mkdir()
    entry = next(e for e in store.list() if e.path.name == "x.json")
    assert "is a folder" in str(entry.error)


def test_duplicate_names_are_reported_on_both_files(store):
    shutil.copy(store.folder / "ada.json", store.folder / "ada-again.json")
    dupes = [e for e in store.list() if e.name == "Ada"]
    assert len(dupes) == 2
    for entry in dupes:
        assert 'same name "Ada"' in str(entry.error)
        assert "ada-again.json" in str(entry.error) and "ada.json" in str(entry.error)


def test_wrong_types_block_saving_and_name_the_path(store):
    entry = next(e for e in store.list() if e.name == "Ada")
    entry.doc.data["bio"] = ["fine", 42]
    before = entry.path.read_bytes()
    with pytest.raises(CharacterError, match=r"\$\.bio\[1\]: must be a string, not a number"):
        store.save(entry.doc, entry.path, entry.stamp)
    assert entry.path.read_bytes() == before


def test_saving_under_a_taken_name_is_refused(store):
    entry = next(e for e in store.list() if e.name == "Ada")
    entry.doc.data["name"] = "Mira"
    with pytest.raises(CharacterError, match='already named "Mira"'):
        store.save(entry.doc, entry.path, entry.stamp)


def test_an_external_edit_is_not_overwritten(store):
    entry = next(e for e in store.list() if e.name == "Ada")
    other = json.loads(entry.path.read_text())
    other["bio"].append("Added in another editor.")
    entry.path.write_text(json.dumps(other, indent=2))
    os.utime(entry.path, ns=(entry.stamp.mtime_ns + 10**9, entry.stamp.mtime_ns + 10**9))
    assert store.changed_on_disk(entry.path, entry.stamp)
    entry.doc.data["username"] = "ada2"
    with pytest.raises(ExternalChangeError):
        store.save(entry.doc, entry.path, entry.stamp)
    assert "Added in another editor." in entry.path.read_text()
    store.save(entry.doc, entry.path, entry.stamp, force=True)
    assert json.loads(entry.path.read_text())["username"] == "ada2"


def test_create_duplicate_rename_delete_restore(store):
    path, stamp = store.create(CharacterDoc.new("Nova"))
    assert path.name == "nova.json"
    copy, copy_path, _ = store.duplicate(read_character(path)[0])
    assert copy.name == "Nova copy" and copy_path.name == "nova-copy.json"
    renamed, _ = store.rename(copy_path, None, "Vega")
    assert renamed.name == "vega.json" and not copy_path.exists()
    assert read_character(renamed)[0].name == "Vega"
    with pytest.raises(CharacterError, match='already named "Nova"'):
        store.rename(renamed, None, "Nova")
    trashed = store.delete(renamed)
    assert not renamed.exists() and trashed.trashed.exists()
    assert trashed.trashed.parent == store.trash
    assert store.restore(trashed) == renamed
    assert read_character(renamed)[0].name == "Vega"


def test_new_file_names_never_overwrite(store):
    (store.folder / "nova.json").write_text('{"name": "Something else"}')
    path, _ = store.create(CharacterDoc.new("Nova"))
    assert path.name == "nova-2.json"
    assert json.loads((store.folder / "nova.json").read_text())["name"] == "Something else"


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("malformed.json", b'{"name": "A",, }', "line 1, column 14"),
        ("wrong-types.json", b'{"name": "A", "bio": [1, 2], "style": "loud"}', "$.bio[0]"),
        ("latin1.json", '{"name": "Jos\xe9"}'.encode("latin-1"), "not UTF-8"),
        ("empty.json", b"", "line 1, column 1"),
        ("nothing.json", b'{"hello": "world"}', "$"),
    ],
)
def test_importing_bad_files_changes_nothing(store, tmp_path, filename, content, expected):
    source = tmp_path / filename
    source.write_bytes(content)
    before = _snapshot(store.folder)
    with pytest.raises(CharacterError) as info:
        store.import_file(source)
    assert expected in str(info.value)
    assert str(source) in str(info.value)
    assert source.read_bytes() == content
    assert _snapshot(store.folder) == before


def test_importing_a_huge_file_or_a_folder_changes_nothing(store, tmp_path):
    huge = tmp_path / "huge.json"
    huge.write_bytes(b'{"name": "H", "bio": ["' + b"y" * 5_200_000 + b'"]}')
    folder = tmp_path / "x.json"
    folder.mkdir()
    before = _snapshot(store.folder)
    with pytest.raises(CharacterError, match="too large"):
        store.import_file(huge)
    with pytest.raises(CharacterError, match="is a folder"):
        store.import_file(folder)
    assert _snapshot(store.folder) == before


def test_importing_a_duplicate_name_keeps_both(store, tmp_path):
    source = tmp_path / "ada.json"
    shutil.copy(store.folder / "ada.json", source)
    doc, path, notes = store.import_file(source)
    assert doc.name == "Ada 2"
    assert path.name == "ada-2.json"
    assert any('"Ada" already exists' in note for note in notes)
    assert read_character(store.folder / "ada.json")[0].name == "Ada"


# -- strict reading (#20) and sub-folders (#18) ------------------------------------------------

DEEP = '{"name": "Deep", "bio": ' + "[" * 5000 + "]" * 5000 + "}"
DUPLICATE = '{\n  "name": "Twice",\n  "system": "Be kind.",\n  "system": "Be curt."\n}\n'


def test_one_bad_file_is_one_listed_problem_and_the_others_still_list(store):
    examples = {e.path.name for e in store.list()}
    (store.folder / "deep.json").write_text(DEEP)
    (store.folder / "twice.json").write_text(DUPLICATE)
    entries = {e.path.name: e for e in store.list()}
    assert set(entries) == examples | {"deep.json", "twice.json"}
    assert all(entries[name].error is None for name in examples)
    assert "nests more than 64 levels" in str(entries["deep.json"].error)
    assert "deep.json" in str(entries["deep.json"].error)
    twice = str(entries["twice.json"].error)
    assert 'has the key "system" twice' in twice and "line 4" in twice and "twice.json" in twice


def test_duplicate_keys_are_refused_everywhere_and_the_file_is_never_rewritten(store):
    path = store.folder / "twice.json"
    path.write_text(DUPLICATE)
    before = path.read_bytes()
    with pytest.raises(CharacterError, match='"system" twice'):
        read_character(path)
    with pytest.raises(CharacterError, match='"system" twice'):
        store.import_file(path)
    with pytest.raises(CharacterError, match='"system" twice'):
        CharacterDoc.from_text(DUPLICATE)  # the page's JSON tab parses the same way
    entry = next(e for e in store.list() if e.path == path)
    assert entry.doc is None, "nothing loaded, so nothing can be saved over the file"
    assert path.read_bytes() == before


def test_characters_in_sub_folders_are_listed_and_saved_where_they_are(store):
    retired = store.folder / "retired"
    retired.mkdir()
    old = retired / "old-ada.json"
    old.write_text('{"name": "Old Ada", "bio": ["Retired."]}\n')
    (store.folder / ".git").mkdir()
    (store.folder / ".git" / "config.json").write_text('{"name": "Not a character"}')
    entries = {e.name: e for e in store.list()}
    assert "Not a character" not in entries, "hidden folders hold no characters"
    entry = entries["Old Ada"]
    assert entry.error is None and entry.folder == "retired" and entry.path == old
    assert entries["Ada"].folder == ""
    entry.doc.data["bio"] = ["Retired, but still sharp."]
    store.save(entry.doc, entry.path, entry.stamp)
    assert json.loads(old.read_text())["bio"] == ["Retired, but still sharp."]
    assert not (store.folder / "old-ada.json").exists()
    target, _ = store.rename(old, None, "Older Ada")
    assert target == retired / "older-ada.json", "a rename keeps the character in its folder"
    trashed = store.delete(target)
    assert store.restore(trashed) == target
