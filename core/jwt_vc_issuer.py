"""JWT VC Issuer Metadata (SD-JWT VC section 5): an issuer's keys, read the same way by every party.

The wallet (receiving a credential, reading a card's status) and the verifier (a key rotated in
since the trust list was signed) each fetch ``/.well-known/jwt-vc-issuer/...`` with their own HTTP
client. What the document means is decided here, once:

- its ``issuer`` must be exactly the ``iss`` the caller expects. Section 5.3: "If these values are
  not identical, the data contained in the response MUST NOT be used";
- it carries its keys either by value (``jwks``) or by reference (``jwks_uri``), "but not both"
  (section 5.2). ``read`` returns the keys, or the address the caller then fetches with its own
  client (its address policy and size caps apply) and reads with ``key_set``;
- a key this node cannot use (another ``kty``, a missing member) is passed over, as RFC 7517
  section 5 asks of a JWK Set. The others are still used.
"""

from __future__ import annotations

from core.encoding import json_loads_strict
from core.errors import InvalidKey, MalformedToken, UnsupportedAlgorithm
from core.keys import PublicKey

MAX_BYTES = 64 * 1024  # a metadata document or a JWK Set, as fetched


def read(body: bytes, iss: str) -> list[PublicKey] | str:
    """The keys of ``iss``'s metadata document, or its ``jwks_uri`` to fetch; MalformedToken if the
    document is not one ``iss`` may be trusted for."""
    doc = json_loads_strict(body, "JWT VC Issuer Metadata")
    if not isinstance(doc, dict) or doc.get("issuer") != iss:
        raise MalformedToken("the JWT VC Issuer Metadata is for another issuer")
    jwks, uri = doc.get("jwks"), doc.get("jwks_uri")
    if (jwks is None) == (uri is None):
        raise MalformedToken("JWT VC Issuer Metadata carries jwks or jwks_uri, exactly one of them")
    if uri is not None:
        if not isinstance(uri, str) or not uri:
            raise MalformedToken("jwks_uri must be a URL")
        return uri
    return key_set(jwks)


def read_key_set(body: bytes) -> list[PublicKey]:
    """The document a ``jwks_uri`` points at: a JWK Set (RFC 7517 section 5)."""
    return key_set(json_loads_strict(body, "JWK Set"))


def key_set(doc: object) -> list[PublicKey]:
    listed = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(listed, list):
        raise MalformedToken("a JWK Set is an object with a keys array")
    usable = []
    for jwk in listed:
        try:
            usable.append(PublicKey.from_jwk(jwk))
        except (InvalidKey, UnsupportedAlgorithm):  # a key type we do not use, or its alg not its type
            continue  # RFC 7517 section 5: JWKs not understood are ignored
    return usable
