"""Attachments in the chat (#16 item 3): dropped or pasted images and text files reach the model
as input parts, show on the message and in the composer, survive a restart, and files the
studio will not send are refused by name before sending."""

from __future__ import annotations

import base64
import io
import warnings

from PIL import Image
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel

from carrier_studio.ui.widgets.chat_items import MessageBubble
from tests.fakes import text
from tests.gui import test_chat_page as base
from tests.gui.test_chat_page import _items, _restarted_chat, _send
from tests.gui.test_instagram_page import drop

# The Chat page tests' studio with a scripted model server.
chat, server = base.chat, base.server


def _png(path, size=(40, 30), colour=(200, 30, 30)):
    Image.new("RGB", size, colour).save(path, "PNG")
    return path


def _user_content(srv):
    """The content of the last user message of the last chat request the model received."""
    bodies = [r.body for r in srv.requests if isinstance(r.body, dict) and "messages" in r.body]
    users = [m for m in bodies[-1]["messages"] if m["role"] == "user"]
    return users[-1]["content"]


def test_dropped_image_and_text_reach_the_model_and_survive_a_restart(
    chat, loop, server, make_studio, tmp_path
):
    page, studio = chat
    png = _png(tmp_path / "sketch.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("The lighthouse is painted red — 1874.\n", encoding="utf-8")
    drop(page.composer.viewport(), [png, notes])
    assert len(page.attachment_strip.thumbnails()) == 1
    assert page.attachment_strip.chips() == ["notes.txt"]
    # The file's mark is the app's icon (a symbol character drew as an empty box), the
    # image's name is under it.
    (mark,) = page.attachment_strip.findChildren(QLabel, "attachmentIcon")
    assert not mark.pixmap().isNull()
    assert page.attachment_strip.captions() == ["sketch.png"]
    assert page.composer.toPlainText() == "", "the files are attached, not pasted as text"
    assert page.attachment_problem.isHidden()

    server.script(text("A red square, and a note about 1874."))
    _send(page, loop, "What are these?")

    content = _user_content(server)
    assert isinstance(content, list), content
    texts = [p["text"] for p in content if p["type"] == "text"]
    images = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert texts[0] == "What are these?"
    assert any("notes.txt" in t and "painted red — 1874." in t for t in texts[1:])
    assert images == ["data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()]

    user = _items(page, MessageBubble)[0]
    assert len(user.attachments.thumbnails()) == 1 and user.attachments.chips() == ["notes.txt"]
    assert page.attachment_strip.isHidden(), "the composer's attachments went with the message"

    page2, _ = _restarted_chat(studio, make_studio, loop)
    user2 = _items(page2, MessageBubble)[0]
    assert user2.text == "What are these?"
    thumbs = user2.attachments.thumbnails()
    assert len(thumbs) == 1 and not thumbs[0].pixmap().isNull()
    assert user2.attachments.chips() == ["notes.txt"]

    # The next turn's request still carries the image, byte for byte, from the stored history.
    server.script(text("Still red."))
    _send(page2, loop, "And now?")
    bodies = [r.body for r in server.requests if isinstance(r.body, dict) and "messages" in r.body]
    first_user = next(m for m in bodies[-1]["messages"] if m["role"] == "user")
    assert [p["image_url"]["url"] for p in first_user["content"] if p["type"] == "image_url"] == (
        images
    )


def test_a_pasted_picture_is_attached_and_can_be_taken_off(chat):
    page, _studio = chat
    picture = QImage(20, 20, QImage.Format.Format_RGB32)
    picture.fill(QColor("blue"))
    mime = QMimeData()
    mime.setImageData(picture)
    page.composer.insertFromMimeData(mime)
    assert len(page.attachment_strip.thumbnails()) == 1
    with Image.open(io.BytesIO(page._attachments[0].image_bytes())) as decoded:
        assert decoded.format == "PNG" and decoded.size == (20, 20)
    page._remove_attachment(0)
    assert page._attachments == [] and page.attachment_strip.isHidden()


def test_files_that_cannot_be_sent_are_refused_by_name_with_the_reason(chat, server, tmp_path):
    page, _studio = chat
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG" + b"\0" * (10 * 1024 * 1024))
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    binary = tmp_path / "data.txt"
    binary.write_bytes(bytes(range(256)))
    long = tmp_path / "long.txt"
    long.write_text("x" * (200 * 1024 + 1))
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"valid UTF-8 \x00 but binary")
    # 100 megapixels in a small file: over Pillow's decompression-bomb limit (89 MP).
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")
    good = tmp_path / "ok.txt"
    good.write_text("fine")
    with warnings.catch_warnings():
        # As in the app (pytest's own filter would turn Pillow's bomb warning into an error).
        warnings.simplefilter("ignore")
        drop(page.composer.viewport(), [big, fake, binary, long, nul, bomb, good])
    problem = page.attachment_problem.text()
    assert not page.attachment_problem.isHidden()
    assert "huge.png is 10.5 MB; images can be at most 10 MB" in problem
    assert "fake.png is not an image the studio can read" in problem
    assert "data.txt is neither an image" in problem and "nor UTF-8 text" in problem
    assert "long.txt is 200 KB; text files can be at most 200 KB" in problem
    assert "nul.txt is a binary file, not text or an image" in problem
    assert "bomb.png has too many pixels to open safely" in problem
    assert page.attachment_strip.chips() == ["ok.txt"], "the good file is kept"
