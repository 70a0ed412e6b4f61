"""What the MCP page's Resources and Prompts tabs share (ui/widgets/mcp_listing.py): a listing
held by the server while the page closes, or while the server stops, or while the list is asked
for again. A real Python MCP server (tests/mcp/resources_server.py); the listing is held by
wrapping the page's `McpBrowser`, as the prompts tests do."""

from __future__ import annotations

import asyncio

import pytest

from carrier_studio.core.mcp import ServerState
from tests.fakes import running_server
from tests.gui.test_chat_servers import SERVER_START, _studio
from tests.gui.test_mcp_resources_prompts import NOTES
from tests.helpers.waiting import wait_until


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def _hold(mcp_browser, kind: str, gate: asyncio.Event, outcome: list[str]) -> None:
    """Make ``mcp_browser``'s listing of ``kind`` wait for ``gate`` (noted in ``outcome``)."""
    real = getattr(mcp_browser, kind)

    async def held(name: str):
        outcome.append("asked")
        try:
            await gate.wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("answered")
        return await real(name)

    setattr(mcp_browser, kind, held)


def _open_tab(studio, loop, kind: str):
    studio.window.show_page("mcp")
    mcp = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    return mcp, getattr(mcp, kind)


def test_closing_the_page_cancels_a_resources_listing_in_flight(
    make_studio, loop, server, tmp_path
):
    """Seen in review: only the Prompts tab's tasks were cancelled at close, so a resources
    listing in flight went on to answer into the deleted list."""
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    loop.run_until_complete(studio.session.mcp.start("notes"))
    mcp, tab = _open_tab(studio, loop, "resources")
    gate, outcome = asyncio.Event(), []
    _hold(tab.browser, "resources", gate, outcome)
    mcp.table.selectRow(mcp.model.row_of("notes"))
    mcp.details.setCurrentWidget(tab)
    wait_until(loop, lambda: outcome == ["asked"])
    assert tab.empty.text() == "Asking notes for its resources…"
    loop.run_until_complete(mcp.shutdown())
    wait_until(loop, lambda: outcome == ["asked", "cancelled"])


@pytest.mark.parametrize("kind", ["resources", "prompts"])
def test_refresh_stays_off_for_a_server_stopped_while_it_listed(
    make_studio, loop, server, tmp_path, kind
):
    """Seen in review: the listing's busy guard turned Refresh back on when it ended, though
    the server had stopped meanwhile and there was nothing to ask."""
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    loop.run_until_complete(studio.session.mcp.start("notes"))
    mcp, tab = _open_tab(studio, loop, kind)
    gate, outcome = asyncio.Event(), []
    _hold(tab.browser, kind, gate, outcome)
    mcp.table.selectRow(mcp.model.row_of("notes"))
    mcp.details.setCurrentWidget(tab)
    wait_until(loop, lambda: outcome == ["asked"])
    assert not tab.refresh_button.isEnabled(), "a listing runs"
    # The server says its list changed while the listing runs: it lists once more.
    tab.refresh()

    mcp.stop_server()
    wait_until(loop, lambda: studio.session.mcp.status("notes").state is ServerState.STOPPED)
    wait_until(loop, lambda: tab.empty.text() == f"Start the server to see its {kind}.")
    gate.set()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert outcome == ["asked", "answered", "asked", "answered"], "listed again once"
    assert tab.empty.text() == f"Start the server to see its {kind}.", "no stale answer drawn"
    assert not tab.refresh_button.isEnabled(), "nothing to ask a stopped server"

    # Running again, Refresh is on once its listing ends.
    delattr(tab.browser, kind)
    mcp.restart_server()
    wait_until(loop, lambda: tab.list.count() > 0, SERVER_START)
    loop.run_until_complete(studio.tasks.wait_idle())
    assert tab.refresh_button.isEnabled()
