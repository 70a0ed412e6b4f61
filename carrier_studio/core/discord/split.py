"""Splitting a long answer into Discord messages (at most 2000 characters each).

The text is cut into blocks first: fenced code blocks, whole, and prose paragraphs (separated by
blank lines). Blocks are packed into chunks in order, so a chunk ends at a paragraph or code-block
boundary whenever the next block does not fit. Only a block longer than the limit is cut inside:
prose at the last line break that fits, else the last sentence end, else the last space, else
anywhere; a code block between lines (a single over-long line anywhere), its fence closed at the
end of one chunk and reopened with the same language at the start of the next. Inside a chunk the
original text is kept as it was; whitespace at a cut is dropped (Discord trims it anyway).

Code blocks follow Discord's reading of markdown: a block opens with a line that starts with
three backticks (the language is the word right after them) and ends at the next line that
contains three backticks; an unclosed block runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DISCORD_LIMIT = 2000

_FENCE_OPEN = re.compile(r"[ \t]{0,3}(`{3,})([^\s`]*)(.*)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
# A sentence ends with . ! ? or … (maybe followed by closing quotes, brackets or emphasis) before
# whitespace; CJK full stops end one without a space.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]»*_]*(?=\s)|[。！？]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class _Piece:
    """Text for a chunk that stands for ``original[start:end]`` (plus any fences it adds)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Block:
    kind: str  # "prose" or "code"
    start: int
    end: int
    fence: str = ""
    language: str = ""
    closed: bool = False


def split_reply(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    """Cut ``text`` into chunks of at most ``limit`` characters, in order, none empty."""
    if limit < 40:
        raise ValueError("limit must be at least 40 characters")
    pieces: list[_Piece] = []
    for block in _blocks(text):
        if block.kind == "code":
            pieces += _split_code(text, block, limit)
        else:
            pieces += _split_prose(text, block.start, block.end, limit)
    return _pack(text, pieces, limit)


def _pack(text: str, pieces: list[_Piece], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    previous_end = 0
    for piece in pieces:
        separator = text[previous_end : piece.start]
        if current and len(current) + len(separator) + len(piece.text) <= limit:
            current += separator + piece.text
        else:
            if current:
                chunks.append(current)
            current = piece.text
        previous_end = piece.end
    if current:
        chunks.append(current)
    return chunks


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text[start:end]``, newlines excluded."""
    lines = []
    position = start
    while True:
        newline = text.find("\n", position, end)
        if newline == -1:
            lines.append((position, end))
            return lines
        lines.append((position, newline))
        position = newline + 1


def _blocks(text: str) -> list[_Block]:
    """Code blocks and prose paragraphs in order, without surrounding whitespace."""
    blocks: list[_Block] = []
    lines = _lines(text, 0, len(text))
    prose_from = 0
    index = 0
    while index < len(lines):
        start, end = lines[index]
        opening = _FENCE_OPEN.fullmatch(text, start, end)
        if opening is None:
            index += 1
            continue
        fence, language, rest = opening.groups()
        if "```" in rest:  # ```a one-line block```
            last, close_end, closed = index, end, True
        else:
            last, close_end, closed = len(lines) - 1, len(text), False
            for later in range(index + 1, len(lines)):
                if "```" in text[lines[later][0] : lines[later][1]]:
                    last, close_end, closed = later, lines[later][1], True
                    break
        blocks += _prose_blocks(text, prose_from, start)
        block_start, block_end = _trim(text, start, close_end)
        blocks.append(_Block("code", block_start, block_end, fence, language, closed))
        prose_from = close_end
        index = last + 1
    blocks += _prose_blocks(text, prose_from, len(text))
    return blocks


def _prose_blocks(text: str, start: int, end: int) -> list[_Block]:
    spans = []
    position = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, end))
    blocks = []
    for a, b in spans:
        a, b = _trim(text, a, b)
        if a < b:
            blocks.append(_Block("prose", a, b))
    return blocks


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_prose(text: str, start: int, end: int, limit: int) -> list[_Piece]:
    pieces = []
    while start < end:
        if end - start <= limit:
            pieces.append(_Piece(start, end, text[start:end]))
            break
        cut = _best_cut(text, start, start + limit)
        piece_start, piece_end = _trim(text, start, cut)
        if piece_start < piece_end:
            pieces.append(_Piece(piece_start, piece_end, text[piece_start:piece_end]))
        start, _ = _trim(text, cut, end)
    return pieces


def _best_cut(text: str, start: int, stop: int) -> int:
    """Where a piece that starts at ``start`` and must end by ``stop`` ends best."""
    for pattern in (_LINE_BREAK, _SENTENCE_END, _SPACE):
        cut = None
        for match in pattern.finditer(text, start, stop + 1):
            # A piece ends where whitespace starts; a sentence ends after its mark.
            end = match.end() if pattern is _SENTENCE_END else match.start()
            if end <= stop and text[start:end].strip():
                cut = end
        if cut is not None:
            return cut
    return stop


def _split_code(text: str, block: _Block, limit: int) -> list[_Piece]:
    if block.end - block.start <= limit:
        return [_Piece(block.start, block.end, text[block.start : block.end])]
    lines = _lines(text, block.start, block.end)
    opening = text[lines[0][0] : lines[0][1]]
    reopen = block.fence + block.language
    close = block.fence
    overhead = max(len(opening), len(reopen)) + len(close) + 2
    if overhead > limit // 2 or len(lines) < 2:
        # A fence line this long (or a one-line block) is not worth keeping: cut it like prose.
        return _split_prose(text, block.start, block.end, limit)
    body = lines[1:-1] if block.closed else lines[1:]
    closing = text[lines[-1][0] : lines[-1][1]] if block.closed else ""

    pieces: list[_Piece] = []
    head, head_start, head_end, has_body = opening, lines[0][0], lines[0][1], False
    for line_start, line_end in body:
        for part_start, part_end in _hard_parts(line_start, line_end, limit - overhead):
            # Room for the part and, after it, the fence that closes this piece.
            if has_body and len(head) + 1 + (part_end - part_start) + 1 + len(close) > limit:
                pieces.append(_Piece(head_start, head_end, head + "\n" + close))
                head, head_start, has_body = reopen, part_start, False
            head += "\n" + text[part_start:part_end]
            head_end = part_end
            has_body = True
    if closing:
        if len(head) + 1 + len(closing) > limit:
            pieces.append(_Piece(head_start, head_end, head + "\n" + close))
            head, head_start = reopen, lines[-1][0]
        pieces.append(_Piece(head_start, lines[-1][1], head + "\n" + closing))
    else:
        pieces.append(_Piece(head_start, head_end, head))
    return pieces


def _hard_parts(start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A line cut into parts of at most ``size`` characters (one part for a normal line)."""
    if end - start <= size:
        return [(start, end)]
    return [(a, min(a + size, end)) for a in range(start, end, size)]
