"""Which stderr line a failed MCP server's error quotes. The samples are verbatim stderr of
real failures, captured with Node v20.20.2, npm 10 and CPython 3.12."""

from __future__ import annotations

import pytest

from carrier_studio.core.mcp.stderr import telling_line

# @modelcontextprotocol/server-filesystem given a directory that does not exist.
FILESYSTEM = """\
Warning: Cannot access directory /nonexistent/dir-xyz, skipping
Error: None of the specified directories are accessible
"""

# node given a script that does not exist (a wrong path in "args").
NODE_MISSING_MODULE = """\
node:internal/modules/cjs/loader:1210
  throw err;
  ^

Error: Cannot find module '/tmp/does-not-exist.js'
    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)
    at Module._load (node:internal/modules/cjs/loader:1038:27)
    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:164:12)
    at node:internal/main/run_main_module:28:49 {
  code: 'MODULE_NOT_FOUND',
  requireStack: []
}

Node.js v20.20.2
"""

# npx asked for a package that is not on the registry.
NPX_NOT_FOUND = """\
npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/@modelcontextprotocol%2fserver-nonexistent-carrier
npm error 404
npm error 404  The requested resource '@modelcontextprotocol/server-nonexistent-carrier@*' could not be found or you do not have permission to access it.
npm error 404
npm error 404 Note that you can also install from a
npm error 404 tarball, folder, http url, or git url.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-12-03T04_08_26_933Z-debug-0.log
"""  # noqa: E501 - verbatim

# npx offline, the package not cached.
NPX_OFFLINE = """\
npm error code ENOTCACHED
npm error request to https://registry.npmjs.org/@modelcontextprotocol%2fserver-nonexistent-xyz failed: cache mode is 'only-if-cached' but no cached response is available.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-12-03T04_07_31_752Z-debug-0.log
"""  # noqa: E501 - verbatim

# A Python server whose dependency is missing.
PYTHON_IMPORT = """\
Traceback (most recent call last):
  File "<string>", line 1, in <module>
ModuleNotFoundError: No module named 'not_a_module_xyz'
"""

# A Python server whose error was raised while handling another.
PYTHON_CHAINED = """\
Traceback (most recent call last):
  File "/tmp/chain.py", line 5, in <module>
    open("/nonexistent/config.json")
FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/config.json'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/tmp/chain.py", line 7, in <module>
    main()
  File "/tmp/chain.py", line 3, in main
    raise RuntimeError("could not connect")
RuntimeError: could not connect
"""

# An HTTP server (uvicorn's log format) whose port is taken: the error is followed by
# ordinary shutdown lines.
UVICORN_PORT_TAKEN = """\
INFO:     Started server process [41873]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use
INFO:     Waiting for application shutdown.
INFO:     Application shutdown complete.
"""  # noqa: E501 - verbatim

# A working server's start-up chatter followed by npm's update notice.
NPM_NOTICE = """\
Secure MCP Filesystem Server running on stdio
npm notice
npm notice New major version of npm available! 10.8.2 -> 11.6.2
npm notice Changelog: https://github.com/npm/cli/releases/tag/v11.6.2
npm notice To update run: npm install -g npm@11.6.2
npm notice
"""


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (FILESYSTEM, "Error: None of the specified directories are accessible"),
        (NODE_MISSING_MODULE, "Error: Cannot find module '/tmp/does-not-exist.js'"),
        (
            NPX_NOT_FOUND,
            "npm error 404  The requested resource '@modelcontextprotocol/server-nonexistent-"
            "carrier@*' could not be found or you do not have permission to access it.",
        ),
        (
            NPX_OFFLINE,
            "npm error request to https://registry.npmjs.org/@modelcontextprotocol%2fserver-"
            "nonexistent-xyz failed: cache mode is 'only-if-cached' but no cached response is "
            "available.",
        ),
        (PYTHON_IMPORT, "ModuleNotFoundError: No module named 'not_a_module_xyz'"),
        (PYTHON_CHAINED, "RuntimeError: could not connect"),
        (
            UVICORN_PORT_TAKEN,
            "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', "
            "8000): address already in use",
        ),
        (NPM_NOTICE, "Secure MCP Filesystem Server running on stdio"),
    ],
    ids=[
        "filesystem",
        "node",
        "npx-404",
        "npx-offline",
        "py-import",
        "py-chained",
        "uvicorn",
        "notice",
    ],
)
def test_the_telling_line_is_chosen(stderr, expected):
    assert telling_line(stderr.splitlines()) == expected


def test_colour_codes_are_dropped_and_long_lines_cut():
    assert telling_line(["\x1b[31mError: bad config\x1b[0m", "Node.js v22.1.0"]) == (
        "Error: bad config"
    )
    line = telling_line(["Error: " + "x" * 1000])
    assert len(line) == 300 and line.endswith("…")


def test_only_noise_or_nothing_gives_nothing():
    assert telling_line([]) == ""
    assert telling_line(["", "Node.js v20.20.2", "npm notice", "    at main (x.js:1:1)"]) == ""


def test_a_warning_is_quoted_only_when_nothing_else_is_left():
    assert telling_line(["Warning: low disk space"]) == "Warning: low disk space"
