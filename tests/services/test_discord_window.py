"""The Discord bot on a small local model: it asks the server for the model's context window (as
the Chat page does), so a character's large MCP servers are left out of a request that would not
fit. Real discord.py against the fake Discord, real MCP servers (FastMCP), the scripted model
server stating llama.cpp's ``meta.n_ctx``."""

from __future__ import annotations

import json

from carrier_studio.core.discord import ActivityKind
from carrier_studio.core.mcp import lookup_chain
from carrier_studio.core.runtime.context_budget import estimate_tokens
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.discord.bot import DiscordBot
from carrier_studio.services.mcp.manager import McpManager
from tests.fakes import text
from tests.mcp.servers import fastmcp_stdio
from tests.services.test_discord_bot import eventually, run, studio


def test_a_reply_on_a_4096_window_leaves_the_big_server_out_and_asks_once(
    tmp_path, keyring_backend
):
    catalogue = tmp_path / "mcp_servers.json"
    servers = {"helper": fastmcp_stdio(), "files": fastmcp_stdio("--big")}
    catalogue.write_text(json.dumps({"mcpServers": servers}))

    async def go():
        async with studio(tmp_path, keyring_backend) as world:
            fake, llm = world.fake, world.llm
            llm.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # llama.cpp -c 4096
            world.edit_character("ada.json", mcp_servers=["helper", "files"], tool_policy={})
            mcp = McpManager(catalogue, lookup_chain({}))
            chat = ChatService(
                ConversationStore(world.db), world.characters, world.settings, world.secrets, mcp
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
                llm.script(text("Hello from Ada."), text("Still here."))
                general = fake.guild.channel("general")
                await fake.say(general, "what is a tide?", mention_bot=True)
                await eventually(lambda: len(bot.recent_activity) == 1, within=30)
                await fake.say(fake.guild.channel("random"), "and a wave?", mention_bot=True)
                await eventually(lambda: len(bot.recent_activity) == 2, within=30)
                return bot.recent_activity, fake.sent, llm.completions, llm.requests
            finally:
                await bot.stop()
                await mcp.shutdown()

    activity, sent, completions, requests = run(go())
    assert [a.kind for a in activity] == [ActivityKind.REPLY, ActivityKind.REPLY], activity
    assert [s.content for s in sent] == ["Hello from Ada.", "Still here."]
    for request in completions:
        body = json.dumps(request.body)
        tools = [tool["function"]["name"] for tool in request.body.get("tools", [])]
        assert "read_everything" not in tools, "the big server's tools are left out"
        assert {"add", "shout"} <= set(tools), "the small server's tools stay"
        # What llama.cpp would count, about: within the 4096 window less the reply's reserve.
        assert estimate_tokens(body) <= 3072
    # One listing for the endpoint and model, not one per message (nor per channel).
    assert [r.path for r in requests if r.method == "GET"] == ["/v1/models"]
