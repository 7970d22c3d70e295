"""Withdrawal, and the verifier's answer to it (issue 14, holder rights).

A withdrawal is one event and one notice, written in one transaction: the notice waits in
the database (``consent_notices``), not in memory, so a restart loses none. The sender
(:func:`deliver_due`, run on a schedule by the app) posts it to the verifier's webhook,
``<verifier id>/consent-withdrawals``, until it answers 2xx — retried with exponential
backoff, at least once (a verifier may see a notice twice; it is idempotent there). The
verifier then *confirms deletion* with a JWS signed by its key registered in the trust list
(:func:`confirm`): a ``deletion_confirmed`` event. No confirmation by the deadline
(:func:`silence`) is itself an event, ``deletion_unconfirmed``: the ledger and the wallet
show the silence, not a hopeful "pending" forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from consent import receipts
from consent.ledger import Ledger, Logged
from consent.receipts import DELETION_TYP
from consent.records import RecordNotFound, RecordRefused
from consent.store import records as store
from core import _jose
from core.encoding import numeric_date
from core.errors import AmanaError, VerificationFailed
from core.keys import PrivateKey, PublicKey
from core.trust import TrustList

DEADLINE_S = 30 * 86400  # GDPR Art. 12(3): without undue delay, within a month
FIRST_RETRY_S, MAX_RETRY_S = 30, 6 * 3600
CONFIRM_TYP = DELETION_TYP
CLOCK_SKEW_S = receipts.CLOCK_SKEW_S
Post = Callable[[str, dict[str, Any]], Awaitable[int]]  # (url, JSON body) -> HTTP status, raises on no answer


class ConfirmationInvalid(VerificationFailed):
    code = "deletion_confirmation_invalid"
    title = "The deletion confirmation does not check out"


def webhook(verifier_id: str) -> str:
    return verifier_id.rstrip("/") + "/consent-withdrawals"


def backoff(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failures: 30 s, 1 min, 2 min … at most 6 h."""
    return int(min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** min(attempts, 20)))


async def withdraw(ledger: Ledger, record_id: str, now: int) -> Logged:
    """The holder withdraws: the event and the verifier's notice, one transaction."""

    async def queue(session: AsyncSession, logged: Logged) -> None:
        await store.add_notice(session, record_id, webhook(logged.record.controller.id), now, now + DEADLINE_S)

    return await ledger.event(record_id, "withdrawn", "holder", now, also=queue)


async def deliver_due(ledger: Ledger, post: Post, now: int) -> int:
    """Send every notice that is due; the number delivered (2xx)."""
    async with ledger.transaction() as session:
        due = [(n.record_id, n.url, n.attempts) for n in await store.notices_due(session, now)]
    delivered = 0
    for record_id, url, attempts in due:
        try:
            status = await post(url, {"record_id": record_id, "event": "withdrawn"})
        except (AmanaError, OSError, TimeoutError):
            status = 0
        async with ledger.transaction() as session:
            if 200 <= status < 300:
                delivered += await store.set_notice(session, record_id, from_states=("pending",), state="delivered")
            else:
                await store.set_notice(session, record_id, from_states=("pending",), attempts=attempts + 1,
                                       next_at=now + backoff(attempts))
    return delivered


def confirmation(key: PrivateKey, verifier_id: str, record_id: str, now: int) -> str:
    """The verifier's "deleted": a JWS by its registered key."""
    return _jose.sign_compact({"typ": CONFIRM_TYP}, {"iss": verifier_id, "record_id": record_id, "iat": now}, key)


async def confirm(ledger: Ledger, trust: TrustList, record_id: str, token: str, now: int) -> Logged:
    """Check the verifier's confirmation against its registered keys; the ``deletion_confirmed`` event."""
    record, logged = await ledger.history(record_id)
    registered = trust.verifier(record.controller.id)
    try:
        jws = _jose.parse_compact(token, "deletion confirmation")
        if registered is None or jws.unverified_header.get("typ") != CONFIRM_TYP:
            raise ConfirmationInvalid()
        alg = _jose.check_header(jws.unverified_header, frozenset({"ES256", "EdDSA"}), "deletion confirmation")
        _jose.verify_with_any(jws, [PublicKey.from_jwk(k) for k in registered.jwks["keys"]], alg,
                              "deletion confirmation")
        claims = jws.unverified_payload()
    except AmanaError:
        raise ConfirmationInvalid() from None
    if claims.get("record_id") != record_id or claims.get("iss") != record.controller.id:
        raise ConfirmationInvalid("the confirmation is for another record")
    # Made after the withdrawal it answers (and not in the future): a "deleted" signed before the
    # holder withdrew says nothing of what the verifier did since.
    withdrawn = max((e.event.at for e in logged if e.event.kind == "withdrawn"), default=None)
    iat = claims.get("iat")
    if not numeric_date(iat) or withdrawn is None or not withdrawn - CLOCK_SKEW_S <= iat <= now + CLOCK_SKEW_S:
        raise ConfirmationInvalid("the confirmation was not made after the withdrawal")

    async def settle(session: AsyncSession, _logged: Logged) -> None:
        if not await store.set_notice(session, record_id, from_states=("pending", "delivered"), state="confirmed"):
            raise RecordRefused("no withdrawal is waiting for this confirmation")

    # Kept as the event's receipt: the holder gets the verifier's own signed "deleted", not only the
    # ledger's word that it came (helper-84: it was checked here and thrown away).
    return await ledger.event(record_id, "deletion_confirmed", "controller", now, sign=lambda _l, _e: token,
                              also=settle)


async def silence(ledger: Ledger, now: int) -> int:
    """Every withdrawal unanswered past its deadline becomes a ``deletion_unconfirmed`` event."""
    async with ledger.transaction() as session:
        overdue = await store.notices_overdue(session, now)
    count = 0
    for record_id in overdue:

        async def settle(session: AsyncSession, _logged: Logged, rid: str = record_id) -> None:
            await store.set_notice(session, rid, from_states=("pending", "delivered"), state="silent")

        try:
            await ledger.event(record_id, "deletion_unconfirmed", "ledger", now, also=settle)
            count += 1
        except (RecordRefused, RecordNotFound):
            continue
    return count


async def notice_state(ledger: Ledger, record_id: str) -> str | None:
    async with ledger.transaction() as session:
        row = await store.notice(session, record_id)
        return None if row is None else row.state
