"""The vault (wallet/vault.py): round trips, both doors, and every changed byte refused.

Tests run Argon2id at its minimum cost (``FAST``): the parameters are stored per vault, so the
code path is the same as at ``DEFAULT_KDF``; only the price per guess differs.
"""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidRecoveryCode, VaultTampered, WrongPassphrase, WrongRecoveryCode
from wallet import vault
from wallet.vault import KdfParams, Sealed, Wrap

FAST = KdfParams(opslimit=1, memlimit=8192)
PASS = "correct horse battery staple"


def _made(content: bytes = b'{"hello":"world"}') -> vault.Created:
    return vault.create("w-1", PASS, content, kdf=FAST)


_MADE = _made()
_FROZEN, _CODE = _MADE.sealed, _MADE.recovery_code


@settings(max_examples=30, deadline=None)
@given(content=st.binary(max_size=2000), passphrase=st.text(min_size=1, max_size=40))
def test_round_trip_by_passphrase_and_by_recovery_code(content: bytes, passphrase: str) -> None:
    made = vault.create("w-1", passphrase, content, kdf=FAST)
    assert vault.read(made.sealed, vault.unlock(made.sealed, passphrase)) == content
    assert vault.read(made.sealed, vault.unlock_with_recovery(made.sealed, made.recovery_code)) == content
    assert content not in made.sealed.content or len(content) < 4


def test_a_write_takes_a_new_nonce_and_keeps_the_doors() -> None:
    made = _made()
    again = vault.write(made.sealed, made.key, b'{"hello":"world"}')
    assert again.content[:24] != made.sealed.content[:24] and again.passphrase == made.sealed.passphrase
    assert vault.read(again, vault.unlock(again, PASS)) == b'{"hello":"world"}'


def test_wrong_passphrase_and_wrong_code_are_refused() -> None:
    made = _made()
    with pytest.raises(WrongPassphrase):
        vault.unlock(made.sealed, PASS + "!")
    with pytest.raises(WrongPassphrase):
        vault.unlock(made.sealed, "")
    other = vault.new_recovery_code()
    with pytest.raises(WrongRecoveryCode):
        vault.unlock_with_recovery(made.sealed, other)


def test_changing_the_passphrase_rewraps_the_key_only() -> None:
    made = _made()
    new_door = vault.passphrase_wrap(made.sealed.wallet_id, vault.unlock(made.sealed, PASS), "a new one", kdf=FAST)
    changed = replace(made.sealed, passphrase=new_door)
    assert changed.content == made.sealed.content and changed.recovery == made.sealed.recovery
    assert vault.read(changed, vault.unlock(changed, "a new one")) == b'{"hello":"world"}'
    with pytest.raises(WrongPassphrase):
        vault.unlock(changed, PASS)
    assert vault.unlock_with_recovery(changed, made.recovery_code) == made.key


def test_a_typo_in_the_recovery_code_is_caught_before_any_kdf() -> None:
    code = _made().recovery_code
    assert len(code) == 34 and code.count("-") == 6  # 7 groups of 4
    assert vault.parse_recovery_code(code.lower().replace("-", " ")) == vault.parse_recovery_code(code)
    typo = [code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1:] for i in range(len(code)) if code[i] != "-"]
    caught = 0
    with mock.patch("nacl.pwhash.argon2id.kdf", side_effect=AssertionError("KDF ran")):
        for wrong in [*typo, code[:-1], code + "A", code.replace(code[0], "8", 1)]:
            try:
                vault.unlock_with_recovery(_FROZEN, wrong)
            except InvalidRecoveryCode:
                caught += 1
            except AssertionError:
                pass  # 1 in 1024 typos passes the check and reaches the KDF: then the code is wrong
    # 31 wrong codes, each past the check with odds of 1 in 1024: two got past once in a full run
    # (odds about 1 in 2,300), four would be about 1 in 30 million; no check at all lets all 31 through.
    assert caught >= len(typo) + 3 - 3


def _flip(data: bytes, index: int, bit: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1:]


PARTS = ["content", "passphrase.salt", "passphrase.sealed_key", "recovery.salt", "recovery.sealed_key"]


def _tampered(sealed: Sealed, part: str, index: int, bit: int) -> Sealed:
    if part == "content":
        return replace(sealed, content=_flip(sealed.content, index, bit))
    door, field = part.split(".")
    wrap: Wrap = getattr(sealed, door)
    wrap = replace(wrap, salt=_flip(wrap.salt, index, bit)) if field == "salt" else \
        replace(wrap, sealed_key=_flip(wrap.sealed_key, index, bit))
    return replace(sealed, passphrase=wrap) if door == "passphrase" else replace(sealed, recovery=wrap)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(part=st.sampled_from(PARTS), index=st.integers(min_value=0, max_value=10_000), bit=st.integers(0, 7))
def test_any_flipped_byte_refuses_never_other_content(part: str, index: int, bit: int) -> None:
    original = vault.read(_FROZEN, vault.unlock(_FROZEN, PASS))
    tampered = _tampered(_FROZEN, part, index, bit)
    for door in ("passphrase", "recovery"):
        try:
            key = vault.unlock(tampered, PASS) if door == "passphrase" else vault.unlock_with_recovery(tampered, _CODE)
            content = vault.read(tampered, key)
        except (VaultTampered, WrongPassphrase, WrongRecoveryCode):
            continue
        assert content == original and part.startswith(("passphrase", "recovery"))  # the other door was flipped


@settings(max_examples=40, deadline=None)
@given(ops=st.integers(-5, 40), mem=st.sampled_from([-1, 0, 8191, 8192, 16384, (1 << 30) + 1, 1 << 31]),
       field=st.sampled_from(["passphrase", "recovery"]), other_id=st.text(min_size=1, max_size=8))
def test_changed_parameters_or_another_wallets_id_never_open(ops: int, mem: int, field: str, other_id: str) -> None:
    wrap: Wrap = getattr(_FROZEN, field)
    kdf = KdfParams(ops, mem)
    if kdf != wrap.kdf:
        changed = replace(_FROZEN, passphrase=replace(wrap, kdf=kdf)) if field == "passphrase" else \
            replace(_FROZEN, recovery=replace(wrap, kdf=kdf))
        with pytest.raises((VaultTampered, WrongPassphrase, WrongRecoveryCode)):
            (vault.unlock(changed, PASS) if field == "passphrase" else vault.unlock_with_recovery(changed, _CODE))
    if other_id != _FROZEN.wallet_id:
        moved = replace(_FROZEN, wallet_id=other_id)
        with pytest.raises(WrongPassphrase):
            vault.unlock(moved, PASS)
        with pytest.raises(VaultTampered):
            vault.read(moved, vault.unlock(_FROZEN, PASS))


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(VaultTampered):
        vault.unlock(replace(_FROZEN, format=2), PASS)


def test_default_parameters_are_stated_and_in_range() -> None:
    vault.DEFAULT_KDF.check()
    assert (vault.DEFAULT_KDF.opslimit, vault.DEFAULT_KDF.memlimit) == (3, 64 * 1024 * 1024)


@pytest.mark.parametrize(("member", "value"), [
    ("valid_until", "soon"), ("received_at", True), ("received_at", "1800000000"), ("holder_key", "not a key"),
    ("claims", ["a"]), ("copy_id", None), ("unknown", 1),
])
def test_a_copy_of_the_wrong_shape_is_refused_where_it_is_read_not_on_a_later_page(member: str, value: object) -> None:
    """An imported export file is sealed under a passphrase its maker knows, so shaped as they like:
    a ``valid_until`` of ``"soon"`` was read in and broke every later page with a 500 (helper-63)."""
    import json

    from wallet.content import Contents, Copy

    good = Contents(copies=[Copy("c1", "ey.x~", {"kty": "EC"}, "urn:t", "https://i.test", "b1", 1_800_000_000),
                            Copy("c2", "ey.x~", {"kty": "EC"}, "urn:t", "https://i.test", "b1", 1_800_000_000,
                                 valid_until=1_900_000_000.5)])  # an exp with a fraction, as RFC 7519 allows
    assert Contents.from_bytes(good.to_bytes()) == good
    doc = json.loads(good.to_bytes())
    doc["copies"][0][member] = value
    with pytest.raises(VaultTampered):
        Contents.from_bytes(json.dumps(doc).encode())
