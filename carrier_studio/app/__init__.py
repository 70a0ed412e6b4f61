"""The window's composition root: the QApplication and qasync loop (`run`), the page registry
(`pages`), the window's half of a session (`window`), and the self-test.

Importing this package is cheap (no Qt, no services): the command line reaches `run_gui` and
`run_self_test` through it.
"""

from __future__ import annotations

import argparse


def run_gui(args: argparse.Namespace) -> int:
    from carrier_studio.app.run import run_gui as run

    return run(args)


def run_self_test(args: argparse.Namespace) -> int:
    from carrier_studio.app.self_test import run_self_test as run

    return run(args)
