"""The issuer's tables. Only ``issuer/store/`` queries them.

What is kept, and why (data minimisation, issue 4 point 6):

- ``offers`` hold the claims of an offer *sealed* (core.sealing) until it is redeemed or
  expires; then the claims are deleted. Codes, PINs and tokens are keyed digests only.
- ``credentials`` hold what revocation needs — type, status index, holder-key thumbprint,
  issued and expiry times — and claims only if the organisation opted in, sealed, with a
  ``retain_until``.
- Times are seconds since the epoch in 64-bit columns (a 32-bit one ends in 2038).
- ``refresh_families`` / ``refresh_tokens`` (issuer.refresh): token digests, and the claims
  sealed under the wallet's live refresh token, until the family expires or is revoked.
- ``dpop_proofs``: digests of DPoP proof ``jti`` values, only while a replay could be accepted.
- ``status_lists`` hold each list uncompressed (2 bits × 131 072 entries = 32 KiB) with an
  allocation bitmap, a version counter and the last signed token, so a list is
  re-compressed and re-signed only when it changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

Json = dict[str, Any]


class Organisation(Base):
    __tablename__ = "issuer_organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    names: Mapped[Json] = mapped_column(JSON)
    vcts: Mapped[list[str]] = mapped_column(JSON)
    keep_claims_days: Mapped[int | None] = mapped_column(Integer, default=None)  # None: claims not kept
    created_at: Mapped[int] = mapped_column(BigInteger)


class SigningKey(Base):
    __tablename__ = "issuer_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("issuer_organisations.id", ondelete="CASCADE"), index=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[Json] = mapped_column(JSON)
    sealed_private: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    retired_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    publish_until: Mapped[int | None] = mapped_column(BigInteger, default=None)  # its last credential's expiry


class Staff(Base):
    __tablename__ = "issuer_staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("issuer_organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, default=None)  # kept: who had a key until when


class Offer(Base):
    __tablename__ = "issuer_offers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # public: in credential_offer_uri
    org_id: Mapped[str] = mapped_column(ForeignKey("issuer_organisations.id", ondelete="CASCADE"), index=True)
    config_id: Mapped[str] = mapped_column(String(100))
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    pin_digest: Mapped[str] = mapped_column(String(64))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # offered | redeemed | issued | locked | cancelled
    batch_size: Mapped[int] = mapped_column(Integer)
    valid_days: Mapped[int | None] = mapped_column(Integer, default=None)  # None: the node's default
    language: Mapped[str] = mapped_column(String(16))
    sealed_claims: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Staff's own reference (a name or case number): sealed like the claims; its keyed digest
    # (issuer.offers.reference_key) finds the offer and its credentials again.
    sealed_reference: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reference_digest: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class AccessToken(Base):
    __tablename__ = "issuer_access_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("issuer_offers.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used: Mapped[bool] = mapped_column(default=False)
    # The answer to the request that used it, sealed, kept for RETRY_WINDOW_S only: the same
    # request repeated (its answer lost to a crash or a dropped connection) gets it again.
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    request_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    sealed_response: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # A token from a refresh grant (issuer.refresh): its family, and the credential's claims
    # sealed under the access token itself (NodeKey.seal_for) until the token is used.
    family_id: Mapped[str | None] = mapped_column(
        ForeignKey("issuer_refresh_families.id", ondelete="CASCADE"), default=None, index=True)
    sealed_claims: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # DPoP (RFC 9449, issuer.dpop): the RFC 7638 thumbprint of the key the token is bound to; None
    # for a Bearer token. A public key's digest, no secret.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)


class RefreshFamily(Base):
    """One refresh token family (RFC 9700 section 4.14.2): every token rotated from the one a
    pre-authorized code gave, for one offer's credential. The claims are sealed under the
    family's live token (NodeKey.seal_for): a stolen database opens them with the node key only
    together with a token the wallet holds; they go when the family dies."""

    __tablename__ = "issuer_refresh_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("issuer_organisations.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("issuer_offers.id", ondelete="CASCADE"), index=True)
    client_digest: Mapped[str | None] = mapped_column(String(64), default=None)  # the client_id it is bound to
    sealed_claims: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # RFC 9449 section 5: the thumbprint of the DPoP key the code was redeemed with; each refresh must
    # prove possession of it. None: a client without DPoP (the family is a bearer one).
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)


class RefreshToken(Base):
    """A refresh token's keyed digest; ``used_at`` set once it was rotated (a second use then
    revokes its family)."""

    __tablename__ = "issuer_refresh_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(ForeignKey("issuer_refresh_families.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Nonce(Base):
    __tablename__ = "issuer_nonces"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class DPoPProof(Base):
    """A DPoP proof's ``jti`` (keyed digest, with the key and the endpoint), kept while the proof's
    ``iat`` window would still accept it: a second use of it is refused (RFC 9449 section 11.1)."""

    __tablename__ = "issuer_dpop_proofs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class StatusListRow(Base):
    __tablename__ = "issuer_status_lists"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_issuer_status_lists_org_id_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # public and opaque: /status/{id}
    org_id: Mapped[str] = mapped_column(ForeignKey("issuer_organisations.id", ondelete="CASCADE"), index=True)
    # The list's number in its organisation (1, 2, ...): also served at /issuers/{slug}/status/{number},
    # the name a compact offline copy carries (1-3 bytes where the id takes 17; issuer.offline.list_ref).
    number: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    statuses: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[bytes] = mapped_column(LargeBinary)  # one bit per index
    allocated_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    token: Mapped[str | None] = mapped_column(String, default=None)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    token_expires_at: Mapped[int] = mapped_column(BigInteger, default=0)
    # The token served at the numbered URI: its own, since a status list token's ``sub`` is the
    # URI it is fetched from (Token Status List, section 5.1).
    numbered_token: Mapped[str | None] = mapped_column(String, default=None)
    numbered_token_version: Mapped[int] = mapped_column(Integer, default=0)
    numbered_token_expires_at: Mapped[int] = mapped_column(BigInteger, default=0)


class Credential(Base):
    __tablename__ = "issuer_credentials"
    __table_args__ = (UniqueConstraint("status_list_id", "status_idx"),
                      Index("ix_issuer_credentials_org_order", "org_id", "issued_at", "id"),
                      # a batch's first copy in one seek (the console lists a batch once; a refresh grows it)
                      Index("ix_issuer_credentials_batch", "offer_id", "id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("issuer_organisations.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    vct: Mapped[str] = mapped_column(String(200))
    status_list_id: Mapped[str] = mapped_column(ForeignKey("issuer_status_lists.id"))
    status_idx: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer, default=0)
    holder_thumbprint: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    sealed_claims: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    retain_until: Mapped[int | None] = mapped_column(BigInteger, default=None)

