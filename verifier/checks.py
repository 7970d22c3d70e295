"""A check from creation to its one-time result: the verifier service's use cases.

Shared by the API, the scan page and ``amana verifier``. A check is refused at creation if
it asks beyond the verifier's registration in the trust list (the holder's wallet would
refuse it anyway; better the clerk learns first). The result is sealed to a key only the
requester holds (``result_key``), so what the database keeps between the wallet's answer
and the clerk's screen is ciphertext the server cannot read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from nacl.encoding import URLSafeBase64Encoder
from nacl.public import PrivateKey as BoxKey
from nacl.public import PublicKey as BoxPublicKey
from nacl.public import SealedBox

from consent import pseudonym
from core import dcql, qr
from core.errors import AmanaError, FetchFailed, InvalidInput, InvalidTrustList, NotFound, OAuthError
from core.sdjwt import VerifyPolicy
from core.sealing import new_public_id
from core.trust import require_within_registration
from verifier import consent_records, encrypted_responses, proofs, requests, resolve, store
from verifier.context import VerifierContext
from verifier.queries import named, narrowed
from verifier.results import audit_entries
from verifier.store import CheckRow
from verifier.verification import Expectation, Result, Status, decide, parse_vp_token, refused, verify_vp_token

# 61 modules a side: an ask link with a did:jwk client id on a long host name (level L), or
# any x509_hash check (level M) on a usual one, which come out at version 10.
MAX_QR_VERSION = 11


async def create(ctx: VerifierContext, *, query_name: str | None, custom: dict[str, Any] | None,
                 purpose: str | None, prefix: requests.Prefix, accept_unknown_status: bool,
                 response_mode: str | None = None, parameters: dict[str, str] | None = None,
                 desk: str | None) -> dict[str, Any]:
    """``parameters``: values for a named query's parameters (skill-check's ESCO ``skill``); ``desk``:
    the digest of the desk key that asks (None: the node's shell), kept with the check and its audit."""
    if (query_name is None) == (custom is None):
        raise InvalidInput("give either a named query or a DCQL query")
    configured = None
    if query_name is not None:
        chosen = named(ctx.queries, query_name)
        query, raw, purpose, configured = chosen.query, chosen.raw, chosen.purpose, chosen.response_mode
        if parameters:
            query, raw = narrowed(chosen, parameters)
    elif parameters:
        raise InvalidInput("parameters go with a named query")
    else:
        query, raw = dcql.parse(custom), dict(custom or {})
        if not purpose:
            raise InvalidInput("a custom query needs its purpose (a DPV term)")
    now, base = ctx.now(), ctx.settings.public_base_url.rstrip("/")
    require_within_registration(ctx.trust_list(), ctx.settings.verifier_id, purpose, dcql.requested_claims(query),
                                at=now)
    check_id, nonce, state = new_public_id(), requests.new_secret(), requests.new_secret()
    result_key = BoxKey.generate()
    mode = encrypted_responses.mode_for(prefix.value, response_mode, configured)
    sealed_key, encryption = encrypted_responses.for_check(ctx.node, check_id, mode)
    identity = await ctx.identity()
    async with ctx.unit() as db:  # a refusal below leaves nothing behind
        client_id = identity.client_id(prefix)
        link, qr_link = _link(client_id, base, check_id), _qr_link(client_id, base, check_id)
        if not qr.fits(qr_link, MAX_QR_VERSION):
            raise InvalidInput(f"the request link does not fit a version {MAX_QR_VERSION} QR code")
        request_jwt = requests.request_object(identity, prefix, response_uri=f"{base}/verifier/responses/{check_id}",
                                              nonce=nonce, state=state, dcql_query=raw, now=now, encryption=encryption)
        await store.add_check(db, dict(
            id=check_id, name=query_name or "custom", purpose=purpose, dcql=raw, prefix=prefix.value, nonce=nonce,
            state=state, request_jwt=request_jwt, accept_unknown_status=accept_unknown_status,
            result_public_key=bytes(result_key.public_key), phase="pending", created_at=now,
            expires_at=now + requests.REQUEST_TTL_S, response_key=sealed_key, desk=desk), now,
            forget=ctx.forget_due(now))
    return {"id": check_id, "link": link, "qr_link": qr_link, "expires_at": now + requests.REQUEST_TTL_S,
            "result_key": result_key.encode(URLSafeBase64Encoder).decode("ascii")}


def qr_svg(shown: dict[str, Any], *, standalone: bool = False) -> str:
    """A check's QR code (of what ``create`` or ``reopen`` gave), drawn only when it is asked for:
    creating a check only makes sure its link fits (``qr.fits``). ``standalone``: an SVG file of its
    own (the API's), not one inside a page."""
    return qr.svg(shown["qr_link"], max_version=MAX_QR_VERSION, standalone=standalone)


def qr_png(shown: dict[str, Any]) -> bytes:
    """The same code as ``qr_svg``, as a PNG."""
    return qr.png(shown["qr_link"], max_version=MAX_QR_VERSION)


def _link(client_id: str, base: str, check_id: str) -> str:
    return requests.wallet_link(client_id, request_uri(base, check_id))


def _qr_link(client_id: str, base: str, check_id: str) -> str:
    return requests.ask_link(base, client_id, request_uri(base, check_id))


def request_uri(base: str, check_id: str) -> str:
    return f"{base}/verifier/requests/{check_id}"


async def reopen(ctx: VerifierContext, check_id: str) -> dict[str, Any] | None:
    """A check still open, shown again (the same link, for the same QR: ``qr_svg``) — after "not
    yet", a language change or a reload — or None when it is gone or expired. The caller proves it is the
    requester (the result cookie) before asking: the link is the holder's key to the request."""
    now, base = ctx.now(), ctx.settings.public_base_url.rstrip("/")
    async with ctx.read() as db:
        row = await store.check(db, check_id)
        if row is None or now >= row.expires_at:
            return None
    client_id = requests.asked_under(row.request_jwt)
    link, qr_link = _link(client_id, base, check_id), _qr_link(client_id, base, check_id)
    return {"id": check_id, "name": row.name, "phase": row.phase, "link": link, "qr_link": qr_link, "dcql": row.dcql,
            "expires_at": row.expires_at}


async def request_object(ctx: VerifierContext, check_id: str) -> str:
    async with ctx.read() as db:
        row = await store.check(db, check_id)
    if row is None or row.phase != "pending" or ctx.now() >= row.expires_at:
        raise NotFound("no open request with this id")
    request_jwt: str = row.request_jwt
    return request_jwt


async def respond(ctx: VerifierContext, check_id: str, form: dict[str, str]) -> None:
    """The wallet's direct_post (section 8.2): verify, seal the result to the requester, audit names only.

    The wallet is answered within ``verifier_answer_wait_s`` whatever the network does: a
    status list that is slow to arrive (up to the fetcher's deadline) is waited for by a
    background task, not by the wallet. Section 8.2 asks only that the Response URI answer
    200 (with ``{}`` or a ``redirect_uri``) once it has the response; the verdict is the
    desk's to collect (``results.take_result``), which sees "pending" until the task is done.

    An error response (``error=access_denied``, section 8.5) is only a hint, never the end of
    the check: it carries nothing but ``error``, ``error_description`` and ``state`` (RFC 6749
    section 4.1.2.1), and ``state`` is in the Request Object that anyone who sees the QR can
    fetch, so anyone can send one. Section 5.10's ``wallet_nonce`` does not help: it goes
    from the wallet into the signed request object, proving freshness to the *wallet*, and
    no response echoes it; and section 14.4.2's check of ``state`` only guards against
    inadvertent requests. So the decline is kept, the check stays open for a presentation
    (which proves itself by its Key Binding JWT), and the decline becomes the result only
    when the check expires unanswered, or when the desk asks for it (``results.take_result``'s ``close``).

    An answer in which no presentation is bound to the request is a hint the same way (``_conclude``): anyone who
    sees the QR could post junk, or a presentation of their own made up, and ended the check
    with it, so the holder's own answer then found it closed (helper-66). A check ends on an
    answer with at least one presentation bound to it: a credential signed by the key of an
    issuer on the trust list, with its Key Binding JWT for this request's nonce and client id
    (``verification.Presented.bound``). Its verdict may still be a refusal (a revoked
    credential, one of another type or skill than asked).
    """
    async with ctx.read() as db:  # a lock here would end with this read: the answer is taken once by
        row = await store.check(db, check_id)  # ``store.answer``'s guarded UPDATE (a replay finds nothing)
    if row is None or row.phase != "pending" or ctx.now() >= row.expires_at:
        raise OAuthError("invalid_request", "no pending request: answered already, or expired")
    key = None if row.response_key is None else encrypted_responses.unseal(ctx.node, row.response_key, row.id)
    # direct_post.jwt: the JWE opened, or refused (changes nothing)
    form = encrypted_responses.read(form, key, requests.encrypted_to(row.request_jwt))
    if form.get("state") != row.state:
        raise OAuthError("invalid_request", "state does not match the request")
    if "error" in form:
        sealed = await _seal(ctx, row, Result(False, reason="declined", detail="the holder declined"), "")
        async with ctx.unit() as db:
            await store.note_decline(db, row.id, sealed)
        return
    work = asyncio.ensure_future(_conclude(ctx, row, form.get("vp_token", ""), form.get(pseudonym.OFFER_FIELD)))
    ctx.finish_later(work)
    done, _ = await asyncio.wait({work}, timeout=ctx.settings.verifier_answer_wait_s)
    if work in done:
        work.result()  # "answered already" and the like reach this wallet as they always did


async def _seal(ctx: VerifierContext, row: CheckRow, result: Result, vp_token: str) -> bytes:
    identity = await ctx.identity()
    outcome = _public_result(ctx, result)
    outcome["proof_of_check"] = proofs.issue(identity.key, verifier_id=ctx.settings.verifier_id, check_name=row.name,
                                             purpose=row.purpose, vp_token=vp_token, outcome=outcome, now=ctx.now())
    return SealedBox(BoxPublicKey(row.result_public_key)).encrypt(json.dumps(outcome).encode())


async def _conclude(ctx: VerifierContext, row: CheckRow, vp_token: str, consent_offer: str | None = None) -> None:
    # The consent record goes first, outside the answer's unit: its group commit writes on this
    # service's pool, which opens nothing past its size (core.db.make_engine). Requests holding a
    # connection while they wait for it would, under load, leave it none.
    verified, proven = await _verify(ctx, row, vp_token)
    if not proven:  # nothing in it is bound to the request: a hint, as a decline is (``respond``)
        sealed = await _seal(ctx, row, verified, vp_token)
        async with ctx.unit() as db:
            await store.note_decline(db, row.id, sealed)
        return
    identity = await ctx.identity()
    result = await consent_records.record(ctx, row, verified, consent_offer, identity)
    sealed = await _seal(ctx, row, result, vp_token)
    async with ctx.single() as db:  # on PostgreSQL one statement (store.answer)
        if not await store.answer(db, row.id, sealed, audit_entries(row.name, result, ctx.now(), row.desk)):
            raise OAuthError("invalid_request", "this request was answered already")


async def _verify(ctx: VerifierContext, row: CheckRow, vp_token: str) -> tuple[Result, bool]:
    """The verdict, and whether some presentation in the answer is bound to the request (``respond`` says why)."""
    now = ctx.now()
    try:
        expect = Expectation(client_id=requests.asked_under(row.request_jwt), nonce=row.nonce,
                             query=dcql.parse(row.dcql), accept_unknown_status=row.accept_unknown_status)
        trust_list = ctx.trust_list()
        token = parse_vp_token(vp_token)
        keys = await resolve.issuer_keys(ctx.fetcher, trust_list, [p for ps in token.values() for p in ps])
        policy = VerifyPolicy(clock_skew_s=ctx.settings.clock_skew_s, max_bytes=ctx.settings.max_presentation_bytes)
        presented = verify_vp_token(vp_token, expect, trust_list=trust_list, issuer_keys=resolve.keys_lookup(keys),
                                    types=ctx.types, now=now, policy=policy)
    except AmanaError as exc:
        return refused(exc), False
    checked = presented.checked
    if presented.unanswered is not None:  # a refusal, which ends the check if a holder made the answer
        return refused(presented.unanswered), presented.bound
    try:
        statuses = [await _status(ctx, c.status_ref, keys.get(c.issuer, []), now) for c in checked]
        result = decide(checked, statuses, expect)
        return result, result.accepted or presented.bound
    except AmanaError as exc:
        return refused(exc), presented.bound


async def _status(ctx: VerifierContext, ref: tuple[str, int] | None, keys: list[Any], now: int) -> Status:
    """The newest statement of this process's copy (reused within the list's ttl, else fetched)
    and the database's (written by ``amana verifier sync`` and every process of the node;
    signed by the issuer, so offline desks answer from it while its ``exp`` holds); else unknown."""
    if ref is None:
        return Status.VALID  # no status mechanism in the credential: nothing can revoke it
    async with ctx.read() as db:
        kept = await store.status_list_copy(db, ref[0])
    status, fresh = await resolve.current_status(ctx.fetcher, ref, keys, now, kept)
    if fresh is not None:
        async with ctx.unit() as db:
            await store.keep_status_list(db, ref[0], fresh, now)
    return status


async def sync(ctx: VerifierContext, trust_list_url: str | None) -> dict[str, Any]:
    """``amana verifier sync``: the newest trust list (rollback refused) and fresh copies of known
    status lists, written to the database copy that every process of the node reads (``_status``)."""
    report: dict[str, Any] = {}
    if trust_list_url:
        try:
            fetched = await ctx.fetcher.get(trust_list_url, accept="application/amana-trustlist+jwt",
                                            max_bytes=1 << 20)
        except FetchFailed as exc:
            if exc.detail != "the server answered 503":
                raise
            # an Amana node with no list signed yet answers so (server/trust_list.py: TrustListUnavailable)
            raise FetchFailed("the server answered 503: no trust list is published there yet (its operator signs "
                              "one with `amana trust sign`, after `amana trust init`), or it is down") from None
        text = resolve.as_text(fetched)
        if text is None:
            raise InvalidTrustList("the trust list is not a compact JWS")
        held = ctx.trust_cache().offer(text, ctx.now())
        report["trust_list"] = {"seq": held.content.seq, "expired": held.expired}
    async with ctx.transaction() as session:
        uris = await store.status_list_uris(session)
    ctx.fetcher.forget(uris)
    try:  # only lists an accredited issuer signed replace a kept copy
        keys = [k for issuer in ctx.trust_list().issuers for k in issuer.public_keys()]
    except AmanaError:
        keys = []
    refreshed = 0
    for uri in uris:
        text = resolve.as_text(await resolve.fetch_status_token(ctx.fetcher, uri))
        async with ctx.transaction() as session:
            kept = await store.status_list_copy(session, uri)
            if resolve.worth_keeping(text, uri, keys, ctx.now(), kept[0] if kept else None):
                await store.keep_status_list(session, uri, text or "", ctx.now())
                refreshed += 1
    report["status_lists"] = {"known": len(uris), "refreshed": refreshed, "kept_as_they_were": len(uris) - refreshed}
    return report


def _public_result(ctx: VerifierContext, result: Result) -> dict[str, Any]:
    """What the requester sees: per credential only the requested claims, issuer and status."""
    statuses: list[str | None] = [s.value for s in result.statuses] or [None] * len(result.credentials)
    credentials = [{"query_id": c.query_id, "vct": c.vct, "type_names": _type_names(ctx, c.vct), "issuer": c.issuer,
                    "issuer_names": dict(c.issuer_names), "claims": c.requested, "status": status}
                   for c, status in zip(result.credentials, statuses, strict=True)]
    return {"accepted": result.accepted, "reason": result.reason, "detail": result.detail, "credentials": credentials}


def _type_names(ctx: VerifierContext, vct: str) -> dict[str, str]:
    try:
        ctype = ctx.types.require(vct)
    except AmanaError:
        return {}
    return ctype.names()
