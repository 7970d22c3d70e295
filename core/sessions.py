"""Console sign-in shared by every staff page (issuer console, verifier desk): sessions and
the sign-in rate limit. The only SQL in core, because both services need the same two tables.

A session cookie holds a random token; the table keeps its keyed digest, the service
and the subject (a staff member or a desk key).

The rate limit counts attempts per client address digest (``core.web.client_address``: the
peer, or a forwarded address only from a configured proxy). An attempt is counted *before*
its key is checked, under a row lock both databases honour, so a burst of concurrent wrong
keys checks exactly ``MAX_FAILURES`` of them (issue 11: a separate check and count let 50
concurrent tries through and broke on the unique constraint). Past the budget the address
backs off exponentially (at least 1 s, 2 s, 4 s … up to the window) instead of a hard 15-minute lock:
five wrong tries from a shared NGO address no longer lock a colleague with the right key out
for long. A right key clears its address's count. Keys are 256-bit random, so the limit is a
brake on noise and scanners, not what makes guessing hopeless.

A browser that has signed in here before carries a *device cookie* (OWASP's "device cookies"
against lockout): a random id with the node's keyed digest, set at a right sign-in. Its
attempts count in a bucket of its own, not its address's, so wrong tries from the same
address (anyone in the NGO's office, or behind the same carrier NAT) cannot keep a colleague
with the right key out, and that device's own wrong tries still back off like anyone's. A
forged or foreign device cookie counts as none.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, Integer, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, dialect_insert
from core.sealing import NodeKey


def cookie(service: str) -> str:
    """The session cookie, one per service: a clerk signed in to the desk and the issuer's console in
    one browser stays signed in to both (one name for both made each sign-in end the other)."""
    return f"__Host-amana_staff_{service}"


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
    retry_at: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


DEVICE_TTL_S = 180 * 86400


def bucket(node: NodeKey, service: str, client: str) -> str:
    return node.digest("login-bucket", f"{service}:{client}")


def device_cookie(service: str) -> str:
    """One per service: the issuer console and the verifier desk share a host, not devices."""
    return f"__Host-amana_device_{service}"


def new_device(node: NodeKey, service: str) -> str:
    """A device cookie's value: a random id and the node's digest of it (no subject, no key)."""
    device = secrets.token_urlsafe(16)
    return f"{device}.{node.digest('login-device', f'{service}:{device}')[:32]}"


def known_device(node: NodeKey, service: str, cookie: str | None) -> str | None:
    """The device id, if the cookie is one this node set for this service."""
    device, _, mac = (cookie or "").partition(".")
    expected = node.digest("login-device", f"{service}:{device}")[:32]
    return device if device and hmac.compare_digest(mac.encode(), expected.encode()) else None


def sign_in_bucket(node: NodeKey, service: str, client: str, cookie: str | None) -> str:
    """Where a sign-in attempt counts: its known device's bucket, else its address's."""
    device = known_device(node, service, cookie)
    return node.digest("login-device-bucket", f"{service}:{device}") if device else bucket(node, service, client)


async def start(session: AsyncSession, node: NodeKey, service: str, subject: str, token: str, now: int) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session.add(ConsoleSession(digest=node.digest("session", token), service=service, subject=subject,
                               expires_at=now + TTL_S))


async def subject(session: AsyncSession, node: NodeKey, service: str, token: str, now: int) -> str | None:
    row = await session.get(ConsoleSession, node.digest("session", token))
    return row.subject if row is not None and row.service == service and row.expires_at > now else None


async def end(session: AsyncSession, node: NodeKey, token: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.digest == node.digest("session", token)))


async def end_all(session: AsyncSession, service: str, subject: str) -> int:
    """Every session of ``subject`` (a revoked key's): signed out everywhere at once. Returns how many."""
    done = await session.execute(delete(ConsoleSession).where(ConsoleSession.service == service,
                                                              ConsoleSession.subject == subject))
    return int(cast(CursorResult[Any], done).rowcount or 0)


@dataclass(frozen=True, slots=True)
class Attempts:
    """One address's sign-in attempts in the current window."""

    window_start: int
    failures: int
    retry_at: int


# The longest wait between tries, whatever the window: a wait is also a lockout (a wallet's count
# runs a day, and a day's wait kept its holder out all day). Shorter windows cap at their length.
MAX_WAIT_S = 3600


def admit(state: Attempts | None, now: int, window_s: int = WINDOW_S) -> tuple[bool, Attempts]:
    """Pure: may this attempt be checked, and the bucket's state after counting it. The count
    lasts ``window_s`` from the first attempt; the backoff doubles up to ``MAX_WAIT_S`` (or the
    window, if shorter). A longer cap would let anyone who knows a wallet code keep its holder
    out for the whole window, since the right passphrase waits too."""
    if state is None or now - state.window_start >= window_s:
        state = Attempts(now, 0, 0)
    if now < state.retry_at:
        return False, state
    failures = state.failures + 1
    # The clock counts whole seconds: one more makes each wait at least its length (a wait of
    # ``now + 1`` begun at x.99 s would end at x+1.0 s, a hundredth of a second later).
    longest = min(window_s, MAX_WAIT_S)
    retry_at = now + 1 + min(2 ** min(failures - MAX_FAILURES, 30), longest) if failures >= MAX_FAILURES else 0
    return True, Attempts(state.window_start, failures, retry_at)


def refunded(state: Attempts) -> Attempts:
    """Pure: the bucket after one attempt counted by ``admit`` turned out right: as if it had not
    been counted (no wait it alone set), the wrong ones before and after still counted."""
    failures = max(state.failures - 1, 0)
    return Attempts(state.window_start, failures, state.retry_at if failures >= MAX_FAILURES else 0)


async def attempt(session: AsyncSession, key: str, now: int, window_s: int = WINDOW_S) -> int:
    """Count one sign-in attempt for ``key`` (a bucket); 0 when it may be checked, else the
    seconds to wait. Insert-if-missing, then the row under ``FOR UPDATE`` (SQLite: the
    transaction began IMMEDIATE): concurrent attempts on one bucket queue up here."""
    await session.execute(dialect_insert(session, LoginAttempts).values(bucket=key, window_start=now, failures=0,
                                                                         retry_at=0).on_conflict_do_nothing())
    row = await session.get(LoginAttempts, key, with_for_update=True, populate_existing=True)
    assert row is not None
    allowed, after = admit(Attempts(row.window_start, row.failures, row.retry_at), now, window_s)
    row.window_start, row.failures, row.retry_at = after.window_start, after.failures, after.retry_at
    return 0 if allowed else after.retry_at - now


async def refund(session: AsyncSession, key: str) -> None:
    """An attempt ``attempt`` counted was right: uncount it (``refunded``)."""
    row = await session.get(LoginAttempts, key, with_for_update=True, populate_existing=True)
    if row is not None:
        after = refunded(Attempts(row.window_start, row.failures, row.retry_at))
        row.failures, row.retry_at = after.failures, after.retry_at


async def succeeded(session: AsyncSession, key: str) -> None:
    """A right key: its address starts afresh."""
    await session.execute(delete(LoginAttempts).where(LoginAttempts.bucket == key))
