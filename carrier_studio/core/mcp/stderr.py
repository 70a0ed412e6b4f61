"""What a failed MCP server's stderr says: the one line worth quoting in its error.

Plain text work, no I/O: the supervisor (``services/mcp/supervisor.py``) keeps a server's last
stderr lines and, when a start fails, quotes the line `telling_line` picks. Samples of real
failures (npx, Node, Python, npm) are in ``tests/unit/test_mcp_stderr.py``.
"""

from __future__ import annotations

import re

#: Terminal colour codes some servers print.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: Lines that never explain a failure: npm's chatter, version banners, stack frames, the
#: source line and caret Node prints above an error, the fields of a printed error object.
_NOISE = re.compile(
    r"^(?:npm (?:notice|warn|WARN)\b"
    r"|npm (?:error|ERR!) (?:code \w+$|A complete log|\s*/|\d{3}$|\d{3} (?:Note that|tarball,))"
    r"|Node\.js v\d|v?\d+\.\d+\.\d+$|Python \d+\.\d+"
    r"|at\s|File \"|Traceback \(most recent call last\)|During handling of the above"
    r"|[\^~]+$|throw \w+;?$|node:internal/"
    r"|[A-Za-z]+: \[?\]?$|[A-Za-z]+: '[^']*',?$|[{}\[\]()]+,?$)"
)
#: Lines that say what went wrong: an exception or error line, or a well-known cause.
_TELLING = re.compile(
    r"\b(?:\w*Error|\w*Exception|ERROR|FATAL|[Ff]atal|error)\b\s*[:\[]"
    r"|Cannot find module|\bE(?:NOENT|ACCES|ADDRINUSE|CONNREFUSED|PERM)\b|not accessible"
    r"|[Nn]o such file|command not found|[Pp]ermission denied|^npm (?:error|ERR!) "
)
#: Longest stderr line an error summary quotes.
_LINE_LIMIT = 300


def telling_line(lines: list[str]) -> str:
    """The stderr line that best says why a server failed, or "".

    A server's last line is often a banner ("Node.js v20.20.2") or npm's notice about a new
    version; the cause is an ``Error:`` line above it, or a Python traceback's last exception
    line. The last error-like line wins (a traceback's final exception, the newest failure);
    without one, the last line that is not noise; warnings only when nothing else is left.
    """
    best, best_rank = "", 0
    for raw in lines:
        line = _ANSI.sub("", raw).strip()
        if not line or _NOISE.match(line):
            continue
        if _TELLING.search(line):
            rank = 3
        elif line.lower().startswith(("warning", "warn:", "[warn")):
            rank = 1
        else:
            rank = 2
        if rank >= best_rank:
            best, best_rank = line, rank
    return best if len(best) <= _LINE_LIMIT else best[: _LINE_LIMIT - 1] + "…"
