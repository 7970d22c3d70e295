"""Keys (JWK, RFC 7638 thumbprints, JWKS) and the strict encodings under every token."""

from __future__ import annotations

import contextlib
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import encoding, errors, keys
from core.encoding import b64url_decode, b64url_encode, json_bytes_compact, json_dumps_compact, json_loads_strict
from core.sdjwt.paths import format_path, parse_many, parse_path

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_rfc8037_ed25519_thumbprint() -> None:
    """RFC 8037 appendix A.3."""
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert keys.jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_rfc8037_private_key_derives_its_public_key() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
           "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert keys.PrivateKey.from_jwk(jwk).public_key().to_jwk()["x"] == jwk["x"]


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_generate_sign_verify_and_jwk_round_trip(alg: keys.Alg) -> None:
    key = keys.generate(alg)
    assert key.kid == key.public_key().thumbprint()
    again = keys.PrivateKey.from_jwk(key.to_jwk())
    sig = again.sign(b"msg")
    assert key.public_key().verify(sig, b"msg")
    assert not key.public_key().verify(sig, b"msh")
    assert keys.PublicKey.from_jwk(key.public_key().to_jwk()).thumbprint() == key.kid
    assert keys.jwks([key.public_key()])["keys"][0]["kid"] == key.kid


@pytest.mark.parametrize("tamper", ["r+1", "s+1", "r=0", "s=0", "r=n", "s=n-s", "short", "long"])
def test_es256_verify_refuses_altered_signatures(tamper: str) -> None:
    """R||S taken apart and put back (DER for OpenSSL), the hash handed over as Prehashed: any
    change, zero, the group order, the other s of the pair (s and n-s both verify in plain ECDSA,
    JWS has no low-s rule, so n-s is accepted, as OpenSSL does) or a wrong length: only the
    genuine signature and its twin verify."""
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    key = keys.generate("ES256")
    sig = key.sign(b"msg")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    altered = {"r+1": (r + 1, s), "s+1": (r, s + 1), "r=0": (0, s), "s=0": (r, 0), "r=n": (n, s),
               "s=n-s": (r, n - s)}
    if tamper == "short":
        bad = sig[:-1]
    elif tamper == "long":
        bad = sig + b"\0"
    else:
        ar, as_ = altered[tamper]
        bad = ar.to_bytes(32, "big") + as_.to_bytes(32, "big")
    assert key.public_key().verify(sig, b"msg")
    assert key.public_key().verify(bad, b"msg") is (tamper == "s=n-s")


def test_private_key_never_printed() -> None:
    key = keys.generate("ES256")
    d = key.to_jwk()["d"]
    assert d not in repr(key) and d not in str(key) and d not in f"{key}"


def test_private_jwk_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "k.jwk"
    keys.write_private_jwk(keys.generate("EdDSA"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "d" in keys.read_jwk(path)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "x", "e": "AQAB"},
        {"kty": "EC", "crv": "P-384", "x": "x", "y": "y"},
        {"kty": "EC", "crv": "P-256", "x": b64url_encode(b"\1" * 32), "y": b64url_encode(b"\2" * 32)},  # off-curve
        {"kty": "EC", "crv": "P-256", "x": b64url_encode(b"\1" * 31), "y": b64url_encode(b"\2" * 32)},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "X25519", "x": b64url_encode(b"\1" * 32)},
        {"kty": "oct", "k": "c2VjcmV0"},
        "not-an-object",
    ],
)
def test_bad_public_jwks_refused(jwk: object) -> None:
    with pytest.raises(errors.InvalidKey):
        keys.PublicKey.from_jwk(jwk)


def test_jwk_alg_must_match_key_type() -> None:
    jwk = keys.generate("ES256").public_key().to_jwk() | {"alg": "EdDSA"}
    with pytest.raises(errors.UnsupportedAlgorithm):
        keys.PublicKey.from_jwk(jwk)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["ES256", "EdDSA"]),
       st.dictionaries(st.sampled_from(["kty", "crv", "x", "y", "d", "alg", "kid", "use", "jku", "x5u"]), JSON_VALUES,
                       min_size=1, max_size=3))
def test_any_json_in_a_jwk_member_is_refused_as_a_bad_key(alg: keys.Alg, members: dict[str, object]) -> None:
    """A JWK arrives from strangers (a DPoP proof's or key proof's header, a credential's cnf): any
    JSON value in any member loads or is refused with the project's typed error (a bad key, a bad
    encoding), never another exception (a route would answer 500; "alg": [] did, an unhashable dict
    key)."""
    jwk = keys.generate(alg).public_key().to_jwk() | members
    for load in (keys.PublicKey.from_jwk, keys.PrivateKey.from_jwk):
        with contextlib.suppress(errors.AmanaError):
            load(jwk)


def test_mismatched_private_and_public_parts_refused() -> None:
    a, b = keys.generate("ES256").to_jwk(), keys.generate("ES256").to_jwk()
    with pytest.raises(errors.InvalidKey):
        keys.PrivateKey.from_jwk(a | {"d": b["d"]})


@given(st.binary(max_size=200))
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and set(text) <= set(ALPHABET)
    assert b64url_decode(text) == data


@given(st.text(max_size=40))
def test_b64url_decode_accepts_only_canonical_text(text: str) -> None:
    try:
        data = b64url_decode(text)
    except errors.MalformedToken:
        return
    assert b64url_encode(data) == text


@given(st.text(ALPHABET, min_size=100, max_size=400), st.data())
def test_b64url_long_text_takes_the_same_rules(text: str, data: st.DataObject) -> None:
    """Long parts go to pybase64's SIMD decoder: the alphabet, padding and canonical-bit
    rules must hold there exactly as for short ones."""
    try:
        decoded = b64url_decode(text)
    except errors.MalformedToken:
        # Refused only for a length of 4n+1, or unused bits set in the last character.
        assert len(text) % 4 == 1 or ALPHABET.index(text[-1]) & (0x0F if len(text) % 4 == 2 else 0x03)
        return
    assert b64url_encode(decoded) == text
    at = data.draw(st.integers(0, len(text) - 1))
    for foreign in "+/= .":
        with pytest.raises(errors.MalformedToken):
            b64url_decode(text[:at] + foreign + text[at + 1 :])


@pytest.mark.parametrize("text", ["YQ==", "YQ=", "Y", "a+b/", "YR", "YWJ", "QUFB" * 40 + "YQ==", "QUFB" * 40 + "YR"])
def test_b64url_rejects_padding_alphabet_and_non_canonical_bits(text: str) -> None:
    with pytest.raises(errors.MalformedToken):
        b64url_decode(text)


def test_json_strict_rules() -> None:
    assert json_loads_strict(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    with pytest.raises(errors.DuplicateJSONKey):
        json_loads_strict('{"a": 1, "b": {"c": 1, "c": 2}}')
    for bad in (b"NaN", b"[Infinity]", b"[-Infinity]", b"\xff\xfe{}", b"{", "[" * 100_000, b"[1]x", b'"\xed\xa0\x80"',
                b"1e400", b'{"exp": -1e400}', '{"exp":  1E999}'):  # no double holds it: not read as infinity
        with pytest.raises(errors.MalformedToken):
            json_loads_strict(bad)
    assert json_loads_strict(b'{"exp": 1.8e9, "x": 1e308}') == {"exp": 1.8e9, "x": 1e308}
    assert json_loads_strict(b'["\\ud83d\\ude00", "\\\\ud800"]') == ["\U0001f600", "\\ud800"]  # a pair; an escaped \\


TEXT_WITH_A_LONE_SURROGATE = st.builds(lambda a, lone, b: a + lone + b, st.text(max_size=3),
                                       st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), st.text(max_size=3))
JSON_WITH_A_LONE_SURROGATE = st.recursive(  # in a value, or (the third) in a member name, at any depth
    TEXT_WITH_A_LONE_SURROGATE,
    lambda inner: st.lists(inner, min_size=1, max_size=2).map(lambda items: [1, *items])
    | st.dictionaries(st.text(max_size=3), inner, min_size=1, max_size=2)
    | inner.map(lambda held: {held: 1} if isinstance(held, str) else {"a": held}),
    max_leaves=3)


@settings(max_examples=300, deadline=None)
@given(JSON_WITH_A_LONE_SURROGATE, st.booleans())
def test_a_lone_surrogate_anywhere_is_refused(value: object, as_text: bool) -> None:
    """"\\ud800" (or the character itself in a text handed in) is no text UTF-8 can carry: wherever it
    stands, in a name or a value at any depth, escaped or spaced or not, the parser refuses it."""
    for doc in (json.dumps(value), json.dumps(value, separators=(",", ":"))):
        with pytest.raises(errors.MalformedToken):
            json_loads_strict(doc if as_text else doc.encode("ascii"))
    with pytest.raises(errors.MalformedToken):
        json_loads_strict(json.dumps(value, ensure_ascii=False))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
)


@given(JSON_VALUES)
def test_json_strict_agrees_with_json_on_valid_documents(value: object) -> None:
    assert json_loads_strict(json.dumps(value)) == value  # spaced: the standard library's path
    compact = json_dumps_compact(value).encode()  # compact bytes: the orjson fast path
    assert json_loads_strict(compact) == json.loads(compact)


@given(JSON_VALUES | st.integers(min_value=2**64) | st.text(st.characters(max_codepoint=0x3000)), st.booleans())
def test_compact_json_is_the_standard_librarys_text_byte_for_byte(value: object, accelerated: bool) -> None:
    """Signed bytes depend on it: the encoder made once must write what json.dumps writes with the
    same settings (and so must the fallback for an interpreter without the C accelerator)."""
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    with pytest.MonkeyPatch.context() as patch:
        if not accelerated:
            patch.setattr(encoding, "_c_encode", None)
        assert json_dumps_compact(value) == expected


class _Name(str):
    pass


WRITTEN_VALUES = st.recursive(  # what json_bytes_compact must write as json_dumps_compact does, or refuse alike
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(max_value=-(2**63) + 2, min_value=-(2**63) - 2) | st.floats() | st.text()
    | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)
    | st.builds(_Name, st.text(max_size=3)),
    lambda c: st.lists(c, max_size=3) | st.lists(c, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=5) | st.integers() | st.builds(_Name, st.text(max_size=3)), c, max_size=3),
)


def _written(write: Callable[[object], object], value: object) -> object:
    try:
        return write(value)
    except Exception as exc:  # the refusal itself is compared
        return type(exc)


@given(WRITTEN_VALUES)
def test_compact_json_bytes_are_the_compact_texts_bytes(value: object) -> None:
    """orjson writes plain JSON (dicts, lists, tuples, str, int, bool, None); everything else, and
    what orjson refuses, is json_dumps_compact's: the same bytes, or the same refusal."""
    assert _written(json_bytes_compact, value) == _written(lambda v: json_dumps_compact(v).encode("utf-8"), value)


def test_compact_json_bytes_of_every_code_point_but_the_surrogates() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert json_bytes_compact({"a": [text, (text,)]}) == json_dumps_compact({"a": [text, (text,)]}).encode("utf-8")


def test_compact_json_bytes_of_what_json_cannot_say_or_what_contains_itself() -> None:
    looped: list[object] = [1]
    looped.append(looped)
    deep: list[object] = []
    for _ in range(300):  # past orjson's 255 levels, within the standard library's recursion
        deep = [deep]
    assert _written(json_bytes_compact, looped) is _written(json_dumps_compact, looped)
    assert json_bytes_compact(deep) == json_dumps_compact(deep).encode("utf-8")
    for bad in ({"a": b"bytes"}, [object()], {"a": float("nan")}, {1.5j: 1}):
        assert _written(json_bytes_compact, bad) is _written(json_dumps_compact, bad)


@pytest.mark.parametrize("bad", [float("nan"), [1, float("inf")], {"a": -float("inf")}])
def test_compact_json_refuses_non_finite_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        json_dumps_compact(bad)


@pytest.mark.parametrize("bad", [{"a": b"bytes"}, [object()], {1.5j: 1}, {(1, 2): "tuple key"}])
def test_compact_json_refuses_what_json_cannot_hold_and_stays_usable(bad: object) -> None:
    with pytest.raises(TypeError):
        json_dumps_compact(bad)
    assert json_dumps_compact({"a": [1, "é"]}) == '{"a":[1,"é"]}'  # nothing left over from the failure


@pytest.mark.parametrize("doc", [b'{"a":1,"a":1}', b'{"a":1,"b":{"c":1,"c":1}}', b'[{"x":"y","x":"y"}]'])
def test_duplicate_names_refused_on_the_fast_path_too(doc: bytes) -> None:
    """Compact bytes, the form orjson parses first: it keeps the last duplicate silently."""
    with pytest.raises(errors.DuplicateJSONKey):
        json_loads_strict(doc)


@given(st.dictionaries(st.text(max_size=4), JSON_VALUES, min_size=1, max_size=4), st.data())
def test_any_repeated_member_name_is_refused(obj: dict[str, object], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(obj)))
    doc = json_dumps_compact(obj)[:-1] + "," + json_dumps_compact({name: None})[1:]
    with pytest.raises(errors.DuplicateJSONKey):
        json_loads_strict(doc.encode())


@given(st.lists(st.none() | st.integers(0, 99) | st.text(min_size=1, max_size=6), min_size=1, max_size=5))
def test_claim_path_text_round_trip(elements: list[object]) -> None:
    path = tuple(elements)
    assert parse_path(format_path(path)) == path  # type: ignore[arg-type]


def test_claim_path_forms() -> None:
    assert parse_path("address.locality") == ("address", "locality")
    assert parse_path("nationalities.*") == ("nationalities", None)
    assert parse_path('["a.b", "0", null, 2]') == ("a.b", "0", None, 2)
    assert parse_many("a, b.c") == [("a",), ("b", "c")]
    for bad in ("", "a..b", "[]", '[1.5]', "[-1]", "[true]"):
        with pytest.raises(errors.InvalidInput):
            parse_path(bad)


@pytest.mark.parametrize("token", ["é.e30.AA", "e30.é.AA", "e30.e30.é", "e30.e30.AA\u00a0"])
def test_compact_jws_with_a_non_ascii_character_is_malformed(token: str) -> None:
    """Not a UnicodeEncodeError from deep inside: every JWS consumer sees MalformedToken."""
    from core import _jose

    with pytest.raises(errors.MalformedToken):
        _jose.parse_compact(token)


def test_public_ids_never_look_like_a_command_line_option() -> None:
    """An offer or check id is typed after `amana … --id` or as an argument: a leading '-' made
    `amana verifier result -2P3…` an unknown option (1 run in 64)."""
    from core.sealing import new_public_id

    ids = [new_public_id() for _ in range(5000)]
    assert not any(i.startswith("-") for i in ids) and len(set(ids)) == 5000
    assert all(len(i) == 22 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for i in ids)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_loaded_key_keeps_members_and_a_thumbprint_equal_to_what_the_key_itself_gives(alg: str) -> None:
    """PublicKey keeps the JWK members from_jwk was given and its thumbprint once computed (issue
    15: serialising a point three times per credential): both must equal what the key object
    itself serialises to, or a cnf, a row's holder thumbprint or a DPoP binding would drift."""
    from core.keys import _public_members, jwk_thumbprint

    for _ in range(20):
        public = keys.generate(alg).public_key()  # type: ignore[arg-type]
        loaded = keys.PublicKey.from_jwk(public.to_jwk())
        assert loaded.to_jwk() == {**_public_members(loaded._key), "alg": alg, **(
            {"kid": public.kid} if public.kid else {})}
        assert loaded.thumbprint() == jwk_thumbprint(_public_members(loaded._key)) == public.thumbprint()
        jwk = loaded.to_jwk()
        jwk["x"] = "changed"  # the caller's copy: the kept members are not the caller's to change
        assert loaded.to_jwk()["x"] != "changed"
