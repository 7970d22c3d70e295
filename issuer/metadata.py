"""The issuer's three public metadata documents. Pure: built from the organisation and the type registry.

- ``/.well-known/openid-credential-issuer/<path>`` (OpenID4VCI 1.0 section 12.2): one
  ``dc+sd-jwt`` configuration per credential type the organisation may issue, with display
  names and claim labels in every language of the type metadata, and beside it the compact
  offline copy (issuer.offline: ``<type>_offline``, same display); batch issuance announced;
- ``/.well-known/oauth-authorization-server/<path>`` (RFC 8414, OpenID4VCI section 12.3):
  the pre-authorized grant (and refresh tokens), anonymous access allowed (the PIN is the guard),
  and DPoP (RFC 9449 section 5.1: a client that sends a proof gets a token bound to its key);
- ``/.well-known/jwt-vc-issuer/<path>`` (SD-JWT VC section 5): the issuer's JWKS inline.

Well-known URIs insert the suffix between host and path (RFC 8615 style, as both specs
say), so an issuer at ``https://node/issuers/ngo`` is described at
``https://node/.well-known/openid-credential-issuer/issuers/ngo``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.credtypes import CredentialType
from core.oid4vc import PRE_AUTHORIZED_GRANT
from issuer import dpop, offline
from issuer.issuance import BATCH_SIZE, PROOF_ALGS

FORMAT = "dc+sd-jwt"


def issuer_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/issuers/{slug}"


def configuration(ctype: CredentialType) -> dict[str, Any]:
    display = [{"name": d["name"], "locale": d["locale"]} for d in ctype.metadata.get("display", [])]
    claims = [
        {"path": list(r.path),
         "display": [{"name": label, "locale": locale.replace("_", "-")} for locale, label in r.labels.items()]}
        for r in ctype.rules
    ]
    return {
        "format": FORMAT,
        "vct": ctype.vct,
        "scope": ctype.name,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": ["ES256"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": sorted(PROOF_ALGS)}},
        "credential_metadata": {"display": display, "claims": claims},
    }


def offline_configuration(ctype: CredentialType) -> dict[str, Any]:
    """The compact copy: same type, display and claims; COSE-signed, so its signing algorithms are
    COSE numbers as for the other COSE format (``mso_mdoc``, appendix A.2.2); the holder key is a
    WebCrypto P-256 key, so its proofs are ES256 only."""
    config = configuration(ctype)
    proofs = {"jwt": {"proof_signing_alg_values_supported": sorted(offline.PROOF_ALGS)}}
    config.update({"format": offline.FORMAT, "scope": offline.config_id(ctype.name),
                   "credential_signing_alg_values_supported": offline.COSE_SIGNING_ALGS,
                   "proof_types_supported": proofs})
    return config


def credential_issuer(url: str, names: dict[str, str], types: Iterable[CredentialType]) -> dict[str, Any]:
    return {
        "credential_issuer": url,
        "credential_endpoint": f"{url}/credential",
        "nonce_endpoint": f"{url}/nonce",
        "batch_credential_issuance": {"batch_size": BATCH_SIZE},
        # BCP 47 tags (section 12.2.4), as the claim labels have them: staff name "fa_AF", wallets read "fa-AF"
        "display": [{"name": name, "locale": locale.replace("_", "-")} for locale, name in names.items()],
        "credential_configurations_supported": {
            name: config for t in types
            for name, config in ((t.name, configuration(t)), (offline.config_id(t.name), offline_configuration(t)))
            if name == t.name or offline.has_compact_form(t.vct)},
    }


def authorization_server(url: str, *, refresh: bool = False) -> dict[str, Any]:
    """``refresh``: the token endpoint also takes ``refresh_token`` (RFC 6749 section 6), listed as
    RFC 8414 defines ``grant_types_supported``; nothing is announced that no spec defines."""
    return {
        "issuer": url,
        "token_endpoint": f"{url}/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT, *(["refresh_token"] if refresh else [])],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "dpop_signing_alg_values_supported": sorted(dpop.ALGS),
        # RFC 9396 section 10: the Token Request may name configurations (issuer.authorization_details)
        "authorization_details_types_supported": ["openid_credential"],
    }


def jwt_vc_issuer(url: str, jwks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"issuer": url, "jwks": {"keys": jwks}}
