"""Fitting a conversation into the model's context window, per model call (#21).

Run: ``uv run python bench/context_fit.py [--turns 10 100 500] [--calls 20]``.

The chat's ``call_model_input_filter`` (services/chat/context.py `ContextFit.wrap`) runs on the
event loop before every model call, between Send and the request leaving. Each timed call here
goes through that wrapper as the SDK calls it: the items are the SDK's own fresh copies of the
history plus the new user message (`prepare_model_input_items`, as the run loop makes them), and
the conversation grows by one turn between calls, as a chat does. Beside it, in the same run:

- before: the code as it was until #21's incremental measuring (json.dumps of every item at
  every call, kept verbatim below), called the same way;
- full now: `fit` without `ItemSizes`, every item measured (what the scenario runner does).

Conversations: "text" (a user message and an answer), "tools" (a tool call and its output too,
so two model calls a turn), "images" (every fifth user message carries a 40 KB image as a data
URL). The window is gpt-4o's 128k (at 500 turns with images the oldest turns are left out) and
llama3's 8k (most turns left out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from agents.run_config import CallModelData, ModelInputData  # noqa: E402
from agents.run_internal.items import prepare_model_input_items  # noqa: E402

from carrier_studio.core.runtime import context_budget as cb  # noqa: E402
from carrier_studio.services.chat.context import ContextFit  # noqa: E402
from tests.helpers.context_reference import reference_fit  # noqa: E402

INSTRUCTIONS = "You are Ada, a careful writer. " * 40
IMAGE = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAA" * 1700  # ≈ 40 KB


def _turn(n: int, kind: str) -> list[dict[str, Any]]:
    """One turn of ``kind`` as the SDK's history holds it (shapes taken from a real run)."""
    said = f"Turn {n}: could you look at the draft's second chapter again? " * 3
    if kind == "images" and n % 5 == 0:
        user: Any = [
            {"type": "input_text", "text": said},
            {"type": "input_image", "image_url": IMAGE},
        ]
    else:
        user = said + ("Ça va, naïve café? " if n % 3 == 0 else "")
    answer = f"Here is what I think about part {n}. " * 20
    meta = {"model": "gpt-4o", "response_id": f"resp_{n:06d}"}
    items: list[dict[str, Any]] = [{"role": "user", "content": user}]
    if kind == "tools":
        items += [
            {
                "arguments": json.dumps({"path": f"chapters/{n}.md"}),
                "call_id": f"call_{n}",
                "name": "read_file",
                "type": "function_call",
                "id": f"fc_{n}",
                "provider_data": meta,
            },
            {
                "call_id": f"call_{n}",
                "output": "Chapter text. " * 60,
                "type": "function_call_output",
            },
        ]
    text = {"annotations": [], "text": answer, "type": "output_text", "logprobs": []}
    items.append(
        {
            "id": f"msg_{n}",
            "content": [text],
            "role": "assistant",
            "status": "completed",
            "type": "message",
            "provider_data": meta,
        }
    )
    return items


def _calls(turns: int, kind: str, calls: int) -> list[list[Any]]:
    """The model calls of the conversation's last ``calls`` turns: each a list of the SDK's
    fresh copies of the items, as its run loop hands them to the filter."""
    history = [item for n in range(turns) for item in _turn(n, kind)]
    per_turn = len(_turn(0, kind))
    result = []
    for t in range(turns - calls, turns):
        before, this = history[: t * per_turn], _turn(t, kind)
        result.append(prepare_model_input_items(before, this[:1]))
        if kind == "tools":  # the second call of the turn, after the tool's output
            result.append(prepare_model_input_items(before, this[:3]))
    return result


def _per_call(filter_: Any, calls: list[list[Any]]) -> tuple[float, list[int]]:
    """Median ms of ``filter_`` over ``calls`` (one warm-up call first), and what each left out."""
    times, dropped = [], []
    for index, items in enumerate(calls):
        data = CallModelData(ModelInputData(input=items, instructions=INSTRUCTIONS), None, None)
        started = time.perf_counter()
        out = filter_(data)
        elapsed = time.perf_counter() - started
        dropped.append(len(items) - len(out.input))
        if index:
            times.append(elapsed)
    return statistics.median(times) * 1000, dropped


def _plain(fit: Any, window: int) -> Any:
    """A filter that fits with ``fit`` as ContextFit.wrap does, without `ItemSizes`."""

    def call(data: Any) -> Any:
        model_data = data.model_data
        kept, _ = fit(model_data.instructions, list(model_data.input), window)
        return ModelInputData(input=kept, instructions=model_data.instructions)

    return call


def _drive(fitted: Any) -> Any:
    """ContextFit.wrap's coroutine never suspends when its inner filter is plain: run it
    without an event loop, so the loop's own cost is not in the figure."""

    def call(data: Any) -> Any:
        coro = fitted(data)
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        raise RuntimeError("the filter suspended")

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--calls", type=int, default=20, help="timed model calls a row")
    args = parser.parse_args()
    print(f"per model call, median of {args.calls} (ms): before | full now | incremental")
    for model, window in (("gpt-4o", 128_000), ("llama3", 8_192)):
        for kind in ("text", "tools", "images"):
            for turns in args.turns:
                calls = _calls(turns, kind, min(args.calls, turns - 1))

                before = _plain(reference_fit, window)
                full = _plain(cb.fit, window)

                context = ContextFit(lambda model=model: model, lambda: None, list)
                incremental = _drive(context.wrap(lambda data: data.model_data))
                old, old_dropped = _per_call(before, calls)
                now_full, full_dropped = _per_call(full, calls)
                now, dropped = _per_call(incremental, calls)
                if not old_dropped == full_dropped == dropped:
                    raise SystemExit(f"{kind} {turns}: the items left out differ from before")
                label = f"{model} {kind:6} {turns:4} turns ({len(calls[-1])} items)"
                print(
                    f"  {label:38} before {old:7.3f}  full now {now_full:7.3f}  "
                    f"incremental {now:7.3f}  ({old / now:5.1f}x)  left out {dropped[-1]}"
                )


if __name__ == "__main__":
    main()
