"""Every SQL statement of the issuer. Functions take an ``AsyncSession`` and never commit:
the caller (one request, one transaction) commits or rolls back, so nothing half-written stays.

Secrets never reach a column in the clear: private keys and pending claims are sealed,
codes, PINs, tokens and API keys are keyed digests (core.sealing).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import keys
from core.db import dialect_insert
from core.sealing import NodeKey, new_token
from core.statuslist import INVALID, StatusList
from issuer import refresh, revocation
from issuer.offers import CANCELLABLE, RETRY_WINDOW_S, OfferState, new_offer_id, new_pin, reference_key
from issuer.tables import (
    AccessToken,
    Credential,
    DPoPProof,
    Nonce,
    Offer,
    Organisation,
    RefreshFamily,
    RefreshToken,
    SigningKey,
    Staff,
    StatusListRow,
)

# --- organisations, keys and staff ------------------------------------------------------


async def create_org(
    session: AsyncSession, node: NodeKey, *, slug: str, names: dict[str, str], vcts: list[str],
    keep_claims_days: int | None, staff_name: str, now: int,
) -> tuple[Organisation, str]:
    """A new organisation with a fresh signing key and one staff member; returns their API key."""
    org = Organisation(id=str(uuid.uuid4()), slug=slug, names=names, vcts=vcts,
                       keep_claims_days=keep_claims_days, created_at=now)
    session.add(org)
    await session.flush()
    await add_signing_key(session, node, org.id, now)
    return org, await add_staff(session, node, org.id, staff_name, now)


async def add_staff(session: AsyncSession, node: NodeKey, org_id: str, name: str, now: int) -> str:
    api_key = "amk_" + secrets.token_urlsafe(32)
    session.add(Staff(id=str(uuid.uuid4()), org_id=org_id, name=name,
                      api_key_digest=node.digest("api-key", api_key), created_at=now))
    return api_key


async def add_signing_key(session: AsyncSession, node: NodeKey, org_id: str, now: int) -> keys.PublicKey:
    key = keys.generate("ES256")
    assert key.kid is not None
    sealed = node.seal(json.dumps(key.to_jwk()).encode(), f"signing-key:{key.kid}")
    session.add(SigningKey(kid=key.kid, org_id=org_id, alg=key.alg, public_jwk=key.public_key().to_jwk(),
                           sealed_private=sealed, created_at=now))
    return key.public_key()


async def rotate_key(session: AsyncSession, node: NodeKey, org_id: str, now: int, publish_until: int) -> str:
    """Retire the active key (still published until its credentials expire) and make a new one."""
    await session.execute(update(SigningKey).where(SigningKey.org_id == org_id, SigningKey.retired_at.is_(None))
                          .values(retired_at=now, publish_until=publish_until))
    new = await add_signing_key(session, node, org_id, now)
    assert new.kid is not None
    return new.kid


async def org_by_slug(session: AsyncSession, slug: str) -> Organisation | None:
    return (await session.execute(select(Organisation).where(Organisation.slug == slug))).scalar_one_or_none()


async def org_by_id(session: AsyncSession, org_id: str) -> Organisation | None:
    return await session.get(Organisation, org_id)


async def staff_by_api_key(session: AsyncSession, node: NodeKey, api_key: str) -> Staff | None:
    query = select(Staff).where(Staff.api_key_digest == node.digest("api-key", api_key))
    return (await session.execute(query)).scalar_one_or_none()


async def active_key(session: AsyncSession, node: NodeKey, org_id: str) -> keys.PrivateKey:
    query = select(SigningKey).where(SigningKey.org_id == org_id, SigningKey.retired_at.is_(None))
    row = (await session.execute(query)).scalar_one()
    return _opened_key(node, row.kid, row.sealed_private)


@lru_cache(maxsize=64)
def _opened_key(node: NodeKey, kid: str, sealed: bytes) -> keys.PrivateKey:
    """A signing key unsealed and parsed once per process, not per credential (about 0.1 ms:
    parsing a private JWK derives its public point). Keyed by the sealed value itself, so a
    rotated or replaced key is never served from here: the query above decides which key signs."""
    return keys.PrivateKey.from_jwk(json.loads(node.open(sealed, f"signing-key:{kid}")))


async def published_keys(session: AsyncSession, org_id: str, now: int) -> list[dict[str, Any]]:
    """The active key and retired keys whose credentials may still be valid (rotation)."""
    query = select(SigningKey).where(SigningKey.org_id == org_id).order_by(SigningKey.created_at)
    rows = (await session.execute(query)).scalars()
    return [r.public_jwk for r in rows if r.retired_at is None or (r.publish_until or 0) > now]


# --- offers, tokens and nonces ----------------------------------------------------------


def offer_code(node: NodeKey, offer_id: str) -> str:
    """The pre-authorized code is derived, not stored: the table holds only its digest."""
    return node.digest("pre-authorized-code", offer_id)


def pin_digest(node: NodeKey, offer_id: str, pin: str) -> str:
    return node.digest("tx-code", f"{offer_id}:{pin}")


async def create_offer(
    session: AsyncSession, node: NodeKey, *, org_id: str, config_id: str, claims: dict[str, Any],
    batch_size: int, language: str, staff_id: str | None, now: int, ttl_s: int, valid_days: int | None = None,
    reference: str | None = None,
) -> tuple[Offer, str]:
    """A new offer; returns it and its PIN (shown once, never stored in the clear)."""
    offer_id, pin = new_offer_id(), new_pin()
    offer = Offer(
        id=offer_id, org_id=org_id, config_id=config_id,
        code_digest=node.digest("code", offer_code(node, offer_id)), pin_digest=pin_digest(node, offer_id, pin),
        pin_failures=0, state=OfferState.OFFERED.value, batch_size=batch_size, valid_days=valid_days,
        language=language,
        sealed_claims=node.seal(json.dumps(claims).encode(), f"offer:{offer_id}"),
        created_by=staff_id, created_at=now, expires_at=now + ttl_s,
    )
    if reference:
        offer.sealed_reference = node.seal(reference.encode(), f"offer-reference:{offer_id}")
        offer.reference_digest = reference_digest(node, org_id, reference)
    session.add(offer)
    return offer, pin


def offer_reference(node: NodeKey, offer_id: str, sealed: bytes | None) -> str | None:
    return None if sealed is None else node.open(sealed, f"offer-reference:{offer_id}").decode()


def reference_digest(node: NodeKey, org_id: str, reference: str) -> str:
    """The searchable form of a staff reference: any spelling, any digits, one digest."""
    return node.digest("offer-reference", f"{org_id}:{reference_key(reference)}")


async def offers_by_reference(session: AsyncSession, node: NodeKey, org_id: str, reference: str) -> list[Offer]:
    digest = reference_digest(node, org_id, reference)
    query = select(Offer).where(Offer.org_id == org_id, Offer.reference_digest == digest).order_by(Offer.created_at)
    return list((await session.execute(query)).scalars())


def _open(org_id: str, now: int) -> Any:
    return and_(Offer.org_id == org_id, Offer.state.in_([s.value for s in CANCELLABLE]), Offer.expires_at > now)


async def open_offers(session: AsyncSession, org_id: str, now: int, *, after: tuple[int, str] | None = None,
                      limit: int = 100, reference_digest: str | None = None) -> list[Offer]:
    """One page of the offers not yet issued, cancelled or expired, newest first: a lost sheet
    can be found and cancelled. The order is total (``created_at``, then ``id``) and ``after``
    is the previous page's last row (keyset paging): every open offer is on exactly one page,
    however many classes came after it (a fixed newest 500 hid the rest)."""
    query = select(Offer).where(_open(org_id, now))
    if reference_digest is not None:
        query = query.where(Offer.reference_digest == reference_digest)
    if after is not None:
        created_at, last_id = after
        query = query.where(or_(Offer.created_at < created_at,
                                and_(Offer.created_at == created_at, Offer.id > last_id)))
    query = query.order_by(Offer.created_at.desc(), Offer.id).limit(limit)
    return list((await session.execute(query)).scalars())


async def open_offer(session: AsyncSession, org_id: str, offer_id: str, now: int) -> Offer | None:
    """One open offer of ``org_id`` by its id (None: none such)."""
    query = select(Offer).where(_open(org_id, now), Offer.id == offer_id)
    return (await session.execute(query)).scalar_one_or_none()


async def cancel_offer(session: AsyncSession, org_id: str, offer_id: str, now: int) -> Offer | None:
    """Open → cancelled in one conditional statement (the holder may be redeeming it right now:
    whichever commits first wins, never both). Its claims go at once, the copy a refresh family
    keeps too. None: no open offer."""
    result = await session.execute(
        update(Offer).where(Offer.id == offer_id, Offer.org_id == org_id,
                            Offer.state.in_([s.value for s in CANCELLABLE]))
        .values(state=OfferState.CANCELLED.value, sealed_claims=None).returning(Offer.id))
    if result.scalar_one_or_none() is None:
        return None
    await revoke_families(session, now, offer_id=offer_id)  # a refresh token its wallet got goes with it
    return await session.get(Offer, offer_id, populate_existing=True)


async def offer_by_id(session: AsyncSession, offer_id: str) -> Offer | None:
    return await session.get(Offer, offer_id)


async def offer_by_code(session: AsyncSession, node: NodeKey, code: str, slug: str) -> Offer | None:
    """The offer behind a pre-authorized code, if it is the organisation's at ``slug`` (locked)."""
    query = (select(Offer).join(Organisation, Organisation.id == Offer.org_id)
             .where(Offer.code_digest == node.digest("code", code), Organisation.slug == slug)
             .with_for_update(of=Offer))
    return (await session.execute(query)).scalar_one_or_none()


async def offer_at(session: AsyncSession, slug: str, offer_id: str) -> Offer | None:
    """The offer ``offer_id`` if it is the organisation's at ``slug``: one statement, not two."""
    query = (select(Offer).join(Organisation, Organisation.id == Offer.org_id)
             .where(Offer.id == offer_id, Organisation.slug == slug))
    return (await session.execute(query)).scalar_one_or_none()


def offer_claims(node: NodeKey, offer: Offer) -> dict[str, Any]:
    assert offer.sealed_claims is not None
    claims: dict[str, Any] = json.loads(node.open(offer.sealed_claims, f"offer:{offer.id}"))
    return claims


# Purposes of the keyed digest of an access token: one row per credential configuration it
# grants (issuer.offline: the SD-JWT VC and its compact copy), each used once.
SD_JWT_GRANT = "access-token"
OFFLINE_GRANT = "access-token-offline"


async def new_access_token(session: AsyncSession, node: NodeKey, offer_id: str, now: int, ttl_s: int, *,
                           family_id: str | None = None, claims: bytes | None = None,
                           offline_claims: bytes | None = None, dpop_jkt: str | None = None) -> str:
    """A new access token; one from a refresh grant carries its family and the claims, sealed
    under the token itself. With ``offline_claims`` the same token also grants the compact copy
    once (a second row under another digest purpose), its claims sealed under the token too: the
    first request of either configuration must not take the other's claims away. ``dpop_jkt``: the
    thumbprint of the DPoP key it is bound to (issuer.dpop), on both rows."""
    token = new_token()
    digest = node.digest(SD_JWT_GRANT, token)
    sealed = None if claims is None else node.seal_for(token, claims, f"refresh-access:{digest}")
    session.add(AccessToken(digest=digest, offer_id=offer_id, expires_at=now + ttl_s, family_id=family_id,
                            sealed_claims=sealed, dpop_jkt=dpop_jkt))
    if offline_claims is not None:
        offline = node.digest(OFFLINE_GRANT, token)
        session.add(AccessToken(digest=offline, offer_id=offer_id, expires_at=now + ttl_s, family_id=family_id,
                                sealed_claims=node.seal_for(token, offline_claims, f"refresh-access:{offline}"),
                                dpop_jkt=dpop_jkt))
    return token


@dataclass(frozen=True, slots=True)
class Granted:
    """What a live access token was for: the offer, and for a refresh grant the family and claims."""

    offer: Offer
    family_id: str | None = None
    claims: dict[str, Any] | None = None
    offline: bool = False  # the compact copy's grant (claims always given)
    dpop_jkt: str | None = None  # the DPoP key the token is bound to; None: a Bearer token


async def use_access_token(session: AsyncSession, node: NodeKey, token: str, now: int,
                           purpose: str = SD_JWT_GRANT) -> Granted | None:
    """What a live, unused token grants for ``purpose``, marking that grant used (its sealed claims
    go); else None."""
    digest = node.digest(purpose, token)
    result = await session.execute(
        update(AccessToken).where(AccessToken.digest == digest, AccessToken.used.is_(False),
                                  AccessToken.expires_at > now).values(used=True, used_at=now)
        .returning(AccessToken.offer_id, AccessToken.family_id, AccessToken.dpop_jkt))
    row = result.one_or_none()
    if row is None:
        return None
    offer = await session.get(Offer, row[0], with_for_update=True)
    assert offer is not None
    claims = None
    if row[1] is not None or purpose == OFFLINE_GRANT:  # RETURNING gives the values after an update: read, drop
        sealed = (await session.execute(select(AccessToken.sealed_claims).where(AccessToken.digest == digest)))
        sealed_claims = sealed.scalar_one()
        await session.execute(update(AccessToken).where(AccessToken.digest == digest).values(sealed_claims=None))
        if sealed_claims is not None:
            claims = json.loads(node.open_for(token, sealed_claims, f"refresh-access:{digest}"))
    return Granted(offer, row[1], claims, offline=purpose == OFFLINE_GRANT, dpop_jkt=row[2])


async def spend_nonce(session: AsyncSession, node: NodeKey, nonce: str, expires_at: int) -> bool:
    """Record a genuine ``c_nonce`` as spent: True the first time, False on a replay. One
    insert-or-ignore, so two concurrent requests with one nonce cannot both spend it. Spent
    nonces are kept only until they would have expired anyway (``forget_spent_nonces``): an
    expired nonce is refused before it gets here, so its row has nothing left to guard."""
    result = await session.execute(
        dialect_insert(session, Nonce).values(digest=node.digest("c-nonce-spent", nonce), expires_at=expires_at)
        .on_conflict_do_nothing().returning(Nonce.digest))
    return result.scalar_one_or_none() is not None


async def keep_response(session: AsyncSession, node: NodeKey, token: str, request_digest: str, body: bytes,
                        purpose: str = SD_JWT_GRANT) -> None:
    """Seal the credential response to the request that used ``token``, for a lost-answer retry."""
    digest = node.digest(purpose, token)
    await session.execute(update(AccessToken).where(AccessToken.digest == digest).values(
        request_digest=request_digest, sealed_response=node.seal(body, f"credential-response:{digest}")))


async def kept_response(session: AsyncSession, node: NodeKey, token: str, request_digest: str, now: int,
                        window_s: int, purpose: str = SD_JWT_GRANT, dpop_jkt: str | None = None) -> bytes | None:
    """The kept answer if ``token`` was used by this very request less than ``window_s`` ago, and
    presented with the DPoP key it is bound to (``dpop_jkt``; None for a Bearer token)."""
    digest = node.digest(purpose, token)
    row = await session.get(AccessToken, digest)
    if (row is None or row.sealed_response is None or row.used_at is None or now - row.used_at >= window_s
            or row.request_digest != request_digest or row.dpop_jkt != dpop_jkt):
        return None
    return node.open(row.sealed_response, f"credential-response:{digest}")


async def spend_dpop_jti(session: AsyncSession, node: NodeKey, jkt: str, uri: str, jti: str, remember_until: int,
                         now: int) -> bool:
    """Record a DPoP proof's ``jti`` for its key and endpoint: True the first time, False on a
    replay (RFC 9449 section 11.1). One insert-or-ignore, as ``spend_nonce``: of two concurrent
    requests with one proof exactly one wins. Kept only while the proof's window could accept it."""
    await session.execute(delete(DPoPProof).where(DPoPProof.expires_at <= now))
    result = await session.execute(
        dialect_insert(session, DPoPProof).values(digest=node.digest("dpop-jti", f"{jkt} {uri} {jti}"),
                                                  expires_at=remember_until)
        .on_conflict_do_nothing().returning(DPoPProof.digest))
    return result.scalar_one_or_none() is not None


# --- refresh tokens (issuer.refresh) ----------------------------------------------------


async def new_refresh_family(session: AsyncSession, node: NodeKey, *, offer: Offer, client_id: str | None,
                             now: int, expires_at: int) -> str:
    """A family for ``offer``'s credential and its first refresh token; the claims (still held by
    the offer) are sealed under that token."""
    token, family_id = new_token(), str(uuid.uuid4())
    assert offer.sealed_claims is not None
    claims = node.open(offer.sealed_claims, f"offer:{offer.id}")
    # Both rows written whole, not the family flushed and then updated (issue 15). The family is
    # flushed before the token is added, on purpose: without a relationship() the unit of work
    # orders inserts by class name, not by foreign key, and the token refers to the family.
    family = RefreshFamily(id=family_id, org_id=offer.org_id, offer_id=offer.id,
                           client_digest=None if client_id is None else node.digest("client-id", client_id),
                           created_at=now, expires_at=expires_at,
                           sealed_claims=node.seal_for(token, claims, f"refresh-claims:{family_id}"))
    session.add(family)
    await session.flush()
    session.add(RefreshToken(digest=node.digest("refresh-token", token), family_id=family_id, expires_at=expires_at))
    return token


async def _add_refresh_token(session: AsyncSession, node: NodeKey, family_id: str, token: str, claims: bytes,
                             expires_at: int) -> None:
    session.add(RefreshToken(digest=node.digest("refresh-token", token), family_id=family_id, expires_at=expires_at))
    await session.execute(update(RefreshFamily).where(RefreshFamily.id == family_id).values(
        sealed_claims=node.seal_for(token, claims, f"refresh-claims:{family_id}")))


async def refresh_family(session: AsyncSession, node: NodeKey, org_id: str,
                         token: str) -> tuple[RefreshFamily, refresh.FamilyState] | None:
    """The family a refresh token of ``org_id`` belongs to, locked, and what the decision needs.
    The offer's credentials are locked before the family, in the order a status change takes
    them (credentials, then families), so the two never wait for each other."""
    query = (select(RefreshToken, RefreshFamily).join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
             .where(RefreshToken.digest == node.digest("refresh-token", token), RefreshFamily.org_id == org_id))
    found = (await session.execute(query)).first()
    if found is None:
        return None
    statuses, expire_at = await batch_fate(session, found[1].offer_id)
    locked = (await session.execute(query.with_for_update().execution_options(populate_existing=True))).first()
    assert locked is not None  # rows of a family are deleted only with its organisation or offer
    token_row, family = locked[0], locked[1]
    offer = await session.get(Offer, family.offer_id)
    state = refresh.FamilyState(
        rotated=token_row.used_at is not None, revoked=family.revoked_at is not None, expires_at=family.expires_at,
        client_digest=family.client_digest, offer_issued=offer is not None and offer.state == OfferState.ISSUED,
        statuses=tuple(statuses), credentials_expire_at=expire_at)
    return family, state


async def rotate_refresh(session: AsyncSession, node: NodeKey, family: RefreshFamily, token: str,
                         now: int) -> tuple[str, bytes] | None:
    """Spend ``token`` (one conditional statement: of two racing requests one wins) and make its
    successor; the claims move under the new token. None: it was spent meanwhile."""
    spent = await session.execute(update(RefreshToken).where(
        RefreshToken.digest == node.digest("refresh-token", token), RefreshToken.used_at.is_(None))
        .values(used_at=now).returning(RefreshToken.digest))
    if spent.scalar_one_or_none() is None or family.sealed_claims is None:
        return None
    claims = node.open_for(token, family.sealed_claims, f"refresh-claims:{family.id}")
    successor = new_token()
    await _add_refresh_token(session, node, family.id, successor, claims, family.expires_at)
    return successor, claims


async def revoke_families(session: AsyncSession, now: int, *, family_id: str | None = None,
                          offer_id: str | None = None) -> None:
    """A family dies (reuse detected, or its credential revoked): its claims go with it."""
    condition = RefreshFamily.id == family_id if family_id is not None else RefreshFamily.offer_id == offer_id
    await session.execute(update(RefreshFamily).where(condition, RefreshFamily.revoked_at.is_(None))
                          .values(revoked_at=now, sealed_claims=None))


async def batch_fate(session: AsyncSession, offer_id: str) -> tuple[list[int], int | None]:
    """Every credential of the offer locked (a concurrent status change waits, or is waited for)
    and their statuses, with the batch's expiry."""
    rows = (await session.execute(select(Credential.status, Credential.expires_at)
                                  .where(Credential.offer_id == offer_id).order_by(Credential.id)
                                  .with_for_update())).all()
    return [r[0] for r in rows], max((r[1] for r in rows), default=None)


# --- credentials and status lists -------------------------------------------------------


async def allocate_status(session: AsyncSession, org_id: str, count: int) -> tuple[StatusListRow, list[int]]:
    """``count`` random free indices in one open list of the organisation (a new list when
    all are full): one read and one write of the list row per batch, not per credential.

    The organisation's row is locked first, so concurrent issuances queue on it: otherwise
    each that finds no open list yet opens its own (issue 11: five lists of 92-174 entries on
    PostgreSQL where one would do, and smaller crowds mean less herd privacy). The same lock
    makes a new list's number (the organisation's next) race-free. On SQLite every transaction
    already holds the database's one write lock from its start (core.db, ``BEGIN IMMEDIATE``), and
    ``FOR UPDATE`` compiles to nothing: the statement would be a read for nothing (issue 15)."""
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(select(Organisation.id).where(Organisation.id == org_id).with_for_update())
    query = (select(StatusListRow).where(StatusListRow.org_id == org_id,
                                         StatusListRow.allocated_count <= revocation.FILL_LIMIT - count)
             .limit(1).with_for_update())
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        empty = StatusList.empty(revocation.LIST_SIZE, revocation.BITS)
        last = (await session.execute(select(func.max(StatusListRow.number))
                                      .where(StatusListRow.org_id == org_id))).scalar_one_or_none()
        row = StatusListRow(id=secrets.token_hex(16), org_id=org_id, number=(last or 0) + 1, bits=empty.bits,
                            size=len(empty),
                            statuses=bytes(empty.data), allocated=bytes(revocation.LIST_SIZE // 8),
                            allocated_count=0, version=1, token_version=0, token_expires_at=0)
        session.add(row)
        await session.flush()  # before any credential row refers to it
    bitmap = bytearray(row.allocated)
    indices = [revocation.allocate(bitmap, row.size) for _ in range(count)]
    row.allocated, row.allocated_count = bytes(bitmap), row.allocated_count + count
    return row, indices


async def record_credential(session: AsyncSession, credential: Credential) -> None:
    session.add(credential)


async def finish_offer(session: AsyncSession, offer: Offer) -> None:
    """Issued: the claims go (secure_delete overwrites them in the SQLite file)."""
    offer.state, offer.sealed_claims = OfferState.ISSUED.value, None


async def purge_expired(session: AsyncSession, now: int) -> None:
    """Retention: claims of offers that expired unredeemed, and kept claims past ``retain_until``."""
    await session.execute(update(Offer).where(Offer.expires_at <= now, Offer.sealed_claims.is_not(None))
                          .values(sealed_claims=None))
    await session.execute(update(Credential).where(Credential.retain_until <= now)
                          .values(sealed_claims=None, retain_until=None))
    await session.execute(delete(RefreshToken).where(RefreshToken.expires_at <= now))
    await session.execute(update(AccessToken).where(AccessToken.expires_at <= now,
                                                    AccessToken.sealed_claims.is_not(None)).values(sealed_claims=None))
    await session.execute(update(RefreshFamily).where(RefreshFamily.expires_at <= now,
                                                      RefreshFamily.sealed_claims.is_not(None))
                          .values(sealed_claims=None))
    await forget_responses(session, now)
    await forget_spent_nonces(session, now)


async def forget_spent_nonces(session: AsyncSession, now: int) -> None:
    await session.execute(delete(Nonce).where(Nonce.expires_at <= now))


async def forget_responses(session: AsyncSession, now: int) -> None:
    """Kept credential responses live ``RETRY_WINDOW_S``, no longer (by the ``used_at`` index)."""
    await session.execute(update(AccessToken).where(AccessToken.used_at <= now - RETRY_WINDOW_S,
                                                    AccessToken.sealed_response.is_not(None))
                          .values(sealed_response=None))


async def credentials_page(
    session: AsyncSession, org_id: str, *, after: tuple[int, str] | None = None, limit: int = 100,
    offer_ids: list[str] | None = None,
) -> list[tuple[Credential, bytes | None]]:
    """One page of the organisation's credentials, newest first, each with its offer's sealed
    reference. The order is total — ``issued_at`` (rounded to the day, so many share it), then
    ``id`` — and ``after`` is the last row of the previous page (keyset paging): every credential
    appears on exactly one page however many were issued that day (issue 11: a fixed 200 hid
    the rest, so they could not be revoked)."""
    query = (select(Credential, Offer.sealed_reference).outerjoin(Offer, Offer.id == Credential.offer_id)
             .where(Credential.org_id == org_id))
    if offer_ids is not None:
        query = query.where(Credential.offer_id.in_(offer_ids))
    if after is not None:
        issued_at, last_id = after
        query = query.where(or_(Credential.issued_at < issued_at,
                                and_(Credential.issued_at == issued_at, Credential.id > last_id)))
    query = query.order_by(Credential.issued_at.desc(), Credential.id).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def change_status(session: AsyncSession, org_id: str, credential_id: str, action: revocation.Action,
                        now: int) -> int:
    """Apply ``action`` to a credential of ``org_id`` and to every copy of its batch (one
    dataset, one fate: revoking one copy while its twins stay valid would be no revocation).
    Another organisation's credential is not found."""
    credential = await session.get(Credential, credential_id, with_for_update=True)
    if credential is None or credential.org_id != org_id:
        raise LookupError(credential_id)
    new = revocation.new_status(credential.status, action)
    copies = [credential]
    if credential.offer_id is not None:
        query = select(Credential).where(Credential.offer_id == credential.offer_id).with_for_update()
        copies = list((await session.execute(query)).scalars())
    if new == INVALID and credential.offer_id is not None:  # its refresh tokens die with it
        await revoke_families(session, now, offer_id=credential.offer_id)
    # Each list row once, in one order: written a second time in one transaction, the row is
    # the transaction's own and PostgreSQL re-checks its foreign key, waiting for a share lock on
    # the organisation that an issuance holds while it waits for this list (a deadlock, 500).
    for list_id in sorted({c.status_list_id for c in copies}):
        row = await session.get(StatusListRow, list_id, with_for_update=True)
        assert row is not None
        status_list = StatusList(row.bits, bytearray(row.statuses))
        for copy in copies:
            if copy.status_list_id == list_id:
                copy.status = new
                status_list.set(copy.status_idx, new)
        row.statuses, row.version = bytes(status_list.data), row.version + 1
    return new


async def status_list_row(session: AsyncSession, list_id: str) -> StatusListRow | None:
    return await session.get(StatusListRow, list_id, with_for_update=True)


async def numbered_status_list_row(session: AsyncSession, org_id: str, number: int) -> StatusListRow | None:
    query = select(StatusListRow).where(StatusListRow.org_id == org_id, StatusListRow.number == number)
    return (await session.execute(query.with_for_update())).scalar_one_or_none()




async def credential_with_reference(session: AsyncSession, org_id: str,
                                    credential_id: str) -> tuple[Credential, bytes | None] | None:
    """One credential of ``org_id`` with its offer's sealed reference (another organisation's: None)."""
    query = (select(Credential, Offer.sealed_reference).outerjoin(Offer, Offer.id == Credential.offer_id)
             .where(Credential.org_id == org_id, Credential.id == credential_id))
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def batch_copies(session: AsyncSession, org_id: str, offer_ids: list[str]) -> dict[str, list[str]]:
    """The ids of every copy of each of these offers' batches, in a stable order: a list page
    can say "copy 2 of 3" even when the copies fall on different pages."""
    if not offer_ids:
        return {}
    query = (select(Credential.offer_id, Credential.id)
             .where(Credential.org_id == org_id, Credential.offer_id.in_(offer_ids)).order_by(Credential.id))
    copies: dict[str, list[str]] = {}
    for offer_id, credential_id in (await session.execute(query)).all():
        copies.setdefault(offer_id or "", []).append(credential_id)
    return copies
