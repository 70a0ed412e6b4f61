"""The stored form of a message's attachments (core/runtime/transcript.py) and the input parts
they become (core/runtime/attachments.py)."""

import json

from carrier_studio.core.redaction import Redactor
from carrier_studio.core.runtime.attachments import Attachment, redact_around_images, user_content
from carrier_studio.core.runtime.transcript import UserText, decode, encode


def test_a_user_row_written_before_attachments_reads_with_none():
    assert decode("user", "", "Hi", {}) == UserText("Hi")
    assert encode(UserText("Hi")) == ("user", "", "Hi", {}), "plain messages are stored as before"


def test_attachments_are_stored_with_the_message_and_read_back():
    files = (
        Attachment("a.png", "image/png", "data:image/png;base64,iVBORw0K"),
        Attachment("n.txt", "text/plain", "hé"),
    )
    kind, agent, content, meta = encode(UserText("Look", attachments=files))
    assert meta == {
        "attachments": [
            {"name": "a.png", "mime": "image/png", "data": "data:image/png;base64,iVBORw0K"},
            {"name": "n.txt", "mime": "text/plain", "data": "hé"},
        ]
    }
    assert decode(kind, agent, content, meta) == UserText("Look", attachments=files)


def test_the_model_gets_text_alone_or_input_parts():
    assert user_content("Hi", ()) == "Hi"
    parts = user_content("Look", [Attachment("a.png", "image/png", "data:image/png;base64,QUJD")])
    assert parts == [
        {"type": "input_text", "text": "Look"},
        {"type": "input_image", "image_url": "data:image/png;base64,QUJD"},
    ]


def test_redaction_leaves_an_image_s_bytes_alone_and_still_redacts_the_text():
    secret = "Zk9PYmFSMTIzNDU2Nzg5MA"  # a registered key that also occurs inside the image
    redactor = Redactor()
    redactor.add(secret)
    url = f"data:image/png;base64,AAAA{secret}BBBB=="
    text = json.dumps([{"content": [{"type": "input_text", "text": f"key {secret}"}, url]}])
    kept = json.loads(redact_around_images(text, redactor.redact))
    assert kept[0]["content"][1] == url, "the image is stored as it was sent"
    assert secret not in kept[0]["content"][0]["text"], "the text is redacted as before"
