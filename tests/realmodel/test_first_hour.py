"""A new creator's first hour on the real small model (#15): a fresh profile at 1024×700, the
first-run guide, a local OpenAI-compatible server (llama.cpp serving SmolLM2-135M through the
test proxy), a streamed reply in the Chat page — then the same after a restart, with no guide.

Only what a person clicks and types drives the studio; the set-up removes the seeded examples'
npx MCP servers (a person could untick them on the Characters page; here they would only make
the first message wait for npm).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.waiting import wait_until
from tests.helpers.walkthrough import chat_once, set_up_local_model, strip_mcp_servers

if TYPE_CHECKING:
    from tests.realmodel.conftest import RealModel

pytestmark = pytest.mark.real_model

#: A deadline, not a measure: one CPU thread serves ~1,000 prompt tokens and up to 256 new ones
#: (2-20 tokens/s when the other core is busy).
REPLY_WITHIN = 300.0


def test_first_run_to_a_streamed_reply_on_the_real_model_and_again_after_a_restart(
    real_model: RealModel, make_studio, loop, tmp_path
):
    workspace = tmp_path / "workspace"
    studio = make_studio(str(workspace), start=False, first_run=True)
    strip_mcp_servers(workspace)
    studio.window.resize(1024, 700)
    studio.window.show()
    loop.run_until_complete(studio.start())
    set_up_local_model(studio, loop, real_model.base_url, real_model.model)
    sent_before = len(real_model.proxy.chat_requests)
    bubbles = chat_once(studio, loop, "Hello! Who are you?", within=REPLY_WITHIN)
    roles = [b.role for b in bubbles]
    assert roles == ["user", "assistant"], [(b.role, b.text) for b in bubbles]
    first_reply = bubbles[-1].text
    assert first_reply.strip(), "the model answered"
    request = real_model.proxy.chat_requests[sent_before]
    assert request["model"] == real_model.model and request.get("stream") is True
    loop.run_until_complete(studio.shutdown())

    again = make_studio(str(workspace), first_run=True)
    assert again.first_run is None, "a model is set: no guide at the next start"
    again.window.resize(1024, 700)
    again.window.show_page("chat")
    page = again.window.page("chat")
    wait_until(loop, lambda: page.thread is not None, timeout=10)
    bubbles = chat_once(again, loop, "Tell me one short fact.", within=REPLY_WITHIN)
    assert [b.role for b in bubbles] == ["user", "assistant", "user", "assistant"]
    assert bubbles[1].text == first_reply, "the first turn came back from studio.db"
    assert bubbles[-1].text.strip()
    # The model saw the first turn: the second request carries it.
    last = real_model.proxy.chat_requests[-1]["messages"]
    assert any(m.get("content") == "Hello! Who are you?" for m in last)
