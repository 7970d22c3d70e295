"""The verifier's end of the consent ledger: every accepted check is recorded (issue 14).

When a check succeeds, the disclosure goes to the ledger (consent.ledger, in process, over
the verifier's own database sessions) with the claim *names* the audit keeps, the check's
registered purpose, and the holder's side as the wallet offered it beside the presentation
(``amana_consent``: pseudonym, pairwise key, notice hash and language, bound to the nonce).
The verifier signs the receipt with its identity key, the one the trust list registers.

A presentation without that offer (another wallet) is recorded too, under a random
pseudonym nobody holds the key to: the verifier can still prove it asked lawfully.
A disclosure the ledger refuses because it needs a GDPR Art. 9(2) condition turns the
check into a refusal: the verifier may not take special-category data it cannot record.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence

from consent import notify, pseudonym, receipts
from consent.ledger import Logged
from consent.records import Article9ConditionMissing, Disclosure, Event, Notice, RecordExists, RecordRefused
from consent.report import DEFAULT_RETENTION_S
from core.errors import AmanaError
from verifier import requests
from verifier.context import VerifierContext
from verifier.store import CheckRow
from verifier.verification import Result, refused

log = logging.getLogger(__name__)
RECORD_RETENTION_S = DEFAULT_RETENTION_S  # how long the ledger keeps the record; the verifier keeps no value


def _disclosure(ctx: VerifierContext, row: CheckRow, result: Result, offer: str | None) -> Disclosure:
    verifier_id = ctx.settings.verifier_id
    audiences = frozenset({verifier_id, requests.asked_under(row.request_jwt)})
    claims: dict[str, set[str]] = {}
    for credential in result.credentials:
        claims.setdefault(credential.vct, set()).update(credential.disclosed_names)
    try:
        if offer is None:
            raise pseudonym.HolderProofInvalid()
        sub, wallet_part, notice, lang, jwk = pseudonym.check_disclosure_offer(offer, audiences, row.nonce)
        shown = Notice(notice, lang)
    except pseudonym.HolderProofInvalid as exc:
        if offer is not None:  # a wallet that sent none is not news; one whose offer fails is
            log.warning("a consent offer was not usable (%s): recorded under a random pseudonym", exc.detail)
        sub, wallet_part, jwk = secrets.token_urlsafe(32), secrets.token_urlsafe(16), {}
        shown = Notice(hashlib.sha256(row.request_jwt.encode("ascii")).hexdigest(), "und")
    return Disclosure(sub, jwk, verifier_id, (row.purpose,), {v: tuple(sorted(n)) for v, n in claims.items()},
                      shown, recipients=(verifier_id,), retention_s=RECORD_RETENTION_S,
                      record_id=pseudonym.record_id(sub, wallet_part))


async def record(ctx: VerifierContext, row: CheckRow, result: Result, offer: str | None,
                 identity: requests.Identity) -> Result:
    """Record an accepted check; the result, or a refusal when the ledger must refuse it."""
    book = ctx.ledger()
    if not result.accepted or book is None:
        return result
    now, verifier_id = ctx.now(), ctx.settings.verifier_id

    def sign(logged: Logged, events: Sequence[Event]) -> str:
        return receipts.sign(logged, events, identity.key, verifier_id, now)

    try:
        await book.record(_disclosure(ctx, row, result, offer), ctx.trust_list(), now, sign)
    except Article9ConditionMissing as exc:
        return refused(exc)
    except RecordExists:  # an earlier try of this answer recorded it (its answer then failed): it goes on
        log.info("a disclosure was recorded already, by an earlier try of the same answer")
    except (RecordRefused, AmanaError) as exc:  # the check stands; the missing record is logged, by type
        log.warning("a disclosure could not be recorded in the consent ledger: %s", exc.code)
    return result


async def withdrawn(ctx: VerifierContext, record_id: str) -> bool:
    """A holder withdrew (the ledger's webhook): delete what this verifier holds for the record,
    then confirm with a JWS by its registered key. It holds nothing to delete: its audit keeps
    names, with no link to the record (verifier/tables.py), and the result was shown once and
    deleted. So the confirmation is immediate and true. False when there is nothing to confirm."""
    book = ctx.ledger()
    if book is None:
        return False
    identity = await ctx.identity()
    token = notify.confirmation(identity.key, ctx.settings.verifier_id, record_id, ctx.now())
    try:
        await notify.confirm(book, ctx.trust_list(), record_id, token, ctx.now())
    except AmanaError as exc:
        log.info("a withdrawal notice was not confirmed: %s", exc.code)
        return False
    return True
