"""The statements of the wallet's requests (offer, token, nonce, credential), in SQLAlchemy Core.

These four requests are what a holder waits for and what a node serves most (issue 15). Each
statement here is built once, with ``bindparam`` for what varies, and runs on whatever the
caller holds (``core.db.Db``): the bare connection of ``IssuerContext.unit()`` on those
requests, an ORM session elsewhere. Rows come back as ``Row`` (attribute access by column name,
read-only); every change is an explicit ``UPDATE`` or ``INSERT``, never a mutated object left
for a flush. The ORM's unit of work and per-statement machinery cost about 0.4 ms a statement
against 0.1 ms for a prepared Core statement, and half of an issuance flow's CPU time was
SQLAlchemy's own.

The rules of the rest of the store hold: functions never commit, secrets are sealed or keyed
digests, and every read-then-write is serialised (``FOR UPDATE`` on PostgreSQL; SQLite's
transactions all begin ``IMMEDIATE``, core.db).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Row, Table, and_, bindparam, delete, func, insert, select, update

from core import keys
from core.db import Db, dialect_name, insert_of, later, table_of
from core.sealing import NodeKey, new_token
from core.statuslist import StatusList
from issuer import revocation, tables
from issuer.offers import OfferState
from issuer.status_reserve import Allocated

ORGS, OFFERS, TOKENS = table_of(tables.Organisation), table_of(tables.Offer), table_of(tables.AccessToken)
FAMILIES, REFRESH_TOKENS = table_of(tables.RefreshFamily), table_of(tables.RefreshToken)
NONCES, DPOP_PROOFS, KEYS = table_of(tables.Nonce), table_of(tables.DPoPProof), table_of(tables.SigningKey)
LISTS, CREDENTIALS = table_of(tables.StatusListRow), table_of(tables.Credential)

# Purposes of the keyed digest of an access token: one row per credential configuration it
# grants (issuer.offline: the SD-JWT VC and its compact copy), each used once.
SD_JWT_GRANT = "access-token"
OFFLINE_GRANT = "access-token-offline"


# --- organisations and offers -------------------------------------------------------------

_ORG_AT = select(ORGS).where(ORGS.c.slug == bindparam("slug"))


async def org_at(db: Db, slug: str) -> Row[Any] | None:
    """The organisation at ``slug``, read-only."""
    return (await db.execute(_ORG_AT, {"slug": slug})).one_or_none()


_OFFERS_OF_SLUG = select(OFFERS).join(ORGS, ORGS.c.id == OFFERS.c.org_id).where(ORGS.c.slug == bindparam("slug"))
_OFFER_AT = _OFFERS_OF_SLUG.where(OFFERS.c.id == bindparam("offer_id"))
_OFFER_BY_CODE = _OFFERS_OF_SLUG.where(OFFERS.c.code_digest == bindparam("code_digest")).with_for_update(of=OFFERS)


async def offer_at(db: Db, slug: str, offer_id: str) -> Row[Any] | None:
    """The offer ``offer_id`` if it is the organisation's at ``slug``: one statement, not two."""
    return (await db.execute(_OFFER_AT, {"slug": slug, "offer_id": offer_id})).one_or_none()


async def offer_by_code(db: Db, node: NodeKey, code: str, slug: str) -> Row[Any] | None:
    """The offer behind a pre-authorized code, if it is the organisation's at ``slug`` (locked)."""
    return (await db.execute(_OFFER_BY_CODE, {"slug": slug, "code_digest": node.digest("code", code)})).one_or_none()


_OFFER_REDEEMED = (update(OFFERS).where(OFFERS.c.id == bindparam("offer_id"))
                   .values(state=bindparam("state"), pin_failures=bindparam("pin_failures")))


async def redeemed(db: Db, offer: Row[Any], state: OfferState, pin_failures: int) -> None:
    """What a redemption attempt left (issuer.offers.redeem): its state and wrong-PIN count."""
    if (state.value, pin_failures) != (offer.state, offer.pin_failures):
        await later(db, _OFFER_REDEEMED, {"offer_id": offer.id, "state": state.value, "pin_failures": pin_failures})


def offer_claims(node: NodeKey, offer: Any) -> dict[str, Any]:
    assert offer.sealed_claims is not None
    claims: dict[str, Any] = json.loads(node.open(offer.sealed_claims, f"offer:{offer.id}"))
    return claims


_OFFER_ISSUED = (update(OFFERS).where(OFFERS.c.id == bindparam("offer_id"))
                 .values(state=OfferState.ISSUED.value, sealed_claims=None))


async def finish_offer(db: Db, offer_id: str) -> None:
    """Issued: the claims go (secure_delete overwrites them in the SQLite file)."""
    await later(db, _OFFER_ISSUED, {"offer_id": offer_id})


# --- access tokens, nonces, DPoP proofs, kept answers ---------------------------------------

_NEW_TOKENS = insert(TOKENS)


async def new_access_token(db: Db, node: NodeKey, offer_id: str, now: int, ttl_s: int, *,
                           family_id: str | None = None, claims: bytes | None = None,
                           offline_claims: bytes | None = None, dpop_jkt: str | None = None) -> str:
    """A new access token; one from a refresh grant carries its family and the claims, sealed
    under the token itself. With ``offline_claims`` the same token also grants the compact copy
    once (a second row under another digest purpose), its claims sealed under the token too: the
    first request of either configuration must not take the other's claims away. ``dpop_jkt``: the
    thumbprint of the DPoP key it is bound to (issuer.dpop), on both rows."""
    token = new_token()
    grants = [(SD_JWT_GRANT, claims)] + ([] if offline_claims is None else [(OFFLINE_GRANT, offline_claims)])
    rows = []
    for purpose, granted_claims in grants:
        digest = node.digest(purpose, token)
        sealed = None if granted_claims is None else node.seal_for(token, granted_claims, f"refresh-access:{digest}")
        rows.append({"digest": digest, "offer_id": offer_id, "expires_at": now + ttl_s, "used": False,
                     "used_at": None, "request_digest": None, "sealed_response": None, "family_id": family_id,
                     "sealed_claims": sealed, "dpop_jkt": dpop_jkt})
    await later(db, _NEW_TOKENS, rows)
    return token


@dataclass(frozen=True, slots=True)
class Granted:
    """What a live access token was for: the offer (locked), its organisation's claim keeping and
    signing key, and for a refresh grant the family and claims."""

    offer: Row[Any]
    family_id: str | None = None
    claims: dict[str, Any] | None = None
    offline: bool = False  # the compact copy's grant (claims always given)
    dpop_jkt: str | None = None  # the DPoP key the token is bound to; None: a Bearer token

    @property
    def keep_claims_days(self) -> int | None:
        """The offer's organisation's: how many days an issued credential's claims are kept (None: not kept)."""
        days: int | None = self.offer.keep_claims_days
        return days


_USE_TOKEN = (update(TOKENS).where(TOKENS.c.digest == bindparam("token_digest"), TOKENS.c.used.is_(False),
                                   TOKENS.c.expires_at > bindparam("now"))
              .values(used=True, used_at=bindparam("now")).returning(TOKENS.c.offer_id, TOKENS.c.family_id,
                                                                     TOKENS.c.dpop_jkt))


def _offer_in_context(source: Any, *columns: Any) -> Any:
    """The offer (locked) with what issuing under it needs of its organisation: whether it keeps
    claims, and its active signing key (none: a fault of the node, ``signing_key``). The lock is
    ``FOR NO KEY UPDATE``: it excludes every other request of the offer as ``FOR UPDATE`` would,
    but not a row that refers to the offer being added (``use_access_token``)."""
    return (select(OFFERS, *columns, ORGS.c.keep_claims_days, KEYS.c.kid.label("signing_kid"),
                   KEYS.c.sealed_private.label("signing_sealed"))
            .select_from(source).join(ORGS, ORGS.c.id == OFFERS.c.org_id)
            .outerjoin(KEYS, and_(KEYS.c.org_id == OFFERS.c.org_id, KEYS.c.retired_at.is_(None)))
            .with_for_update(of=OFFERS, key_share=True))


_OFFER_LOCKED = _offer_in_context(OFFERS).where(OFFERS.c.id == bindparam("offer_id"))


def _spent_and_granted() -> Any:
    """PostgreSQL: the token spent and its offer read in one statement (one round trip, not two: a
    credential request's statements are most of its cost there, issue 15). The ``UPDATE`` is a
    data-modifying ``WITH`` query, which runs exactly once whatever the outer query finds; the
    token's row is locked by it, then the offer's by ``FOR NO KEY UPDATE OF``, the order of the two
    statements this replaces. SQLite has no data-modifying ``WITH`` and no round trips to save.

    One thing differs from a key read of its own after the lock: a request that waits here for
    the offer's lock (another request of the same offer holds it) gets the organisation's key as
    it was when the statement began, so a rotation committed during that wait still lets this one
    credential be signed with the key just retired. Retired keys stay published until their last
    credential expires (``rotate_key``), so it verifies; the window is that wait, on that offer."""
    used = _USE_TOKEN.cte("used")
    return _offer_in_context(used.join(OFFERS, OFFERS.c.id == used.c.offer_id), used.c.family_id, used.c.dpop_jkt)


_SPEND_AND_GRANT = _spent_and_granted()


_TOKEN_CLAIMS = select(TOKENS.c.sealed_claims).where(TOKENS.c.digest == bindparam("token_digest"))


async def use_access_token(db: Db, node: NodeKey, token: str, now: int,
                           purpose: str = SD_JWT_GRANT) -> Granted | None:
    """What a live, unused token grants for ``purpose``, marking that grant used; else None. Its
    sealed claims go with the kept answer (``keep_response``), in the unit's last write.

    Lock order on PostgreSQL, against a refresh grant of the same family (``refresh_family``:
    the offer's credentials, then the family, then a new access token whose foreign key takes a
    key-share lock on the offer): the offer is locked ``FOR NO KEY UPDATE``, which that key-share
    lock does not wait for, and nothing here touches the family before ``batch_fate`` has the
    credentials. A second update of the token row now would check its family's key again (the
    row is this transaction's own), taking that share lock early: the two waited for each other
    (tests/test_concurrency.py)."""
    digest = node.digest(purpose, token)
    if dialect_name(db) != "sqlite":
        offer = (await db.execute(_SPEND_AND_GRANT, {"token_digest": digest, "now": now})).one_or_none()
        row = offer
    else:
        row = (await db.execute(_USE_TOKEN, {"token_digest": digest, "now": now})).one_or_none()
        offer = None if row is None else (await db.execute(_OFFER_LOCKED, {"offer_id": row.offer_id})).one()
    if row is None or offer is None:
        return None
    claims = None
    if row.family_id is not None or purpose == OFFLINE_GRANT:
        sealed_claims = (await db.execute(_TOKEN_CLAIMS, {"token_digest": digest})).scalar_one()
        if sealed_claims is not None:
            claims = json.loads(node.open_for(token, sealed_claims, f"refresh-access:{digest}"))
    return Granted(offer, row.family_id, claims, offline=purpose == OFFLINE_GRANT, dpop_jkt=row.dpop_jkt)


@cache
def _spend_once(dialect: str, table: Table) -> Any:
    """Insert-or-ignore of a spent value's digest, answering with the digest when it was new."""
    return (insert_of(dialect, table).values(digest=bindparam("digest"), expires_at=bindparam("expires_at"))
            .on_conflict_do_nothing().returning(table.c.digest))


async def _spent_first(db: Db, table: Table, digest: str, expires_at: int) -> bool:
    result = await db.execute(_spend_once(dialect_name(db), table), {"digest": digest, "expires_at": expires_at})
    return result.scalar_one_or_none() is not None


async def spend_nonce(db: Db, node: NodeKey, nonce: str, expires_at: int) -> bool:
    """Record a genuine ``c_nonce`` as spent: True the first time, False on a replay. One
    insert-or-ignore, so two concurrent requests with one nonce cannot both spend it. Spent
    nonces are kept only until they would have expired anyway (``forget_spent_nonces``): an
    expired nonce is refused before it gets here, so its row has nothing left to guard."""
    return await _spent_first(db, NONCES, node.digest("c-nonce-spent", nonce), expires_at)


def _form_digest(node: NodeKey, staff_id: str, once: str) -> str:
    return node.digest("console-form-sent", f"{staff_id} {once}")


async def spend_form(db: Db, node: NodeKey, staff_id: str, once: str, remember_until: int) -> bool:
    """Record a console form's one-time value as sent: True the first time, False when the same page
    is sent again (the browser's reload after a POST, "confirm form resubmission"). Kept beside the
    spent nonces, and forgotten with them at ``remember_until``."""
    return await _spent_first(db, NONCES, _form_digest(node, staff_id, once), remember_until)


async def form_spent(db: Db, node: NodeKey, staff_id: str, once: str) -> bool:
    """Whether a console form's one-time value was spent already: looked at before its file is read,
    so that a page sent again without its file is told so (helper-94: it was told "the file is empty",
    and the fresh page it answered with made the class a second time)."""
    found = await db.execute(select(NONCES.c.digest).where(NONCES.c.digest == _form_digest(node, staff_id, once)))
    return found.first() is not None


_FORGET_DPOP_PROOFS = delete(DPOP_PROOFS).where(DPOP_PROOFS.c.expires_at <= bindparam("now"))


async def spend_dpop_jti(db: Db, node: NodeKey, jkt: str, uri: str, jti: str, remember_until: int,
                         now: int) -> bool:
    """Record a DPoP proof's ``jti`` for its key and endpoint: True the first time, False on a
    replay (RFC 9449 section 11.1). One insert-or-ignore, as ``spend_nonce``: of two concurrent
    requests with one proof exactly one wins. Kept only while the proof's window could accept it."""
    await db.execute(_FORGET_DPOP_PROOFS, {"now": now})
    return await _spent_first(db, DPOP_PROOFS, node.digest("dpop-jti", f"{jkt} {uri} {jti}"), remember_until)


_KEEP_RESPONSE = (update(TOKENS).where(TOKENS.c.digest == bindparam("token_digest"))
                  .values(request_digest=bindparam("request_digest"), sealed_response=bindparam("sealed"),
                          sealed_claims=None))


async def keep_response(db: Db, node: NodeKey, token: str, request_digest: str, body: bytes,
                        purpose: str = SD_JWT_GRANT) -> None:
    """Seal the credential response to the request that used ``token``, for a lost-answer retry;
    the claims its grant carried go (``use_access_token``: they are read once, by this request)."""
    digest = node.digest(purpose, token)
    await later(db, _KEEP_RESPONSE, {"token_digest": digest, "request_digest": request_digest,
                                      "sealed": node.seal(body, f"credential-response:{digest}")})


_KEPT = select(TOKENS.c.sealed_response, TOKENS.c.used_at, TOKENS.c.request_digest, TOKENS.c.dpop_jkt).where(
    TOKENS.c.digest == bindparam("token_digest"))


async def kept_response(db: Db, node: NodeKey, token: str, request_digest: str, now: int,
                        window_s: int, purpose: str = SD_JWT_GRANT, dpop_jkt: str | None = None) -> bytes | None:
    """The kept answer if ``token`` was used by this very request less than ``window_s`` ago, and
    presented with the DPoP key it is bound to (``dpop_jkt``; None for a Bearer token)."""
    digest = node.digest(purpose, token)
    row = (await db.execute(_KEPT, {"token_digest": digest})).one_or_none()
    if (row is None or row.sealed_response is None or row.used_at is None or now - row.used_at >= window_s
            or row.request_digest != request_digest or row.dpop_jkt != dpop_jkt):
        return None
    return node.open(row.sealed_response, f"credential-response:{digest}")


# --- refresh families -----------------------------------------------------------------------

_NEW_FAMILY, _NEW_REFRESH_TOKEN = insert(FAMILIES), insert(REFRESH_TOKENS)


async def new_refresh_family(db: Db, node: NodeKey, *, offer: Any, client_id: str | None,
                             now: int, expires_at: int, dpop_jkt: str | None = None) -> str:
    """A family for ``offer``'s credential and its first refresh token; the claims (still held by
    the offer) are sealed under that token. The family first: the token refers to it."""
    token, family_id = new_token(), str(uuid.uuid4())
    assert offer.sealed_claims is not None
    claims = node.open(offer.sealed_claims, f"offer:{offer.id}")
    await later(db, _NEW_FAMILY, {
        "id": family_id, "org_id": offer.org_id, "offer_id": offer.id,
        "client_digest": None if client_id is None else node.digest("client-id", client_id),
        "sealed_claims": node.seal_for(token, claims, f"refresh-claims:{family_id}"),
        "created_at": now, "expires_at": expires_at, "revoked_at": None, "dpop_jkt": dpop_jkt})
    await later(db, _NEW_REFRESH_TOKEN, {"digest": node.digest("refresh-token", token), "family_id": family_id,
                                          "expires_at": expires_at, "used_at": None})
    return token


# --- credentials, keys and status lists -------------------------------------------------------

_BATCH_FATE = (select(CREDENTIALS.c.status, CREDENTIALS.c.expires_at)
               .where(CREDENTIALS.c.offer_id == bindparam("offer_id")).order_by(CREDENTIALS.c.id).with_for_update())


async def batch_fate(db: Db, offer_id: str) -> tuple[list[int], int | None]:
    """Every credential of the offer locked (a concurrent status change waits, or is waited for)
    and their statuses, with the batch's expiry."""
    rows = (await db.execute(_BATCH_FATE, {"offer_id": offer_id})).all()
    return [r.status for r in rows], max((r.expires_at for r in rows), default=None)


_ACTIVE_KEY = select(KEYS.c.kid, KEYS.c.sealed_private).where(KEYS.c.org_id == bindparam("org_id"),
                                                              KEYS.c.retired_at.is_(None))


async def active_key(db: Db, node: NodeKey, org_id: str) -> keys.PrivateKey:
    row = (await db.execute(_ACTIVE_KEY, {"org_id": org_id})).one()
    return _opened_key(node, row.kid, row.sealed_private)


def signing_key(node: NodeKey, granted: Granted) -> keys.PrivateKey:
    """The signing key read with the grant (``use_access_token``): the organisation's active one."""
    kid, sealed = granted.offer.signing_kid, granted.offer.signing_sealed
    if kid is None:
        raise LookupError("the organisation has no active signing key")
    return _opened_key(node, kid, sealed)


@lru_cache(maxsize=64)
def _opened_key(node: NodeKey, kid: str, sealed: bytes) -> keys.PrivateKey:
    """A signing key unsealed and parsed once per process, not per credential (about 0.1 ms:
    parsing a private JWK derives its public point). Keyed by the sealed value itself, so a
    rotated or replaced key is never served from here: the query above decides which key signs."""
    return keys.PrivateKey.from_jwk(json.loads(node.open(sealed, f"signing-key:{kid}")))


# FOR NO KEY UPDATE (``key_share``): allocations exclude each other as before, and a credential
# inserted meanwhile from the reserve (its foreign keys' checks take KEY SHARE on these rows) does
# not wait for one to commit. The oldest open list first, so lists fill one after another.
_ORG_LOCK = select(ORGS.c.id).where(ORGS.c.id == bindparam("org_id")).with_for_update(key_share=True)
_OPEN_LIST = (select(LISTS.c.id, LISTS.c.number, LISTS.c.size, LISTS.c.allocated, LISTS.c.allocated_count)
              .where(LISTS.c.org_id == bindparam("org_id"), LISTS.c.allocated_count <= bindparam("most"))
              .order_by(LISTS.c.number).limit(1).with_for_update(key_share=True))
_LAST_LIST = select(func.max(LISTS.c.number)).where(LISTS.c.org_id == bindparam("org_id"))
_NEW_LIST = insert(LISTS)
_ALLOCATED = (update(LISTS).where(LISTS.c.id == bindparam("list_id"))
              .values(allocated=bindparam("allocated"), allocated_count=bindparam("allocated_count")))


async def allocate_status(db: Db, org_id: str, count: int) -> Allocated:
    """``count`` random free indices in one open list of the organisation (a new list when
    all are full): one read and one write of the list row per batch, not per credential.

    The organisation's row is locked first, so concurrent issuances queue on it: otherwise
    each that finds no open list yet opens its own (issue 11: five lists of 92-174 entries on
    PostgreSQL where one would do, and smaller crowds mean less herd privacy). The same lock
    makes a new list's number (the organisation's next) race-free. On SQLite every transaction
    already holds the database's one write lock from its start (core.db, ``BEGIN IMMEDIATE``), and
    ``FOR UPDATE`` compiles to nothing: the statement would be a read for nothing (issue 15)."""
    if dialect_name(db) != "sqlite":
        await db.execute(_ORG_LOCK, {"org_id": org_id})
    row = (await db.execute(_OPEN_LIST, {"org_id": org_id, "most": revocation.FILL_LIMIT - count})).one_or_none()
    if row is not None:
        bitmap = bytearray(row.allocated)
        indices = [revocation.allocate(bitmap, row.size) for _ in range(count)]
        await later(db, _ALLOCATED, {"list_id": row.id, "allocated": bytes(bitmap),
                                      "allocated_count": row.allocated_count + count})
        return Allocated(row.id, row.number, indices)
    empty = StatusList.empty(revocation.LIST_SIZE, revocation.BITS)  # every list full: a new one, written whole
    bitmap = bytearray(revocation.LIST_SIZE // 8)
    indices = [revocation.allocate(bitmap, len(empty)) for _ in range(count)]
    list_id, last = secrets.token_hex(16), (await db.execute(_LAST_LIST, {"org_id": org_id})).scalar_one_or_none()
    await later(db, _NEW_LIST, {
        "id": list_id, "org_id": org_id, "number": (last or 0) + 1, "bits": empty.bits, "size": len(empty),
        "statuses": bytes(empty.data), "allocated": bytes(bitmap), "allocated_count": count, "version": 1,
        "token_version": 0, "token_expires_at": 0})
    return Allocated(list_id, (last or 0) + 1, indices)


_NEW_CREDENTIALS = insert(CREDENTIALS)


async def record_credentials(db: Db, rows: list[dict[str, Any]]) -> None:
    """The issued credentials' rows (no claims in them unless the organisation keeps claims,
    sealed): one statement for the whole batch."""
    await later(db, _NEW_CREDENTIALS, rows)
