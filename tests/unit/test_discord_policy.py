"""When the Discord bot answers, what it hands the agent, and how a long reply is split."""

from __future__ import annotations

import random
import re

import pytest

from carrier_studio.core.discord import (
    BotPhase,
    BotPolicy,
    BotStatus,
    IncomingMessage,
    clean_prompt,
    should_answer,
    split_reply,
)
from carrier_studio.core.discord import policy as rules
from carrier_studio.core.status import State

BOT = 1000
HUMAN = 2000
OTHER_BOT = 3000
GENERAL = 50
RANDOM = 51


def message(
    content: str = f"<@{BOT}> hello",
    *,
    author: int = HUMAN,
    author_is_bot: bool = False,
    channel_id: int = GENERAL,
    channel_name: str = "general",
    mentions: tuple[int, ...] = (BOT,),
    dm: bool = False,
) -> IncomingMessage:
    return IncomingMessage(
        id=1,
        channel_id=channel_id,
        channel_name="" if dm else channel_name,
        guild_id=None if dm else 7,
        author_id=author,
        author_is_bot=author_is_bot,
        content=content,
        mentions=list(mentions),
        is_dm=dm,
    )


@pytest.mark.parametrize(
    ("incoming", "policy", "expected"),
    [
        (message(), BotPolicy(), (True, rules.ANSWER)),
        (message(f"<@!{BOT}> hi"), BotPolicy(), (True, rules.ANSWER)),
        (message("hello", mentions=()), BotPolicy(), (False, rules.NOT_MENTIONED)),
        (message("hello", mentions=()), BotPolicy(mentions_only=False), (True, rules.ANSWER)),
        (message("hi <@5>", mentions=(5,)), BotPolicy(), (False, rules.NOT_MENTIONED)),
        (message(author=BOT), BotPolicy(), (False, rules.OWN_MESSAGE)),
        (
            message(author=BOT, mentions=()),
            BotPolicy(mentions_only=False, ignore_bots=False),
            (False, rules.OWN_MESSAGE),
        ),
        (message(author=OTHER_BOT, author_is_bot=True), BotPolicy(), (False, rules.FROM_BOT)),
        (
            message(author=OTHER_BOT, author_is_bot=True),
            BotPolicy(ignore_bots=False),
            (True, rules.ANSWER),
        ),
        (message("hi", mentions=(), dm=True), BotPolicy(), (False, rules.DMS_OFF)),
        (message("hi", mentions=(), dm=True), BotPolicy(allow_dms=True), (True, rules.ANSWER)),
        (
            message("hi", mentions=(), dm=True),
            BotPolicy(allow_dms=True, channel_allowlist={"general"}),
            (True, rules.ANSWER),
        ),
        (message(), BotPolicy(channel_allowlist={"general"}), (True, rules.ANSWER)),
        (message(), BotPolicy(channel_allowlist={"#General"}), (True, rules.ANSWER)),
        (message(), BotPolicy(channel_allowlist={GENERAL}), (True, rules.ANSWER)),
        (message(), BotPolicy(channel_allowlist={str(GENERAL)}), (True, rules.ANSWER)),
        (
            message(channel_id=RANDOM, channel_name="random"),
            BotPolicy(channel_allowlist={"general", GENERAL}),
            (False, rules.NOT_ALLOWED_CHANNEL),
        ),
        (
            message("hello", mentions=(), channel_id=RANDOM, channel_name="random"),
            BotPolicy(mentions_only=False, channel_allowlist=frozenset({"general"})),
            (False, rules.NOT_ALLOWED_CHANNEL),
        ),
        (message(f"<@{BOT}>"), BotPolicy(), (False, rules.EMPTY)),
        (message(f"  <@{BOT}>  \n "), BotPolicy(), (False, rules.EMPTY)),
    ],
)
def test_should_answer(incoming, policy, expected):
    assert should_answer(incoming, BOT, policy) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"<@{BOT}> hello", "hello"),
        (f"<@!{BOT}> hello", "hello"),
        (f"hello <@{BOT}>", "hello"),
        (f"hey <@{BOT}>, how are you?", "hey , how are you?"),
        (f"ask <@{BOT}> and <@{BOT}> twice", "ask and twice"),
        (f"<@{BOT}> thanks <@42>", "thanks <@42>"),
        (f"<@{BOT}>\n```py\n    x = 1\n```", "```py\n    x = 1\n```"),
        (f"<@{BOT}12> not me", f"<@{BOT}12> not me"),
        ("", ""),
    ],
)
def test_clean_prompt(content, expected):
    assert clean_prompt(content, BOT) == expected


def test_status_maps_to_the_status_bar_states():
    assert BotStatus(BotPhase.CONNECTED, "connected as Ada").state is State.RUNNING
    assert BotStatus(BotPhase.CONNECTING).state is State.STARTING
    assert BotStatus(BotPhase.RECONNECTING).state is State.STARTING
    assert BotStatus(BotPhase.ERROR, "the bot token was refused").state is State.ERROR
    assert BotStatus(BotPhase.STOPPED).state is State.STOPPED


# -- split_reply -----------------------------------------------------------------------------

_REOPEN = re.compile(r"```[^\s`]*\n")


def fence_lines(chunk: str) -> int:
    return sum(1 for line in chunk.split("\n") if line.lstrip().startswith("```"))


def cores(chunk: str) -> list[str]:
    """The chunk, and the chunk without fences the split may have added at its ends."""
    found = [chunk]
    opened = _REOPEN.match(chunk)
    if chunk.endswith("\n```"):
        found.append(chunk[:-4])
    if opened:
        found.append(chunk[opened.end() :])
        if chunk.endswith("\n```"):
            found.append(chunk[opened.end() : -4])
    return found


def assert_nothing_lost(original: str, chunks: list[str]) -> None:
    """Each chunk (less added fences) is the next stretch of the original; only whitespace at
    the cuts is missing."""
    position = 0
    for number, chunk in enumerate(chunks):
        for core in cores(chunk):
            index = original.find(core, position)
            if index != -1 and not original[position:index].strip():
                position = index + len(core)
                break
        else:
            raise AssertionError(f"chunk {number} is not the next part of the text: {chunk!r}")
    assert not original[position:].strip(), "text after the last chunk was lost"


def assert_well_formed(original: str, chunks: list[str], limit: int) -> None:
    assert chunks, "a non-empty text gives at least one chunk"
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        assert chunk == chunk.strip(), "no whitespace at a chunk's ends"
        assert fence_lines(chunk) % 2 == 0, f"a code fence is left open: {chunk!r}"
    assert_nothing_lost(original, chunks)


def test_short_text_is_one_chunk_and_empty_text_none():
    assert split_reply("Hello there.") == ["Hello there."]
    assert split_reply("  Hello there.\n\n") == ["Hello there."]
    assert split_reply("") == []
    assert split_reply(" \n\n \t") == []
    exactly = "x" * 2000
    assert split_reply(exactly) == [exactly]


def test_paragraphs_are_packed_and_cut_between():
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(5)]  # ≈770 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)
    chunks = split_reply(text)
    assert_well_formed(text, chunks, 2000)
    assert len(chunks) == 3
    assert [c.count("Paragraph") for c in chunks] == [2, 2, 1]
    for chunk in chunks:
        assert chunk.startswith("Paragraph") and chunk.endswith("word")


def test_a_long_paragraph_is_cut_at_sentence_ends():
    text = " ".join(f"Sentence number {i} says something modest." for i in range(150))
    chunks = split_reply(text)
    assert_well_formed(text, chunks, 2000)
    assert len(chunks) == 4
    assert all(chunk.endswith(".") for chunk in chunks)
    assert all(chunk.startswith("Sentence number") for chunk in chunks)


def test_line_breaks_come_before_sentence_ends():
    lines = [f"- item {i}: first part. Second part of it." for i in range(100)]
    text = "\n".join(lines)
    chunks = split_reply(text, limit=300)
    assert_well_formed(text, chunks, 300)
    assert all(chunk.startswith("- item") and chunk.endswith("of it.") for chunk in chunks)


def test_text_without_spaces_is_cut_anywhere():
    text = "x" * 4500
    assert [len(c) for c in split_reply(text)] == [2000, 2000, 500]


def test_a_code_block_that_fits_is_never_cut():
    prose = "Intro sentence. " * 90  # ≈1440 characters
    code = "```python\n" + "\n".join(f"value_{i} = {i}" for i in range(60)) + "\n```"
    text = prose.strip() + "\n\n" + code + "\n\nThat was the code."
    chunks = split_reply(text)
    assert_well_formed(text, chunks, 2000)
    assert chunks[0] == prose.strip()
    assert chunks[1] == code + "\n\nThat was the code."


def test_a_code_block_right_after_a_line_of_prose():
    text = "Here it is:\n```js\nconsole.log(1)\n```\nDone."
    assert split_reply(text) == [text]
    chunks = split_reply(text + "\n" + "y" * 60, limit=50)
    assert chunks[0] == "Here it is:\n```js\nconsole.log(1)\n```\nDone."
    assert_well_formed(text + "\n" + "y" * 60, chunks, 50)


def test_a_long_code_block_is_closed_and_reopened_with_its_language():
    body = "\n".join(f"def f{i}(x):\n    return x * {i}" for i in range(150))
    text = "Look:\n\n```python\n" + body + "\n```\n\nThat is all."
    chunks = split_reply(text)
    assert_well_formed(text, chunks, 2000)
    code_chunks = [c for c in chunks if "def f" in c]
    assert len(code_chunks) >= 3
    # The short paragraph before the block shares the first chunk with it.
    assert code_chunks[0].startswith("Look:\n\n```python\ndef f0(x):")
    for chunk in code_chunks[1:]:
        assert chunk.startswith("```python\n")
    for chunk in code_chunks[:-1]:
        assert chunk.endswith("\n```")
    assert chunks[-1].endswith("```\n\nThat is all.")
    # Cuts fall between lines: no line of the block is broken.
    lines = set(body.split("\n"))
    for chunk in code_chunks:
        inner = [line for line in chunk.split("\n") if not line.startswith(("```", "Look"))]
        assert all(line in lines for line in inner if line and line != "That is all.")


def test_one_enormous_line_in_a_code_block_is_cut_inside_with_fences():
    text = "```\n" + "z" * 5000 + "\n```"
    chunks = split_reply(text)
    assert_well_formed(text, chunks, 2000)
    assert len(chunks) == 3
    assert all(c.startswith("```\n") and c.endswith("\n```") for c in chunks)
    assert "".join(c[4:-4] for c in chunks) == "z" * 5000


def test_an_unclosed_code_block_runs_to_the_end():
    text = "Start:\n```sh\n" + "\n".join(f"echo {i}" for i in range(400))
    chunks = split_reply(text)
    assert_nothing_lost(text, chunks)
    assert all(len(c) <= 2000 for c in chunks)
    assert chunks[-1].startswith("```sh\n") and not chunks[-1].endswith("```")


def test_a_one_line_code_block_is_a_block():
    a, b = ("a " * 15).strip(), ("b " * 15).strip()
    assert split_reply(f"{a}\n```one line```\n{b}", limit=40) == [a, "```one line```", b]


def _generated(seed: int) -> tuple[str, list[str]]:
    """A reply of prose and code with random sizes, and its code blocks."""
    rng = random.Random(seed)
    words = "the a tide moon rises falls quickly slowly data model river light".split()
    parts, blocks = [], []
    for _ in range(rng.randint(3, 25)):
        if rng.random() < 0.3:
            language = rng.choice(["", "python", "js", "c++"])
            lines = [
                " " * rng.choice([0, 4, 8]) + " ".join(rng.choices(words, k=rng.randint(0, 12)))
                for _ in range(rng.randint(1, rng.choice([5, 40, 150])))
            ]
            block = f"```{language}\n" + "\n".join(lines) + "\n```"
            blocks.append(block)
            parts.append(block)
        else:
            sentences = []
            for _ in range(rng.randint(1, rng.choice([3, 30, 80]))):
                sentence = " ".join(rng.choices(words, k=rng.randint(1, 25)))
                sentences.append(sentence.capitalize() + rng.choice([".", "!", "?", ".)"]))
            joiner = rng.choice([" ", " ", "\n"])
            parts.append(joiner.join(sentences))
    separators = [rng.choice(["\n\n", "\n", "\n\n\n"]) for _ in parts]
    text = "".join(sep + part for sep, part in zip(separators, parts, strict=True))
    return text, blocks


@pytest.mark.parametrize("limit", [2000, 500, 120])
@pytest.mark.parametrize("seed", range(25))
def test_generated_replies_keep_every_promise(seed, limit):
    text, blocks = _generated(seed)
    chunks = split_reply(text, limit=limit)
    assert_well_formed(text, chunks, limit)
    for block in blocks:
        if len(block) <= limit:
            assert any(block in chunk for chunk in chunks), "a block that fits is never cut"
