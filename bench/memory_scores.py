"""Memory: the recall scores of related and unrelated chat memories, to choose a minimum score.

Run: ``uv run python bench/memory_scores.py``.

A character (a travel-and-food creator) holds 48 memories from earlier chats: 16 topics, three
messages each, written the way people chat (short, informal, some with the topic's words, some
without). 32 new messages (two per topic, phrased differently from the stored ones) are
recalled through the real path: `MemoryService.search` in hybrid mode over the local SQLite
store with the shipped embedder (all-MiniLM-L6-v2 int8), so the fused score is exactly the one a
chat turn gets (0.7 × meaning + 0.3 × words, importance moving it by at most 0.02).

For each message every stored memory is scored; the three of its topic are "related", the rest
"unrelated". The bench prints both score distributions and, for candidate minimum scores, the
share of related memories kept and of unrelated ones let through.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds mcp.py, which would shadow the `mcp` package: run from the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.memory import (  # noqa: E402
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    Provenance,
)
from carrier_studio.services.memory.embedders import LocalEmbedder  # noqa: E402
from carrier_studio.services.memory.service import MemoryService  # noqa: E402
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore  # noqa: E402

#: topic: (three stored memories, two new messages about the same thing)
TOPICS: dict[str, tuple[tuple[str, str, str], tuple[str, str]]] = {
    "dog": (
        (
            "my dog Biscuit is a corgi, he's scared of the vacuum lol",
            "Biscuit sounds adorable! Corgis are such characters.",
            "I take Biscuit to the park every morning before work",
        ),
        ("what breed was my pup again?", "should I bring my dog on the lisbon trip?"),
    ),
    "lisbon": (
        (
            "planning a trip to Lisbon in May, 5 days",
            "For Lisbon, stay in Alfama and take tram 28 early before the crowds.",
            "booked the flight to portugal!! leaving may 12",
        ),
        ("any tips for my portugal holiday?", "what neighbourhood did you say to stay in?"),
    ),
    "sourdough": (
        (
            "my sourdough starter died again, third time",
            "Feed the starter twice a day and keep it somewhere warm, around 24°C.",
            "finally got a nice ear on my loaf today",
        ),
        ("why is my bread so flat and dense?", "how often should I feed the starter?"),
    ),
    "allergy": (
        (
            "heads up I'm allergic to peanuts, like seriously allergic",
            "Noted — I'll keep peanuts out of every recipe I suggest for you.",
            "had to use my epipen once at a thai place",
        ),
        ("can you suggest a satay sauce recipe?", "is pad thai safe for me to eat?"),
    ),
    "camera": (
        (
            "thinking of buying a Sony A7 IV for the channel",
            "The A7 IV is great for video; pair it with a 24-70 f/2.8.",
            "my old canon's autofocus keeps hunting in low light",
        ),
        ("which lens should I get for filming?", "is a mirrorless camera worth it for youtube?"),
    ),
    "instagram": (
        (
            "my reels get way fewer views than my carousels",
            "Post reels between 6 and 8 pm and hook viewers in the first second.",
            "hit 10k followers on insta today!!",
        ),
        ("when is the best time to post a reel?", "how do I grow my instagram account faster?"),
    ),
    "knee": (
        (
            "hurt my knee running last week, physio says rest",
            "Take it easy — swimming keeps you fit without loading the knee.",
            "knee feels better, did a slow 3k today",
        ),
        ("can I start training for the half marathon?", "what exercise is ok with a sore knee?"),
    ),
    "sister": (
        (
            "my sister Ana is getting married in September",
            "A wedding in September! Are you giving a speech?",
            "I have to write the maid of honour speech for Ana, help",
        ),
        ("can you help me with a toast for the wedding?", "what should I get my sister as a gift?"),
    ),
    "budget": (
        (
            "trying to save 300 a month for the new studio",
            "Automate the transfer on payday so the savings happen first.",
            "spent way too much on takeout this month oops",
        ),
        ("how do I stop overspending?", "am I on track with my savings plan?"),
    ),
    "vegan": (
        (
            "my partner went vegan in january",
            "For vegan dinners, lentil bolognese and chickpea curry are easy wins.",
            "made a cashew cream pasta, partner loved it",
        ),
        ("dinner ideas without meat or dairy?", "what can I cook that we both like?"),
    ),
    "sleep": (
        (
            "I keep waking up at 3am and can't fall back asleep",
            "Try no screens for an hour before bed and a cooler bedroom.",
            "the magnesium thing seems to help a bit with sleep",
        ),
        ("I'm exhausted every morning, why?", "any tips for insomnia?"),
    ),
    "japan": (
        (
            "dream trip is japan in cherry blossom season",
            "Late March in Kyoto is peak sakura; book ryokans months ahead.",
            "been learning hiragana on duolingo for the japan trip",
        ),
        ("when do the cherry trees bloom in Kyoto?", "how much japanese should I learn first?"),
    ),
    "editing": (
        (
            "switched from premiere to davinci resolve for editing",
            "Resolve's color page is worth learning; start with a simple node tree.",
            "my exports take forever on this laptop",
        ),
        ("how do I colour grade my vlog?", "why is rendering my video so slow?"),
    ),
    "plants": (
        (
            "my monstera has yellow leaves",
            "Yellow leaves usually mean overwatering; let the top soil dry out first.",
            "repotted all my houseplants this weekend",
        ),
        ("how often should I water my plants?", "my fiddle leaf fig is dropping leaves"),
    ),
    "coffee": (
        (
            "I drink like 5 espressos a day",
            "Maybe switch the afternoon ones to decaf?",
            "got a new grinder for pour over, the baratza",
        ),
        ("what grind size for a v60?", "is too much caffeine bad for anxiety?"),
    ),
    "brand_deal": (
        (
            "a skincare brand offered me 800 for a sponsored post",
            "Ask for usage rights terms in writing before you sign the deal.",
            "the contract says they own my content forever??",
        ),
        ("how much should I charge for a sponsorship?", "is this brand contract fair?"),
    ),
}

FLOORS = (0.05, 0.15, 0.20, 0.25, 0.28, 0.30, 0.32, 0.35, 0.40, 0.45)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    records: list[tuple[str, MemoryRecord]] = []
    for topic, (stored, _) in TOPICS.items():
        for n, text in enumerate(stored):
            speaker = "Mira" if n == 1 else "user"
            record = MemoryRecord("Mira", text, provenance=Provenance("chat", "1", None, speaker))
            records.append((topic, record))
    with tempfile.TemporaryDirectory(prefix="carrier-bench-") as tmp:
        store = await SqliteMemoryStore.open(Path(tmp) / "memory.db")
        service = MemoryService(store, LocalEmbedder())
        try:
            await service.remember([r for _, r in records])
            topic_of = {r.id: t for t, r in records}
            related: list[float] = []
            unrelated: list[float] = []
            best_related_rank = []
            #: Per message, the top five (what a chat turn recalls): (score, related).
            top5: list[list[tuple[float, bool]]] = []
            semantic_rel, semantic_unrel = [], []
            for topic, (_, asked) in TOPICS.items():
                for text in asked:
                    query = MemoryQuery(text, MemoryFilter(character="Mira"), len(records))
                    hits = await service.search(query)
                    first = None
                    for rank, hit in enumerate(hits):
                        mine = topic_of[hit.record.id] == topic
                        (related if mine else unrelated).append(hit.score)
                        (semantic_rel if mine else semantic_unrel).append(hit.semantic or 0.0)
                        if mine and first is None:
                            first = rank + 1
                    best_related_rank.append(first)
                    top5.append([(h.score, topic_of[h.record.id] == topic) for h in hits[:5]])
        finally:
            await store.close()
    print(f"{len(records)} memories, {2 * len(TOPICS)} messages, shipped local embedder")
    for name, values in (("related", related), ("unrelated", unrelated)):
        print(
            f"  {name:9} n={len(values):4}  p10 {_pct(values, 0.10):.3f}  "
            f"p50 {statistics.median(values):.3f}  p90 {_pct(values, 0.90):.3f}  "
            f"p99 {_pct(values, 0.99):.3f}  max {max(values):.3f}"
        )
    print(
        f"  meaning alone: related p50 {statistics.median(semantic_rel):.3f}, "
        f"unrelated p50 {statistics.median(semantic_unrel):.3f}"
    )
    print(f"  best related memory at rank 1 for {best_related_rank.count(1)} of "
          f"{len(best_related_rank)} messages")  # fmt: skip
    print("  minimum  related kept  unrelated kept   top 5 sent: related  unrelated  "
          "messages with one related sent")  # fmt: skip
    for floor in FLOORS:
        kept = sum(s >= floor for s in related) / len(related)
        through = sum(s >= floor for s in unrelated) / len(unrelated)
        sent_rel = sum(s >= floor and r for top in top5 for s, r in top) / len(top5)
        sent_un = sum(s >= floor and not r for top in top5 for s, r in top) / len(top5)
        helped = sum(any(s >= floor and r for s, r in top) for top in top5)
        print(f"  {floor:.2f}     {kept:6.0%}        {through:6.1%}   "
              f"{sent_rel:19.2f}  {sent_un:9.2f}  {helped:8} of {len(top5)}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
