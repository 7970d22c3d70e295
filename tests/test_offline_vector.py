"""The vector the browser wallet checks its JavaScript against still is what the Python core makes."""

from __future__ import annotations

import json

from core.offline import base45, decode, kb_input, present
from core.offline._cbor import loads
from tests.offline_kit import NONCE, VECTOR_DIR, World

VECTOR = json.loads((VECTOR_DIR / "vector.json").read_text(encoding="utf-8"))


def test_the_credential_and_disclosures_are_byte_exact() -> None:
    cred, disclosures = World().issue()
    assert cred.hex() == VECTOR["credential"]
    assert {k: v.hex() for k, v in disclosures.items()} == VECTOR["disclosures"]


def test_the_key_binding_input_is_byte_exact() -> None:
    cred = bytes.fromhex(VECTOR["credential"])
    shown = [bytes.fromhex(VECTOR["disclosures"][n]) for n in VECTOR["disclosed"]]
    assert kb_input(VECTOR["t"], VECTOR["w"], bytes.fromhex(VECTOR["nonce"]), cred, shown).hex() == VECTOR["kb_input"]


def test_the_stored_qr_verifies_and_only_its_signature_differs_from_a_fresh_one() -> None:
    world = World()
    result = world.verify(VECTOR["qr"], now=VECTOR["now"])
    assert result.claims == VECTOR["verified_claims"]
    p = decode(VECTOR["qr"])
    assert p.binding_input().hex() == VECTOR["kb_input"]
    fresh = present(p.credential.raw, p.disclosures, world.holder, p.t, p.w, NONCE)
    old, new = loads(base45.decode(VECTOR["qr"][4:]), "x", max_bytes=2000), loads(base45.decode(fresh[4:]), "x",
                                                                                    max_bytes=2000)
    assert old[:2] == new[:2] and old[2][:3] == new[2][:3]
