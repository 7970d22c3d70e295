"""An offline QR (``AO1:``) checked at the desk from what this node holds, and nothing else.

Why "from the cache alone": the desk that scans an offline QR may have no network (a field
office, a border), and an answer that depends on reaching the issuer would change with the
weather. So this path opens no connection, ever (it is never handed the fetcher):

- issuer keys and accreditation: the held trust list (``ctx.trust_list()``, what
  ``amana verifier sync`` / the operator's file left; core.offline.trust_list_checks), and for
  an issuer it accredits, keys of its ``jwt-vc-issuer`` document this process still holds
  (a key rotated in since the list was signed; verifier.resolve.held_issuer_keys);
- status: the held copy of the issuer's status list (``verifier_status_lists``) at the URI the
  credential's list number names under its issuer (core.offline.status_list_uri), verified
  with the issuer's trust-list keys, its ``sub`` that URI, not expired (verifier.resolve.read).
  No copy, an expired copy, a copy signed by someone else: ``unknown`` — refused, never "valid";
  a list not held at all is noted so that the next ``amana verifier sync`` fetches it;
- freshness: a nonce this desk showed (spent once), else the holder's short window; a binding
  already seen inside its window is a replay (verifier_offline_seen). A paper QR (long window)
  is accepted as the holder chose it, and the result says so plainly.

What is kept: the audit (time, vct, issuer, outcome, claim *names*, the desk), the spent nonce's absence
and the binding's keyed digest until its window ends. Never a value, never the QR.
"""

from __future__ import annotations

import time
from typing import Any

from core import offline as codec
from core.errors import AmanaError, NonceMismatch, Replayed
from core.offline import Presentation, StatusRef
from core.offline.presentation import NONCE_BYTES as NONCE_LENGTH
from core.trust import TrustList
from verifier import resolve, store
from verifier.context import VerifierContext
from verifier.store import AuditLine
from verifier.verification import Status

NONCE_BYTES = NONCE_LENGTH
CHECK_NAME = "offline-qr"
# Errors a clerk meets, in the words of the desk (display.REASONS); the rest say "not verified".
REASONS = {"credential_revoked": "revoked", "credential_suspended": "suspended", "window_too_long": "window_expired",
           "unknown_issuer_key": "issuer_not_accredited", "unreferenced_disclosure": "undisclosed_claim",
           "kb_iat_out_of_window": "window_expired"}
STATUS_WORDS = {Status.VALID: "valid", Status.REVOKED: "revoked", Status.SUSPENDED: "suspended"}


def nonce_text(nonce: bytes) -> str:
    return codec.nonce_qr(nonce)


async def check(ctx: VerifierContext, text: str, desk: str | None) -> dict[str, Any]:
    """The shown result of one offline QR (accepted or refused), audited with the desk that scanned it
    (its key's digest; None: the shell); nothing else is kept."""
    now, held = ctx.now(), dict[str, int]()
    try:
        presentation = codec.decode(text)
        trust_list = ctx.trust_list()
        shown = await _verify(ctx, trust_list, presentation, text, now, held, desk)
    except AmanaError as exc:
        reason = REASONS.get(exc.code, exc.code)
        shown = {"accepted": False, "reason": reason, "credentials": [],
                 "offline": {"paper": False, "synced": _when(held.get("synced"))}}
        async with ctx.transaction() as session:
            await store.audit(session, [AuditLine(at=now, check_name=CHECK_NAME, vct=None, issuer=None, accepted=False,
                                                   reason=reason, disclosed_names=[], desk=desk)])
    return shown


async def _verify(ctx: VerifierContext, trust_list: TrustList, p: Presentation, text: str, now: int,
                  held: dict[str, int], desk: str | None) -> dict[str, Any]:
    """``held`` gets ``synced``: when the status list copy the answer rests on was fetched."""
    listed_keys, accredited = codec.trust_list_checks(trust_list, now=now)
    held_keys: dict[bytes, list[codec.IssuerKey]] = {}
    for iss, key in resolve.held_issuer_keys(ctx.fetcher, trust_list, now):
        held_keys.setdefault(codec.compact_kid(key), []).append(codec.IssuerKey(key, iss))

    def resolve_key(kid: bytes) -> list[codec.IssuerKey]:
        return [*listed_keys(kid), *held_keys.get(kid, [])]

    # The list URIs the credential may name: one per issuer its kid points at (the signature,
    # checked by the codec, then settles which one); only copies held at exactly those URIs.
    ref = p.credential.status[0]
    uris = sorted({codec.status_list_uri(k.issuer, ref) for k in resolve_key(p.credential.kid)})
    async with ctx.transaction() as session:
        copies = await store.status_list_copies_at(session, uris)
        nonce_ok = p.nonce is not None and await store.offline_nonce_live(session, ctx.node, p.nonce, now)

    missing: list[str] = []

    def status_of(issuer: str, ref: StatusRef, idx: int) -> codec.Status:
        accredited, expected = trust_list.issuer(issuer), codec.status_list_uri(issuer, ref)
        keys = [] if accredited is None else accredited.public_keys()
        readings = [(r, fetched_at) for uri, token, fetched_at in copies
                    if uri == expected and (r := resolve.read(token, (uri, idx), keys, now, fetched_at)) is not None]
        if not readings:
            missing.append(expected)
            return "unknown"
        best, fetched_at = max(readings, key=lambda pair: pair[0].order())
        held["synced"] = fetched_at
        return STATUS_WORDS.get(best.status, "unknown")  # type: ignore[return-value]

    seen: list[tuple[bytes, int]] = []

    def remember(digest: bytes, until: int) -> bool:
        """Noted now, recorded below in the same transaction as the nonce (the codec asks last)."""
        seen.append((digest, until))
        return False

    verified = codec.verify(text, resolve_issuer_key=resolve_key, check_accredited=accredited, status_of=status_of,
                            seen=remember,
                            nonce_expected=p.nonce if nonce_ok else None, now=now)
    accepted = verified.status == "valid"
    async with ctx.transaction() as session:
        for uri in missing:  # for the next sync: an issuer the trust list accredits named it
            await store.note_status_list(session, uri, now)
        if verified.nonce_bound and not await store.spend_offline_nonce(session, ctx.node, p.nonce or b"", now):
            raise NonceMismatch("the desk's nonce was used by another QR a moment ago")
        for digest, until in seen:
            if not await store.first_showing(session, ctx.node, digest, until, now):
                raise Replayed("this QR was already shown here inside its window")
        await store.audit(session, [AuditLine(at=now, check_name=CHECK_NAME, vct=verified.vct, issuer=verified.issuer,
                                               accepted=accepted, reason=None if accepted else "status_unknown",
                                               disclosed_names=sorted(verified.disclosed), desk=desk)])
    issuer = trust_list.issuer(verified.issuer)
    claims = {name: verified.claims[name] for name in verified.disclosed}
    return {"accepted": accepted, "reason": None if accepted else "status_unknown",
            "credentials": [{"vct": verified.vct, "type_names": _type_names(ctx, verified.vct),
                             "issuer": verified.issuer, "issuer_names": dict(issuer.names) if issuer else {},
                             "claims": claims, "status": verified.status}],
            "offline": {"paper": verified.paper, "synced": _when(held.get("synced"))}}


def _when(at: int | None) -> str | None:
    """When the status list copy used was fetched (by ``amana verifier sync`` or a live check),
    isolated left-to-right (U+2066 … U+2069) so it reads the same inside an Arabic sentence."""
    return None if at is None else "\u2066" + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at)) + "\u2069"


def _type_names(ctx: VerifierContext, vct: str) -> dict[str, str]:
    ctype = ctx.types.get(vct)
    return {} if ctype is None else ctype.names()

