"""One credential request's credentials: signed, recorded, and given their status indices.

An index comes from the process's reserve when it holds enough (issuer.status_reserve), else
from the organisation's list with a spare for the reserve, kept only once the request's
transaction commits. A reserve running low is refilled after the request's commit, in a
transaction of its own (``refill_ahead``). Indices taken from the reserve are already allocated
in the list (a committed allocation), so a request that fails after taking them, before its
commit, puts them back: otherwise a request a client can repeat (a compact copy asked for on its
batch's last day, refused as it is signed) would leave indices allocated to no credential every
time. A failure of the commit itself (where, on PostgreSQL, the credentials' rows are written:
``core.db.later``) leaves them allocated: a fault of the server, not a request to repeat.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from core.db import Db
from core.errors import OAuthError
from core.sdjwt.vc import issue_vc
from core.statuslist import VALID, reference
from issuer import offline, store
from issuer.context import IssuerContext
from issuer.issuance import rounded
from issuer.status_reserve import Refill
from issuer.store import Granted

log = logging.getLogger(__name__)


async def mint(ctx: IssuerContext, db: Db, granted: Granted, proofs: list[Any], now: int, url: str,
               refill: Refill) -> list[str]:
    """The credentials; their status indices from the reserve, or from the list with a spare
    for the reserve, kept once this transaction commits (issuer.status_reserve)."""
    offer, org_id, keep_days, issued_at = granted.offer, granted.offer.org_id, granted.keep_claims_days, rounded(now)
    ctype = ctx.types.by_name(offer.config_id)
    valid_for = (offer.valid_days or ctx.settings.credential_validity_days) * 86400
    claims = store.offer_claims(ctx.node, offer) if granted.claims is None else granted.claims
    # Every copy after the first (a refresh, or either format after the other): the same claims and
    # expiry, and only while every copy of the offer is valid (a compact copy revoked before the
    # SD-JWT batch was asked for takes that batch with it).
    statuses, expires_at = await store.batch_fate(db, offer.id)
    may_be_first = granted.family_id is None
    if (expires_at is None and not may_be_first) or any(s != VALID for s in statuses) or (
            expires_at is not None and expires_at <= now):
        raise OAuthError("credential_request_denied", "the credential is revoked, suspended or expired")
    if expires_at is not None:
        valid_for = expires_at - issued_at
    key = store.signing_key(ctx.node, granted)
    ctype.check_issuance(claims)  # once: every copy carries the same claims
    allocated = ctx.statuses.take(org_id, len(proofs))
    reserved = allocated is not None
    if allocated is None:
        fresh = await store.allocate_status(db, org_id, len(proofs) + refill.spare_wanted(org_id))
        allocated, spare = fresh.split(len(proofs))
        refill.taken(spare)
    try:
        status_uri = f"{ctx.settings.public_base_url.rstrip('/')}/status/{allocated.list_id}"
        kept_claims = json.dumps(claims).encode() if keep_days else None  # sealed per credential below
        out, records = [], []
        for proof, idx in zip(proofs, allocated.indices, strict=True):
            if granted.offline:
                out.append(offline.issue(ctype.vct, claims, issuer_key=key, holder_key=proof.holder_key,
                                         issued_at=issued_at, expires_at=issued_at + valid_for,
                                         list_number=allocated.number, status_idx=idx))
            else:
                out.append(issue_vc(ctype, claims, issuer=url, issuer_key=key, holder_key=proof.holder_key,
                                    now=issued_at, valid_for_s=valid_for, status=reference(status_uri, idx),
                                    checked=True))
            credential_id = str(uuid.uuid4())
            sealed = None if kept_claims is None else ctx.node.seal(kept_claims, f"credential:{credential_id}")
            records.append({
                "id": credential_id, "org_id": org_id, "offer_id": offer.id, "vct": ctype.vct,
                "status_list_id": allocated.list_id, "status_idx": idx, "status": VALID,
                "holder_thumbprint": proof.holder_key.thumbprint(), "issued_at": issued_at,
                "expires_at": issued_at + valid_for,
                "sealed_claims": sealed,
                "retain_until": None if not keep_days else now + keep_days * 86400})
        await store.record_credentials(db, records)
        if granted.family_id is None and not granted.offline:
            await store.finish_offer(db, offer.id)
        return out
    except BaseException:
        if reserved:  # before the commit: nothing that will commit holds these indices
            ctx.statuses.keep(org_id, allocated)
        raise


async def refill_ahead(ctx: IssuerContext, org_id: str | None) -> None:
    """A reserve running low (issuer.status_reserve) gets its spare now, so the requests that
    come while it is taken are still served from what is left, not queued on the organisation's
    lock. In a transaction of its own, after the request's has committed: inside it, the spare
    could come from another list than the request's credentials (a list rolling over), and the
    request would hold both lists' locks in an order a status change of a batch spread over both
    takes the other way round (helper-47's review). Its failure fails nothing but itself: the
    credentials are issued already; a request that finds the reserve empty takes its own."""
    if org_id is None or not ctx.statuses.running_low(org_id):
        return
    with ctx.statuses.refill() as refill:
        wanted = refill.spare_wanted(org_id)
        if not wanted:  # another request of this process is taking one
            return
        try:
            async with ctx.unit() as db:
                refill.taken(await store.allocate_status(db, org_id, wanted))
        except Exception as exc:  # the type only: a database error's text may carry its statement's values
            log.warning("the status reserve was not refilled ahead of need: %s", type(exc).__name__)
            return
        refill.committed()
