"""Every SQL statement of the issuer. Functions take an ``AsyncSession`` and never commit:
the caller (one request, one transaction) commits or rolls back, so nothing half-written stays.

Secrets never reach a column in the clear: private keys and pending claims are sealed,
codes, PINs, tokens and API keys are keyed digests (core.sealing).
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import keys
from core.sealing import NodeKey, new_token
from core.statuslist import StatusList
from issuer import revocation
from issuer.offers import OfferState, new_offer_id, new_pin
from issuer.tables import (
    AccessToken,
    Credential,
    Nonce,
    Offer,
    Organisation,
    SigningKey,
    Staff,
    StatusListRow,
)

NONCE_TTL_S = 300


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
    return keys.PrivateKey.from_jwk(json.loads(node.open(row.sealed_private, f"signing-key:{row.kid}")))


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
    session.add(offer)
    return offer, pin


async def offer_by_id(session: AsyncSession, offer_id: str) -> Offer | None:
    return await session.get(Offer, offer_id)


async def offer_by_code(session: AsyncSession, node: NodeKey, code: str) -> Offer | None:
    query = select(Offer).where(Offer.code_digest == node.digest("code", code)).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def offer_claims(node: NodeKey, offer: Offer) -> dict[str, Any]:
    assert offer.sealed_claims is not None
    claims: dict[str, Any] = json.loads(node.open(offer.sealed_claims, f"offer:{offer.id}"))
    return claims


async def new_access_token(session: AsyncSession, node: NodeKey, offer_id: str, now: int, ttl_s: int) -> str:
    token = new_token()
    session.add(AccessToken(digest=node.digest("access-token", token), offer_id=offer_id, expires_at=now + ttl_s))
    return token


async def use_access_token(session: AsyncSession, node: NodeKey, token: str, now: int) -> Offer | None:
    """The offer a live, unused token belongs to, marking the token used; else None."""
    digest = node.digest("access-token", token)
    result = await session.execute(
        update(AccessToken).where(AccessToken.digest == digest, AccessToken.used.is_(False),
                                  AccessToken.expires_at > now).values(used=True).returning(AccessToken.offer_id))
    offer_id = result.scalar_one_or_none()
    return None if offer_id is None else await session.get(Offer, offer_id, with_for_update=True)


async def new_nonce(session: AsyncSession, node: NodeKey, now: int) -> str:
    await session.execute(delete(Nonce).where(Nonce.expires_at <= now))
    nonce = secrets.token_urlsafe(24)
    session.add(Nonce(digest=node.digest("c-nonce", nonce), expires_at=now + NONCE_TTL_S))
    return nonce


async def consume_nonce(session: AsyncSession, node: NodeKey, nonce: str, now: int) -> bool:
    """True once per nonce we issued and that has not expired."""
    result = await session.execute(
        delete(Nonce).where(Nonce.digest == node.digest("c-nonce", nonce), Nonce.expires_at > now)
        .returning(Nonce.digest))
    return result.scalar_one_or_none() is not None


# --- credentials and status lists -------------------------------------------------------


async def allocate_status(session: AsyncSession, org_id: str, count: int) -> tuple[str, list[int]]:
    """``count`` random free indices in one open list of the organisation (a new list when
    all are full): one read and one write of the list row per batch, not per credential."""
    query = (select(StatusListRow).where(StatusListRow.org_id == org_id,
                                         StatusListRow.allocated_count <= revocation.FILL_LIMIT - count)
             .limit(1).with_for_update())
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        empty = StatusList.empty(revocation.LIST_SIZE, revocation.BITS)
        row = StatusListRow(id=secrets.token_hex(16), org_id=org_id, bits=empty.bits, size=len(empty),
                            statuses=bytes(empty.data), allocated=bytes(revocation.LIST_SIZE // 8),
                            allocated_count=0, version=1, token_version=0, token_expires_at=0)
        session.add(row)
        await session.flush()  # before any credential row refers to it
    bitmap = bytearray(row.allocated)
    indices = [revocation.allocate(bitmap, row.size) for _ in range(count)]
    row.allocated, row.allocated_count = bytes(bitmap), row.allocated_count + count
    return row.id, indices


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


async def credentials_of(session: AsyncSession, org_id: str, limit: int = 200) -> list[Credential]:
    query = select(Credential).where(Credential.org_id == org_id).order_by(Credential.issued_at.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def change_status(session: AsyncSession, org_id: str, credential_id: str, action: revocation.Action) -> int:
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
    for copy in copies:
        copy.status = new
        row = await session.get(StatusListRow, copy.status_list_id, with_for_update=True)
        assert row is not None
        status_list = StatusList(row.bits, bytearray(row.statuses))
        status_list.set(copy.status_idx, new)
        row.statuses, row.version = bytes(status_list.data), row.version + 1
    return new


async def status_list_row(session: AsyncSession, list_id: str) -> StatusListRow | None:
    return await session.get(StatusListRow, list_id, with_for_update=True)


