"""A server's questions during a chat's tool call, answered in the window's dialogs (#19):
the elicitation form (schema defaults filled, a required field named when empty) and the
sampling approval (server, system prompt and messages shown; Always allow remembered in the
settings file; Deny refuses). A real MCP server (tests/mcp/client_server.py over stdio) and
the scripted LLM server, which also answers the sampling request the studio runs on it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QScrollArea,
)

from carrier_studio.core.mcp.elicitation import form_fields
from carrier_studio.core.mcp.requests import ElicitationRequest, SamplingRequest
from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.ui.widgets.chat_items import ApprovalCard, MessageBubble, ToolCard
from carrier_studio.ui.widgets.mcp_elicitation import ElicitationDialog
from carrier_studio.ui.widgets.mcp_sampling import SamplingDialog
from tests.fakes import running_server, text, tool_call
from tests.services.test_mcp_client import SERVER

#: A real MCP server start (a Python process importing the MCP SDK) on a busy machine.
SERVER_START = 60.0


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


@pytest.fixture
def chat(make_studio, loop, server):
    """The Chat page with Ada, whose server "asker" is added to the catalogue and started
    inside the scenario's one run of the loop (see `_scenario`)."""
    studio = make_studio(start=False)
    providers = studio.session.settings.settings.providers
    providers.endpoints = [CompatEndpoint(name="local", base_url=server.openai_base_url)]
    providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
    root = studio.session.workspace.root
    (root / "mcp_servers.json").write_text(json.dumps({"mcpServers": {}}))
    for path in (root / "characters").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("model", None)
        data.pop("mcp_servers", None)
        if data.get("name") == "Ada":
            data["mcp_servers"] = ["asker"]
            # Her own model, not the workspace default ("m"): sampling must use hers.
            data["model"] = {"provider": "openai-compatible", "model": "ada", "endpoint": "local"}
        path.write_text(json.dumps(data, indent=2))
    loop.run_until_complete(studio.start())
    studio.window.show_page("chat")
    loop.run_until_complete(studio.tasks.wait_idle())
    return studio.window.page("chat"), studio


def _scenario(loop, page, studio, body):
    """Run ``body()`` (a coroutine) in one run of the loop, after adding Ada's server and
    starting it. One run: an MCP request in flight when a run of the test loop ends may be
    stepped outside it (pytest-qt processes events between fixture and test), with no running
    loop, which breaks its connection (anyio: "no running event loop"); the app runs one loop
    for its whole life."""

    async def run() -> None:
        page.character.setCurrentText("Ada")
        asker = {"command": sys.executable, "args": [str(SERVER)]}
        catalogue = studio.session.workspace.root / "mcp_servers.json"
        catalogue.write_text(json.dumps({"mcpServers": {"asker": asker}}))
        await studio.session.mcp.reload()
        await studio.session.mcp.ensure(["asker"], strict=True)
        await studio.tasks.wait_idle()
        await body()
        await studio.tasks.wait_idle()
        await page.deps.chat.drain()

    loop.run_until_complete(run())


async def until(predicate, within=SERVER_START):
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"{predicate} not met within {within} s"
        await asyncio.sleep(0.01)


def _dialog(kind):
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    return found[0] if found else None


async def _dialog_shown(kind):
    await until(lambda: _dialog(kind) is not None)
    return _dialog(kind)


def _click(widget):
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def _type(widget, words):
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, words)


async def _send(page, words):
    """Type into the chat box and press Enter (an empty chat starts a conversation)."""
    _type(page.composer, words)
    QTest.keyClick(page.composer, Qt.Key.Key_Return)
    await until(lambda: page._running)


async def _approve_tool(page):
    """The chat asks before an MCP tool runs: approve this call."""
    cards = lambda: [w for w in page.transcript.items() if isinstance(w, ApprovalCard)]  # noqa: E731
    await until(lambda: any(c.approve_button.isEnabled() for c in cards()))
    card = [c for c in cards() if c.approve_button.isEnabled()][-1]
    _click(card.approve_button)


async def _reply(page, words):
    def replied() -> bool:
        bubbles = [w for w in page.transcript.items() if isinstance(w, MessageBubble)]
        return bool(bubbles) and bubbles[-1].text == words and not page._running

    await until(replied)


def _tool_output(server) -> str:
    """What the last generation request carried back from the tool call."""
    body = [r for r in server.requests if r.method == "POST"][-1].body
    outputs = [m for m in body["messages"] if m.get("role") == "tool"]
    return json.dumps(outputs[-1]["content"]) if outputs else ""


def test_an_elicitation_during_a_chat_is_a_form_with_defaults(chat, loop, server):
    page, studio = chat

    async def body():
        server.script(tool_call("ask_profile", {}), text("Nice to meet you, Ann."))
        await _send(page, "Fill in my profile")
        await _approve_tool(page)
        dialog = await _dialog_shown(ElicitationDialog)
        assert dialog.windowTitle() == "asker asks"
        assert dialog.findChild(QLabel, "elicitationMessage").text() == "Tell me about you"
        fields = dialog.widgets
        assert isinstance(fields["name"], QLineEdit) and fields["name"].text() == ""
        assert fields["age"].text() == "30"  # the schema's defaults, filled in (SEP-1034)
        assert isinstance(fields["subscribe"], QCheckBox) and fields["subscribe"].isChecked()
        assert isinstance(fields["colour"], QComboBox)
        assert fields["colour"].currentText() == "green"
        # Typing can start at once (the focus comes with the dialog's activation: waited for,
        # a loaded machine delivers it a moment after the dialog shows).
        await until(fields["name"].hasFocus)
        # Fits the smallest window the studio supports.
        assert dialog.height() <= 640 and dialog.width() <= 1000
        # Submitting without the required name says which field, and keeps the dialog open.
        _click(dialog.submit)
        assert dialog.isVisible() and dialog.error.text() == "Name is required"
        _type(fields["age"], "old")
        _click(dialog.submit)
        assert "Age must be a whole number" in dialog.error.text()
        _type(fields["age"], "41")
        _type(fields["name"], "Ann")
        _click(dialog.submit)
        await _reply(page, "Nice to meet you, Ann.")
        assert "Ann, 41, subscribe=True, colour=green" in _tool_output(server)
        # The tool card shows the server's text, not the SDK's content part as a dict.
        card = [w for w in page.transcript.items() if isinstance(w, ToolCard)][-1]
        assert card.result_view.toPlainText() == "Ann, 41, subscribe=True, colour=green"

    _scenario(loop, page, studio, body)


def test_sampling_during_a_chat_is_approved_first_and_always_allow_is_remembered(
    chat, loop, server
):
    page, studio = chat

    async def body():
        # The chat's model calls the tool; the server asks the studio's model (the same
        # scripted server: the second reply), then the chat's model answers.
        server.script(
            tool_call("ask_summary", {"topic": "cats"}), text("Cats nap."), text("There you go.")
        )
        await _send(page, "Sum up cats")
        await _approve_tool(page)
        dialog = await _dialog_shown(SamplingDialog)
        assert "asker" in dialog.windowTitle()
        intro = dialog.findChild(QLabel, "samplingIntro").text()
        assert "ada (openai-compatible at local)" in intro  # the chat's model
        # The server is named above, not on the button: "Always allow everything" misread.
        assert "<b>asker</b>" in intro and dialog.always.text() == "Always allow this server"
        assert dialog.system.toPlainText() == "You sum things up in one line."
        assert dialog.messages.toPlainText() == "User: Sum up cats"
        posts = [r for r in server.requests if r.method == "POST"]
        assert len(posts) == 1  # nothing went to the model before the approval
        _click(dialog.always)
        await _reply(page, "There you go.")
        assert "model ada said: Cats nap." in _tool_output(server)
        sampled = [r for r in server.requests if r.method == "POST"][1].body
        assert sampled["model"] == "ada"
        assert sampled["messages"][0] == {
            "role": "system",
            "content": "You sum things up in one line.",
        }
        saved = json.loads(studio.session.settings.path.read_text())
        assert saved["mcp"]["sampling_always_allow"] == ["asker"]

        # Always allowed: the next request runs without a dialog.
        server.script(
            tool_call("ask_summary", {"topic": "dogs"}), text("Dogs fetch."), text("Done.")
        )
        await _send(page, "And dogs")
        await _approve_tool(page)
        await _reply(page, "Done.")
        assert _dialog(SamplingDialog) is None
        assert "model ada said: Dogs fetch." in _tool_output(server)

    _scenario(loop, page, studio, body)


def test_denied_sampling_sends_nothing_to_the_model(chat, loop, server):
    page, studio = chat

    async def body():
        server.script(tool_call("ask_summary", {"topic": "cats"}), text("It was refused."))
        await _send(page, "Sum up cats")
        await _approve_tool(page)
        _click((await _dialog_shown(SamplingDialog)).deny)
        await _reply(page, "It was refused.")
        posts = [r for r in server.requests if r.method == "POST"]
        assert len(posts) == 2  # the chat's two turns; no sampling request
        # The SDK hands the model its own words for a failed MCP call, not the server's.
        assert "error" in _tool_output(server) and "said" not in _tool_output(server)
        assert studio.session.settings.settings.mcp.sampling_always_allow == []

    _scenario(loop, page, studio, body)


def test_the_dialogs_ask_classmethods_are_what_the_window_calls(chat, loop, monkeypatch):
    """Tests (and the conformance adapter) replace ``ask``: the window's asker goes through it."""
    page, studio = chat
    seen: list[object] = []

    async def fake_elicit(cls, parent, request):
        seen.append(request)
        from carrier_studio.core.mcp.requests import ElicitationAnswer

        return ElicitationAnswer("decline")

    monkeypatch.setattr(ElicitationDialog, "ask", classmethod(fake_elicit))
    request = ElicitationRequest("s", "hello?")
    answer = loop.run_until_complete(studio.session.mcp.client.asker.elicit(request))
    assert page is studio.window.page("chat")
    assert answer.action == "decline" and seen == [request]
    assert isinstance(SamplingRequest("s", "", (), 1), SamplingRequest)


def test_url_mode_opens_the_browser_only_when_asked(qapp, loop, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    request = ElicitationRequest(
        "payments", "Confirm the payment", mode="url", url="https://example.com/pay?id=7"
    )

    async def answer(button: str):
        asking = asyncio.ensure_future(ElicitationDialog.ask(None, request))
        dialog = await _dialog_shown(ElicitationDialog)
        assert dialog.findChild(QLabel, "elicitationUrl").text() == request.url
        assert not opened  # shown, not opened
        _click(getattr(dialog, button))
        return await asking

    declined = loop.run_until_complete(answer("decline"))
    assert declined.action == "decline" and opened == []
    accepted = loop.run_until_complete(answer("submit"))
    assert accepted.action == "accept" and opened == ["https://example.com/pay?id=7"]


def _whole_in_view(dialog) -> list[str]:
    """The form fields not wholly visible in the dialog's scroll area."""
    view = dialog.findChild(QScrollArea).viewport()
    cut = []
    for name, widget in dialog.widgets.items():
        box = QRect(widget.mapTo(view, QPoint(0, 0)), widget.size())
        if not view.rect().contains(box):
            cut.append(name)
    return cut


def test_an_error_line_grows_the_form_instead_of_cutting_a_field(qapp, loop):
    """Seen in the walkthrough: "Age must be a whole number" took its room from the form,
    which became a scroll area with Colour cut in half."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": "Name"},
            "age": {"type": "integer", "title": "Age", "default": 30},
            "subscribe": {"type": "boolean", "title": "Subscribe", "default": True},
            "colour": {"type": "string", "title": "Colour", "enum": ["red", "green", "blue"]},
        },
        "required": ["name"],
    }
    request = ElicitationRequest("asker", "Tell me about you", fields=form_fields(schema))

    async def answer():
        asking = asyncio.ensure_future(ElicitationDialog.ask(None, request))
        dialog = await _dialog_shown(ElicitationDialog)
        assert _whole_in_view(dialog) == []
        before = dialog.height()
        _type(dialog.widgets["age"], "old")
        _click(dialog.submit)
        assert dialog.error.text() == "Name is required\nAge must be a whole number"
        assert dialog.height() > before
        # Once the layout has settled (the scroll bars are updated a moment later).
        buttons = dialog.findChild(QDialogButtonBox)
        await until(lambda: 0 < dialog.error.geometry().bottom() < buttons.geometry().top())
        await until(lambda: _whole_in_view(dialog) == [])
        assert dialog.error.isVisible() and dialog.submit.isVisible()
        room = dialog.screen().availableGeometry()
        assert dialog.frameGeometry().height() <= room.height()
        _click(dialog.cancel)
        return await asking

    assert loop.run_until_complete(answer()).action == "cancel"
