"""Choosing another embedder in Settings re-embeds the memories, and the Memory page shows it."""

from __future__ import annotations

from carrier_studio.core.memory import MemoryRecord
from tests.gui.test_chat_page import chat, server  # noqa: F401 - fixtures


def test_a_new_embedder_re_embeds_with_progress_on_the_memory_page(chat, loop, server):  # noqa: F811
    _page, studio = chat
    ctx = studio.session
    ctx.secrets.set("OPENAI_API_KEY", "sk-test-openai-0000000000")
    service = loop.run_until_complete(ctx.memory.ready())
    facts = [f"Fact number {i} about the lighthouse." for i in range(30)]
    loop.run_until_complete(service.remember([MemoryRecord("Ada", f, "fact") for f in facts]))
    studio.window.show_page("memory")
    memory_page = studio.window.page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    reports = []
    ctx.memory.reembed_progress.subscribe(reports.append)
    shown = []  # what the page's job bar showed
    memory_page.jobs.progress.valueChanged.connect(shown.append)

    async def scenario():
        # All of it inside one running loop: the job's steps must not be left pending when
        # run_until_complete returns (qasync then processes Qt events outside the loop).
        settings = ctx.settings.settings
        providers = settings.providers.model_copy(
            update={"openai_base_url": server.openai_base_url}
        )
        memory = settings.memory.model_copy(update={"embedder": "openai"})
        ctx.settings.save(settings.model_copy(update={"providers": providers, "memory": memory}))
        await ctx.memory.reopening
        job = ctx.memory.reembedding
        assert job is not None, "the new embedder started re-embedding"
        await job
        await studio.tasks.wait_idle()  # the page's follow-up (checking embeddings) too
        return await ctx.memory.service.store.space()

    stored = loop.run_until_complete(scenario())

    assert reports and reports[-1].done == reports[-1].total == len(facts)
    assert shown and max(shown) == len(facts), "the page followed the job in its bar"
    assert not memory_page.jobs.running and memory_page.reembed_bar.isHidden()
    assert stored.embedder_id.startswith("openai:")
    assert "30 memories" in ctx.status.get("memory").detail
