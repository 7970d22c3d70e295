"""Console sign-in shared by every staff page (issuer console, verifier desk): sessions and
the sign-in rate limit. The only SQL in core, because both services need the same two tables.

A session cookie holds a random token; the table keeps its keyed digest, the service
and the subject (a staff member or a desk key). Failed sign-ins are counted per client
address digest and window; at ``MAX_FAILURES`` the page answers 429 until the window ends.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.sealing import NodeKey

COOKIE = "__Host-amana_staff"
TTL_S = 8 * 3600
WINDOW_S = 900
MAX_FAILURES = 5


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    service: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class LoginAttempts(Base):
    __tablename__ = "console_login_attempts"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0)


def bucket(node: NodeKey, service: str, client: str) -> str:
    return node.digest("login-bucket", f"{service}:{client}")


async def start(session: AsyncSession, node: NodeKey, service: str, subject: str, token: str, now: int) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session.add(ConsoleSession(digest=node.digest("session", token), service=service, subject=subject,
                               expires_at=now + TTL_S))


async def subject(session: AsyncSession, node: NodeKey, service: str, token: str, now: int) -> str | None:
    row = await session.get(ConsoleSession, node.digest("session", token))
    return row.subject if row is not None and row.service == service and row.expires_at > now else None


async def end(session: AsyncSession, node: NodeKey, token: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.digest == node.digest("session", token)))


async def blocked(session: AsyncSession, key: str, now: int) -> bool:
    row = await session.get(LoginAttempts, key)
    return row is not None and row.window_start > now - WINDOW_S and row.failures >= MAX_FAILURES


async def failed(session: AsyncSession, key: str, now: int) -> None:
    row = await session.get(LoginAttempts, key, with_for_update=True)
    if row is None:
        session.add(LoginAttempts(bucket=key, window_start=now, failures=1))
    elif row.window_start <= now - WINDOW_S:
        row.window_start, row.failures = now, 1
    else:
        row.failures += 1
