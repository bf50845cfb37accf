"""Ed25519 keys and C2SP signed notes / checkpoints.

Key files use the Go ``golang.org/x/mod/sumdb/note`` text encodings:

* ``trace.key`` (private, mode 0600): ``PRIVATE+KEY+<name>+<hex keyid>+<base64(0x01 || 32-byte seed)>``
* ``trace.pub`` (verifier key):        ``<name>+<hex keyid>+<base64(0x01 || 32-byte public key)>``

``keyid = SHA-256(name || "\\n" || 0x01 || public key)[:4]`` (0x01 is the Ed25519 algorithm byte).

A checkpoint (C2SP tlog-checkpoint) is the note text::

    trace.example/log/<tenant>          (the directory log, which lists the tenants: trace.example/directory)
    <tree size, decimal>
    <base64 RFC 6962 root>

followed by a blank line and one signature line per signer: ``— <name> <base64(keyid || signature)>``, where the
Ed25519 signature covers the note text (every line above, each ending in ``\\n``). A note may carry several
signatures (a key rotation co-signs with the old and the new key); a verifier accepts a note signed by any key of
its trusted set (:func:`verify_note`).

Trusted-keys files hold one verifier key per line; blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

ORIGIN_PREFIX = "trace.example/log/"
DIRECTORY_ORIGIN = "trace.example/directory"
#: The directory log's tenant key: not a valid tenant name, so it can never collide with one.
DIRECTORY = ""
DEFAULT_KEY_NAME = "trace.example/log"
ALG_ED25519 = 0x01
EM_DASH = "\u2014"
_NAME_RE = re.compile(r"^[^\s+]+$")
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


class KeyError_(ValueError):
    """A key file that cannot be parsed."""


class NoteError(ValueError):
    """A signed note that cannot be parsed or whose signature does not verify."""


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


def _raw_public(pk: Ed25519PublicKey) -> bytes:
    return pk.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise KeyError_("verifier key must be <name>+<hex keyid>+<base64 key>")
        name, hexid, b64 = parts
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise KeyError_("verifier key: bad base64") from None
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise KeyError_("verifier key: not an Ed25519 key")
        vk = cls(name, raw[1:])
        if vk.key_id.hex() != hexid.lower():
            raise KeyError_("verifier key: key id does not match the key")
        return vk

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
            return True
        except InvalidSignature:
            return False


@lru_cache(maxsize=16)
def _private_key(seed: bytes) -> tuple[Ed25519PrivateKey, bytes]:
    """The key object of ``seed`` and its raw public key. Made once per seed: deriving the public point costs as
    much as a signature, and every commit's checkpoint asked for it two or three times (a tenth of the appending
    process's instructions in a re-scoring run). A bad seed raises each time, as ``from_private_bytes`` does."""
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    return sk, _raw_public(sk.public_key())


@dataclass(frozen=True)
class SigningKey:
    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str = DEFAULT_KEY_NAME) -> SigningKey:
        if not _NAME_RE.match(name):
            raise KeyError_("key name must not contain spaces or '+'")
        sk = Ed25519PrivateKey.generate()
        return cls(name, sk.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @property
    def _sk(self) -> Ed25519PrivateKey:
        return _private_key(self.seed)[0]

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, _private_key(self.seed)[1])

    def sign(self, message: bytes) -> bytes:
        return _private_key(self.seed)[0].sign(message)

    def encode(self) -> str:
        kid = self.verifier.key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{kid}+{base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()}"

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise KeyError_("private key must be PRIVATE+KEY+<name>+<hex keyid>+<base64 key>")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except ValueError:
            raise KeyError_("private key: bad base64") from None
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise KeyError_("private key: not an Ed25519 key")
        k = cls(parts[2], raw[1:])
        if k.verifier.key_id.hex() != parts[3].lower():
            raise KeyError_("private key: key id does not match the key")
        return k


def write_keypair(out_dir: str | os.PathLike[str], name: str = DEFAULT_KEY_NAME, overwrite: bool = False) -> tuple[Path, Path]:
    """Generate a key pair into ``out_dir/trace.key`` (0600) and ``out_dir/trace.pub``."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    priv, pub = d / "trace.key", d / "trace.pub"
    if not overwrite and (priv.exists() or pub.exists()):
        raise FileExistsError(f"{priv} or {pub} already exists")
    key = SigningKey.generate(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(priv, flags, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.encode() + "\n")
    os.chmod(priv, 0o600)
    pub.write_text(key.verifier.encode() + "\n")
    return priv, pub


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    return SigningKey.parse(Path(path).read_text())


def load_verifier_key(path_or_text: str | os.PathLike[str]) -> VerifierKey:
    p = Path(path_or_text)
    if p.exists():
        return VerifierKey.parse(p.read_text())
    return VerifierKey.parse(str(path_or_text))


def parse_trusted_keys(text: str) -> list[VerifierKey]:
    """The keys of a trusted-keys file: one verifier key per line, ``#`` comments and blank lines ignored."""
    out: list[VerifierKey] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(VerifierKey.parse(line))
        except ValueError as exc:
            raise KeyError_(f"line {n}: {exc}") from None
    return out


def load_trusted_keys(path: str | os.PathLike[str]) -> list[VerifierKey]:
    return parse_trusted_keys(Path(path).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------- notes


def origin_for(tenant: str) -> str:
    return DIRECTORY_ORIGIN if tenant == DIRECTORY else ORIGIN_PREFIX + tenant


def checkpoint_body(tenant: str, size: int, root: bytes) -> str:
    return f"{origin_for(tenant)}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_note(body: str, key: SigningKey, *cosigners: SigningKey) -> tuple[str, str]:
    """Return ``(signed note text, base64 signature blob of key)`` for ``body`` (which must end in a newline).
    ``cosigners`` add their own signature lines (a key rotation is signed by the old and the new key)."""
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    lines = []
    first = ""
    for k in (key, *cosigners):
        blob = base64.b64encode(k.verifier.key_id + k.sign(body.encode())).decode()
        first = first or blob
        lines.append(f"{EM_DASH} {k.name} {blob}\n")
    return f"{body}\n{''.join(lines)}", first


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    body: str
    signatures: tuple[tuple[str, bytes, bytes], ...]  # (name, keyid, signature)

    @property
    def tenant(self) -> str:
        if self.origin == DIRECTORY_ORIGIN:
            return DIRECTORY
        return self.origin[len(ORIGIN_PREFIX) :] if self.origin.startswith(ORIGIN_PREFIX) else self.origin

    @property
    def key_ids(self) -> list[str]:
        return [kid.hex() for _n, kid, _s in self.signatures]

    def verify_any(self, keys: Sequence[VerifierKey]) -> tuple[VerifierKey | None, str | None]:
        """The first trusted key that signed this note, or ``(None, problem)``."""
        problem = "signed by an unknown key"
        for key in keys:
            bad = self.verify(key)
            if bad is None:
                return key, None
            if bad != "signed by an unknown key":
                problem = bad
        return None, problem

    def verify(self, key: VerifierKey) -> str | None:
        """``None`` when ``key`` signed this note, else the problem ("signed by an unknown key", ...)."""
        mine = [s for s in self.signatures if s[0] == key.name and s[1] == key.key_id]
        if not mine:
            return "signed by an unknown key"
        for _, _, sig in mine:
            if key.verify(self.body.encode(), sig):
                return None
        return "checkpoint signature invalid"


def split_notes(text: str) -> list[str]:
    """Split a file holding several signed notes (each: text lines, a blank line, signature lines)."""
    notes: list[str] = []
    cur: list[str] = []
    in_sigs = False
    for line in text.splitlines():
        if in_sigs and not line.startswith(EM_DASH):
            notes.append("\n".join(cur) + "\n")
            cur, in_sigs = [], False
            if not line.strip():
                continue
        if not in_sigs and not line and cur:
            in_sigs = True
        if not cur and not line.strip():
            continue
        cur.append(line)
    if cur:
        notes.append("\n".join(cur) + "\n")
    return notes


def parse_checkpoints(text: str) -> list[Checkpoint]:
    """Every checkpoint in ``text`` (one or more notes). Raises :class:`NoteError` on a malformed one."""
    notes = split_notes(text)
    if not notes:
        raise NoteError("no checkpoint found")
    return [parse_checkpoint(n) for n in notes]


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a signed checkpoint note. Raises :class:`NoteError` on malformed input (not on bad signatures)."""
    if not isinstance(text, str):
        raise NoteError("checkpoint: not text")
    if "\n\n" not in text:
        raise NoteError("checkpoint: missing blank line before signatures")
    body, sigs = text.split("\n\n", 1)
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("checkpoint: need origin, size and root lines")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not (size_s.isascii() and size_s.isdigit()) or len(size_s) > 19:
        raise NoteError("checkpoint: size line is not a decimal number")
    try:
        root = base64.b64decode(root_s, validate=True)
    except ValueError:
        raise NoteError("checkpoint: root line is not base64") from None
    if len(root) != 32:
        raise NoteError("checkpoint: root is not 32 bytes")
    parsed: list[tuple[str, bytes, bytes]] = []
    for line in sigs.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not parts[1]:
            raise NoteError(f"checkpoint: malformed signature line {line!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise NoteError("checkpoint: signature is not base64") from None
        if len(blob) < 5:
            raise NoteError("checkpoint: signature too short")
        parsed.append((parts[1], blob[:4], blob[4:]))
    if not parsed:
        raise NoteError("checkpoint: no signatures")
    return Checkpoint(origin, int(size_s), root, body, tuple(parsed))
