"""MCP resources and prompts as data (core/mcp/resources.py): what becomes an attachment, and how
a prompt's messages become one user message."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from carrier_studio.core.mcp.resources import (
    PromptArgument,
    PromptInfo,
    ResourceContent,
    as_attachment,
    human_size,
    prompt_text,
)
from carrier_studio.core.runtime.attachments import TEXT_MAX_BYTES, AttachmentRefusedError


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 0, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def test_text_and_images_become_attachments_named_after_their_uri():
    text = as_attachment(ResourceContent("file:///notes.md", "text/markdown", text="# Hi"))
    assert (text.name, text.mime, text.data) == ("file:///notes.md", "text/plain", "# Hi")
    image = as_attachment(ResourceContent("img://a.png", "image/png", blob=_png()))
    assert image.is_image and image.name == "img://a.png" and image.image_bytes() == _png()


def test_what_cannot_go_to_the_model_is_refused_by_uri_and_reason():
    with pytest.raises(AttachmentRefusedError, match=r"^x://big is 200 KB; text can be at most"):
        as_attachment(ResourceContent("x://big", text="a" * (TEXT_MAX_BYTES + 1)))
    with pytest.raises(AttachmentRefusedError, match="x://nul holds binary data"):
        as_attachment(ResourceContent("x://nul", text="a\x00b"))
    with pytest.raises(AttachmentRefusedError, match=r"x://doc is application/pdf, 2.0 KB"):
        as_attachment(ResourceContent("x://doc", "application/pdf", blob=b"%" * 2048))
    # Said to be a PNG, but it is not one: Pillow's check refuses it as a dropped file would be.
    with pytest.raises(AttachmentRefusedError, match="x://fake.png is not an image"):
        as_attachment(ResourceContent("x://fake.png", "image/png", blob=b"not a png"))


def test_sizes_read_as_a_person_says_them():
    assert [human_size(n) for n in (12, 2048, 3 * 1024 * 1024)] == [
        "12 bytes",
        "2.0 KB",
        "3.0 MB",
    ]


def test_a_prompt_becomes_one_user_message_with_its_files():
    doc = ResourceContent("x://doc.txt", "text/plain", text="the doc")
    song = ResourceContent("x://song", "audio/wav", blob=b"RIFF")
    result = prompt_text([("user", "Read this:"), ("user", doc), ("user", song)])
    assert result.text == "Read this:"
    assert [a.name for a in result.attachments] == ["x://doc.txt"]
    assert len(result.left_out) == 1 and result.left_out[0].startswith("x://song is audio/wav")
    # The MCP page shows each message with its role; a file as a short label.
    assert result.messages == (
        ("user", "Read this:"),
        ("user", "[resource: x://doc.txt (text/plain, 7 bytes)]"),
        ("user", "[resource: x://song (audio/wav, 4 bytes)]"),
    )


def test_other_roles_in_a_prompt_are_marked_not_dropped():
    result = prompt_text([("user", "Say hi"), ("assistant", "Hi!"), ("user", "Again")])
    assert result.text == "Say hi\n\n(assistant) Hi!\n\nAgain"


def test_a_prompt_s_arguments_as_the_form_s_schema():
    prompt = PromptInfo(
        "notes",
        "summarize",
        arguments=(PromptArgument("topic", "What to sum up", True), PromptArgument("style")),
    )
    assert prompt.command == "/summarize"
    assert prompt.schema() == {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "description": "What to sum up"},
            "style": {"type": "string", "description": ""},
        },
        "required": ["topic"],
    }


def test_a_text_blob_is_shown_as_text():
    """A text resource some servers send as a blob ("55 bytes. It cannot be shown here")."""
    for mime in ("text/plain", "text/markdown; charset=utf-8", "application/json", "image/svg+xml"):
        content = ResourceContent("x://a", mime=mime, blob="héllo".encode())
        assert content.readable_text == "héllo", mime
    assert (
        ResourceContent("x://a", mime="application/octet-stream", blob=b"hi").readable_text is None
    )
    assert ResourceContent("x://a", mime="text/plain", blob=b"\xff\xfe").readable_text is None
    assert ResourceContent("x://a", text="plain").readable_text == "plain"
