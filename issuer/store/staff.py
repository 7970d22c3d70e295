"""An organisation's staff and their API keys: made, looked up, listed and revoked.

A key is shown once, when it is made, and kept only as its keyed digest. A revoked key stops at
once, on the staff API and in the console (its sessions end in the same unit), and its row stays,
with when: an organisation can say who could issue in its name until when.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import sessions
from core.db import Db, table_of
from core.errors import InvalidInput, NotFound
from core.sealing import NodeKey
from issuer.tables import Organisation, Staff

SERVICE = "issuer"  # the console's sign-ins (core.sessions)

_STAFF, _ORGS = table_of(Staff), table_of(Organisation)
_STAFF_AND_ORG = (select(*(c.label(f"s_{c.name}") for c in _STAFF.c), *(c.label(f"o_{c.name}") for c in _ORGS.c))
                  .join_from(_STAFF, _ORGS, _ORGS.c.id == _STAFF.c.org_id)
                  .where(_STAFF.c.api_key_digest == bindparam("digest"), _STAFF.c.revoked_at.is_(None)))


async def add_staff(session: AsyncSession, node: NodeKey, org_id: str, name: str,
                    now: int) -> tuple[str, str]:
    """A new staff member of ``org_id``: their id, and their API key (to be shown once)."""
    api_key, staff_id = "amk_" + secrets.token_urlsafe(32), str(uuid.uuid4())
    session.add(Staff(id=staff_id, org_id=org_id, name=name, api_key_digest=node.digest("api-key", api_key),
                      created_at=now))
    return staff_id, api_key


async def staff_and_org(db: Db, node: NodeKey, api_key: str) -> tuple[Staff, Organisation] | None:
    """The staff member an API key in force belongs to, with their organisation: one statement, a
    read (``core.db.read``: one round trip on PostgreSQL, where a session's transaction was four).
    Both come back as values, in no session, as a closed session's objects would."""
    row = (await db.execute(_STAFF_AND_ORG, {"digest": node.digest("api-key", api_key)})).one_or_none()
    if row is None:
        return None
    found = row._mapping
    return (Staff(**{c.name: found[f"s_{c.name}"] for c in _STAFF.c}),
            Organisation(**{c.name: found[f"o_{c.name}"] for c in _ORGS.c}))


async def staff_by_api_key(session: AsyncSession, node: NodeKey, api_key: str) -> Staff | None:
    """The console's sign-in: the staff member whose key this is, unless it was revoked. The row
    stays share-locked until the sign-in's session is written, so that a revocation (FOR UPDATE in
    ``revoke_staff``) either ends that session too or goes first (as ``desk_key_known``)."""
    query = (select(Staff).where(Staff.api_key_digest == node.digest("api-key", api_key), Staff.revoked_at.is_(None))
             .with_for_update(read=True))
    return (await session.execute(query)).scalar_one_or_none()


async def staff_in_force(session: AsyncSession, staff_id: str) -> Staff | None:
    """A console session's staff member, unless their key was revoked since: a session begun in the
    instant of the revocation ends at its next page."""
    staff = await session.get(Staff, staff_id)
    return staff if staff is not None and staff.revoked_at is None else None


async def staff_of(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    """Everyone who ever had a key of ``org_id``, oldest first: id, name, made, revoked (None while in force)."""
    rows = (await session.execute(select(Staff).where(Staff.org_id == org_id)
                                  .order_by(Staff.created_at, Staff.id))).scalars()
    return [_listed(row) for row in rows]


async def revoke_staff(session: AsyncSession, org_id: str, staff_id: str, now: int) -> dict[str, Any]:
    """Revoke ``staff_id``'s key (a member of ``org_id``) and end their console sessions, in one unit.
    Revoking it again changes nothing and says so (``already_revoked``). ``keys_in_force``: how many
    of the organisation's keys still work (none: only the shell can make one, with ``add-staff``)."""
    try:  # as copied from a list, typed in capitals, or without its dashes: the form ids are kept in
        staff_id = str(uuid.UUID(staff_id.strip()))
    except ValueError:
        hint = " (that is an API key: its id is in `amana issuer staff`)" if "amk_" in staff_id else ""
        raise InvalidInput(f"a staff id is a UUID, as `amana issuer staff` lists it{hint}") from None
    query = select(Staff).where(Staff.id == staff_id, Staff.org_id == org_id).with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("no staff member with this id in this organisation")
    already = row.revoked_at is not None
    if not already:
        row.revoked_at = now
    ended = await sessions.end_all(session, SERVICE, row.id)
    in_force = await session.scalar(select(func.count()).select_from(Staff)
                                    .where(Staff.org_id == org_id, Staff.revoked_at.is_(None)))
    return {**_listed(row), "already_revoked": already, "sessions_ended": ended, "keys_in_force": in_force}


def _listed(row: Staff) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "revoked_at": row.revoked_at}
