"""The consent ledger's service: ``/consent`` inside ``amana serve``, or ``uvicorn consent.app:app``.

Routes are thin (parse, call consent.ledger, return); errors are problem+json (core.web).
Public: the newest checkpoint, inclusion and consistency proofs (anyone may audit the log).
The holder's: their records, receipts, withdrawal, export and erasure — with no account:
each request carries ``Authorization: ConsentProof <jws>``, a fresh proof by the holder's
pairwise key (consent/pseudonym.py) for that very action, and a record answers only to the
key it was recorded with.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from consent import iso27560, notify, pseudonym, receipts, records, schedule
from consent.context import ConsentContext, get_context
from consent.ledger import Logged
from consent.records import Record
from consent.store import log as log_store
from core import db, service
from core.encoding import b64url_encode
from core.keys import PublicKey
from core.settings import Settings, get_settings
from core.web import JSONResponse

log = logging.getLogger("amana.consent")
router = APIRouter(prefix="/consent", tags=["consent"])
Ctx = Annotated[ConsentContext, Depends(get_context)]
NO_STORE = {"Cache-Control": "no-store"}
MAX_PROOF_RANGE = 1 << 40
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,15}")


def _decimal(value: object) -> object:
    """A tree index or size as written in a checkpoint (tlog-checkpoint: decimal, no leading zero):
    pydantic alone reads "01", "+1" and "1.0" as 1, three spellings of one question."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError("a decimal number: digits only, no sign, fraction or leading zero")
    return value


TreeNumber = BeforeValidator(_decimal)


async def _holder(ctx: ConsentContext, authorization: str | None, action: str) -> tuple[str, PublicKey]:
    """The proof's pseudonym and key; each proof is good once (a copy seen on the wire, or in a
    proxy's log, is refused within its five minutes too)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "ConsentProof" or not token:
        raise pseudonym.HolderProofInvalid("send Authorization: ConsentProof <proof by your pairwise key>")
    now = ctx.now()
    sub, _, key = pseudonym.check_holder_proof(token.strip(), action, now)
    digest = hashlib.sha256(token.strip().encode("ascii")).digest()[:16]
    if not await ctx.ledger.spend_proof(digest, now + pseudonym.PROOF_MAX_AGE_S + pseudonym.PROOF_FUTURE_S, now):
        raise pseudonym.HolderProofInvalid("this proof was used already: make a new one")
    return sub, key


async def _own_record(ctx: ConsentContext, record_id: str, authorization: str | None,
                      action: str) -> tuple[Record, list[Logged]]:
    sub, key = await _holder(ctx, authorization, f"{action}:{record_id}")
    record, logged = await ctx.ledger.history(record_id)
    if not records.belongs_to(record, sub, key):
        raise records.RecordNotFound()  # the same answer as for a record that does not exist
    return record, logged


async def receipt_bundle(ctx: ConsentContext, logged: list[Logged]) -> list[dict[str, Any]]:
    out = []
    for entry in logged:
        proven = await ctx.ledger.prove(entry, ctx.now())
        out.append({"event": entry.event.kind, "at": entry.event.at, "actor": entry.event.actor,
                    "salt": b64url_encode(entry.event.salt), **receipts.with_proof(entry.receipt, None, proven)})
    return out


@router.get("/checkpoint", response_class=PlainTextResponse)
async def checkpoint(ctx: Ctx) -> PlainTextResponse:
    async with ctx.ledger.transaction() as session:
        signed = await ctx.ledger.log.checkpoint(session, ctx.now())
    return PlainTextResponse(signed.note, media_type="text/plain; charset=utf-8", headers=NO_STORE)


@router.get("/log-key", response_class=PlainTextResponse)
async def log_key(ctx: Ctx) -> PlainTextResponse:
    """The log key's C2SP verifier key, for a monitor or a witness that holds no receipt (helper-84:
    only receipts carried it). Pinned out of band by whoever uses it: a wallet never takes it from
    here, but from the receipt its verifier signed (consent.receipts)."""
    async with ctx.ledger.transaction() as session:
        vkey = await ctx.ledger.log.vkey(session, ctx.now())
    if vkey is None:  # a log seam without a key of its own (the tests' fake log)
        raise records.RecordNotFound("this ledger's log has no key")
    return PlainTextResponse(vkey + "\n", media_type="text/plain; charset=utf-8")


@router.get("/proofs/inclusion")
async def inclusion(ctx: Ctx, index: Annotated[int, Query(ge=0, lt=MAX_PROOF_RANGE), TreeNumber],
                    size: Annotated[int, Query(ge=1, le=MAX_PROOF_RANGE), TreeNumber]) -> dict[str, Any]:
    async with ctx.ledger.transaction() as session:
        proof = await ctx.ledger.log.inclusion(session, index, size)
    return {"index": index, "size": size, "inclusion": [b64url_encode(h) for h in proof]}


@router.get("/proofs/consistency")
async def consistency(ctx: Ctx, old: Annotated[int, Query(ge=1, le=MAX_PROOF_RANGE), TreeNumber],
                      new: Annotated[int, Query(ge=1, le=MAX_PROOF_RANGE), TreeNumber]) -> dict[str, Any]:
    async with ctx.ledger.transaction() as session:
        proof = await ctx.ledger.log.consistency(session, old, new)
    return {"old": old, "new": new, "consistency": [b64url_encode(h) for h in proof]}


Auth = Annotated[str | None, Header()]


@router.get("/records/{record_id}/receipts")
async def record_receipts(record_id: str, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    """The record (27560) and, per event, the controller's signed receipt with a fresh proof."""
    record, logged = await _own_record(ctx, record_id, authorization, "read")
    body = {"record": iso27560.to_27560(record, [e.event for e in logged]),
            "receipts": await receipt_bundle(ctx, logged),
            "notice": await notify.notice_state(ctx.ledger, record_id)}
    return JSONResponse(body, headers=NO_STORE)


@router.get("/records/{record_id}/kantara")
async def kantara(record_id: str, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    record, logged = await _own_record(ctx, record_id, authorization, "read")
    return JSONResponse(receipts.to_kantara(record, [e.event for e in logged]), headers=NO_STORE)


@router.get("/export")
async def export(ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    """Access and portability (GDPR Art. 15, 20): every record of this holder, 27560 JSON."""
    sub, key = await _holder(ctx, authorization, "export")
    return JSONResponse({"records": await ctx.ledger.export(sub, key)}, headers=NO_STORE)


@router.post("/records/{record_id}/withdraw")
async def withdraw(record_id: str, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    """Withdraw consent (GDPR Art. 7(3)): the event, and the verifier's notice queued with it."""
    await _own_record(ctx, record_id, authorization, "withdraw")
    logged = await notify.withdraw(ctx.ledger, record_id, ctx.now())
    return JSONResponse({"record_id": record_id, "event": logged.event.kind, "leaf_index": logged.index},
                        headers=NO_STORE)


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmation: str = Field(max_length=4096, description="JWS by the verifier's registered key")


@router.post("/records/{record_id}/deletion")
async def deletion_confirmed(record_id: str, body: Confirmation, ctx: Ctx) -> JSONResponse:
    """The verifier confirms it deleted what it held for this record."""
    await notify.confirm(ctx.ledger, ctx.trust_list(), record_id, body.confirmation, ctx.now())
    return JSONResponse({"record_id": record_id, "event": "deletion_confirmed"}, headers=NO_STORE)


@router.post("/erase")
async def erase(ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    """Erasure (GDPR Art. 17) by crypto-shredding every record of this holder towards one verifier."""
    sub, key = await _holder(ctx, authorization, "erase")
    erased = await ctx.ledger.erase(sub, key, ctx.now())
    if not erased:
        raise records.RecordNotFound()
    return JSONResponse({"erased": erased}, headers=NO_STORE)


async def start(app: FastAPI, settings: Settings) -> ConsentContext:
    ctx = ConsentContext.create(settings)
    app.state.consent = ctx  # first: a start that fails below is stopped (core.service), its engine disposed
    await db.upgrade(ctx.engine)
    if ctx.maybe_ledger is not None:
        await _same_log_name(ctx)
        ctx.background = asyncio.create_task(schedule.run(ctx))
    return ctx


async def _same_log_name(ctx: ConsentContext) -> None:
    """Say so when the log was signed under another origin than the public URL now gives: from now
    on checkpoints are signed under a new name and key (specs/formats/consent-log.md, "Limits"),
    which a changed or mistyped AMANA_PUBLIC_BASE_URL does without anyone meaning it (helper-84)."""
    name = getattr(ctx.ledger.log, "name", None)
    async with ctx.ledger.transaction() as session:
        known = [row.name for row in await log_store.keys(session)]
    if name is not None and known and name not in known:
        log.warning("the consent log was signed as %s; the public URL now makes it %s: new checkpoints get a new "
                    "name and key, and wallets holding receipts of the old name find them no longer match this "
                    "ledger. Set AMANA_PUBLIC_BASE_URL back unless the move is meant.", ", ".join(sorted(known)), name)


async def stop(app: FastAPI) -> None:
    ctx: ConsentContext | None = getattr(app.state, "consent", None)
    if ctx is not None:
        if ctx.background is not None:
            ctx.background.cancel()
            await asyncio.gather(ctx.background, return_exceptions=True)
        await ctx.engine.dispose()


def attach(app: FastAPI) -> None:
    app.include_router(router)


SERVICE = service.Service(start, stop, attach)


def build_app(settings: Settings | None = None) -> FastAPI:
    return service.build_app("Amana consent ledger", settings or get_settings(), [SERVICE])


app = build_app()
