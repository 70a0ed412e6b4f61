"""Command line: ``carrier-studio [gui]``, ``doctor``, ``headless``, ``memory …``, ``test …``.

Kept free of Qt and heavy imports so ``doctor`` answers fast and works without a display.
"""

from __future__ import annotations

import argparse

from carrier_studio import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carrier-studio",
        description="Build, test and run AI agents (characters) on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--workspace",
        metavar="PATH",
        help="workspace folder to open (default: $CARRIER_STUDIO_HOME, else the one in your "
        "user data folder). A Carrier checkout works as it is.",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen on a throw-away workspace, check every part, and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="open the studio window (the default)")
    # For bench/startup.py: print the wall-clock time of the first paint and quit.
    gui.add_argument("--exit-after-first-paint", action="store_true", help=argparse.SUPPRESS)
    commands.add_parser("doctor", help="print versions, workspace, keyring and provider status")
    headless = commands.add_parser(
        "headless",
        help="run the Discord bot and the Instagram publisher (and what they need) without a "
        "window",
    )
    headless.add_argument(
        "--discord",
        metavar="CHARACTER",
        help="answer on Discord as CHARACTER (default: the character chosen in Settings)",
    )
    headless.add_argument(
        "--no-instagram",
        action="store_true",
        help="do not publish queued Instagram posts from this process",
    )
    # Runs a tool-maker MCP server (a Python file) with the studio's own interpreter and
    # packages; the packaged app has no separate Python to run it with.
    run_tool = commands.add_parser("run-tool", help=argparse.SUPPRESS)
    run_tool.add_argument("file")

    from carrier_studio.memory_cli import add_parser

    add_parser(commands)
    from carrier_studio.characters_cli import add_parser as add_characters_parser

    add_characters_parser(commands)
    from carrier_studio.mcp_cli import add_parser as add_mcp_parser

    add_mcp_parser(commands)
    from carrier_studio.scenarios_cli import add_parser as add_test_parser

    add_test_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.self_test:
        from carrier_studio.app import run_self_test

        return run_self_test(args)
    command = args.command or "gui"
    if command == "doctor":
        from carrier_studio.doctor_cli import run_doctor

        return run_doctor(args)
    if command == "run-tool":
        import runpy
        import sys

        sys.argv = [args.file]
        runpy.run_path(args.file, run_name="__main__")
        return 0
    if command == "memory":
        from carrier_studio.memory_cli import run_memory

        return run_memory(args)
    if command == "characters":
        from carrier_studio.characters_cli import run_characters

        return run_characters(args)
    if command == "mcp":
        from carrier_studio.mcp_cli import run_mcp

        return run_mcp(args)
    if command == "test":
        from carrier_studio.scenarios_cli import run_tests

        return run_tests(args)
    if command == "headless":
        from carrier_studio.headless import run_headless

        return run_headless(args)
    from carrier_studio.app import run_gui

    return run_gui(args)
