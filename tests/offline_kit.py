"""A small offline world for the core/offline tests: fixed keys, a credential, a verify call
with every callback filled in, each overridable. Deterministic apart from ECDSA's own
randomness (Ed25519 issuer signatures and seeded salts make the credential byte-exact)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import keys
from core.offline import IssuerKey, OfflinePolicy, Status, StatusRef, Verified, compact_kid, issue_compact, verify

VECTOR_DIR = Path(__file__).resolve().parent / "vectors" / "offline"
ISSUER_ID = "https://issuer.amana.test/issuers/demo-ngo"
NOW = 1_800_000_000
IAT = NOW // 86400 * 86400 - 86400
EXP = IAT + 365 * 86400
NONCE = bytes.fromhex("0123456789abcdef")
SKILL = json.loads((Path(__file__).resolve().parents[1] / "specs/credentials/SkillCertificate/example.json")
                   .read_text(encoding="utf-8"))
THREE = ("given_name", "family_name", "skill")


def seeded_rng(seed: bytes) -> Callable[[int], bytes]:
    """Salts from SHA-256(seed || counter): reproducible vectors; never for real issuance."""
    counter = iter(range(1 << 30))

    def rng(n: int) -> bytes:
        return hashlib.sha256(seed + next(counter).to_bytes(4, "big")).digest()[:n]

    return rng


def load_key(name: str) -> keys.PrivateKey:
    return keys.PrivateKey.from_jwk(json.loads((VECTOR_DIR / f"{name}.jwk").read_text(encoding="utf-8")))


@dataclass
class World:
    issuer: keys.PrivateKey = field(default_factory=lambda: load_key("issuer"))
    holder: keys.PrivateKey = field(default_factory=lambda: load_key("holder"))
    statuses: dict[tuple[StatusRef, int], Status] = field(default_factory=dict)
    seen_hashes: set[bytes] = field(default_factory=set)
    accredited: Callable[[str, str, int], None] = lambda iss, vct, iat: None

    def issue(self, claims: dict[str, Any] | None = None, vct: str = "SkillCertificate",
              status: tuple[StatusRef, int] = (7, 42), iat: int = IAT,
              exp: int = EXP) -> tuple[bytes, dict[str, bytes]]:
        return issue_compact(claims or SKILL, vct, self.issuer, self.holder.public_key(), status=status, iat=iat,
                             exp=exp, rng=seeded_rng(b"amana offline vector"))

    def issuer_kid(self) -> bytes:
        return compact_kid(self.issuer.public_key())

    def keys_for(self, kid: bytes) -> list[IssuerKey]:
        public = self.issuer.public_key()
        return [IssuerKey(public, ISSUER_ID)] if kid == compact_kid(public) else []

    def seen(self, binding_hash: bytes, until: int) -> bool:
        if binding_hash in self.seen_hashes:
            return True
        self.seen_hashes.add(binding_hash)
        return False

    def verify(self, qr_text: str, *, nonce: bytes | None = NONCE, now: int = NOW,
               policy: OfflinePolicy | None = None) -> Verified:
        return verify(qr_text, resolve_issuer_key=self.keys_for, check_accredited=self.accredited,
                      status_of=lambda iss, ref, idx: self.statuses.get((ref, idx), "valid"), seen=self.seen,
                      nonce_expected=nonce, now=now, **({"policy": policy} if policy else {}))


def one_byte_changes(data: bytes) -> Iterator[bytes]:
    """Every payload that differs from ``data`` in exactly one byte: each position, a few values
    (xor of each single bit, and 0x00 / 0xFF), plus every truncation by one byte and one extra byte."""
    for i in range(len(data)):
        values = {data[i] ^ (1 << b) for b in range(8)} | {0x00, 0xFF}
        values.discard(data[i])
        for v in values:
            yield data[:i] + bytes([v]) + data[i + 1 :]
    yield data[:-1]
    yield data + b"\x00"
