"""C2SP signed notes (Ed25519) carrying C2SP tlog-checkpoint bodies: what the consent log signs.

signed-note v1: the text (ending in a newline), a blank line, then one or more lines
``— <key name> base64(key ID || signature)``; key ID = SHA-256(name || 0x0A || 0x01 || public
key)[:4]; a verifier key ("vkey") is ``<name>+<hex key ID>+base64(0x01 || public key)``.
tlog-checkpoint: the text is the origin, the tree size (decimal, no leading zero) and the
base64 root, one per line, then optional extension lines.

Parsing is strict: valid UTF-8, no control character but the newline (so a CRLF note is
refused, not normalised), canonical base64, no empty signature line or trailing text. As the
spec requires, signatures by unknown keys are ignored, a known key whose signature fails
rejects the note, and a note with no verified known signature is rejected. This log signs no
extension lines, and ``verify_checkpoint`` refuses them: nothing a monitor cannot audit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.errors import VerificationFailed

ED25519 = 0x01
# signed-note, "Signatures": verifiers "MUST accept at least up to 16 signatures" and post-quantum
# ones "can be up to nearly 5kB": 16 lines of a name and base64(4 + 5,000 bytes) is about 110 KB.
MAX_SIGNATURES = 16
MAX_NOTE_BYTES = 128 * 1024
_DASH = "\u2014 "
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class InvalidNote(VerificationFailed):
    """A signed note or checkpoint that is malformed, unsigned, or signed by the wrong key."""

    code = "invalid_note"
    title = "The signed note does not verify"


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidNote(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise InvalidNote(f"{what} is not canonical base64")
    return raw


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name or _CONTROL.search(name):
        raise InvalidNote("a key name is empty or holds a space or a plus")
    return name


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


@dataclass(frozen=True, slots=True)
class Verifier:
    """An Ed25519 note verifier: key name, 4-byte key ID, public key."""

    name: str
    public: bytes
    id: bytes = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public) != 32:
            raise InvalidNote("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "id", key_id(self.name, self.public))

    def vkey(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.split("+", 2)  # base64 may hold "+"; the name and the hex ID never do
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise InvalidNote("a vkey is <name>+<8 hex digits>+<base64 key>")
        material = _b64decode(parts[2], "the vkey's key")
        if len(material) != 33 or material[0] != ED25519:
            raise InvalidNote("only Ed25519 vkeys are accepted")
        verifier = cls(parts[0], material[1:])
        if verifier.id.hex() != parts[1]:
            raise InvalidNote("the vkey's key ID does not match its name and key")
        return verifier

    def check(self, text: bytes, signature: bytes) -> bool:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True, repr=False)
class Signer:
    """An Ed25519 note signer. Its private key is never printed."""

    name: str
    private: ed25519.Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r})"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, text: str) -> str:
        """The complete note: text, blank line, one signature line."""
        _check_text(text)
        v = self.verifier()
        sig = base64.b64encode(v.id + self.private.sign(text.encode())).decode()
        return f"{text}\n{_DASH}{self.name} {sig}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or _CONTROL.search(text) or len(text.encode()) > MAX_NOTE_BYTES:
        raise InvalidNote("a note text ends in a newline and holds no control characters")


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> str:
    """The text of a note signed by at least one of ``verifiers``; InvalidNote otherwise."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise InvalidNote("the note is too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidNote("a note is UTF-8") from exc
    if len(note.encode()) > MAX_NOTE_BYTES or _CONTROL.search(note) or not note.endswith("\n"):
        raise InvalidNote("a note is UTF-8 text ending in a newline, without control characters")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise InvalidNote("a note has no signature block")
    text, block = note[:cut + 1], note[cut + 2:]
    lines = block[:-1].split("\n")
    if not block or len(lines) > MAX_SIGNATURES:
        raise InvalidNote("a note has between 1 and 16 signatures")
    known = {(v.name, v.id): v for v in verifiers}
    verified = False
    for line in lines:
        if not line.startswith(_DASH):
            raise InvalidNote("a signature line starts with an em dash and a space")
        name, sep, sig = line[len(_DASH):].partition(" ")
        if not sep:
            raise InvalidNote("a signature line is a key name and a signature")
        raw = _b64decode(sig, "a signature")
        if len(raw) < 5:
            raise InvalidNote("a signature is a key ID and signature bytes")
        verifier = known.get((_check_name(name), raw[:4]))
        if verifier is None:
            continue  # unknown keys are ignored (signed-note: witnesses, rotation)
        if not verifier.check(text.encode(), raw[4:]):
            raise InvalidNote("a known key's signature does not verify")
        verified = True
    if not verified:
        raise InvalidNote("no known key signed this note")
    return text


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: origin, size, root (RFC 9162 MTH)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint body, strictly: three or more non-empty lines, each newline-terminated."""
    if not text.endswith("\n"):
        raise InvalidNote("a checkpoint ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise InvalidNote("a checkpoint is origin, size and root, on non-empty lines")
    origin, size, root_b64, *extensions = lines
    if _CONTROL.search(text):
        raise InvalidNote("a checkpoint holds no control characters")
    if not _SIZE.fullmatch(size) or int(size) >= 1 << 64:
        raise InvalidNote("the tree size is a decimal number without leading zeros")
    root = _b64decode(root_b64, "the root hash")
    if len(root) != 32:
        raise InvalidNote("the root hash is 32 bytes")
    return Checkpoint(origin, int(size), root, tuple(extensions))


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and the signed note that carries it (``note`` is what is published)."""

    checkpoint: Checkpoint
    note: str

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> SignedCheckpoint:
    if checkpoint.extensions:
        raise InvalidNote("this log signs no extension lines")
    parse_checkpoint(checkpoint.body())  # what we sign, we can read back
    return SignedCheckpoint(checkpoint, signer.sign(checkpoint.body()))


def verify_checkpoint(note: str | bytes, verifier: Verifier, origin: str) -> Checkpoint:
    """The checkpoint in ``note``, signed by ``verifier`` for ``origin``, without extensions."""
    checkpoint = parse_checkpoint(open_note(note, [verifier]))
    if checkpoint.origin != origin:
        raise InvalidNote("the checkpoint is for another log")
    if checkpoint.extensions:
        raise InvalidNote("the checkpoint has extension lines this log never signs")
    return checkpoint
