"""The staff's lists: offers and credentials as the console and the staff API page through them and
find them by reference. References are sealed at rest; each is found by a keyed digest of its
normalised form (``reference_digest``), never by its text. Re-exported by ``issuer.store``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.sealing import NodeKey
from issuer.offers import CANCELLABLE, reference_key
from issuer.tables import Credential, Offer


def offer_reference(node: NodeKey, offer_id: str, sealed: bytes | None) -> str | None:
    return None if sealed is None else node.open(sealed, f"offer-reference:{offer_id}").decode()


def reference_digest(node: NodeKey, org_id: str, reference: str) -> str:
    """The searchable form of a staff reference: any spelling, any digits, one digest."""
    return node.digest("offer-reference", f"{org_id}:{reference_key(reference)}")


async def offers_by_reference(session: AsyncSession, node: NodeKey, org_id: str, reference: str) -> list[Offer]:
    digest = reference_digest(node, org_id, reference)
    query = select(Offer).where(Offer.org_id == org_id, Offer.reference_digest == digest).order_by(Offer.created_at)
    return list((await session.execute(query)).scalars())


async def references_taken(session: AsyncSession, node: NodeKey, org_id: str, references: list[str]) -> bool:
    """Whether any offer of ``org_id`` has one of these references (by their digests: one query)."""
    digests = [reference_digest(node, org_id, r) for r in references]
    query = select(Offer.id).where(Offer.org_id == org_id, Offer.reference_digest.in_(digests)).limit(1)
    return (await session.execute(query)).first() is not None


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


async def credentials_page(
    session: AsyncSession, org_id: str, *, after: tuple[int, str] | None = None, limit: int = 100,
    offer_ids: list[str] | None = None, first_of_batch: bool = False,
) -> list[tuple[Credential, bytes | None]]:
    """One page of the organisation's credentials, newest first, each with its offer's sealed
    reference. The order is total — ``issued_at`` (rounded to the day, so many share it), then
    ``id`` — and ``after`` is the last row of the previous page (keyset paging): every credential
    appears on exactly one page however many were issued that day (issue 11: a fixed 200 hid
    the rest, so they could not be revoked). ``first_of_batch``: the console's rows, a batch's
    first copy only (its copies share one status)."""
    query = (select(Credential, Offer.sealed_reference).outerjoin(Offer, Offer.id == Credential.offer_id)
             .where(Credential.org_id == org_id))
    if offer_ids is not None:
        query = query.where(Credential.offer_id.in_(offer_ids))
    if first_of_batch:  # a batch once, by its first copy in id order (an index seek: ix_issuer_credentials_batch)
        copy = aliased(Credential)
        first = select(func.min(copy.id)).where(copy.offer_id == Credential.offer_id).scalar_subquery()
        query = query.where(or_(Credential.offer_id.is_(None), Credential.id == first))
    if after is not None:
        issued_at, last_id = after
        query = query.where(or_(Credential.issued_at < issued_at,
                                and_(Credential.issued_at == issued_at, Credential.id > last_id)))
    query = query.order_by(Credential.issued_at.desc(), Credential.id).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def credential_with_reference(session: AsyncSession, org_id: str,
                                    credential_id: str) -> tuple[Credential, bytes | None] | None:
    """One credential of ``org_id`` with its offer's sealed reference (another organisation's: None)."""
    query = (select(Credential, Offer.sealed_reference).outerjoin(Offer, Offer.id == Credential.offer_id)
             .where(Credential.org_id == org_id, Credential.id == credential_id))
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def batch_spans(session: AsyncSession, org_id: str, offer_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Each of these offers' batch: how many copies, its first issue and its last expiry (a refresh
    adds copies to the batch). One aggregate row per offer, however many copies it has."""
    if not offer_ids:
        return {}
    query = (select(Credential.offer_id, func.count(), func.min(Credential.issued_at), func.max(Credential.expires_at))
             .where(Credential.org_id == org_id, Credential.offer_id.in_(offer_ids)).group_by(Credential.offer_id))
    rows = (await session.execute(query)).all()
    return {offer_id or "": (count, first, last) for offer_id, count, first, last in rows}
