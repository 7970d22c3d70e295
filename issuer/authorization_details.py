"""``authorization_details`` of type ``openid_credential`` in a Token Request (OpenID4VCI 1.0
sections 5.1.1 and 6.1, RFC 9396) and what the Token Response says back (section 6.2). Pure.

A wallet may name, in the Token Request of a Pre-Authorized Code Flow, which of the offered
configurations it wants (section 6.1: "useful if the Credential Issuer offered multiple Credential
Configurations"), and the Token Response then MUST carry ``authorization_details`` with
``credential_identifiers`` (section 6.2: "REQUIRED when the authorization_details parameter ... is
used in either the Authorization Request or Token Request"). It was ignored, and such a wallet got
no identifiers to ask with (helper-67).

An offer here is one Credential Dataset per configuration, so each dataset's identifier is its
configuration id; the credential endpoint takes it as ``credential_identifier`` (issuer.api).
The token still grants every configuration of the offer: the wallet asks for what it wants.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from core.encoding import json_loads_strict
from core.errors import AmanaError, OAuthError

TYPE = "openid_credential"


def _invalid(detail: str) -> OAuthError:
    return OAuthError("invalid_authorization_details", detail)  # RFC 9396 section 5


def requested(raw: object) -> tuple[str, ...] | None:
    """The configuration ids a Token Request's ``authorization_details`` names, in its order, or
    None without one (an empty array names nothing, and is read as none); ``invalid_authorization_details``
    for one that is not a JSON array of ``openid_credential`` objects, each with its
    ``credential_configuration_id`` (section 5.1.1; RFC 9396 section 5: an unknown type is refused)."""
    if raw is None:
        return None
    try:
        details = json_loads_strict(raw, "authorization_details") if isinstance(raw, str) else None
    except AmanaError:
        details = None
    if not isinstance(details, list):
        raise _invalid("authorization_details must be a JSON array")
    if not details:
        return None
    asked: list[str] = []
    for detail in details:
        if not isinstance(detail, dict) or detail.get("type") != TYPE:
            raise _invalid(f"each authorization detail must be of type {TYPE}")
        configuration_id = detail.get("credential_configuration_id")
        if not isinstance(configuration_id, str):
            raise _invalid("each authorization detail names its credential_configuration_id")
        asked.append(configuration_id)
    return tuple(dict.fromkeys(asked))


def granted(asked: tuple[str, ...], offered: Collection[str]) -> list[dict[str, Any]]:
    """The Token Response's ``authorization_details`` (section 6.2): each configuration asked for
    with its one dataset's identifier; ``invalid_authorization_details`` for one not offered."""
    if any(configuration_id not in offered for configuration_id in asked):
        raise _invalid("a credential configuration that was not offered")
    return [{"type": TYPE, "credential_configuration_id": c, "credential_identifiers": [c]} for c in asked]
