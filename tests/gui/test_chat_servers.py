"""The Chat page without silent waits (#16): a character's MCP servers start when it is chosen
and show in the transcript; a failed or slow server does not hold the reply up; typing into an
empty chat starts a conversation; a reopened conversation shows its end; a long title does not
squeeze the model box. Real MCP servers (FastMCP over stdio), the scripted LLM server."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.core.runtime.transcript import AssistantText, UserText
from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.services.chat import mcp_tools
from carrier_studio.ui.widgets.chat_items import MessageBubble, Notice
from carrier_studio.ui.widgets.chat_servers import ServersCard
from tests.fakes import running_server, text
from tests.helpers.waiting import wait_until
from tests.mcp.servers import fastmcp_stdio

#: A real MCP server start (a Python process importing the MCP SDK) on a busy machine.
SERVER_START = 60.0

BROKEN = {
    "command": sys.executable,
    "args": ["-c", "import sys; print('cannot reach the database', file=sys.stderr); sys.exit(3)"],
}


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def _studio(make_studio, loop, server, catalogue, ada_servers, endpoint=True):
    """A studio whose Ada uses ``ada_servers`` of ``catalogue``; nobody else has servers.
    Without ``endpoint`` her model's endpoint is not set up (a chat that cannot run yet)."""
    studio = make_studio(start=False)
    providers = studio.session.settings.settings.providers
    if endpoint:
        providers.endpoints = [CompatEndpoint(name="local", base_url=server.openai_base_url)]
    providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
    root = studio.session.workspace.root
    (root / "mcp_servers.json").write_text(json.dumps({"mcpServers": catalogue}))
    for path in (root / "characters").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("model", None)
        data.pop("mcp_servers", None)
        if data.get("name") == "Ada":
            data["mcp_servers"] = ada_servers
        path.write_text(json.dumps(data, indent=2))
    loop.run_until_complete(studio.start())
    studio.window.show_page("chat")
    page = studio.window.page("chat")
    loop.run_until_complete(studio.tasks.wait_idle())
    page.character.setCurrentText("Ada")
    loop.run_until_complete(studio.tasks.wait_idle())
    return page, studio


def _card(page) -> ServersCard:
    (card,) = [w for w in page.transcript.items() if isinstance(w, ServersCard)]
    return card


def _line(page, name) -> str:
    return _card(page).lines[name].text()


def _tool_names(request) -> set[str]:
    return {tool["function"]["name"] for tool in request.body.get("tools", [])}


def _type_and_send(page, words):
    page.composer.setFocus()
    QTest.keyClicks(page.composer, words)
    QTest.keyClick(page.composer, Qt.Key.Key_Return)


def _finish(page, studio, loop):
    """Wait for the turn and whatever the page and the thread still do, inside the loop."""

    async def settle() -> None:
        deadline = time.monotonic() + SERVER_START
        while page._running:
            assert time.monotonic() < deadline, "the turn did not finish"
            await asyncio.sleep(0.01)
        await studio.tasks.wait_idle()
        await page.deps.chat.drain()
        building = page.thread._building if page.thread else None
        if building is not None:
            await asyncio.gather(building, return_exceptions=True)

    loop.run_until_complete(settle())


def test_servers_start_when_the_character_is_chosen_and_a_reply_does_not_wait_on_them(
    make_studio, loop, server, tmp_path
):
    ready = tmp_path / "slow-is-ready"
    catalogue = {
        "quick": fastmcp_stdio(),
        "broken": BROKEN,
        "slow": fastmcp_stdio("--wait-for", str(ready)),
    }
    page, studio = _studio(make_studio, loop, server, catalogue, ["broken", "quick", "slow"])

    # Chosen, not yet talked to: no conversation, and the servers start all the same.
    assert page.thread is None and page.conversations.count() == 0
    assert page.composer.isEnabled()
    wait_until(loop, lambda: "ready" in _line(page, "quick"), SERVER_START)
    wait_until(loop, lambda: "failed" in _line(page, "broken"), SERVER_START)
    assert _line(page, "quick") == "✓ quick ready · 3 tools"
    assert "cannot reach the database" in _line(page, "broken")
    assert _line(page, "broken").endswith("replies run without its tools")
    assert _line(page, "slow") == "○ slow starting…"

    # Typing into the empty chat starts a conversation; the reply waits only for the slow
    # server, visibly, and the user can go on without it.
    server.script(text("Hello without everything."))
    _type_and_send(page, "Hi Ada")
    wait_until(loop, lambda: _card(page).go_on_button.isVisible(), SERVER_START)
    assert page.conversations.count() == 1 and page.thread is not None
    # Held for "slow" (not for "broken"), and saying so: no generation request yet (the page
    # may have asked the server for its models' context windows).
    assert [r for r in server.requests if r.method == "POST"] == []
    _card(page).go_on_button.click()
    _finish(page, studio, loop)
    notices = [w.text() for w in page.transcript.items() if isinstance(w, Notice)]
    without = "This reply runs without the tools of broken (failed); slow (still starting)"
    assert notices == [without]
    (notice,) = [w for w in page.transcript.items() if isinstance(w, Notice)]
    assert "cannot reach the database" in notice.toolTip()
    bubbles = [(w.role, w.text) for w in page.transcript.items() if isinstance(w, MessageBubble)]
    assert bubbles == [("user", "Hi Ada"), ("assistant", "Hello without everything.")]
    (first,) = [r for r in server.requests if r.method == "POST"]
    assert {"add", "shout"} <= _tool_names(first) and "late_hello" not in _tool_names(first)

    # The slow server comes up: its line says so and the next reply has its tools.
    ready.touch()
    wait_until(loop, lambda: "ready" in _line(page, "slow"), SERVER_START)
    server.script(text("Now with everything that runs."))
    _type_and_send(page, "Again")
    _finish(page, studio, loop)
    assert "late_hello" in _tool_names(server.requests[-1])


def test_a_server_still_starting_holds_a_reply_no_longer_than_the_wait(
    make_studio, loop, server, tmp_path, monkeypatch
):
    monkeypatch.setattr(mcp_tools, "MCP_START_WAIT", 0.5)
    never = tmp_path / "never"
    catalogue = {"slow": fastmcp_stdio("--wait-for", str(never)), "broken": BROKEN}
    page, studio = _studio(make_studio, loop, server, catalogue, ["broken", "slow"])
    wait_until(loop, lambda: "failed" in _line(page, "broken"), SERVER_START)
    server.script(text("Still here."))
    _type_and_send(page, "Hello?")
    _finish(page, studio, loop)
    notices = [w.text() for w in page.transcript.items() if isinstance(w, Notice)]
    assert len(notices) == 1 and "slow (still starting)" in notices[0]
    assert [w.text for w in page.transcript.items() if isinstance(w, MessageBubble)] == [
        "Hello?",
        "Still here.",
    ]
    assert "starting" in _line(page, "slow")


def test_a_reopened_conversation_shows_its_end_and_a_long_title_leaves_the_model_box_be(
    make_studio, loop, server
):
    page, studio = _studio(make_studio, loop, server, {}, [])
    store = studio.session.chat.conversations
    title = "A very long title about lighthouses, tides and the keepers who wrote them down " * 2

    async def long_conversation() -> int:
        conversation = await store.create("Ada", title)
        for n in range(30):
            await store.add_item(conversation, UserText(f"Question {n}"))
            await store.add_item(conversation, AssistantText(f"Answer {n}\n\n" * 3, "Ada"))
        return conversation

    short = loop.run_until_complete(store.create("Ada", "Short"))
    long = loop.run_until_complete(long_conversation())
    page.window().resize(1024, 700)

    def open_conversation(conversation_id: int) -> None:
        page.refresh_conversations()
        loop.run_until_complete(studio.tasks.wait_idle())
        row = next(
            i
            for i in range(page.conversations.count())
            if page.conversations.item(i).data(Qt.ItemDataRole.UserRole) == conversation_id
        )
        page.conversations.setCurrentRow(row)
        wait_until(loop, lambda: page.thread is not None and page.thread.id == conversation_id, 30)
        loop.run_until_complete(studio.tasks.wait_idle())

    open_conversation(short)
    model_width = page.model.width()
    open_conversation(long)
    bar = page.scroll.verticalScrollBar()
    wait_until(loop, lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), 30)
    assert page.heading.text() == title
    assert page.model.width() == model_width
    assert page.heading.geometry().right() < page.model.geometry().left()
    assert page.heading.elided().endswith("…")


def test_with_no_model_set_up_yet_the_servers_say_not_started(make_studio, loop, server):
    """A fresh profile that pressed Later in the first-run guide (no endpoint): Ada's servers do
    not start, and the card says so, not "files is not in the MCP catalogue" (the catalogue had
    not been read yet)."""
    page, _studio_ = _studio(
        make_studio, loop, server, {"files": fastmcp_stdio()}, ["files"], endpoint=False
    )
    assert _line(page, "files") == "– files not started"
