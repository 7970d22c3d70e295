"""Encrypted responses at the verifier: Response Mode ``direct_post.jwt`` (OpenID4VP 1.0 §8.3, §8.3.1).

Each check that asks for encryption gets its own ephemeral P-256 key (HAIP 1.0 §5: "ephemeral
encryption public keys specific to each Authorization Request"). Its public half goes in the
Request Object's ``client_metadata.jwks`` with ``kid`` (its RFC 7638 thumbprint), ``use: enc``
and ``alg: ECDH-ES``, beside ``encrypted_response_enc_values_supported`` listing both A256GCM and
A128GCM (HAIP: verifiers MUST list both). The private half is kept only *sealed* under the node
key, bound to the check's id, in the check's row; it is erased when the check is answered, and
a check that expires unanswered takes it along when expired rows are deleted (at the next
check's creation: store.add_check). It is never logged and never leaves this module except
sealed. What it decrypts is the same ``vp_token`` the plain mode would have carried; the verifier
still keeps no attribute value (verifier/tables.py).

``read`` turns the POSTed form into the response parameters: for an encrypted check, the JWE in
``response`` decrypted (``alg``, ``enc`` and ``kid`` checked by core/jwe.py), its JSON members
as form values; a plain ``vp_token`` is refused. §8.3.1 lets a wallet that cannot encrypt send an
*error* response in the clear, and an error is only ever a hint here (checks.respond), so a
plain error is still read. Refusals are OAuth ``invalid_request`` and change nothing: the key is
public, so anyone can send a JWE to it, and only the presentation inside proves anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from core import jwe
from core.errors import InvalidInput, OAuthError
from core.keys import jwk_thumbprint
from core.sealing import NodeKey

MODE = "direct_post.jwt"
PLAIN = "direct_post"
# HAIP 1.0 §5: both, in the verifier's client metadata. A256GCM first: HAIP asks a wallet that has
# both to use it, and a wallet that follows the verifier's order (ours does) then does.
ENCS = ("A256GCM", "A128GCM")


def mode_for(prefix: str, asked: str | None = None, configured: str | None = None) -> str:
    """The response mode of a new check: what the desk asked for (API ``response_mode``), else what
    the named query says (``response_mode`` in specs/queries/<name>.json), else the profile's.

    The choice: ``x509_hash`` is the Client Identifier Prefix HAIP 1.0 requires for signed
    requests, and where a request is made under it we follow HAIP's "Response encryption MUST be
    used" (§5.1, redirects): ``direct_post.jwt``. Under ``decentralized_identifier`` (not a HAIP
    prefix) the default stays ``direct_post``, which every OpenID4VP 1.0 wallet reads."""
    chosen = asked or configured or (MODE if prefix == "x509_hash" else PLAIN)
    if chosen not in (MODE, PLAIN):
        raise InvalidInput(f"response_mode is {PLAIN} or {MODE}")
    return chosen


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def client_metadata(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """What the Request Object's ``client_metadata`` gains when the check asks for encryption."""
    return _metadata(jwe.public_jwk(key))


def _metadata(bare: dict[str, str]) -> dict[str, Any]:
    public = {**bare, "kid": jwk_thumbprint(bare), "use": "enc", "alg": jwe.ALG}  # the kid: ``jwe.kid(key)``
    return {"jwks": {"keys": [public]}, "encrypted_response_enc_values_supported": list(ENCS)}


def for_check(node: NodeKey, check_id: str, mode: str) -> tuple[bytes | None, dict[str, Any] | None]:
    """A new check's sealed key (for its row) and ``client_metadata`` members (for its Request
    Object); ``(None, None)`` for a plain ``direct_post`` check. ``d`` and the public point come
    from one ``private_numbers()``: each of it, ``public_numbers()`` and ``jwe.kid`` turns the point
    into its affine form, a field inversion (``seal`` and ``client_metadata`` made three a check)."""
    if mode != MODE:
        return None, None
    numbers = new_key().private_numbers()
    return _sealed(node, numbers.private_value, check_id), _metadata(jwe.jwk_of(numbers.public_numbers))


def _context(check_id: str) -> str:
    return f"verifier-response-key:{check_id}"


def seal(node: NodeKey, key: ec.EllipticCurvePrivateKey, check_id: str) -> bytes:
    """The private key as 32 bytes of ``d``, sealed and bound to this check (a copy in another row does not open)."""
    return _sealed(node, key.private_numbers().private_value, check_id)


def _sealed(node: NodeKey, d: int, check_id: str) -> bytes:
    return node.seal(d.to_bytes(32, "big"), _context(check_id))


def unseal(node: NodeKey, sealed: bytes, check_id: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(node.open(sealed, _context(check_id)), "big"), ec.SECP256R1())


def read(form: Mapping[str, str], key: ec.EllipticCurvePrivateKey | None, kid: str | None = None) -> dict[str, str]:
    """The response parameters (``vp_token``, ``state``, …) as form values; ``key`` None: a plain check.
    ``kid``: the key's, as the check's Request Object names it (``requests.encrypted_to``), else
    worked out from the key (``jwe.kid``)."""
    if key is None:
        return dict(form)
    if "response" not in form:
        if "error" in form and "vp_token" not in form:  # §8.3.1: a wallet unable to encrypt may say so in clear
            return dict(form)
        raise OAuthError("invalid_request", f"this request asked for an encrypted response ({MODE}): "
                         "send the JWE in the response parameter")
    try:
        payload = jwe.decrypt_json_object(form["response"], key, expected_kid=kid or jwe.kid(key), encs=ENCS)
    except jwe.ResponseNotDecryptable as exc:
        raise OAuthError("invalid_request", exc.detail) from None
    # §8.3: the parameters are top-level members; vp_token is a JSON object there, JSON text in a form.
    # json.dumps with its defaults, as a wallet's text would be, so proof_of_check hashes the same text.
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}

