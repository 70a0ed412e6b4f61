"""The frozen app's entry point: what `carrier-studio` (the console script) runs, for PyInstaller.

PyInstaller needs a script, not a `module:function` entry point. `freeze_support()` comes first so
a child process started by multiprocessing (spawn, the default on macOS and Windows) runs its
task instead of opening a second studio.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from carrier_studio.cli import main

    sys.exit(main())
