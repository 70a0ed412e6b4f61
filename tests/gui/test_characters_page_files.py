"""The Characters page with files from outside: PNG cards, avatars, sub-folders, hostile input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QStyleOptionViewItem

from carrier_studio.core import messages

ROOT = Path(__file__).resolve().parents[2]
HAZEL = ROOT / "tests" / "data" / "characters" / "samples" / "hazel.card-v2.png"
HOSTILE = ROOT / "tests" / "data" / "hostile" / "characters"


@pytest.fixture
def page_and_studio(make_studio, loop):
    studio = make_studio()
    studio.window.show_page("characters")
    page = studio.window.page("characters")
    loop.run_until_complete(studio.tasks.wait_idle())
    return page, studio


def _option(page, name):
    for row in range(page.proxy.rowCount()):
        index = page.proxy.index(row, 0)
        if index.data().startswith(name):
            option = QStyleOptionViewItem()
            page.list.itemDelegate().initStyleOption(option, index)
            return option
    raise AssertionError(f"{name} not listed")


def test_the_import_dialog_offers_png_cards(page_and_studio, monkeypatch):
    page, _studio = page_and_studio
    seen = {}

    def fake(parent, caption, folder, filters):
        seen["filters"] = filters
        return [], ""

    monkeypatch.setattr("carrier_studio.ui.pages.characters.QFileDialog.getOpenFileNames", fake)
    page.ask.open_file(page)
    assert "*.png" in seen["filters"].split(";;")[0]


def test_an_imported_png_card_shows_its_avatar_in_the_list(page_and_studio, loop):
    page, studio = page_and_studio
    loop.run_until_complete(page._import([HAZEL]))
    loop.run_until_complete(studio.tasks.wait_idle())
    option = _option(page, "Hazel Thornbury")
    assert not option.icon.isNull()
    assert _option(page, "Ada").icon.isNull()


def test_the_avatar_is_shown_beside_the_name_on_the_chat_and_discord_pages(page_and_studio, loop):
    page, studio = page_and_studio
    loop.run_until_complete(page._import([HAZEL]))
    loop.run_until_complete(studio.tasks.wait_idle())
    for name in ("chat", "discord"):
        studio.window.show_page(name)
        other = studio.window.page(name)
        loop.run_until_complete(studio.tasks.wait_idle())
        loop.run_until_complete(other._load_characters())
        combo = other.character
        icons = {combo.itemText(i): combo.itemIcon(i) for i in range(combo.count())}
        assert not icons["Hazel Thornbury"].isNull(), name
        assert icons["Ada"].isNull(), name  # no avatar, no borrowed icon


def test_a_character_added_outside_the_window_appears_when_chat_or_discord_is_shown_again(
    page_and_studio, loop
):
    _page, studio = page_and_studio
    for name in ("chat", "discord"):
        studio.window.show_page(name)
        loop.run_until_complete(studio.tasks.wait_idle())
    folder = studio.session.workspace.paths.characters_dir
    (folder / "kit.json").write_text('{"name": "Kit", "bio": ["Added by the CLI."]}')
    for name in ("chat", "discord"):
        studio.window.show_page("characters")
        studio.window.show_page(name)
        loop.run_until_complete(studio.tasks.wait_idle())
        combo = studio.window.page(name).character
        assert "Kit" in [combo.itemText(i) for i in range(combo.count())], name


def test_a_character_in_a_sub_folder_is_listed_with_its_folder(page_and_studio, loop):
    page, studio = page_and_studio
    retired = studio.session.workspace.paths.characters_dir / "retired"
    retired.mkdir()
    (retired / "old.json").write_text('{"name": "Old Timer", "bio": ["Retired."]}')
    loop.run_until_complete(page._refresh())
    assert _option(page, "Old Timer").text.endswith("retired/")
    assert not _option(page, "Ada").text.endswith("/")


@pytest.mark.parametrize(
    "name", ["deep-nesting.json", "duplicate-keys.json", "broken-chunk.png", "array.json"]
)
def test_hostile_files_dropped_on_the_page_give_one_clear_message(
    page_and_studio, loop, tmp_path, monkeypatch, name
):
    page, studio = page_and_studio
    source = tmp_path / name
    shutil.copy(HOSTILE / name, source)
    before = source.read_bytes()
    errors = []
    monkeypatch.setattr(messages, "error", lambda text, details=None: errors.append(text))
    loop.run_until_complete(page._import([source]))
    assert len(errors) == 1 and name in errors[0], errors
    assert "Traceback" not in errors[0]
    assert source.read_bytes() == before
