"""The keys an issuer signs its credentials with, as the wallet reads them: the issuer's own JWT VC
Issuer Metadata (SD-JWT VC section 5), its keys by value or through its ``jwks_uri``. A document
for another issuer is not used (section 5.3). wallet.receive reads them before the one-time code
is spent, and again if a credential names a key published since; wallet.offline_keep reads them
for a compact copy."""

from __future__ import annotations

import httpx

from core import jwt_vc_issuer, keys
from core.errors import AmanaError
from core.oid4vc import well_known
from wallet.credential_request import IssuanceFailed


async def read(http: httpx.AsyncClient, issuer: str) -> list[keys.PublicKey]:
    """The issuer's published keys; ``IssuanceFailed`` (``issuer keys: …``) when there are none to read."""
    try:
        found = jwt_vc_issuer.read(await _document(http, well_known(issuer, "jwt-vc-issuer")), issuer)
        usable = found if isinstance(found, list) else jwt_vc_issuer.read_key_set(await _document(http, found))
    except IssuanceFailed:
        raise
    except AmanaError as exc:
        raise IssuanceFailed(f"issuer keys: {exc.detail}") from exc
    if not usable:  # keys of kinds this wallet cannot verify with (RSA, oct) are left out of the set
        raise IssuanceFailed("issuer keys: none this wallet can verify with")
    return usable


async def _document(http: httpx.AsyncClient, url: str) -> bytes:
    response = await http.get(url)
    if response.status_code != 200 or len(response.content) > jwt_vc_issuer.MAX_BYTES:
        raise IssuanceFailed(f"issuer keys: {response.status_code}")  # no URL of the issuer's choosing
    return response.content
