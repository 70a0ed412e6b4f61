"""Edits through CharacterDoc.set leave a document as it was when they are taken back."""

from __future__ import annotations

from carrier_studio.core.characters.document import CharacterDoc

IMPORTED = '{\n  "name": "Hazel Thornbury",\n  "bio": ["Runs a bakery stall."]\n}\n'


def test_a_field_typed_into_and_emptied_again_leaves_the_file_as_it_was():
    # An imported card has no username: typing one and pressing Ctrl+Z left "username": ""
    # behind, and the page went on marking the character unsaved.
    doc = CharacterDoc.from_text(IMPORTED)
    doc.set("username", "hazel")
    assert doc.data["username"] == "hazel"
    doc.set("username", "")
    assert doc.to_text() == CharacterDoc.from_text(IMPORTED).to_text()


def test_a_field_the_file_had_keeps_its_key_when_emptied():
    doc = CharacterDoc.from_text('{"name": "Rook", "username": "rook", "lore": []}')
    doc.set("username", "")
    doc.set("lore", [])
    assert doc.data == {"name": "Rook", "username": "", "lore": []}


def test_an_imported_card_without_style_rules_is_told_so_in_words():
    # An imported Character Card showed "style.all is empty: the character has no all style
    # rules" (and the same for chat and post).
    from carrier_studio.core.characters.validation import validate

    doc = CharacterDoc.from_text(IMPORTED)
    words = {i.path: i.message for i in validate(doc) if i.code == "empty-style"}
    assert words == {
        "$.style.all": 'no writing rules yet in the Style tab\'s "Always" list',
        "$.style.chat": 'no writing rules yet in the Style tab\'s "In chat" list',
        "$.style.post": 'no writing rules yet in the Style tab\'s "In posts" list',
    }
