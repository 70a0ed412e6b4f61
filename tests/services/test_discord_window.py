"""The Discord bot on a small local model: it asks the server for the model's context window (as
the Chat page does), so a character's large MCP servers are left out of a request that would not
fit. Real discord.py against the fake Discord, real MCP servers (FastMCP), the scripted model
server stating llama.cpp's ``meta.n_ctx``."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

from carrier_studio.core.discord import ActivityKind
from carrier_studio.core.mcp import lookup_chain
from carrier_studio.core.runtime.context_budget import estimate_tokens
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.discord.bot import DiscordBot
from carrier_studio.services.mcp.manager import McpManager
from tests.fakes import error, text
from tests.mcp.servers import fastmcp_stdio
from tests.services.test_discord_bot import eventually, run, studio


def _servers(tmp_path):
    """A small MCP server and a big one (≈2,500 tokens of tool definitions)."""
    catalogue = tmp_path / "mcp_servers.json"
    servers = {"helper": fastmcp_stdio(), "files": fastmcp_stdio("--big")}
    catalogue.write_text(json.dumps({"mcpServers": servers}))
    return McpManager(catalogue, lookup_chain({}))


@asynccontextmanager
async def ada_on_discord(tmp_path, keyring_backend):
    """The world, and a bot answering as Ada with both servers (a service with MCP)."""
    async with studio(tmp_path, keyring_backend) as world:
        world.edit_character("ada.json", mcp_servers=["helper", "files"], tool_policy={})
        mcp = _servers(tmp_path)
        chat = ChatService(
            ConversationStore(world.db),
            world.characters,
            world.settings,
            world.secrets,
            mcp,
            clients=world.clients,
        )
        bot = DiscordBot(
            lambda: world.secrets.get("DISCORD_BOT_TOKEN"),
            "Ada",
            chat,
            guild_ready_timeout=0.05,
            connect_timeout=20,
        )
        try:
            await bot.start()
            yield world, bot
        finally:
            await bot.stop()
            await mcp.shutdown()


async def _say(world, bot, channel: str, words: str) -> None:
    count = len(bot.recent_activity)
    await world.fake.say(world.fake.guild.channel(channel), words, mention_bot=True)
    await eventually(lambda: len(bot.recent_activity) == count + 1, within=30)


def _tools(request) -> list[str]:
    return [tool["function"]["name"] for tool in request.body.get("tools", [])]


def test_a_reply_on_a_4096_window_leaves_the_big_server_out_and_asks_once(
    tmp_path, keyring_backend
):
    async def go():
        async with ada_on_discord(tmp_path, keyring_backend) as (world, bot):
            llm = world.llm
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # llama.cpp -c 4096
            llm.script(text("Hello from Ada."), text("Still here."))
            await _say(world, bot, "general", "what is a tide?")
            await _say(world, bot, "random", "and a wave?")
            return bot.recent_activity, world.fake.sent, llm.completions, llm.requests

    activity, sent, completions, requests = run(go())
    assert [a.kind for a in activity] == [ActivityKind.REPLY, ActivityKind.REPLY], activity
    assert [s.content for s in sent] == ["Hello from Ada.", "Still here."]
    for request in completions:
        tools = _tools(request)
        assert "read_everything" not in tools, "the big server's tools are left out"
        assert {"add", "shout"} <= set(tools), "the small server's tools stay"
        # What llama.cpp would count, about: within the 4096 window less the reply's reserve.
        assert estimate_tokens(json.dumps(request.body)) <= 3072
    # One listing for the endpoint and model, not one per message (nor per channel).
    assert [r.path for r in requests if r.method == "GET"] == ["/v1/models"]


def test_a_server_that_stated_no_window_yet_is_asked_again(tmp_path, keyring_backend, monkeypatch):
    """A server still loading its model states no window: a later reply asks again (after
    ASK_WINDOW_AGAIN_S, made 0 here) and uses the window it states then; once stated, a window
    is not asked for again."""
    monkeypatch.setattr("carrier_studio.services.chat.service.ASK_WINDOW_AGAIN_S", 0.0)

    async def go():
        async with ada_on_discord(tmp_path, keyring_backend) as (world, bot):
            llm = world.llm
            llm.script(text("One."), text("Two."), text("Three."))
            await _say(world, bot, "general", "first")
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # the model is loaded
            await _say(world, bot, "general", "second")
            await _say(world, bot, "general", "third")
            return llm.completions, llm.requests

    completions, requests = run(go())
    assert ["read_everything" in _tools(r) for r in completions] == [True, False, False]
    assert [r.path for r in requests if r.method == "GET"] == ["/v1/models"] * 2


#: llama.cpp's refusal of a request longer than the window it was started with (HTTP 400).
TOO_LONG = "the request exceeds the available context size, try increasing it"


def test_a_stated_window_is_asked_again_after_a_while(tmp_path, keyring_backend, monkeypatch):
    """A window stated once is not kept for good: after ASK_STATED_WINDOW_AGAIN_S (made 0 here)
    the bot asks again, and a llama.cpp restarted with a smaller -c is fitted to."""
    monkeypatch.setattr("carrier_studio.services.chat.service.ASK_STATED_WINDOW_AGAIN_S", 0.0)

    async def go():
        async with ada_on_discord(tmp_path, keyring_backend) as (world, bot):
            llm = world.llm
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 32768}}
            llm.script(text("One."), text("Two."))
            await _say(world, bot, "general", "first")
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # restarted with -c 4096
            await _say(world, bot, "general", "second")
            return bot.recent_activity, llm.completions, llm.requests

    activity, completions, requests = run(go())
    assert [a.kind for a in activity] == [ActivityKind.REPLY, ActivityKind.REPLY], activity
    assert ["read_everything" in _tools(r) for r in completions] == [True, False]
    assert [r.path for r in requests if r.method == "GET"] == ["/v1/models"] * 2


def test_a_refusal_as_too_long_asks_the_window_again_at_once(tmp_path, keyring_backend):
    """llama.cpp restarted with a smaller -c refuses the request fitted to the old window: the
    bot forgets that window, so the next reply asks again (long before the time limit) and
    fits; without it every reply would be refused until the bot restarts."""

    async def go():
        async with ada_on_discord(tmp_path, keyring_backend) as (world, bot):
            llm = world.llm
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 32768}}
            llm.script(text("One."), error(400, TOO_LONG), text("Three."))
            await _say(world, bot, "general", "first")
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # restarted with -c 4096
            await _say(world, bot, "general", "second")
            await _say(world, bot, "general", "third")
            return bot.recent_activity, world.fake.sent, llm.completions, llm.requests

    activity, sent, completions, requests = run(go())
    kinds = [a.kind for a in activity]
    assert kinds == [ActivityKind.REPLY, ActivityKind.FAILED, ActivityKind.REPLY], activity
    assert "context size" in activity[1].detail
    assert sent[-1].content == "Three."
    assert ["read_everything" in _tools(r) for r in completions] == [True, True, False]
    assert [r.path for r in requests if r.method == "GET"] == ["/v1/models"] * 2


def test_a_reply_after_the_first_reads_no_character_file(tmp_path, keyring_backend, monkeypatch):
    """Learning the window before each reply takes the model from the thread's character once
    its agent is built, rather than reading (and parsing) every character file per message."""

    async def go():
        async with ada_on_discord(tmp_path, keyring_backend) as (world, bot):
            reads = []
            listing = world.characters.list

            def counted():
                reads.append(1)
                return listing()

            monkeypatch.setattr(world.characters, "list", counted)
            world.llm.script(text("One."), text("Two."))
            per_reply = []
            for words in ("first", "second"):
                before = len(reads)
                await _say(world, bot, "general", words)
                per_reply.append(len(reads) - before)
            return bot.recent_activity, per_reply

    activity, per_reply = run(go())
    assert [a.kind for a in activity] == [ActivityKind.REPLY, ActivityKind.REPLY], activity
    assert per_reply[0] >= 1, "the first reply reads the characters (its agent is built)"
    assert per_reply[1] == 0, per_reply
