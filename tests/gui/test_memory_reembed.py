"""Choosing another embedder in Settings re-embeds the memories, and the Memory page shows it."""

from __future__ import annotations

from carrier_studio.core.memory import MemoryRecord
from tests.gui.test_chat_page import chat, server  # noqa: F401 - fixtures
from tests.helpers.waiting import wait_until


def test_a_new_embedder_re_embeds_with_progress_on_the_memory_page(chat, loop, server):  # noqa: F811
    _page, studio = chat
    ctx = studio.ctx
    ctx.secrets.set("OPENAI_API_KEY", "sk-test-openai-0000000000")
    service = loop.run_until_complete(ctx.memory.ready())
    facts = [f"Fact number {i} about the lighthouse." for i in range(30)]
    loop.run_until_complete(service.remember([MemoryRecord("Ada", f, "fact") for f in facts]))
    studio.window.show_page("memory")
    memory_page = studio.window.page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    reports = []
    ctx.memory.on_reembed_progress(reports.append)
    shown = []  # what the page's job bar showed
    memory_page.jobs.progress.valueChanged.connect(shown.append)

    settings = ctx.settings.settings
    providers = settings.providers.model_copy(update={"openai_base_url": server.openai_base_url})
    memory = settings.memory.model_copy(update={"embedder": "openai"})
    ctx.settings.save(settings.model_copy(update={"providers": providers, "memory": memory}))
    loop.run_until_complete(ctx.memory.reopening)
    job = ctx.memory.reembedding
    assert job is not None, "the new embedder started re-embedding"
    wait_until(loop, lambda: memory_page.jobs.running or job.done())
    loop.run_until_complete(job)
    loop.run_until_complete(studio.tasks.wait_idle())

    assert reports and reports[-1].done == reports[-1].total == len(facts)
    assert shown and max(shown) == len(facts), "the page followed the job in its bar"
    assert not memory_page.jobs.running and memory_page.reembed_bar.isHidden()
    stored = loop.run_until_complete(ctx.memory.service.store.space())
    assert stored.embedder_id.startswith("openai:")
    assert "30 memories" in ctx.status.get("memory").detail
