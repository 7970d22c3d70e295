"""Every SQL statement of the issuer. Functions take an ``AsyncSession`` (or, in
``issuer.store.protocol``, anything ``core.db.Db`` names) and never commit: the caller (one
request, one transaction) commits or rolls back, so nothing half-written stays.

The statements of the wallet's requests live in ``issuer.store.protocol`` (SQLAlchemy Core,
built once, issue 15), the staff's keys in ``issuer.store.staff`` and their lists (offers and
credentials, paged and found by reference) in ``issuer.store.lists``, all re-exported here:
callers write ``store.X`` for any.

Secrets never reach a column in the clear: private keys and pending claims are sealed,
codes, PINs, tokens and API keys are keyed digests (core.sealing).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import keys
from core.db import Db, later, table_of
from core.sealing import NodeKey, new_token
from core.statuslist import INVALID, StatusList
from issuer import refresh, revocation
from issuer.offers import CANCELLABLE, RETRY_WINDOW_S, OfferState, new_offer_id, new_pin
from issuer.store.lists import (
    batch_spans,
    credential_with_reference,
    credentials_page,
    offer_reference,
    offers_by_reference,
    open_offer,
    open_offers,
    reference_digest,
    references_taken,
)
from issuer.store.protocol import (
    OFFLINE_GRANT,
    SD_JWT_GRANT,
    Granted,
    active_key,
    allocate_status,
    batch_fate,
    finish_offer,
    form_spent,
    keep_response,
    kept_response,
    new_access_token,
    new_refresh_family,
    offer_at,
    offer_by_code,
    offer_claims,
    org_at,
    record_credentials,
    redeemed,
    signing_key,
    spend_dpop_jti,
    spend_form,
    spend_nonce,
    use_access_token,
)
from issuer.store.staff import add_staff, revoke_staff, staff_and_org, staff_by_api_key, staff_in_force, staff_of
from issuer.tables import (
    AccessToken,
    Credential,
    Nonce,
    Offer,
    Organisation,
    RefreshFamily,
    RefreshToken,
    SigningKey,
    StatusListRow,
)

__all__ = [  # the protocol's statements, the staff's keys and lists, re-exported
    "OFFLINE_GRANT",
    "SD_JWT_GRANT",
    "Granted",
    "active_key",
    "add_staff",
    "allocate_status",
    "batch_fate",
    "batch_spans",
    "credential_with_reference",
    "credentials_page",
    "finish_offer",
    "form_spent",
    "keep_response",
    "kept_response",
    "new_access_token",
    "new_refresh_family",
    "offer_at",
    "offer_by_code",
    "offer_claims",
    "offer_reference",
    "offers_by_reference",
    "open_offer",
    "open_offers",
    "org_at",
    "record_credentials",
    "redeemed",
    "reference_digest",
    "references_taken",
    "revoke_staff",
    "signing_key",
    "spend_dpop_jti",
    "spend_form",
    "spend_nonce",
    "staff_and_org",
    "staff_by_api_key",
    "staff_in_force",
    "staff_of",
    "use_access_token",
]

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
    return org, (await add_staff(session, node, org.id, staff_name, now))[1]


async def add_signing_key(session: AsyncSession, node: NodeKey, org_id: str, now: int) -> keys.PublicKey:
    key = keys.generate("ES256")
    assert key.kid is not None
    sealed = node.seal(json.dumps(key.to_jwk()).encode(), f"signing-key:{key.kid}")
    session.add(SigningKey(kid=key.kid, org_id=org_id, alg=key.alg, public_jwk=key.public_key().to_jwk(),
                           sealed_private=sealed, created_at=now))
    return key.public_key()


async def rotate_key(session: AsyncSession, node: NodeKey, org_id: str, now: int, publish_until: int) -> str:
    """Retire the active key (still published until its credentials expire) and make a new one.
    The organisation's row is locked first: two rotations at once on PostgreSQL each retired the
    key they saw and each added one, leaving two active keys (every issuance then failed). The
    second now waits, and its retiring statement, begun after the first committed, sees the
    first's new key (READ COMMITTED takes a snapshot per statement)."""
    await session.execute(select(Organisation.id).where(Organisation.id == org_id).with_for_update(key_share=True))
    await session.execute(update(SigningKey).where(SigningKey.org_id == org_id, SigningKey.retired_at.is_(None))
                          .values(retired_at=now, publish_until=publish_until))
    new = await add_signing_key(session, node, org_id, now)
    assert new.kid is not None
    return new.kid


async def org_by_slug(session: AsyncSession, slug: str) -> Organisation | None:
    return (await session.execute(select(Organisation).where(Organisation.slug == slug))).scalar_one_or_none()


async def org_by_id(session: AsyncSession, org_id: str) -> Organisation | None:
    return await session.get(Organisation, org_id)


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


_NEW_OFFER = insert(table_of(Offer))


async def create_offer(
    db: Db, node: NodeKey, *, org_id: str, config_id: str, claims: dict[str, Any],
    batch_size: int, language: str, staff_id: str | None, now: int, ttl_s: int, valid_days: int | None = None,
    reference: str | None = None,
) -> tuple[Offer, str]:
    """A new offer; returns it and its PIN (shown once, never stored in the clear). In a session
    (a class of many rows, a replacement) the offer is added to it and goes in with the others
    at the flush; in a unit (the API's one offer) the row goes in by ``later``, the unit's one
    statement (on PostgreSQL one round trip, ``core.prepared.AsyncpgDb.flush``) and the offer
    returned holds its values, in no session."""
    offer_id, pin = new_offer_id(), new_pin()
    row = dict(
        id=offer_id, org_id=org_id, config_id=config_id,
        code_digest=node.digest("code", offer_code(node, offer_id)), pin_digest=pin_digest(node, offer_id, pin),
        pin_failures=0, state=OfferState.OFFERED.value, batch_size=batch_size, valid_days=valid_days,
        language=language,
        sealed_claims=node.seal(json.dumps(claims).encode(), f"offer:{offer_id}"),
        sealed_reference=None if not reference else node.seal(reference.encode(), f"offer-reference:{offer_id}"),
        reference_digest=None if not reference else reference_digest(node, org_id, reference),
        created_by=staff_id, created_at=now, expires_at=now + ttl_s,
    )
    offer = Offer(**row)
    if isinstance(db, AsyncSession):
        db.add(offer)
    else:
        await later(db, _NEW_OFFER, row)
    return offer, pin


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


# --- refresh tokens (issuer.refresh) ----------------------------------------------------


async def _add_refresh_token(session: AsyncSession, node: NodeKey, family_id: str, token: str, claims: bytes,
                             expires_at: int) -> None:
    session.add(RefreshToken(digest=node.digest("refresh-token", token), family_id=family_id, expires_at=expires_at))
    await session.execute(update(RefreshFamily).where(RefreshFamily.id == family_id).values(
        sealed_claims=node.seal_for(token, claims, f"refresh-claims:{family_id}")))


async def refresh_family(session: AsyncSession, node: NodeKey, org_id: str,
                         token: str) -> tuple[RefreshFamily, refresh.FamilyState] | None:
    """The family a refresh token of ``org_id`` belongs to, locked, and what the decision needs.
    The offer's credentials are locked in id order (``batch_fate``) before the family, as a
    status change (``change_status``) and a credential request of the same offer lock them (its
    offer lock lets this grant's new access token refer to the offer; ``use_access_token``), so
    none of them waits for another in a cycle."""
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
        client_digest=family.client_digest, dpop_jkt=family.dpop_jkt,
        offer_issued=offer is not None and offer.state == OfferState.ISSUED,
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


async def change_status(session: AsyncSession, org_id: str, credential_id: str, action: revocation.Action,
                        now: int) -> tuple[int, int]:
    """Apply ``action`` to a credential of ``org_id`` and to every copy of its batch (one
    dataset, one fate: revoking one copy while its twins stay valid would be no revocation);
    the new status and how many copies took it. Another organisation's credential is not found."""
    found = await session.get(Credential, credential_id)
    if found is None or found.org_id != org_id:
        raise LookupError(credential_id)
    # The batch locked in id order, as ``batch_fate`` locks it (a refresh grant, a credential
    # request): locking the named copy first, then the rest, two changes of one batch waited for
    # each other against a refresh of the same offer on PostgreSQL (a deadlock, 500).
    query = (select(Credential).where(Credential.id == credential_id) if found.offer_id is None
             else select(Credential).where(Credential.offer_id == found.offer_id).order_by(Credential.id))
    copies = list((await session.execute(query.with_for_update().execution_options(populate_existing=True)))
                  .scalars())
    credential = next(c for c in copies if c.id == credential_id)
    new = revocation.new_status(credential.status, action)
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
    return new, len(copies)


async def status_list_row(session: AsyncSession, list_id: str) -> StatusListRow | None:
    return await session.get(StatusListRow, list_id, with_for_update=True)


async def numbered_status_list_row(session: AsyncSession, org_id: str, number: int) -> StatusListRow | None:
    query = select(StatusListRow).where(StatusListRow.org_id == org_id, StatusListRow.number == number)
    return (await session.execute(query.with_for_update())).scalar_one_or_none()
