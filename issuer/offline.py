"""The compact offline copy of a credential (issue 13): its configuration and its issuance. Pure.

Why a second configuration: an SD-JWT VC presentation is ~1.7 KB, too dense for a cheap
camera; the compact copy (``core.offline``: COSE_Sign1 over a small CBOR map) fits a QR of
version ≤ 16. OpenID4VCI 1.0 names one format per configuration (section 12.2.4), so each
credential type gets a twin, ``<type>_offline``, and an offer lists both (section 4.1.1).

The rules, and why:

- **One access token, each configuration once.** Section 8.2 lets a wallet send one Credential
  Request per configuration with the same access token. The token is stored as one row per
  configuration (issuer.store.SD_JWT_GRANT / OFFLINE_GRANT digests), each single use; the compact
  grant carries the claims sealed under the token itself, so whichever is asked first, the other
  still finds them, and nothing is readable at rest without the token.
- **Proofs ES256 only**: the holder key is a WebCrypto P-256 key, made on the phone (Ed25519 is
  not in every browser); the compact credential's ``cnf`` holds a P-256 point only.
- **Status: revocation reaches both.** Every compact copy is recorded under the offer of its
  batch like the SD-JWT copies, and a status change acts on every credential of an offer
  (issuer.store.change_status): revoking or suspending one copy revokes or suspends all of them,
  the compact ones included, in the served list. Each copy has its own random index — one
  shared index would let two verifiers link the QR and the SD-JWT showings (issuer.refresh says
  the same of refreshed copies).
- **Same claims, same expiry, day-rounded iat** as the SD-JWT copies (issuer.issuance.rounded).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from core import offline as codec
from core.encoding import b64url_decode, b64url_encode
from core.errors import MalformedOfflineQR
from core.keys import PrivateKey, PublicKey
from core.offline import _cbor

FORMAT = codec.FORMAT
SUFFIX = "_offline"
PROOF_ALGS = frozenset({"ES256"})
# COSE algorithm numbers (RFC 9053): ES256 -7, EdDSA -8; the issuer signs with what it has.
COSE_SIGNING_ALGS = [-7, -8]
MAX_ISSUED_CHARS = 4096


def config_id(type_name: str) -> str:
    return type_name + SUFFIX


def has_compact_form(vct: str) -> bool:
    """Whether the codec registers this type (a type added later gets its twin with its code)."""
    return vct in codec.TYPE_CODES


def base_of(configuration_id: object) -> str | None:
    """The type name a compact configuration id stands for; None for any other string."""
    if isinstance(configuration_id, str) and configuration_id.endswith(SUFFIX):
        return configuration_id[: -len(SUFFIX)]
    return None


def list_ref(list_id: str) -> str:
    """The compact status list name: our list ids are 128-bit hex, so as a UUID the codec
    carries them in 16 bytes; the verifier finds the list back by ``/status/<hex>``."""
    return str(uuid.UUID(hex=list_id))


def issue(vct: str, claims: dict[str, Any], *, issuer_key: PrivateKey, holder_key: PublicKey,
          issued_at: int, expires_at: int, list_id: str, status_idx: int) -> str:
    """One compact credential as the Credential Response carries it (section 8.3: a string):
    ``base64url( CBOR( [cred: bstr, disclosures: [* bstr]] ) )``, one disclosure per claim."""
    cred, disclosures = codec.issue_compact(claims, vct, issuer_key, holder_key,
                                            status=(list_ref(list_id), status_idx), iat=issued_at, exp=expires_at)
    return b64url_encode(_cbor.dumps([cred, list(disclosures.values())]))


def parse_issued(text: str) -> tuple[bytes, list[bytes]]:
    """The credential and its disclosures from a Credential Response string (for wallets and tests)."""
    if len(text) > MAX_ISSUED_CHARS:
        raise MalformedOfflineQR("the issued compact credential is too long")
    item = _cbor.loads(b64url_decode(text, "credential"), "issued credential", max_bytes=MAX_ISSUED_CHARS)
    if (type(item) is not list or len(item) != 2 or type(item[0]) is not bytes or type(item[1]) is not list
            or any(type(d) is not bytes for d in item[1])):
        raise MalformedOfflineQR("an issued compact credential is [cred, [disclosures]]")
    disclosures: Sequence[bytes] = item[1]
    return item[0], list(disclosures)
