"""The Discord bot end to end: real discord.py against a fake Discord, real agents SDK against
the scripted model server, conversations in a real studio.db."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from carrier_studio import assets
from carrier_studio.core.discord import ActivityKind, BotPhase, BotPolicy, split_reply
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings
from carrier_studio.core.status import State
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.discord.bot import INTENT_REFUSED, TOKEN_REFUSED, DiscordBot
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers import ProviderClients
from tests.fakes import ScriptedLLMServer, hang, text, tool_call
from tests.fakes.discord_server import FakeDiscord


class Studio:
    """A workspace (seed characters on the scripted model, studio.db) and bots to start."""

    def __init__(self, root: Path, llm: ScriptedLLMServer, fake: FakeDiscord, keyring_backend):
        self.root, self.llm, self.fake = root, llm, fake
        shutil.copytree(assets.seed_characters_dir(), root / "characters", dirs_exist_ok=True)
        for path in (root / "characters").glob("*.json"):
            data = json.loads(path.read_text())
            data.pop("model", None)
            path.write_text(json.dumps(data, indent=2))
        self.db = Database(root / "studio.db")
        settings = Settings()
        settings.providers.endpoints = [CompatEndpoint(name="local", base_url=llm.openai_base_url)]
        settings.providers.default = ModelChoice(
            provider="openai-compatible", model="test-model", endpoint="local"
        )
        self.settings = SettingsStore(root / "settings.json", settings)
        self.secrets = SecretStore("keyring", root / ".env", backend=keyring_backend, environ={})
        self.secrets.set("OPENAI_API_KEY", "sk-test-openai-0000000000")
        self.secrets.set("DISCORD_BOT_TOKEN", fake.token)
        self.characters = CharacterStore(root / "characters", root / ".trash")
        self.conversations = ConversationStore(self.db)
        #: The provider clients every chat service here shares, as a studio session's do.
        self.clients = ProviderClients()
        self.bots: list[DiscordBot] = []
        self.statuses: dict[DiscordBot, list] = {}
        self.activity: dict[DiscordBot, list] = {}

    def chat(self) -> ChatService:
        """A fresh service over the same database: what a studio restart sees."""
        return ChatService(
            ConversationStore(self.db),
            self.characters,
            self.settings,
            self.secrets,
            clients=self.clients,
        )

    def bot(self, policy: BotPolicy | None = None, token=None, character="Ada") -> DiscordBot:
        statuses: list = []
        activity: list = []
        bot = DiscordBot(
            token or (lambda: self.secrets.get("DISCORD_BOT_TOKEN")),
            character,
            self.chat(),
            policy or BotPolicy(),
            statuses.append,
            activity.append,
            guild_ready_timeout=0.05,
            connect_timeout=20,
        )
        self.bots.append(bot)
        self.statuses[bot] = statuses
        self.activity[bot] = activity
        return bot

    def edit_character(self, filename: str, **changes) -> None:
        path = self.root / "characters" / filename
        data = json.loads(path.read_text())
        data.update(changes)
        path.write_text(json.dumps(data, indent=2))


@asynccontextmanager
async def studio(tmp_path, keyring_backend):
    async with ScriptedLLMServer() as llm, FakeDiscord() as fake:
        with fake.patched():
            world = Studio(tmp_path, llm, fake, keyring_backend)
            await world.db.open()
            try:
                yield world
            finally:
                for bot in world.bots:
                    await bot.stop()
                await world.clients.close()
                await world.db.close()


async def eventually(predicate, within: float = 10.0) -> None:
    """Poll observable state until it holds (the bot's work ends in no event a test can await)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s: {predicate}")
        await asyncio.sleep(0.01)


def leftover_tasks() -> list[asyncio.Task]:
    """Pending tasks of discord.py or the studio (the fake servers' own tasks aside)."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if task is not asyncio.current_task() and (
            "site-packages/discord/" in filename or "carrier_studio" in filename
        ):
            found.append(task)
    return found


def prompt_of(request) -> str:
    return json.dumps(request.body, ensure_ascii=False)


def run(coro):
    return asyncio.run(coro)


def test_a_mention_is_answered_in_its_channel_with_typing(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            bot = world.bot()
            status = await bot.start()
            seen = bot.guilds_and_channels()
            llm.script(text("Hello from Ada."))
            general = fake.guild.channel("general")
            asked = await fake.say(general, "what is a tide?", mention_bot=True)
            await eventually(lambda: any(a.kind is ActivityKind.REPLY for a in bot.recent_activity))
            sent = fake.sent_in(general)
            calls = [(c.method, c.path) for c in fake.calls]
            activity = bot.recent_activity
            await bot.stop()
            return status, seen, asked, sent, calls, activity, bot, world, llm.completions

    status, seen, asked, sent, calls, activity, bot, world, requests = run(go())
    assert status.phase is BotPhase.CONNECTED and status.state is State.RUNNING
    assert status.detail == "connected as Ada"
    assert [(s.content, s.reply_to) for s in sent] == [("Hello from Ada.", int(asked["id"]))]
    assert sent[0].body["allowed_mentions"]["parse"] == [], "the model cannot ping @everyone"
    channel_path = f"/channels/{sent[0].channel_id}"
    assert calls.index(("POST", channel_path + "/typing")) < calls.index(
        ("POST", channel_path + "/messages")
    ), "typing… shows while the agent works"
    (request,) = requests
    assert "sam: what is a tide?" in prompt_of(request), "the mention is gone, the author named"
    assert "You are Ada" in prompt_of(request)
    (entry,) = activity
    assert world.activity[bot] == activity, "the activity callback saw the same entries"
    assert (entry.channel, entry.author, entry.reply, entry.chunks) == (
        "#general (Test Server)",
        "sam",
        "Hello from Ada.",
        1,
    )
    assert entry.latency_s is not None and entry.latency_s > 0
    (guild,) = seen
    assert guild.name == "Test Server"
    assert [(c.name, c.kind, c.can_send, c.allowed) for c in guild.channels] == [
        ("general", "text", True, True),
        ("random", "text", True, True),
    ]
    phases = [s.phase for s in world.statuses[bot]]
    assert phases == [BotPhase.CONNECTING, BotPhase.CONNECTED, BotPhase.STOPPED]


def test_stop_leaves_no_task_and_no_session_behind(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            bot = world.bot()
            await bot.start()
            world.llm.script(text("ok"))
            await world.fake.say(world.fake.guild.channel("general"), "hi", mention_bot=True)
            await eventually(lambda: bot.recent_activity)
            await bot.stop()
            return leftover_tasks(), bot.status, bot.guilds_and_channels()

    left, status, seen = run(go())
    gc.collect()  # an unclosed aiohttp session would warn now, and warnings fail the test
    assert left == []
    assert status.phase is BotPhase.STOPPED and status.state is State.STOPPED
    assert seen == []


def test_what_the_bot_does_not_answer(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            bot = world.bot(BotPolicy(channel_allowlist={"general"}))
            await bot.start()
            general, random_ = fake.guild.channel("general"), fake.guild.channel("random")
            other_bot = fake.user("otherbot", bot=True)
            await fake.say(general, "no mention here")
            await fake.say(general, "bots talking", author=other_bot, mention_bot=True)
            await fake.say(random_, "wrong channel", mention_bot=True)
            await fake.dm(fake.user("sam"), "a DM")
            await fake.say(general, "", mention_bot=True)  # a bare mention: nothing to answer
            llm.script(text("Only this one."))
            await fake.say(general, "this one", mention_bot=True)
            await eventually(lambda: bot.recent_activity)
            return fake.sent, llm.completions

    sent, requests = run(go())
    assert [s.content for s in sent] == ["Only this one."]
    (request,) = requests
    assert "this one" in prompt_of(request)


def test_open_policy_answers_everyone_but_itself(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            policy = BotPolicy(mentions_only=False, allow_dms=True, ignore_bots=False)
            bot = world.bot(policy)
            await bot.start()
            general = fake.guild.channel("general")
            llm.script(text("Answer one."), text("Answer two."), text("Answer three."))
            await fake.say(general, "no mention needed")
            await fake.wait_until(lambda: len(fake.sent) == 1)
            sam = fake.user("sam")
            await fake.dm(sam, "hello in private")
            await fake.wait_until(lambda: len(fake.sent) == 2)
            # The bot's own two replies came back over the gateway before this one.
            await fake.say(general, "beep", author=fake.user("otherbot", bot=True))
            await fake.wait_until(lambda: len(fake.sent) == 3)
            await eventually(lambda: len(bot.recent_activity) == 3)
            return fake.sent, llm.completions, fake.dm_channel(sam), bot.recent_activity

    sent, requests, dm, activity = run(go())
    assert [s.content for s in sent] == ["Answer one.", "Answer two.", "Answer three."]
    assert sent[1].channel_id == dm.id
    assert len(requests) == 3, "its own messages (bot-authored too) were not answered"
    assert "hello in private" in prompt_of(requests[1])
    assert "sam: hello in private" not in prompt_of(requests[1]), "no name prefix in a DM"
    assert activity[1].channel == "DM with sam"


def test_a_long_reply_arrives_in_ordered_chunks(tmp_path, keyring_backend):
    code = "```python\n" + "\n".join(f"print('line {i}')" for i in range(120)) + "\n```"
    long = (
        "Here is the plan.\n\n"
        + " ".join(f"Step {i} is explained in a sentence." for i in range(60))
        + "\n\n"
        + code
        + "\n\nThat is everything."
    )
    assert len(long) > 4000

    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake = world.fake
            bot = world.bot()
            await bot.start()
            world.llm.script(text(long))
            general = fake.guild.channel("general")
            asked = await fake.say(general, "plan please", mention_bot=True)
            await eventually(lambda: bot.recent_activity)
            return fake.sent_in(general), asked, bot.recent_activity

    sent, asked, activity = run(go())
    expected = split_reply(long)
    assert len(expected) >= 3
    assert [s.content for s in sent] == expected
    assert all(len(s.content) <= 2000 for s in sent)
    assert sent[0].reply_to == int(asked["id"]) and all(s.reply_to is None for s in sent[1:])
    assert any(s.content.startswith("```python\n") for s in sent[1:])
    assert activity[-1].chunks == len(expected)


def test_a_dropped_gateway_resumes_without_losing_or_repeating(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            bot = world.bot()
            await bot.start()
            general = fake.guild.channel("general")
            llm.script(text("First answer."), text("Second answer."))
            await fake.say(general, "first", mention_bot=True)
            await fake.wait_until(lambda: len(fake.sent) == 1)
            fake.replay_extra_on_resume(3)  # the first question comes again after the resume
            await fake.drop()
            await fake.say(general, "asked while you were away", mention_bot=True)
            await fake.wait_until(lambda: len(fake.sent) == 2)
            await eventually(lambda: len(bot.recent_activity) >= 3)
            return fake, llm.completions, list(world.statuses[bot]), bot.recent_activity

    fake, requests, statuses, activity = run(go())
    assert [s.content for s in fake.sent] == ["First answer.", "Second answer."]
    assert len(requests) == 2, "the replayed first question was not answered again"
    assert "asked while you were away" in prompt_of(requests[1])
    assert fake.resumes == 1 and fake.identifies == 1
    phases = [s.phase for s in statuses]
    assert phases[:4] == [
        BotPhase.CONNECTING,
        BotPhase.CONNECTED,
        BotPhase.RECONNECTING,
        BotPhase.CONNECTED,
    ]
    assert any("resumed" in a.detail for a in activity if a.kind is ActivityKind.INFO)


@pytest.mark.slow
def test_a_lost_session_identifies_again_and_reads_back_what_it_missed(tmp_path, keyring_backend):
    # discord.py waits 5 s before a second IDENTIFY (Discord's identify rate limit).
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            bot = world.bot()
            await bot.start()
            general = fake.guild.channel("general")
            llm.script(text("First answer."), text("Caught up."))
            await fake.say(general, "first", mention_bot=True)
            await fake.wait_until(lambda: len(fake.sent) == 1)
            fake.invalidate_session()
            await fake.drop()
            # Nobody is listening: on Discord this event is simply gone.
            await fake.say(general, "posted during the outage", mention_bot=True)
            await fake.wait_until(lambda: len(fake.sent) == 2, within=20)
            await eventually(lambda: len(bot.recent_activity) >= 2)
            return fake, llm.completions

    fake, requests = run(go())
    assert fake.identifies == 2
    assert [s.content for s in fake.sent] == ["First answer.", "Caught up."]
    assert len(requests) == 2
    assert "posted during the outage" in prompt_of(requests[1])


def test_a_refused_token_is_an_error_without_retries(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            bot = world.bot(token="not-the-token")
            status = await bot.start()
            return status, world.fake, list(world.statuses[bot]), bot.running, leftover_tasks()

    status, fake, statuses, running, left = run(go())
    assert status.phase is BotPhase.ERROR and status.state is State.ERROR
    assert status.detail == TOKEN_REFUSED == "the bot token was refused"
    assert fake.logins() == 1 and fake.connections == 0
    assert [s.phase for s in statuses] == [BotPhase.CONNECTING, BotPhase.ERROR]
    assert not running and left == []


def test_a_token_refused_by_the_gateway_is_an_error_too(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            world.fake.reject_token(gateway_only=True)
            bot = world.bot()
            status = await bot.start()
            return status, world.fake, bot.running, leftover_tasks()

    status, fake, running, left = run(go())
    assert (status.phase, status.detail) == (BotPhase.ERROR, TOKEN_REFUSED)
    assert fake.identifies == 1 and fake.connections == 1
    assert not running and left == []


def test_a_refused_intent_is_explained(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            world.fake.refuse_identify(4014, "Disallowed intent(s).")
            bot = world.bot(BotPolicy(mentions_only=False))
            return await bot.start(), world.fake.identifies, leftover_tasks()

    status, identifies, left = run(go())
    assert (status.phase, status.detail) == (BotPhase.ERROR, INTENT_REFUSED)
    assert identifies == 1 and left == []


def test_stopping_mid_answer_cancels_the_run_and_sends_nothing(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            bot = world.bot()
            await bot.start()
            llm.script(hang())
            await fake.say(fake.guild.channel("general"), "take your time", mention_bot=True)
            await llm.wait_until(lambda: bool(llm.completions))
            await bot.stop()
            (summary,) = await world.conversations.list(character="Ada")
            stored = await world.conversations.messages(summary.id)
            return fake.sent, bot.recent_activity, stored, leftover_tasks()

    sent, activity, stored, left = run(go())
    assert sent == [] and left == []
    assert activity[-1].detail == "not sent: the bot stopped"
    assert [m.content for m in stored if m.kind == "user"] == ["sam: take your time"]


def test_no_token_is_said_plainly(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            bot = world.bot(token=lambda: None)
            return await bot.start(), world.fake.calls

    status, calls = run(go())
    assert status.phase is BotPhase.ERROR and "DISCORD_BOT_TOKEN" in status.detail
    assert calls == []


def test_a_character_that_does_not_exist_is_an_error(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            bot = world.bot(character="Nobody")
            return await bot.start(), world.fake.calls

    status, calls = run(go())
    assert status.phase is BotPhase.ERROR and '"Nobody" does not exist' in status.detail
    assert calls == []


def test_the_channel_conversation_survives_a_restart(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            general, random_ = fake.guild.channel("general"), fake.guild.channel("random")
            llm.script(
                text("Nice to meet you, Sam."), text("You are Sam."), text("A new room here.")
            )
            first = world.bot()
            await first.start()
            await fake.say(general, "My name is Sam.", mention_bot=True)
            await eventually(lambda: first.recent_activity)
            await first.stop()

            second = world.bot()  # a new service and bot over the same studio.db
            await second.start()
            await fake.say(general, "What is my name?", mention_bot=True)
            await eventually(lambda: len(second.recent_activity) == 1)
            await fake.say(random_, "Hello over here.", mention_bot=True)
            await eventually(lambda: len(second.recent_activity) == 2)
            return llm.completions, await world.conversations.list(character="Ada")

    requests, conversations = run(go())
    assert len(requests) == 3
    remembered = prompt_of(requests[1])
    assert "What is my name?" in remembered
    assert "My name is Sam." in remembered and "Nice to meet you, Sam." in remembered
    fresh = prompt_of(requests[2])
    assert "Hello over here." in fresh
    assert "My name is Sam." not in fresh, "another channel is another conversation"
    titles = sorted((c.title, c.messages) for c in conversations)
    assert titles == [
        ("Discord #general (Test Server)", 4),
        ("Discord #random (Test Server)", 2),
    ]


def test_the_initial_message_is_posted_once(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake = world.fake
            world.edit_character(
                "ada.json",
                discord_config={"initial_channel": "#general", "initial_message": "Ada is here."},
            )
            bot = world.bot()
            await bot.start()
            general = fake.guild.channel("general")
            await fake.wait_until(lambda: fake.sent)
            await fake.drop()  # a reconnect is not a first connect
            world.llm.script(text("Still here."))
            await fake.say(general, "are you there?", mention_bot=True)
            await fake.wait_until(lambda: len(fake.sent) == 2)
            return fake.sent, fake.resumes, bot.recent_activity

    sent, resumes, activity = run(go())
    assert resumes == 1
    assert [(s.content, s.reply_to) for s in sent] == [
        ("Ada is here.", None),
        ("Still here.", sent[1].reply_to),
    ]
    assert activity[0].detail == "posted the initial message"


def test_an_initial_channel_that_does_not_exist_is_reported(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            world.edit_character(
                "ada.json",
                discord_config={"initial_channel": "announcements", "initial_message": "Hi!"},
            )
            bot = world.bot()
            await bot.start()
            await eventually(lambda: bot.recent_activity)
            return world.fake.sent, bot.recent_activity

    sent, activity = run(go())
    assert sent == []
    assert "announcements" in activity[0].detail and "not posted" in activity[0].detail


def test_a_rate_limit_is_shown_and_the_reply_still_arrives_once(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake = world.fake
            bot = world.bot()
            await bot.start()
            fake.rate_limit_once("POST", r"/channels/\d+/messages", retry_after=0.25)
            world.llm.script(text("Worth the wait."))
            await fake.say(fake.guild.channel("general"), "hi", mention_bot=True)
            await eventually(lambda: any(a.kind is ActivityKind.REPLY for a in bot.recent_activity))
            return fake, list(world.statuses[bot]), bot.recent_activity, bot.status

    fake, statuses, activity, final = run(go())
    assert [s.content for s in fake.sent] == ["Worth the wait."]
    posts = [c.status for c in fake.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert posts == [429, 200]
    limited = [s for s in statuses if s.rate_limited_for is not None]
    assert limited and limited[0].detail == "rate limited, retrying in 0.25 s"
    assert limited[0].state is State.RUNNING
    assert final.detail == "connected as Ada" and final.rate_limited_for is None
    assert [a.kind for a in activity] == [ActivityKind.RATE_LIMITED, ActivityKind.REPLY]


def test_tools_that_need_approval_are_refused_and_the_reply_says_so(tmp_path, keyring_backend):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            world.edit_character("ada.json", tool_policy={"calculate": "ask"})
            world.llm.script(
                tool_call("calculate", {"expression": "6 * 7"}),
                text("I was not allowed to calculate that."),
            )
            bot = world.bot()
            await bot.start()
            await world.fake.say(world.fake.guild.channel("general"), "6*7?", mention_bot=True)
            await eventually(lambda: bot.recent_activity)
            (summary,) = await world.conversations.list(character="Ada")
            stored = await world.conversations.messages(summary.id)
            return world.fake.sent, stored, world.llm.completions

    sent, stored, requests = run(go())
    (reply,) = sent
    assert reply.content.startswith("I was not allowed to calculate that.")
    assert "Not run: `calculate`" in reply.content
    assert "approval" in [m.kind for m in stored]
    # The SDK records the refusal as the call's output; the calculation itself never ran.
    cards = [json.loads(m.content) for m in stored if m.kind == "tool"]
    assert all(card["result"] != "42" for card in cards), cards
    assert any(m.kind == "approval_result" and m.content == "rejected" for m in stored)
    assert len(requests) == 2, "the model was told and answered without the tool"


def test_the_bot_runs_on_the_studios_qasync_loop(tmp_path, keyring_backend, loop):
    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake = world.fake
            bot = world.bot()
            status = await bot.start()
            world.llm.script(text("Hello from the Qt loop."))
            await fake.say(fake.guild.channel("general"), "hi", mention_bot=True)
            await eventually(lambda: bot.recent_activity)
            await bot.stop()
            return status, fake.sent, leftover_tasks()

    status, sent, left = loop.run_until_complete(go())
    assert status.phase is BotPhase.CONNECTED
    assert [s.content for s in sent] == ["Hello from the Qt loop."]
    assert left == []
