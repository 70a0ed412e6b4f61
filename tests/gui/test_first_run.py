"""The first-run guide: a fresh profile with no key opens it; clicks and typing take a new user
to a streamed reply from a local OpenAI-compatible server (the scripted one here; the real small
model in tests/realmodel/test_first_hour.py), and the next start goes straight to work."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from tests.fakes import running_server, text
from tests.helpers.waiting import wait_until
from tests.helpers.walkthrough import (
    chat_once,
    click,
    set_up_local_model,
    strip_mcp_servers,
    type_into,
)


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def test_a_new_user_reaches_a_streamed_reply_and_the_next_start_goes_straight_to_work(
    make_studio, loop, server, tmp_path
):
    workspace = tmp_path / "workspace"
    studio = make_studio(str(workspace), start=False, first_run=True)
    strip_mcp_servers(workspace)
    studio.window.resize(1024, 700)
    loop.run_until_complete(studio.start())
    set_up_local_model(studio, loop, server.openai_base_url, "gpt-4o-mini")
    providers = studio.session.settings.settings.providers
    assert providers.default.model == "gpt-4o-mini"
    assert providers.default.provider == "openai-compatible"

    server.script(text("Hello from the local server."))
    bubbles = chat_once(studio, loop, "Hi!")
    assert [(b.role, b.text) for b in bubbles][-2:] == [
        ("user", "Hi!"),
        ("assistant", "Hello from the local server."),
    ]
    assert server.requests[-1].body["model"] == "gpt-4o-mini"
    assert server.requests[-1].body.get("stream") is True, "the reply streamed"
    loop.run_until_complete(studio.shutdown())

    again = make_studio(str(workspace), first_run=True)
    assert again.first_run is None, "the guide is not offered once a model is set"
    again.window.show_page("chat")
    server.script(text("Welcome back."))
    page = again.window.page("chat")
    wait_until(loop, lambda: page.thread is not None, timeout=10)  # the last conversation
    bubbles = chat_once(again, loop, "Still there?")
    assert [b.text for b in bubbles] == [
        "Hi!",
        "Hello from the local server.",
        "Still there?",
        "Welcome back.",
    ]


def test_a_wrong_address_is_said_in_words_and_later_is_remembered(make_studio, loop, tmp_path):
    workspace = tmp_path / "workspace"
    studio = make_studio(str(workspace), first_run=True)
    guide = studio.first_run
    wait_until(loop, lambda: guide.isVisible())
    wait_until(loop, lambda: not studio.tasks.running("Looking for local servers"), timeout=10)
    type_into(loop, guide.address, "http://127.0.0.1:9/v1")
    click(loop, guide.test_button)
    wait_until(loop, lambda: not studio.tasks.running("Testing the connection"), timeout=30)
    said = guide.status.text()
    assert "127.0.0.1:9" in said and guide.status.property("tone") == "error", said
    assert not guide.use.isEnabled(), "no model: nothing to use"
    # Cloud choices ask for a key first.
    click(loop, guide.openai)
    click(loop, guide.test_button)
    wait_until(loop, lambda: guide.status.text() == "Paste your API key first.")
    click(loop, guide.later)
    wait_until(loop, lambda: not guide.isVisible())
    loop.run_until_complete(studio.shutdown())
    again = make_studio(str(workspace), first_run=True)
    assert again.first_run is None, "Later means not at every start"


def test_settings_opens_the_guide_again_and_shows_what_it_chose(make_studio, loop, server):
    studio = make_studio()
    assert studio.first_run is None
    studio.window.show_page("settings")
    page = studio.window.page("settings")
    button = page.findChild(QPushButton, "openFirstRun")
    click(loop, button)
    set_up_local_model(studio, loop, server.openai_base_url, "test-model")
    wait_until(loop, lambda: page.model.text() == "test-model")
    assert not page.dirty, "the page shows what was saved, with nothing left to save"
