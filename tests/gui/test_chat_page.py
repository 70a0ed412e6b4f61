from __future__ import annotations

import asyncio
import json
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.ui.widgets.chat_items import ApprovalCard, ErrorCard, MessageBubble, ToolCard
from tests.fakes import error, running_server, slow_text, text, tool_call
from tests.helpers.waiting import wait_until


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def _strip_models(workspace):
    for path in (workspace / "characters").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("model", None)
        data.pop("mcp_servers", None)  # no npm servers in chat tests
        path.write_text(json.dumps(data, indent=2))


@pytest.fixture
def chat(make_studio, loop, server, tmp_path):
    studio = make_studio(start=False)
    providers = studio.session.settings.settings.providers
    providers.endpoints = [
        CompatEndpoint(name="local", base_url=server.openai_base_url, models=["other-model"])
    ]
    providers.default = ModelChoice(provider="openai-compatible", model="m", endpoint="local")
    _strip_models(studio.session.workspace.root)
    loop.run_until_complete(studio.start())
    studio.window.show_page("chat")
    page = studio.window.page("chat")
    loop.run_until_complete(studio.tasks.wait_idle())
    page.character.setCurrentText("Ada")
    loop.run_until_complete(studio.tasks.wait_idle())
    page.new_conversation()
    _settle(page, studio, loop)
    return page, studio


def _settle(page, studio, loop, until=lambda: True, timeout=10.0):
    """Run until ``until()`` holds, the page's tasks are done and the conversation's agent is
    built, in one run of the loop. qasync's run_until_complete processes Qt events once more
    after the loop has stopped, so an agent build still in flight when one run ends can be
    stepped outside any running loop ("no running event loop")."""

    async def settle() -> None:
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, f"condition not met within {timeout} s"
            await asyncio.sleep(0.01)
        await studio.tasks.wait_idle()
        building = page.thread._building if page.thread else None
        if building is not None:
            await asyncio.gather(building, return_exceptions=True)

    loop.run_until_complete(settle())


def _agent_ready(page, loop):
    """Let the conversation finish preparing its agent inside the running loop (in the app the
    loop always runs; here Qt events between run_until_complete calls must not step it)."""
    building = page.thread._building if page.thread else None
    if building is not None:
        loop.run_until_complete(asyncio.gather(building, return_exceptions=True))


def _send(page, loop, words):
    _agent_ready(page, loop)
    page.composer.setFocus()
    QTest.keyClicks(page.composer, words)
    QTest.keyClick(page.composer, Qt.Key.Key_Return)
    wait_until(loop, lambda: not page._running)
    # The turn's memories are written in the background: finish that inside the loop too.
    loop.run_until_complete(page.deps.chat.drain())


def _items(page, kind):
    return [w for w in page.transcript.items() if isinstance(w, kind)]


def test_enter_sends_and_the_reply_streams(chat, loop, server):
    page, studio = chat
    server.script(text("Hello **there**."))
    _send(page, loop, "Hi Ada")
    bubbles = _items(page, MessageBubble)
    assert [(b.role, b.text) for b in bubbles] == [
        ("user", "Hi Ada"),
        ("assistant", "Hello **there**."),
    ]
    assert bubbles[1].body.toPlainText().strip() == "Hello there."  # rendered as markdown…
    assert "font-weight:700" in bubbles[1].html()  # …with "there" in bold
    assert "out tokens" in bubbles[1].info.text()
    assert page.composer.toPlainText() == ""
    wait_until(loop, lambda: page.conversations.currentItem().text() == "Hi Ada")
    assert page.heading.text() == "Hi Ada"


def test_shift_enter_adds_a_line(chat, loop):
    page, _ = chat
    QTest.keyClicks(page.composer, "one")
    QTest.keyClick(page.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(page.composer, "two")
    assert page.composer.toPlainText() == "one\ntwo"
    assert _items(page, MessageBubble) == []


def test_tool_cards_expand_to_arguments_and_result(chat, loop, server):
    page, _ = chat
    server.script(tool_call("calculate", {"expression": "6*7"}), text("42 it is."))
    _send(page, loop, "6*7?")
    (card,) = _items(page, ToolCard)
    assert "calculate" in card.toggle.text() and " · ran " in card.toggle.text()
    assert card.details.isHidden()
    card.toggle.click()
    assert card.details.isVisible()
    assert '"expression": "6*7"' in card.arguments_view.toPlainText()
    assert card.result_view.toPlainText() == "42"


def _new_conversation_asking_for_calculate(page, studio, loop):
    """Ada's calculate tool now asks first; a new conversation picks that up."""
    path = studio.session.workspace.paths.characters_dir / "ada.json"
    data = json.loads(path.read_text())
    data["tool_policy"] = {"calculate": "ask"}
    path.write_text(json.dumps(data, indent=2))
    page.new_conversation()
    _settle(page, studio, loop)


def test_approval_prompt_inline(chat, loop, server):
    page, studio = chat
    _new_conversation_asking_for_calculate(page, studio, loop)
    server.script(tool_call("calculate", {"expression": "1+1"}), text("Two."))
    _send(page, loop, "1+1?")
    (card,) = _items(page, ApprovalCard)
    assert _items(page, ToolCard)[0].toggle.text().endswith("running…")
    card.remember.setChecked(True)
    card.approve_button.click()
    wait_until(loop, lambda: not page._running and _items(page, MessageBubble)[-1].text == "Two.")
    assert "for your approval" in _items(page, ToolCard)[0].waited.text()
    remembered = loop.run_until_complete(studio.session.chat.conversations.remembered("Ada"))
    assert remembered == {"calculate": "auto"}


def test_errors_show_inline_with_a_hint_and_retry(chat, loop, server):
    page, _ = chat
    server.script(error(401, "nope"))  # the client does not retry a refused key
    _send(page, loop, "Are you there?")
    (card,) = _items(page, ErrorCard)
    assert "refused the API key (401)" in card.message.text()
    assert _items(page, MessageBubble)[0].text == "Are you there?", "the user's text is kept"
    server.script(text("Yes, now I am."))
    card.retry_button.click()
    wait_until(loop, lambda: not page._running and len(_items(page, MessageBubble)) == 2)
    assert _items(page, ErrorCard) == []
    assert [b.text for b in _items(page, MessageBubble)] == ["Are you there?", "Yes, now I am."]


def test_rate_limit_retry_waits_as_asked(chat, loop, server):
    page, _ = chat
    server.script(
        error(429, "slow", headers={"retry-after": "0"}),
        error(429, "slow", headers={"retry-after": "30"}),
    )
    _send(page, loop, "hi")
    (card,) = _items(page, ErrorCard)
    assert not card.retry_button.isEnabled()
    assert card.retry_button.text() == "Retry in 30 s"


def test_stop_ends_the_reply_and_keeps_the_text(chat, loop, server):
    page, _ = chat
    server.script(slow_text("alpha beta gamma delta epsilon zeta eta theta", 0.15))
    QTest.keyClicks(page.composer, "Go slowly")
    QTest.keyClick(page.composer, Qt.Key.Key_Return)
    wait_until(
        loop, lambda: len(_items(page, MessageBubble)) == 2 and _items(page, MessageBubble)[1].text
    )
    assert page.send_button.text() == "Stop"
    page.send_button.click()
    wait_until(loop, lambda: not page._running)
    reply = _items(page, MessageBubble)[1]
    assert "stopped" in reply.info.text()
    assert reply.text and "theta" not in reply.text
    assert page.send_button.text() == "Send"


def test_conversations_survive_a_restart(chat, loop, server, make_studio):
    page, studio = chat
    server.script(text("Noted."))
    _send(page, loop, "Remember the lighthouse.")
    loop.run_until_complete(studio.shutdown())
    again = make_studio(str(studio.session.workspace.root))
    again.window.show_page("chat")
    page2 = again.window.page("chat")
    _settle(page2, again, loop)
    page2.character.setCurrentText("Ada")
    _settle(
        page2, again, loop, lambda: page2.thread is not None and page2.thread.character == "Ada"
    )
    assert [b.text for b in _items(page2, MessageBubble)] == ["Remember the lighthouse.", "Noted."]


def test_rename_delete_and_search(chat, loop, server, monkeypatch):
    page, studio = chat
    server.script(text("ok"))
    _send(page, loop, "about tides")
    monkeypatch.setattr(page.ask, "text", lambda *args: "Tide talk")
    page.rename_conversation()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert page.conversations.currentItem().text() == "Tide talk"
    page.new_conversation()
    _settle(page, studio, loop)
    assert page.conversations.count() == 2
    QTest.keyClicks(page.search, "tides")
    wait_until(loop, lambda: page.conversations.count() == 1)
    assert page.conversations.item(0).text() == "Tide talk"
    page.search.clear()
    wait_until(loop, lambda: page.conversations.count() == 2)
    monkeypatch.setattr(page, "confirm_delete", lambda title: True)
    page.conversations.setCurrentRow(0)
    _settle(page, studio, loop)
    page.delete_conversation()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert page.conversations.count() == 1


def test_model_switcher_uses_another_model_for_this_conversation(chat, loop, server):
    page, studio = chat
    _agent_ready(page, loop)
    index = page.model.findText("other-model at local")
    assert index > 0
    page.model.setCurrentIndex(index)
    page.model.activated.emit(index)
    _settle(page, studio, loop)  # the choice is stored, then its agent built
    server.script(text("From the other model."))
    _send(page, loop, "hi")
    assert server.requests[-1].body["model"] == "other-model"


def test_a_pending_approval_is_asked_again_after_a_restart(chat, loop, server, make_studio):
    page, studio = chat
    _new_conversation_asking_for_calculate(page, studio, loop)
    server.script(tool_call("calculate", {"expression": "5*5"}), text("Twenty-five."))
    _send(page, loop, "5*5?")
    assert len(_items(page, ApprovalCard)) == 1
    loop.run_until_complete(studio.shutdown())

    again = make_studio(str(studio.session.workspace.root))
    again.window.show_page("chat")
    page2 = again.window.page("chat")
    _settle(page2, again, loop)
    page2.character.setCurrentText("Ada")
    _settle(page2, again, loop, lambda: page2.thread is not None and page2.thread.pending)
    (live,) = _items(page2, ApprovalCard)
    assert live.approve_button.isEnabled()
    live = [live]
    live[0].approve_button.click()
    wait_until(
        loop, lambda: not page2._running and _items(page2, MessageBubble)[-1].text == "Twenty-five."
    )
    # Approved after a restart: the tool's run time is known, the wait is not.
    assert " · took " in _items(page2, ToolCard)[-1].toggle.text()


def _restarted_chat(studio, make_studio, loop, character="Ada"):
    """Close the window and open a new Studio on the same profile; its Chat page reopens the
    character's latest conversation."""
    loop.run_until_complete(studio.shutdown())
    again = make_studio(str(studio.session.workspace.root))
    again.window.show_page("chat")
    page = again.window.page("chat")
    _settle(page, again, loop)
    page.character.setCurrentText(character)
    _settle(
        page, again, loop, lambda: page.thread is not None and page.thread.character == character
    )
    return page, again


def test_the_model_box_names_the_model_that_answers_and_why(chat, loop, server):
    page, _ = chat
    # The examples name no provider: the workspace default answers, and the box says so.
    expected = "m (openai-compatible at local) — workspace default (Ada names no provider)"
    assert page.model.currentText() == expected
    assert page.model_problem.isHidden() and page.use_default_button.isHidden()
    server.script(text("Hi."))
    _send(page, loop, "hello")
    assert server.requests[-1].body["model"] == "m"


def test_a_conversation_s_model_choice_survives_a_restart(chat, loop, server, make_studio):
    page, studio = chat
    index = page.model.findText("other-model at local")
    page.model.setCurrentIndex(index)
    page.model.activated.emit(index)
    _settle(page, studio, loop)  # the choice is stored, then its agent built
    server.script(text("Before."))
    _send(page, loop, "first")
    assert server.requests[-1].body["model"] == "other-model"

    page2, _ = _restarted_chat(studio, make_studio, loop)
    assert page2.model.currentText() == "other-model at local"
    server.script(text("After."))
    _send(page2, loop, "second")
    assert _items(page2, MessageBubble)[-1].text == "After."
    assert server.requests[-1].body["model"] == "other-model"


def test_a_character_s_unconfigured_provider_is_said_with_a_way_out(
    chat, loop, server, make_studio
):
    page, studio = chat
    path = studio.session.workspace.root / "characters" / "ada.json"
    data = json.loads(path.read_text())
    data["modelProvider"] = "anthropic"
    path.write_text(json.dumps(data, indent=2))
    page.new_conversation()
    _settle(page, studio, loop)
    # Ada's own provider is what would answer, and the chat says why it cannot.
    assert page.model.currentText() == "claude-sonnet-4-5 (anthropic) — Ada's own model"
    assert page.model_problem.text() == (
        "Ada asks for Anthropic (claude-sonnet-4-5), but no Anthropic API key is set."
    )
    assert not page.use_default_button.isHidden()

    page.use_default_button.click()
    _settle(page, studio, loop)
    assert page.model.currentText() == "Workspace default: m (openai-compatible at local)"
    assert page.model_problem.isHidden() and page.use_default_button.isHidden()
    server.script(text("From the default."))
    _send(page, loop, "hi")
    assert _items(page, MessageBubble)[-1].text == "From the default."
    assert server.requests[-1].body["model"] == "m"

    page2, _ = _restarted_chat(studio, make_studio, loop)
    assert page2.model.currentText() == "Workspace default: m (openai-compatible at local)"
    assert page2.model_problem.isHidden()
    server.script(text("Still the default."))
    _send(page2, loop, "again")
    assert _items(page2, MessageBubble)[-1].text == "Still the default."
    assert server.requests[-1].body["model"] == "m"


def test_code_shown_before_a_theme_switch_takes_the_new_theme_s_colours(chat, loop, server):
    """#15: a code block rendered in light kept its light background in dark (its light
    brackets vanished on it)."""
    page, studio = chat
    studio.theme.set_choice("light")
    server.script(text("Here:\n\n```python\nprint([1, 2])\n```\n"))
    _send(page, loop, "Show code")
    bubble = _items(page, MessageBubble)[-1]
    assert "#f4f4f8" in bubble.html()  # the light theme's code background
    studio.theme.set_choice("dark")
    assert "#272822" in bubble.html()  # monokai's background…
    assert "#f4f4f8" not in bubble.html()
    assert "#f8f8f2" in bubble.html()  # …and its light text (the brackets show)
    studio.theme.set_choice("light")
    assert "#f4f4f8" in bubble.html()


def test_the_next_turn_s_bubbles_are_built_ahead_and_take_the_theme_of_their_turn(
    chat, loop, server
):
    """#21: a send spends no event-loop time building its two bubbles (~2 ms each) before its
    request leaves or its first words show: they are built while nothing happens, and one built
    in the light theme shows a dark turn in dark."""
    page, studio = chat
    studio.theme.set_choice("light")
    server.script(text("First."))
    _send(page, loop, "hello")
    wait_until(loop, lambda: page._spare_user is not None and page._spare_reply is not None)
    spare_user, spare_reply = page._spare_user, page._spare_reply
    assert spare_reply.agent == "Ada"
    studio.theme.set_choice("dark")
    server.script(text("Here:\n\n```python\nprint([1, 2])\n```\n"))
    _send(page, loop, "Show **code**")
    *_, user, reply = _items(page, MessageBubble)
    assert user is spare_user and reply is spare_reply
    assert user.text == "Show **code**" and "font-weight:700" in user.html()
    assert reply.text.startswith("Here:") and "#272822" in reply.html()  # monokai, dark
    assert "#f4f4f8" not in reply.html()
