import os
import stat

import pytest

from trace_engine.evidence.signing import (
    EM_DASH,
    NoteError,
    SigningKey,
    VerifierKey,
    checkpoint_body,
    load_signing_key,
    load_verifier_key,
    parse_checkpoint,
    sign_note,
    write_keypair,
)


def test_keygen_files(tmp_path):
    priv, pub = write_keypair(tmp_path)
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    k = load_signing_key(priv)
    v = load_verifier_key(pub)
    assert k.verifier == v
    assert priv.read_text().startswith("PRIVATE+KEY+trace.example/log+")
    with pytest.raises(FileExistsError):
        write_keypair(tmp_path)


def test_key_roundtrip_many():
    for _ in range(30):  # base64 with '+' inside must parse
        k = SigningKey.generate("log.example/x")
        assert SigningKey.parse(k.encode()) == k
        assert VerifierKey.parse(k.verifier.encode()) == k.verifier


def test_checkpoint_sign_parse_verify():
    k = SigningKey.generate()
    body = checkpoint_body("acme", 42, b"\x07" * 32)
    assert body.splitlines() == ["trace.example/log/acme", "42", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="]
    note, _sig = sign_note(body, k)
    assert f"\n\n{EM_DASH} {k.name} " in note
    ck = parse_checkpoint(note)
    assert (ck.tenant, ck.size, ck.root) == ("acme", 42, b"\x07" * 32)
    assert ck.verify(k.verifier) is None
    assert ck.verify(SigningKey.generate().verifier) == "signed by an unknown key"
    forged = parse_checkpoint(note.replace("\n42\n", "\n43\n"))
    assert forged.verify(k.verifier) == "checkpoint signature invalid"


@pytest.mark.parametrize("text", ["", "a\nb\nc\n", "o\nx\nAAAA\n\n— k AAAA\n", "o\n1\nAAAA\n\n"])
def test_malformed_notes(text):
    with pytest.raises(NoteError):
        parse_checkpoint(text)
