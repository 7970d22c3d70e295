"""What a vault holds, as plain data: the wallet's name, the held copies with their holder keys
and whom each was shown to, and the history. Serialised as JSON and encrypted by
``wallet.vault``; nothing here touches a disk.

A copy shown to one verifier is never shown to another (:func:`choose`): the copies of a batch
are unlinkable only if each verifier sees its own.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from core import dcql
from core.encoding import b64url_decode, b64url_encode
from core.errors import InvalidInput, VaultTampered
from wallet.history import HistoryRecord

CONTENT_VERSION = 1


@dataclass(slots=True)
class Copy:
    """One credential with its own holder key (one copy of a batch)."""

    copy_id: str
    credential: str
    holder_key: dict[str, Any]  # private JWK
    vct: str
    issuer: str
    batch: str
    received_at: int
    valid_until: int | None = None
    shown_to: str | None = None  # the client id of the one verifier that has seen it
    shown_at: int | None = None
    claims: dict[str, Any] | None = None  # the processed claims, checked on receipt (for the card and DCQL values)

    @classmethod
    def new(cls, credential: str, holder_key: dict[str, Any], vct: str, issuer: str, batch: str, now: int,
            valid_until: int | None, *, claims: dict[str, Any] | None = None) -> Copy:
        return cls(str(uuid.uuid4()), credential, holder_key, vct, issuer, batch, now, valid_until, claims=claims)

    def to_dict(self) -> dict[str, Any]:
        return {"copy_id": self.copy_id, "credential": self.credential, "holder_key": self.holder_key,
                "vct": self.vct, "issuer": self.issuer, "batch": self.batch, "received_at": self.received_at,
                "valid_until": self.valid_until, "shown_to": self.shown_to, "shown_at": self.shown_at,
                "claims": self.claims}


@dataclass(slots=True)
class Refresh:
    """How to get fresh copies of one batch (wallet.refresh): the issuer's refresh token, the
    configuration it was for, how many copies to ask for, since when a refresh is under way (so two
    refreshes never spend one token: the second would revoke the family), and the DPoP key the token
    is bound to (a private JWK, RFC 9449 section 5: the issuance's own key, kept only with its grant;
    None: a bearer grant, or one kept before the key was)."""

    issuer: str
    configuration_id: str
    token: str
    copies: int
    pending_since: int | None = None
    dpop_key: dict[str, Any] | None = None
    # The authorization server the token came from (OpenID4VCI section 12.2.4: an issuer may list
    # several): a refresh token goes back to it alone (RFC 6749 section 10.4). None: one kept
    # before this was, refreshed at the issuer's first as before.
    authorization_server: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "configuration_id": self.configuration_id, "token": self.token,
                "copies": self.copies, "pending_since": self.pending_since, "dpop_key": self.dpop_key,
                "authorization_server": self.authorization_server}


@dataclass(slots=True)
class Contents:
    name: str | None = None
    copies: list[Copy] = field(default_factory=list)
    history: list[HistoryRecord] = field(default_factory=list)
    seen_nonces: dict[str, int] = field(default_factory=dict)  # request nonces answered → when (replays refused)
    refresh: dict[str, Refresh] = field(default_factory=dict)  # batch → its refresh grant (a vault without: none)
    epoch: int = 0  # raised when the passphrase changes: every browser session opened before ends
    ledger_key: str | None = None  # the consent ledger key (base64url, 32 bytes): pseudonyms and receipts

    def consent_key(self) -> bytes:
        """The holder's consent ledger key (consent/pseudonym.py), made on first use. Call it
        inside ``holder.update`` so a new key is written with the change that needs it."""
        if self.ledger_key is None:
            self.ledger_key = b64url_encode(secrets.token_bytes(32))
        return b64url_decode(self.ledger_key)

    def to_bytes(self) -> bytes:
        return json.dumps({"version": CONTENT_VERSION, "name": self.name,
                           "copies": [c.to_dict() for c in self.copies],
                           "history": [h.to_dict() for h in self.history], "seen_nonces": self.seen_nonces,
                           "refresh": {b: r.to_dict() for b, r in self.refresh.items()}, "epoch": self.epoch,
                           "ledger_key": self.ledger_key},
                          ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Contents:
        """Only ever called on bytes the AEAD authenticated; a shape error is still refused, typed."""
        try:
            doc = json.loads(data)
            if doc["version"] != CONTENT_VERSION:
                raise ValueError("version")
            return cls(doc["name"], [Copy(**_shaped(c, _COPY_TYPES)) for c in doc["copies"]],
                       [HistoryRecord.from_dict(h) for h in doc["history"]],
                       {str(n): int(t) for n, t in doc.get("seen_nonces", {}).items()},
                       {str(b): Refresh(**_shaped(r, _REFRESH_TYPES)) for b, r in doc.get("refresh", {}).items()},
                       int(doc.get("epoch", 0)), _optional_key(doc.get("ledger_key")))
        except (ValueError, KeyError, TypeError, AttributeError, InvalidInput):
            raise VaultTampered("the wallet's content is not in a form this version reads") from None

    def batches(self) -> dict[str, list[Copy]]:
        grouped: dict[str, list[Copy]] = {}
        for copy in self.copies:
            grouped.setdefault(copy.batch, []).append(copy)
        return grouped


def choose(copies: list[Copy], query: dcql.DcqlQuery, client_id: str) -> dict[str, Copy]:
    """For each Credential Query, a held copy of the right type that no *other* verifier has seen
    (this verifier's own copy first: showing it again reveals nothing new)."""
    chosen: dict[str, Copy] = {}
    for wanted in query.credentials:
        taken = {id(c) for c in chosen.values()}
        fits = [c for c in copies if c.vct in wanted.vct_values and c.shown_to in (None, client_id)
                and id(c) not in taken]
        if not fits:
            raise InvalidInput(f"no credential in the wallet answers {wanted.id!r} (or every copy was shown to "
                               "another verifier already: ask the issuer for a new one)")
        chosen[wanted.id] = min(fits, key=lambda c: c.shown_to is None)
    return chosen


# Each member's JSON type: content comes from this node, or from an export file a person chose
# to import (AEAD-sealed under a passphrase they know, so shaped as they like). A wrong type
# read in was a 500 on every later page (a "valid_until" of "soon"). A bool is not a number here;
# a time may be a fraction (``valid_until`` is the credential's ``exp``, a NumericDate: RFC 7519).
_NONE, _TIME = type(None), (int, float)
_COPY_TYPES: dict[str, tuple[type, ...]] = {
    "copy_id": (str,), "credential": (str,), "holder_key": (dict,), "vct": (str,), "issuer": (str,), "batch": (str,),
    "received_at": _TIME, "valid_until": (*_TIME, _NONE), "shown_to": (str, _NONE), "shown_at": (*_TIME, _NONE),
    "claims": (dict, _NONE)}
_REFRESH_TYPES: dict[str, tuple[type, ...]] = {
    "issuer": (str,), "configuration_id": (str,), "token": (str,), "copies": (int,),
    "pending_since": (*_TIME, _NONE), "dpop_key": (dict, _NONE), "authorization_server": (str, _NONE)}


def _shaped(member: Any, types: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """``member`` if it is an object whose every value has its type (a missing one: the dataclass says)."""
    if not isinstance(member, dict) or not all(type(member[n]) in types.get(n, ()) for n in member):
        raise ValueError("a member of the wrong type")
    return member


def _optional_key(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(b64url_decode(value)) != 32):
        raise ValueError("ledger key")
    return value
