"""Keeping a card for offline use (issue 13 item 6): the compact copy of a card (core.offline),
bound to a key the holder's browser made and never lets go of.

The wallet server cannot sign the OpenID4VCI key proof (it never sees the device key), so the
issuance is split in two posts around the browser's signature (wallet.pages_offline):

1. ``start``: the card's refresh token gives an access token (wallet.refresh: claimed in the
   vault first, the successor token kept at once), and the issuer's nonce endpoint a c_nonce.
   The browser gets the c_nonce and the issuer identifier (the proof's ``aud``); the access
   token goes back to it only sealed under the node key (a *ticket*, bound to this wallet and
   card, good for ``TICKET_S``), so nothing is stored on the server between the two posts and a
   ticket is useless to anyone but this node;
2. ``finish``: the credential request for the compact configuration with the browser's proof;
   the answer is checked as on receipt — the issuer's signature with its published keys, the
   type, and that ``cnf`` is exactly the key the browser proved — and handed to the browser
   with each disclosure's label and its value's text in every language (what the offline page
   shows with no network). The vault is not changed: the compact copy lives on the device only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from core import i18n, keys, local_forms, offline
from core.credtypes import TypeRegistry
from core.encoding import b64url_decode, b64url_encode
from core.errors import AmanaError, InvalidInput
from core.sealing import SealBroken
from wallet import copies, dpop, flows, holder, labels, receive, refresh
from wallet import issuer_keys as published_keys

TICKET_S = 300  # from the nonce to the credential request: the holder waits for one key and one signature
PROOF_TYP = "openid4vci-proof+jwt"


class KeepUnavailable(receive.IssuanceFailed):
    code = "offline_copy_unavailable"
    title = "This card cannot be kept for offline use now"


class TicketInvalid(InvalidInput):
    code = "offline_ticket_invalid"
    title = "The offline copy was asked for too long ago, or for another card: start again"


def _seal_context(wallet_id: str, card_id: str) -> str:
    return f"wallet offline ticket:{wallet_id}:{card_id}"


def compact_configuration(meta: Mapping[str, Any], configuration_id: str) -> str:
    """The issuer's compact configuration for the card's SD-JWT VC configuration: the one of
    format ``offline.FORMAT`` with the same ``vct``."""
    supported = meta.get("credential_configurations_supported")
    if not isinstance(supported, dict) or not isinstance(supported.get(configuration_id), dict):
        raise KeepUnavailable("the issuer no longer names this card's configuration")
    vct = supported[configuration_id].get("vct")
    for name, config in supported.items():
        if isinstance(config, dict) and config.get("format") == offline.FORMAT and config.get("vct") == vct:
            return str(name)
    raise KeepUnavailable("the issuer offers no compact copy of this card")


async def start(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                card_id: str) -> dict[str, Any]:
    now = ctx.now()
    try:
        opened, grant = await holder.update(ctx, opened, lambda c: copies.claim(c, card_id, now))
    except copies.NotNow as exc:
        raise KeepUnavailable("no refresh grant for this card, or one is in use") from exc
    try:
        meta, auth = await receive.issuer_metadata(http, grant.issuer)
        # The compact copy is this node's own configuration (specs/), asked for by its id.
        access, successor, _, bound_to = await refresh.rotate(http, auth["token_endpoint"], grant.token,
                                                              grant.configuration_id, refresh.grant_key(grant))
    except refresh.RefreshRefused:
        await holder.update(ctx, opened, lambda c: copies.rotated(c, card_id, grant.token, None))
        raise
    except (httpx.HTTPError, AmanaError, KeyError, ValueError) as exc:
        await holder.update(ctx, opened, lambda c: copies.released(c, card_id))
        raise KeepUnavailable("the issuer could not be reached") from exc
    opened, _ = await holder.update(ctx, opened, lambda c: copies.rotated(c, card_id, grant.token,
                                                                         successor or grant.token))
    configuration = compact_configuration(meta, grant.configuration_id)
    endpoint, nonce_endpoint = meta.get("credential_endpoint"), meta.get("nonce_endpoint")
    if not isinstance(endpoint, str) or not isinstance(nonce_endpoint, str):
        raise KeepUnavailable("the issuer names no credential or nonce endpoint")
    nonce = (await receive.json_body(await http.post(nonce_endpoint), "nonce")).get("c_nonce")
    if not isinstance(nonce, str):
        raise KeepUnavailable("the issuer gave no c_nonce")
    sealed = {"access": access, "issuer": grant.issuer, "configuration": configuration, "endpoint": endpoint,
              "until": now + TICKET_S, "salt": secrets.token_hex(4), "dpop": bound_to is not None}
    ticket = ctx.node.seal(json.dumps(sealed).encode(), _seal_context(opened.wallet_id, card_id))
    return {"ticket": b64url_encode(ticket), "aud": grant.issuer, "nonce": nonce}


def read_issued(text: str) -> tuple[bytes, list[bytes]]:
    """The credential and its disclosures from the Credential Response string (core.offline
    parses it; issuer.offline writes it), a malformed one refused as a failed issuance."""
    try:
        return offline.parse_issued(text)
    except AmanaError as exc:
        raise receive.IssuanceFailed("the issued compact credential is not [cred, [disclosures]]") from exc


def _proof_key(proof: str) -> keys.PublicKey:
    """The key the browser proved (the proof's ``jwk`` header); the issuer checks the signature."""
    try:
        header = json.loads(b64url_decode(proof.split(".")[0], "proof header"))
        if not isinstance(header, dict) or header.get("typ") != PROOF_TYP or header.get("alg") != "ES256":
            raise ValueError("typ or alg")
        return keys.PublicKey.from_jwk(header["jwk"])
    except (ValueError, KeyError, TypeError, AmanaError) as exc:
        raise InvalidInput("the key proof is not an ES256 openid4vci-proof+jwt with a jwk") from exc


async def finish(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient, card_id: str,
                 ticket: str, proof: str) -> dict[str, Any]:
    try:
        sealed = json.loads(ctx.node.open(b64url_decode(ticket, "ticket"), _seal_context(opened.wallet_id, card_id)))
    except (SealBroken, AmanaError, ValueError) as exc:
        raise TicketInvalid("the ticket does not open for this wallet and card") from exc
    if sealed["until"] < ctx.now():
        raise TicketInvalid("the ticket is too old")
    device_key = _proof_key(proof)
    body = {"credential_configuration_id": sealed["configuration"], "proofs": {"jwt": [proof]}}
    # A DPoP-bound access token (the grant's key: RFC 9449) is sent with a proof by that key, which the
    # vault keeps with the grant: the ticket the browser carries holds no key.
    grant = opened.contents.refresh.get(card_id) if sealed.get("dpop") else None
    key = None if grant is None else refresh.grant_key(grant)
    try:
        issued = await receive.json_body(await dpop.post(http, sealed["endpoint"], key, access_token=sealed["access"],
                                                         json=body), "credential")
        entries = issued.get("credentials")
        one = entries[0] if isinstance(entries, list) and len(entries) == 1 else None
        text = one.get("credential") if isinstance(one, dict) else None
        if not isinstance(text, str):
            raise receive.IssuanceFailed("credential: not one compact credential")
        cred, disclosures = read_issued(text)
        issuer_keys = await published_keys.read(http, sealed["issuer"])  # SD-JWT VC 5: its own document only
    except httpx.HTTPError as exc:
        raise KeepUnavailable("the issuer could not be reached") from exc
    parsed = offline.parse_credential(cred)
    if not any(offline.compact_kid(k) == parsed.kid and parsed.verify_signature(k) for k in issuer_keys):
        raise receive.IssuanceFailed("the compact credential's signature does not verify with the issuer's keys")
    if parsed.holder_point != offline.compress_p256(device_key):
        raise receive.IssuanceFailed("the compact credential is bound to another key than this device's")
    # Only what the issuer signed: a disclosure whose digest the credential lacks would show the
    # holder a value every desk refuses (helper-62 kept another credential's); and this card's type.
    if any(offline.digest(d) not in parsed.digests for d in disclosures):
        raise receive.IssuanceFailed("a disclosure is not one the compact credential's issuer signed")
    held = opened.contents.batches().get(card_id)
    if not held or parsed.ctype.vct != held[0].vct:
        raise receive.IssuanceFailed("the compact credential is of another type than the card")
    listed = flows.trust_list(ctx)
    issuer = listed.issuer(sealed["issuer"]) if listed is not None else None
    names = dict(issuer.names) if issuer is not None else {"en": sealed["issuer"]}
    return card_record(ctx.types, card_id, cred, disclosures, names)


def card_record(types: TypeRegistry, card_id: str, cred: bytes, disclosures: Sequence[bytes],
                issuer_names: Mapping[str, str]) -> dict[str, Any]:
    """What the browser keeps in IndexedDB beside the device key: the opaque pieces, and for each
    disclosure its label and its value's text in every language (a code's words, a date in the
    reader's calendar: ``CredentialType.value_text``), in the type's order. Records kept before
    session 27 hold the value as one string and no ``until`` (the day the copy ends, as the reader
    reads it); the page reads both."""
    parsed = offline.parse_credential(cred)
    known = types.get(parsed.ctype.vct)
    order = [r.path[0] for r in known.rules if len(r.path) == 1] if known is not None else []
    shown = []
    for raw in disclosures:
        name, value = offline.parse_disclosure(raw, parsed.ctype)
        plain = labels.value_text(value)
        shown.append({"d": b64url_encode(raw), "key": name,
                      "value": {lang: (known.value_text((name,), value, lang) if known else None) or plain
                                for lang in i18n.supported()},
                      "label": {lang: known.label((name,), lang) if known else name for lang in i18n.supported()}})
    shown.sort(key=lambda d: order.index(d["key"]) if d["key"] in order else len(order))
    return {"id": card_id, "vct": parsed.ctype.vct, "issuer": dict(issuer_names), "cred": b64url_encode(cred),
            "type": {lang: known.display_name(lang) if known else parsed.ctype.vct for lang in i18n.supported()},
            "exp": parsed.exp, "until": {lang: local_forms.local_day(parsed.exp, lang) for lang in i18n.supported()},
            "disclosures": shown}
