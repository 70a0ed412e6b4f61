"""doctor and the core/service layers run on a server: importing them loads no Qt."""

from __future__ import annotations

import subprocess
import sys


def test_cli_doctor_path_imports_no_qt_and_no_heavy_sdk():
    code = (
        "import sys, carrier_studio.cli, carrier_studio.app;"
        "import carrier_studio.services.platform.doctor;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'qasync', 'agents', 'openai', 'anthropic', 'mcp', 'discord', 'supabase')];"
        "print(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
