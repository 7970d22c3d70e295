"""The desk keys' statements: a desk signs in with its key, is listed by its id and name, and is
revoked from the node's shell, its sign-ins ended in the same unit. A key is kept only as its
keyed digest (the row's key, a session's subject, the desk named in each check and audit line)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import sessions
from core.db import Db, table_of
from core.errors import InvalidInput, NotFound
from core.sealing import NodeKey
from verifier.tables import DeskKey

SERVICE = "verifier"  # the desk's sign-ins (core.sessions)
DESK_ID_CHARS = 16  # 64 bits of the key's digest: unique among any desk keys a node will make
_DESK_ID = re.compile(f"[0-9a-f]{{{DESK_ID_CHARS}}}")
DESK_KEYS = table_of(DeskKey)
_DESK_KEY = select(DESK_KEYS.c.digest).where(DESK_KEYS.c.digest == bindparam("digest"),
                                             DESK_KEYS.c.revoked_at.is_(None))


def desk_digest(node: NodeKey, key: str) -> str:
    """How a desk key is kept and named: its keyed digest (the row's key, a session's subject, a check's desk)."""
    return node.digest("desk-key", key)


async def add_desk_key(session: AsyncSession, node: NodeKey, name: str, now: int) -> str:
    key = "amv_" + secrets.token_urlsafe(32)
    session.add(DeskKey(digest=desk_digest(node, key), name=name, created_at=now))
    return key


async def desk_key_known(session: AsyncSession, node: NodeKey, key: str) -> bool:
    """The desk's sign-in: a desk key this node made and nobody revoked. Its row stays share-locked
    until the sign-in's session is written: a revocation (``revoke_desk_key``, FOR UPDATE) waits for
    it and ends that session too, or goes first and this finds the key revoked. Without the lock,
    PostgreSQL's READ COMMITTED let a sign-in write a session for a key revoked meanwhile (SQLite
    has one writer at a time)."""
    query = _DESK_KEY.with_for_update(read=True)
    return (await session.execute(query, {"digest": desk_digest(node, key)})).first() is not None


async def desk_active(db: Db, digest: str) -> bool:
    """The desk key of this digest (a desk session's subject) is still in force: a session begun in
    the instant its key was revoked ends at its next page."""
    return (await db.execute(_DESK_KEY, {"digest": digest})).first() is not None


def desk_id(node: NodeKey, key: str) -> str:
    """The name a desk key goes by in lists and revocations: the start of its digest. Names repeat
    ("front desk"), and the key itself is never kept nor shown again."""
    return desk_digest(node, key)[:DESK_ID_CHARS]


async def desk_keys(session: AsyncSession) -> list[dict[str, Any]]:
    """Every desk key ever made, oldest first: id, name, made and revoked (None while in force)."""
    rows = (await session.execute(select(DeskKey).order_by(DeskKey.created_at, DeskKey.digest))).scalars()
    return [_desk(row) for row in rows]


async def revoke_desk_key(session: AsyncSession, desk: str, now: int) -> dict[str, Any]:
    """Revoke the desk key ``desk`` (its id from ``desk_keys``) and end its sign-ins, in one unit. The
    row stays, with when (Unix seconds). Revoking it again changes nothing and says so
    (``already_revoked``). ``keys_in_force``: how many desk keys still work (as ``revoke_staff``)."""
    desk = desk.strip().lower()  # as copied from a list, or typed in capitals
    if not _DESK_ID.fullmatch(desk):
        raise InvalidInput(f"a desk id is {DESK_ID_CHARS} hexadecimal characters, as `amana verifier desks` lists")
    query = select(DeskKey).where(DeskKey.digest.startswith(desk, autoescape=True)).with_for_update()
    rows = list((await session.execute(query)).scalars())
    if not rows:
        raise NotFound("no desk key with this id")
    if len(rows) > 1:  # 64 bits: never seen; refused rather than revoking whichever came first
        raise InvalidInput("more than one desk key has this id: nothing was revoked")
    row = rows[0]
    already = row.revoked_at is not None
    if not already:
        row.revoked_at = now
    ended = await sessions.end_all(session, SERVICE, row.digest)
    in_force = await session.scalar(select(func.count()).select_from(DeskKey).where(DeskKey.revoked_at.is_(None)))
    return {**_desk(row), "already_revoked": already, "sessions_ended": ended, "keys_in_force": in_force}


def _desk(row: DeskKey) -> dict[str, Any]:
    return {"id": row.digest[:DESK_ID_CHARS], "name": row.name, "created_at": row.created_at,
            "revoked_at": row.revoked_at}
