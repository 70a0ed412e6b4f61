"""The Chat page's greeting, context meter and copy/export, against the scripted LLM server."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.ui.widgets.chat_items import MessageBubble, Notice
from carrier_studio.ui.widgets.chat_tools import ConversationExport
from tests.fakes import running_server, text
from tests.gui.test_chat_page import _items, _send, _settle, _strip_models
from tests.helpers.waiting import wait_until

CARD = {
    "first_mes": "Hello {{user}}, {{char}} here.",
    "alternate_greetings": ["Back again?", "Ahoy."],
}


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


@pytest.fixture
def chat(make_studio, loop, server):
    studio = make_studio(start=False)
    providers = studio.session.settings.settings.providers
    providers.endpoints = [CompatEndpoint(name="local", base_url=server.openai_base_url)]
    providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
    root = studio.session.workspace.root
    _strip_models(root)
    ada = root / "characters" / "ada.json"
    ada.write_text(json.dumps({**json.loads(ada.read_text()), "card": CARD}, indent=2))
    loop.run_until_complete(studio.start())
    studio.window.show_page("chat")
    page = studio.window.page("chat")
    loop.run_until_complete(studio.tasks.wait_idle())
    page.character.setCurrentText("Ada")
    loop.run_until_complete(studio.tasks.wait_idle())
    page.new_conversation()
    _settle(page, studio, loop)
    return page, studio


def _texts(page):
    return [(b.role, b.text) for b in _items(page, MessageBubble)]


def test_the_greeting_opens_the_chat_and_another_can_take_its_place(chat, loop, server):
    page, studio = chat
    assert _texts(page) == [("assistant", "Hello you, Ada here.")]
    assert page.greeting_button.text() == "Another greeting (1/3)"
    assert _items(page, MessageBubble)[0].retry_button.isHidden()  # nothing to answer again
    page.greeting_button.click()
    _settle(page, studio, loop, lambda: page.greeting_button.text().endswith("(2/3)"))
    assert _texts(page) == [("assistant", "Back again?")]
    server.script(text("Good to see you."))
    _send(page, loop, "Yes!")
    assert page.greeting_button.isHidden()
    sent = [m for m in server.requests[-1].body["messages"] if m["role"] != "system"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("assistant", "Back again?"),
        ("user", "Yes!"),
    ]


def test_the_meter_warns_and_a_long_message_leaves_the_greeting_out(chat, loop, server):
    page, studio = chat
    # The character's instructions count as soon as its agent is built (not at the first key).
    wait_until(loop, lambda: page.context_meter.budget and page.context_meter.budget.tokens > 300)
    QTest.keyClicks(page.composer, "Short question")
    wait_until(loop, lambda: "tokens" in page.context_meter.text())
    assert "over" not in page.context_meter.text()
    assert "of 6,144 tokens" in page.context_meter.text()  # unknown model: 8192 less 2048
    long = "word " * 5200  # ≈ 6500 tokens
    page.composer.setPlainText(long)
    wait_until(loop, lambda: "over" in page.context_meter.text())
    assert "oldest turns" in page.context_meter.text()
    server.script(text("That was long."))
    page.composer.setFocus()
    QTest.keyClick(page.composer, Qt.Key.Key_Return)
    wait_until(loop, lambda: not page._running and page.thread.context.left_out == 1)
    notices = [n for n in _items(page, Notice) if n.objectName() == "contextTrimmed"]
    assert len(notices) == 1 and "oldest 1 messages" in notices[0].text()
    assert "Hello you" not in json.dumps(server.requests[-1].body)
    # The transcript still shows the greeting: only the request went without it.
    assert _texts(page)[0] == ("assistant", "Hello you, Ada here.")
    # Reopened, the conversation still says so under the reply.
    loop.run_until_complete(page._open(page.thread.id))
    notices = [n for n in _items(page, Notice) if n.objectName() == "contextTrimmed"]
    assert len(notices) == 1 and "oldest 1 messages" in notices[0].text()


def test_copy_and_export_to_markdown_and_json(chat, loop, server, tmp_path, monkeypatch):
    page, studio = chat
    server.script(text("Tides rise twice a day."))
    _send(page, loop, "Tell me about the sea")
    page.export.copy_markdown()
    loop.run_until_complete(studio.tasks.wait_idle())
    copied = QGuiApplication.clipboard().text()
    assert "**You:**\n\nTell me about the sea" in copied
    assert "**Ada:**\n\nTides rise twice a day." in copied
    targets = iter([tmp_path / "sea.md", tmp_path / "sea.json"])
    monkeypatch.setattr(ConversationExport, "save_path", lambda *a: str(next(targets)))
    page.export.markdown_action.trigger()
    loop.run_until_complete(studio.tasks.wait_idle())
    page.export.json_action.trigger()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert (tmp_path / "sea.md").read_text() == copied
    document = json.loads((tmp_path / "sea.json").read_text())
    assert [i["item"] for i in document["items"]] == ["assistant", "user", "assistant"]
    # Search finds the conversation by its reply's words, not only its title.
    page.new_conversation()
    _settle(page, studio, loop)
    assert page.conversations.count() == 2
    QTest.keyClicks(page.search, "twice a day")
    wait_until(loop, lambda: page.conversations.count() == 1)
    assert page.conversations.item(0).text() == "Tell me about the sea"


def test_the_meter_uses_the_window_the_server_states(chat, loop, server):
    page, studio = chat
    server._server.models = ("m",)
    server.model_fields["m"] = {"meta": {"n_ctx": 4096}}  # llama.cpp's listing
    page.new_conversation()
    _settle(page, studio, loop)
    wait_until(loop, lambda: "of 3,072 tokens" in page.context_meter.text())  # 4096 less 1024
    assert page.thread.context.window() == 4096


def test_the_meter_says_when_the_instructions_and_tools_alone_are_too_long(chat, loop, server):
    """A small local model (llama.cpp says n_ctx 512): no message can fit beside the
    character's instructions and tools, and the meter says so and what to do, before a Send."""
    page, studio = chat
    server._server.models = ("m",)
    server.model_fields["m"] = {"meta": {"n_ctx": 512}}
    page.new_conversation()
    _settle(page, studio, loop)
    # The instructions count once the agent is built (the meter reads 13 tokens before).
    wait_until(loop, lambda: "too long for this model" in page.context_meter.text())
    assert "of 384 tokens" in page.context_meter.text()  # 512 less 128
    assert page.context_meter.budget.fixed > page.context_meter.budget.limit
    assert "fewer MCP servers" in page.context_meter.toolTip()
