"""Render every page of the studio to PNG with demo data, so anyone can see the app.

Run: ``uv run python scripts/screenshots.py [--out docs/screenshots] [--theme light|dark]``.
Uses the real window on a throw-away workspace. With ``DISPLAY`` set (e.g. under Xvfb) it draws
through the real X11 platform; otherwise it falls back to Qt's offscreen platform.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtWidgets import QApplication

from carrier_studio.app.window import Studio
from carrier_studio.core.messages import bus
from carrier_studio.services.platform.paths import AppPaths
from carrier_studio.session import Session


class DemoKeyring:
    """A keyring with one key stored, so the Settings page shows a realistic state."""

    def __new__(cls):
        from keyring.backend import KeyringBackend

        class _Demo(KeyringBackend):
            priority = 1

            def __init__(self):
                super().__init__()
                self.data = {("carrier-studio", "OPENAI_API_KEY"): "demo-value"}

            def get_password(self, service, username):
                return self.data.get((service, username))

            def set_password(self, service, username, password):
                self.data[(service, username)] = password

            def delete_password(self, service, username):
                self.data.pop((service, username), None)

        return _Demo()


async def _demo_conversation(ctx) -> None:
    """A stored conversation so the Chat page has something to show (through the one stored
    format of a turn, core/runtime/transcript.py)."""
    from carrier_studio.core.runtime.events import RecalledMemory
    from carrier_studio.core.runtime.transcript import AssistantText, Memories, ToolCall, UserText

    store = ctx.chat.conversations
    cid = await store.create("Ada", "Compound interest, quickly")
    await store.add_item(cid, UserText("What does 1000 at 5% become after 10 years?"))
    recalled = RecalledMemory(
        memory_id="demo",
        kind="fact",
        content="Sam is saving for a sailing boat and likes numbers rounded to cents.",
        score=0.62,
        semantic=0.58,
        keyword=0.31,
        client="chat",
        created_at="2026-11-20T10:00:00+00:00",
        pinned=True,
    )
    await store.add_item(cid, Memories((recalled,), agent="Ada"))
    await store.add_item(
        cid,
        ToolCall(
            "calculate", '{"expression": "1000 * 1.05 ** 10"}', "1628.894626777442", "Ada",
            duration_s=0.002,
        ),
    )  # fmt: skip
    answer = (
        "About **1,628.89** — compounding yearly:\n\n"
        "```python\nbalance = 1000 * 1.05 ** 10  # 1628.89\n```\n\n"
        "Roughly 63% growth; simple interest would give 1,500."
    )
    await store.add_item(
        cid, AssistantText(answer, "Ada", input_tokens=412, output_tokens=58, final=True)
    )


DEMO_MEMORIES = [
    ("Ada", "fact", "Sam is saving for a sailing boat and likes numbers rounded to cents."),
    ("Ada", "fact", "Sam's favourite tea is a smoky lapsang souchong."),
    ("Ada", "note", "Explain compound interest with a table next time."),
    ("Ada", "message", "Can you check my budget spreadsheet formulas?"),
    ("Ada", "message", "The boat costs about 18,000; I have 6,500 saved."),
    ("Ada", "summary", "Sam asked for help with savings plans, loans and a budget sheet."),
    ("Mira", "fact", "Sam prefers watercolour over oil for quick sketches."),
    ("Mira", "post", "Golden hour over the harbour, in three washes of blue."),
    ("Juniper", "message", "Welcome to the server! Introduce yourself in #hello."),
]


async def _demo_memories(ctx) -> None:
    from carrier_studio.core.memory import MemoryRecord, Provenance

    service = await ctx.memory.ready()
    await service.remember(
        [
            MemoryRecord(character, content, kind, Provenance("chat", "1", None, "Sam"))
            for character, kind, content in DEMO_MEMORIES
        ]
    )


async def render(out: Path, theme: str, size: tuple[int, int]) -> list[Path]:
    root = Path(tempfile.mkdtemp(prefix="carrier-shots-"))
    ctx = Session.build(
        AppPaths.under(root), str(root / "workspace"), keyring_backend=DemoKeyring(), environ={}
    )
    ctx.settings.settings.ui.theme = theme
    ctx.settings.settings.ftp.host = "ftp.example.com"
    studio = Studio(ctx, QApplication.instance(), offer_first_run=False)
    studio.window.resize(*size)
    await studio.start()
    await _demo_conversation(ctx)
    await _demo_memories(ctx)
    written = []
    for number, key in enumerate(studio.window.page_keys(), start=1):
        studio.window.show_page(key)
        await studio.tasks.wait_idle()
        # Give the loop a moment to lay out and paint (processEvents inside a qasync task
        # would re-enter the loop).
        await asyncio.sleep(0.2)
        path = out / f"{number}-{key}-{theme}.png"
        studio.window.grab().save(str(path))
        written.append(path)
    await studio.shutdown()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--theme", choices=["light", "dark"], nargs="*", default=["light", "dark"])
    parser.add_argument("--size", default="1180x760")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    width, height = (int(n) for n in args.size.split("x"))
    QApplication.instance() or QApplication(sys.argv)
    bus.connect(lambda m: None)  # demo messages need no listener
    for theme in args.theme:
        for path in qasync.run(render(args.out, theme, (width, height))):
            print(path)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
