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

from typing import Any

from core import offline as codec
from core.keys import PrivateKey, PublicKey

FORMAT = codec.FORMAT
SUFFIX = "_offline"
PROOF_ALGS = frozenset({"ES256"})
# COSE algorithm numbers (RFC 9053): ES256 -7, EdDSA -8; the issuer signs with what it has.
COSE_SIGNING_ALGS = [-7, -8]


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


def list_ref(number: int) -> int:
    """The compact status list name: the list's number within its organisation, which the
    codec maps to ``<issuer id>/status/<n>`` (issuer.api serves the list there too, signed for
    that URI). 1-3 bytes where the list's 128-bit id took 17: what brings three claims of a
    SkillCertificate from QR version 17 to 16 (specs/formats/offline-presentation.md, section 7)."""
    return number


def issue(vct: str, claims: dict[str, Any], *, issuer_key: PrivateKey, holder_key: PublicKey,
          issued_at: int, expires_at: int, list_number: int, status_idx: int) -> str:
    """One compact credential as the Credential Response carries it (section 8.3: a string):
    ``base64url( CBOR( [cred: bstr, disclosures: [* bstr]] ) )``, one disclosure per claim."""
    cred, disclosures = codec.issue_compact(claims, vct, issuer_key, holder_key,
                                            status=(list_ref(list_number), status_idx), iat=issued_at, exp=expires_at)
    return codec.pack_issued(cred, list(disclosures.values()))

