"""The verifier's tables. Only ``verifier/store/`` queries them.

What is kept, and why (issue 5 point 6, "keep nothing"):

- ``checks``: a request's nonce, state digest, query and lifecycle; the result of a check
  only as a *sealed box* to the requester's public key (X25519, pynacl): the server can
  write it but not read it back, and deletes it on first retrieval or at expiry; for a check
  answered by ``direct_post.jwt``, its ephemeral decryption key, sealed, until the answer comes;
  the digest of the desk key that asked;
- ``audit``: time, check name, ``vct``, issuer, outcome, the *names* of disclosed claims and the
  digest of the desk key that asked — never a value, never the presentation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Identity(Base):
    __tablename__ = "verifier_identity"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "default"
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


class DeskKey(Base):
    __tablename__ = "verifier_desk_keys"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, default=None)  # kept: who had a key until when


class Check(Base):
    __tablename__ = "verifier_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # the named query, or "custom"
    purpose: Mapped[str] = mapped_column(String(300))
    dcql: Mapped[dict[str, Any]] = mapped_column(JSON)
    prefix: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    request_jwt: Mapped[str] = mapped_column(Text)  # the signed Request Object, served at request_uri
    accept_unknown_status: Mapped[bool] = mapped_column(Boolean, default=False)
    result_public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # direct_post.jwt: the check's response-decryption key, sealed to this row; None for a plain
    # check, and erased once the check is answered (verifier/encrypted_responses.py)
    response_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phase: Mapped[str] = mapped_column(String(16))  # pending | answered | done
    sealed_result: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    desk: Mapped[str | None] = mapped_column(String(64), default=None)  # its desk key's digest; None: the shell


class AuditEntry(Base):
    __tablename__ = "verifier_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger)
    check_name: Mapped[str] = mapped_column(String(100))
    vct: Mapped[str | None] = mapped_column(String(200))
    issuer: Mapped[str | None] = mapped_column(String(300))
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(64))
    disclosed_names: Mapped[list[str]] = mapped_column(JSON)
    desk: Mapped[str | None] = mapped_column(String(64), default=None)  # who asked: its desk key's digest; None: shell


class StatusListCopy(Base):
    """The last signed status list fetched per URI: what lets a desk without network still
    answer (the token is signed by the issuer, so a stored copy is as good as its ``exp``).
    A list URI names a list shared by up to 131 072 credentials, never a person."""

    __tablename__ = "verifier_status_lists"

    uri: Mapped[str] = mapped_column(String(500), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[int] = mapped_column(BigInteger)


class OfflineNonce(Base):
    """A nonce the desk's offline screen showed (``AON1:``), as a keyed digest, until it is used
    once or expires: a QR that signs it was made after the screen was shown."""

    __tablename__ = "verifier_offline_nonces"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class OfflineSeen(Base):
    """A key binding already shown (keyed digest of its signature), kept until its window ends:
    the same QR shown a second time inside its window is a replay (issue 13, freshness)."""

    __tablename__ = "verifier_offline_seen"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
