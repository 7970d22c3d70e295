"""Credential offers and the pre-authorized code grant (OpenID4VCI 1.0 sections 4.1 and 6). Pure.

An offer is what staff create for one holder: a pre-authorized code (in the QR) and a
transaction code, the PIN (told to the holder on another channel: said aloud, printed
apart). The token endpoint trades code + PIN for an access token, once.

The rules, from the spec and its security considerations (section 13.6):

- the code is short-lived and single use: an offer is ``offered`` until redeemed, then
  ``redeemed``, and ``issued`` once its credentials went out; nothing goes back;
- the PIN guards against someone who photographed the QR: ``MAX_PIN_FAILURES`` wrong PINs
  lock the offer for good (``locked``), and staff make a new one; each wrong PIN's answer says
  how many are left (``TRIES_LEFT``, specs/formats/token-errors.md), so the holder types it
  again rather than walks back to the office;
- an expired offer is refused like an unknown one (``invalid_grant``), so someone guessing
  codes learns nothing about which once existed (nor how many tries a closed one had);
- the PIN is compared as a keyed digest in constant time (core.sealing).
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from core import i18n
from core.errors import OAuthError
from core.oid4vc import OFFER_SCHEME, PRE_AUTHORIZED_GRANT
from core.sealing import new_public_id
from issuer import offline

PIN_LENGTH = 6
MAX_PIN_FAILURES = 5
TRIES_LEFT = "tx_code_tries_left"  # the wrong-PIN answer's extra member (specs/formats/token-errors.md)
DEFAULT_OFFER_TTL_S = 14 * 86400  # a class's printed sheet is often redeemed days later
ACCESS_TOKEN_TTL_S = 600  # a DPoP-bound (sender-constrained) access token
# OpenID4VCI 1.0 section 13.8: "Long-lived Access Tokens giving access to Credentials MUST not be
# issued unless sender-constrained. Access Tokens with lifetimes longer than 5 minutes are, in
# general, considered long lived." A wallet redeems its token within seconds either way.
BEARER_TOKEN_TTL_S = 300


def access_token_ttl_s(sender_constrained: bool) -> int:
    return ACCESS_TOKEN_TTL_S if sender_constrained else BEARER_TOKEN_TTL_S
RETRY_WINDOW_S = 60  # a wallet may repeat a credential request whose answer it lost


class OfferState(StrEnum):
    OFFERED = "offered"
    REDEEMED = "redeemed"
    ISSUED = "issued"
    LOCKED = "locked"
    CANCELLED = "cancelled"  # by staff: a lost sheet, a mistake, or replaced by a new offer


# Offers staff can still replace with a new code and PIN: the claims are still held (they go
# when the credentials are issued), so nothing needs retyping.
REOFFERABLE = frozenset({OfferState.OFFERED, OfferState.REDEEMED, OfferState.LOCKED})
CANCELLABLE = REOFFERABLE
REFERENCE_MAX = 120


def reference_key(reference: str) -> str:
    """The form of a staff reference that lookups compare: Unicode-normalised (NFKC), case
    folded, any script's digits as ASCII, runs of spaces as one. "Case 42", "case  ٤٢" and
    "CASE 42" find the same offer."""
    folded = unicodedata.normalize("NFKC", reference).casefold()
    digits = "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in folded)
    return " ".join(digits.split())


def new_offer_id() -> str:
    return new_public_id()


def new_pin(length: int = PIN_LENGTH) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


@dataclass(frozen=True, slots=True)
class RedeemAttempt:
    """What the token endpoint knows about the offer a code points to."""

    state: OfferState
    expires_at: int
    pin_digest: str
    pin_failures: int


@dataclass(frozen=True, slots=True)
class Redemption:
    """The outcome: the offer's next state and failure count; ``error`` if refused."""

    state: OfferState
    pin_failures: int
    error: OAuthError | None = None


def redeem(offer: RedeemAttempt | None, pin_digest: str | None, now: int) -> Redemption:
    """Decide a token request for an offer (None: no offer has that code).

    The code is single use, with no retry window (section 4.1.1: "MUST be short lived and
    single use"): a wallet that lost the token response is given a new offer by staff
    (issuer.offer_admin.reoffer), not a second use of the code."""
    if offer is None or offer.state is not OfferState.OFFERED or now >= offer.expires_at:
        state = offer.state if offer else OfferState.OFFERED
        return Redemption(state, offer.pin_failures if offer else 0,
                          OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired"))
    if pin_digest is None:
        return Redemption(offer.state, offer.pin_failures, OAuthError("invalid_request", "tx_code is required"))
    if not hmac.compare_digest(pin_digest, offer.pin_digest):
        failures = offer.pin_failures + 1
        state = OfferState.LOCKED if failures >= MAX_PIN_FAILURES else OfferState.OFFERED
        left = max(MAX_PIN_FAILURES - failures, 0)
        # Section 6.3: a wrong Transaction Code is invalid_grant (1.0; the next version's is invalid_tx_code).
        wrong = OAuthError("invalid_grant", f"the transaction code is wrong; {left} tries left",
                           members={TRIES_LEFT: left})
        return Redemption(state, failures, wrong)
    return Redemption(OfferState.REDEEMED, offer.pin_failures)


def credential_offer(issuer_url: str, config_id: str, code: str, pin_length: int = PIN_LENGTH,
                     language: str = "en", *, compact: bool = True) -> dict[str, Any]:
    """The Credential Offer object (section 4.1.1): pre-authorized, with a PIN, for one type in its
    two configurations: the SD-JWT VC first (what a wallet that knows one format takes), then its
    compact offline copy (issuer.offline); one access token grants each once.

    ``tx_code.description`` has no i18n in the spec (one string, 300 characters at most), so
    it is written in the holder's language as staff recorded it with the offer."""
    return {
        "credential_issuer": issuer_url,
        "credential_configuration_ids": [config_id, *([offline.config_id(config_id)] if compact else [])],
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {"input_mode": "numeric", "length": pin_length,
                            "description": i18n.t(i18n.pick(language), "offer.pin_description")[:300]},
            }
        },
    }


def grant_usable(state: OfferState, *, offline: bool, refresh: bool) -> bool:
    """The offer states an access-token grant may be used in: the code's SD-JWT grant before the
    first batch, a refresh grant's after it; the compact copy's either way (the SD-JWT batch may
    come first or not; issuer.offline)."""
    if offline:
        return state in {OfferState.REDEEMED, OfferState.ISSUED}
    return state == (OfferState.ISSUED if refresh else OfferState.REDEEMED)


def offer_link(uri: str) -> str:
    """By reference (section 4.1.3), in the custom scheme a wallet app registers."""
    return f"{OFFER_SCHEME}?credential_offer_uri={quote(uri, safe='')}"


# What every offer QR carries: an https link to the issuer's offer page, with the offer by
# reference as its single query parameter. Section 4.1 ("Credential Offer") lets the issuer
# invoke the wallet through a Credential Offer Endpoint "by clicking a link and/or rendering
# a QR code ... that the End-User can scan in a wallet or an arbitrary camera application";
# the offer is then "a single URI query parameter", here ``credential_offer_uri``, and
# section 12.1.1 makes ``openid-credential-offer://`` only the fallback for an endpoint the
# issuer cannot discover. A camera app opens nothing in that custom scheme, but it opens an
# https link: the page explains what this is, how to get a wallet, and hands on the
# ``openid-credential-offer://`` link; a wallet that scans the code reads
# ``credential_offer_uri`` from it and fetches the offer exactly as section 4.1.3 says.
# Content negotiation on the offer URL itself was not chosen: section 4.1.3 says that URL
# answers ``application/json``, and a QR holding a bare offer URL carries no
# ``credential_offer_uri`` parameter for a wallet to recognise.
OFFER_PAGE = "offer"
_OFFER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def offer_uri(issuer_url: str, offer_id: str) -> str:
    """The Credential Offer URL (section 4.1.3): the JSON object behind every link."""
    return f"{issuer_url}/offers/{offer_id}"


def offer_page_link(issuer_url: str, offer_id: str) -> str:
    """The https link every offer QR carries (see above)."""
    return f"{issuer_url}/{OFFER_PAGE}?credential_offer_uri={quote(offer_uri(issuer_url, offer_id), safe='')}"


def offer_id_of(issuer_url: str, credential_offer_uri: str) -> str | None:
    """The offer id, if ``credential_offer_uri`` is one of this issuer's offer URLs; else None,
    so the offer page never links to, or repeats, an address someone else chose."""
    prefix = offer_uri(issuer_url, "")
    rest = credential_offer_uri.removeprefix(prefix)
    return rest if rest != credential_offer_uri and _OFFER_ID.fullmatch(rest) else None
