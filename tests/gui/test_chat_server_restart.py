"""A message asks the MCP manager for its servers only when one of them changed state (#21: the
check cost ~1.5 ms of every message), and a restarted server still gives the next message's
agent the new connection. A real MCP server (FastMCP over stdio), the scripted LLM server."""

from __future__ import annotations

from tests.fakes import text
from tests.gui.test_chat_servers import (
    SERVER_START,
    _finish,
    _line,
    _studio,
    _tool_names,
    _type_and_send,
    server,  # noqa: F401 - the scripted LLM server fixture
)
from tests.helpers.waiting import wait_until
from tests.mcp.servers import fastmcp_stdio


def test_a_message_asks_for_the_servers_again_only_after_one_changed(make_studio, loop, server):  # noqa: F811
    page, studio = _studio(make_studio, loop, server, {"quick": fastmcp_stdio()}, ["quick"])
    wait_until(loop, lambda: "ready" in _line(page, "quick"), SERVER_START)
    server.script(text("One."), text("Two."), text("Three."))
    _type_and_send(page, "First")
    _finish(page, studio, loop)
    thread, mcp = page.thread, studio.session.mcp
    asked: list[list[str]] = []
    ensure = mcp.ensure

    async def counted(names, **kwargs):
        asked.append(list(names))
        return await ensure(names, **kwargs)

    mcp.ensure = counted
    built_with = dict(thread._mcp_servers)

    _type_and_send(page, "Second")
    _finish(page, studio, loop)
    assert asked == [], "nothing changed, yet the message asked the manager for its servers"
    assert thread._mcp_servers == built_with

    loop.run_until_complete(mcp.restart("quick"))
    wait_until(loop, lambda: "ready" in _line(page, "quick"), SERVER_START)
    _type_and_send(page, "Third")
    _finish(page, studio, loop)
    assert asked and asked[0] == ["quick"], "the restart went unnoticed"
    (current,) = loop.run_until_complete(ensure(["quick"]))
    assert thread._mcp_servers == {"quick": id(current)}  # the connection that runs now
    assert {"add", "shout"} <= _tool_names(server.requests[-1])
