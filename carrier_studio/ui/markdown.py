"""Markdown to the HTML subset Qt's rich text understands, with highlighted code blocks.

Qt's QTextDocument ignores CSS classes, so code is highlighted with inline styles (pygments'
``noclasses``). Rendering is pure and cached per text, so a streaming message re-renders cheaply.
"""

from __future__ import annotations

import html
from functools import lru_cache

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name, guess_lexer
from pygments.util import ClassNotFound


def _code_block(code: str, language: str, dark: bool) -> str:
    try:
        lexer = get_lexer_by_name(language) if language else guess_lexer(code)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    style = "monokai" if dark else "friendly"
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style=style)
    body = highlight(code, lexer, formatter)
    background = "#272822" if dark else "#f4f4f8"
    return f'<pre style="background:{background}; padding:8px; font-family:monospace;">{body}</pre>'


def _parser(dark: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def fence(renderer, tokens, idx, options, env) -> str:  # noqa: ANN001 - markdown-it's rule
        token = tokens[idx]
        language = token.info.strip().split()[0] if token.info.strip() else ""
        return _code_block(token.content, language, dark)

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    return md


_PARSERS = {False: _parser(False), True: _parser(True)}


@lru_cache(maxsize=512)
def to_html(text: str, dark: bool = False) -> str:
    """HTML for a chat message; raw HTML in the text is shown as text, never interpreted."""
    try:
        return _PARSERS[dark].render(text)
    except Exception:  # noqa: BLE001 - a rendering bug must never hide the message itself
        return f"<pre>{html.escape(text)}</pre>"
