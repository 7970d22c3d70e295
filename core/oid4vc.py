"""The names OpenID4VCI 1.0 and OpenID4VP 1.0 fix on the wire, spelled once.

Issuer, wallet and verifier each speak one side of these protocols and must not import
one another; what they share is this vocabulary, and how a well-known address is built.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# OpenID4VCI 1.0 (sections named as in ../shared/reference/openid4vci-1_0.md)
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"  # "Credential Offer Parameters"
OFFER_SCHEME = "openid-credential-offer://"  # "Sending Credential Offer": the custom URL scheme
PROOF_TYP = "openid4vci-proof+jwt"  # "`jwt` Proof Type"

# OpenID4VP 1.0
PRESENTATION_SCHEME = "openid4vp://"  # "Static Configuration Values of the Wallets"
REQUEST_TYP = "oauth-authz-req+jwt"  # "Authorization Request": wallets refuse any other typ


def well_known(identifier: str, suffix: str) -> str:
    """Insert ``/.well-known/<suffix>`` between host and path (OpenID4VCI 12.2.2, SD-JWT VC 5).

    The wallet finds an issuer's metadata this way and the verifier its keys: one spelling.
    """
    parts = urlsplit(identifier)
    return f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{parts.path.rstrip('/')}"
