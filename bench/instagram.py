"""Instagram queue figures on local servers (pyftpdlib, a file host, the fake Graph API).

Prints:
- the time to publish one image post through the worker (every step saved in studio.db), as a
  median over N posts, against a baseline in the same run: the same FTP upload, URL check and
  Graph calls made directly, with no queue and no saves;
- the longest event-loop stall (a 2 ms ticker's worst lateness) while the worker uploads a
  large video and while the queue converts a 24 MP PNG for Instagram.

    uv run python bench/instagram.py [--posts 20] [--video-mb 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.instagram import PostKind  # noqa: E402
from carrier_studio.services.instagram.ftp import unique_name  # noqa: E402
from tests.services.instagram import media  # noqa: E402
from tests.services.instagram.rig import Rig  # noqa: E402


class StallMeter:
    """Ticks every ``period`` s; the worst lateness is how long the loop was blocked."""

    def __init__(self, period: float = 0.002) -> None:
        self.period = period
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.period)
            self.worst = max(self.worst, time.perf_counter() - start - self.period)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()


async def direct_publish(rig: Rig, photo: Path, index: int) -> None:
    conn = await rig.connect()
    try:
        url = await conn.hosting.publish_file(photo, unique_name(photo, 0, index))
        container = await conn.graph.create_image_container(url, caption=f"direct {index}")
        await conn.graph.container_status(container)
        await conn.graph.publish(container)
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        photo = media.jpeg(tmp_path / "photo.jpg", size=(1080, 1350))
        async with Rig(tmp_path / "rig") as rig:
            rig.graph.processing_polls = 0
            direct, queued = [], []
            for i in range(args.posts):
                start = time.perf_counter()
                await direct_publish(rig, photo, i)
                direct.append(time.perf_counter() - start)
                await rig.queue.add([photo], caption=f"queued {i}")
                start = time.perf_counter()
                await rig.worker.run_pending()
                queued.append(time.perf_counter() - start)
            d, q = statistics.median(direct), statistics.median(queued)
            print(f"publish one image post, median of {args.posts}:")
            print(f"  direct calls (baseline)     {d * 1000:7.1f} ms")
            print(f"  worker, every step saved    {q * 1000:7.1f} ms   ratio {q / d:.2f}")

            video = media.mp4(tmp_path / "big.mp4", 30.0, padding=args.video_mb * 1024 * 1024)
            await rig.queue.add([video], kind=PostKind.REEL, caption="big reel")
            with StallMeter() as meter:
                start = time.perf_counter()
                await rig.worker.run_pending()
                took = time.perf_counter() - start
            print(f"publish a {args.video_mb} MB reel: {took * 1000:.0f} ms, "
                  f"longest loop stall {meter.worst * 1000:.1f} ms")  # fmt: skip

            png = media.png(tmp_path / "huge.png", size=(6000, 4000))
            with StallMeter() as meter:
                start = time.perf_counter()
                await rig.queue.add([png], convert=True)
                took = time.perf_counter() - start
            print(f"queue a 24 MP PNG with conversion: {took * 1000:.0f} ms, "
                  f"longest loop stall {meter.worst * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--video-mb", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
