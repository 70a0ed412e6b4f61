from __future__ import annotations

import asyncio
import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from carrier_studio.core.discord import BotPhase, BotStatus
from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.services.platform.secrets import SERVICE
from tests.fakes import running_server, slow_text
from tests.fakes.discord_server import FakeDiscord
from tests.helpers.waiting import wait_until


@pytest.fixture
def world(make_studio, loop, keyring_backend):
    with running_server() as llm:
        fake = FakeDiscord(bot_name="Juniper")
        loop.run_until_complete(fake.start())
        keyring_backend.set_password(SERVICE, "DISCORD_BOT_TOKEN", fake.token)
        with fake.patched():
            studio = make_studio(start=False)
            providers = studio.session.settings.settings.providers
            providers.endpoints = [CompatEndpoint(name="local", base_url=llm.openai_base_url)]
            providers.default = ModelChoice(
                provider="openai-compatible", model="m", endpoint="local"
            )
            for path in studio.session.workspace.paths.characters_dir.glob("*.json"):
                data = json.loads(path.read_text())
                data.pop("model", None)
                data.pop("mcp_servers", None)
                data.pop("discord_config", None)
                path.write_text(json.dumps(data, indent=2))
            loop.run_until_complete(studio.start())
            studio.window.show_page("discord")
            page = studio.window.page("discord")
            loop.run_until_complete(studio.tasks.wait_idle())
            yield studio, page, fake, llm
            loop.run_until_complete(studio.session.discord.stop())
        loop.run_until_complete(fake.close())


def test_start_connects_and_the_status_bar_follows(world, loop):
    studio, page, fake, _llm = world
    assert page.character.currentText() == "Juniper", "the examples' Discord host is chosen"
    page.start_button.click()
    wait_until(loop, lambda: studio.session.discord.status.phase is BotPhase.CONNECTED)
    assert "connected as Juniper" in page.status_label.text()
    assert page.start_button.text() == "Stop"
    assert "connected as Juniper" in studio.window.status_slots["discord"].toolTip()
    guilds = [page.guilds.topLevelItem(i).text(0) for i in range(page.guilds.topLevelItemCount())]
    assert guilds == ["Test Server"]
    page.start_button.click()
    wait_until(loop, lambda: studio.session.discord.status.phase is BotPhase.STOPPED)
    assert page.start_button.text() == "Start"


def test_the_window_stays_responsive_while_the_bot_answers(world, loop):
    studio, page, fake, llm = world
    window = studio.window
    general = fake.guild.channel("general")
    words = " ".join(f"w{i}" for i in range(60))

    async def scenario() -> list[str]:
        # All in one running loop, as in the app: the bot, the model stream and the clicks.
        connected = asyncio.Event()
        studio.session.discord.status_changed.subscribe(
            lambda status: status.phase is BotPhase.CONNECTED and connected.set()
        )
        page.start_button.click()
        await asyncio.wait_for(connected.wait(), 10)
        llm.script(slow_text(words, 0.05))  # about three seconds of generation
        await fake.say(general, "tell me a long story", mention_bot=True)
        # The agent is generating now (the bot lists the server's models first).
        await asyncio.to_thread(llm.wait_until, lambda: bool(llm.completions))
        shown = []
        for row, _key in enumerate(window.page_keys()):
            rect = window.sidebar.visualItemRect(window.sidebar.item(row))
            viewport = window.sidebar.viewport()
            QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
            shown.append(window.current_page_key())
            await asyncio.sleep(0)  # one turn of the loop: paint, other tasks
            assert fake.sent_in(general) == [], "pages answered while the reply was generated"
        await fake.wait_until(lambda: bool(fake.sent_in(general)), within=15)
        # Stop inside the running loop: pytest-qt processes Qt events after the test, and
        # discord.py must not get a turn then, with no asyncio loop running.
        await studio.session.discord.stop()
        return shown

    assert loop.run_until_complete(scenario()) == window.page_keys()
    assert [m.content for m in fake.sent_in(general)] == [words]
    window.show_page("discord")
    assert page.activity.rowCount() == 1
    assert "tell me a long story" in page.activity.item(0, 2).text()


def test_options_are_saved(world, loop):
    studio, page, _fake, _llm = world
    page.allow_dms.setChecked(True)
    page.allowlist.setText("#general, 1234")
    page.save_options()
    loop.run_until_complete(studio.tasks.wait_idle())
    discord = studio.session.settings.settings.discord
    assert discord.allow_dms and discord.channel_allowlist == ["general", "1234"]
    assert discord.character == "Juniper"


@pytest.fixture
def no_token(make_studio, loop):
    """A studio whose keyring holds no Discord bot token, on the Discord page."""
    studio = make_studio()
    studio.window.resize(1008, 660)  # what a 1024x700 screen opens
    studio.window.show()
    studio.window.show_page("discord")
    loop.run_until_complete(studio.tasks.wait_idle())
    return studio, studio.window.page("discord")


def test_without_a_token_the_page_offers_the_way_to_settings(no_token, loop):
    studio, page = no_token
    assert page.settings_button.isVisible(), "the token is missing: the way to Settings shows"
    page.start_button.click()  # the bot says so too
    wait_until(loop, lambda: studio.session.discord.status.phase is BotPhase.ERROR)
    assert "no bot token" in page.status_label.text()
    assert page.settings_button.isVisible()
    page.settings_button.click()
    assert studio.window.current_page_key() == "settings"


def test_with_a_token_there_is_no_settings_button(world, loop):
    studio, page, _fake, _llm = world
    studio.window.show()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert page.settings_button.isHidden()
    page.start_button.click()
    wait_until(loop, lambda: studio.session.discord.status.phase is BotPhase.CONNECTED)
    assert page.settings_button.isHidden()


def test_a_long_connection_error_wraps_inside_the_card(no_token, qapp):
    studio, page = no_token
    error = "Cannot connect to host discord.com:443 ssl:default " + " ".join(
        f"[reason {i}: the network said no]" for i in range(12)
    )
    studio.session.discord._relay_status(BotStatus(BotPhase.ERROR, error))
    qapp.processEvents()
    label = page.status_label
    assert error in label.text(), "nothing elided"
    assert label.wordWrap()
    right = page.mapToGlobal(QPoint(page.width(), 0)).x()
    assert label.mapToGlobal(QPoint(label.width(), 0)).x() <= right, "runs off the page"
    assert label.height() >= 2 * label.fontMetrics().height(), "wrapped onto more lines"


def test_a_token_removed_later_is_noticed_when_the_bot_says_so(make_studio, loop, keyring_backend):
    keyring_backend.set_password(SERVICE, "DISCORD_BOT_TOKEN", "some-token")
    studio = make_studio()
    studio.window.show()
    studio.window.show_page("discord")
    loop.run_until_complete(studio.tasks.wait_idle())
    page = studio.window.page("discord")
    assert page.settings_button.isHidden()
    keyring_backend.delete_password(SERVICE, "DISCORD_BOT_TOKEN")
    page.start_button.click()
    wait_until(loop, lambda: studio.session.discord.status.phase is BotPhase.ERROR)
    assert page.settings_button.isVisible()
