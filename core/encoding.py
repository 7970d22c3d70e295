"""Strict base64url and JSON, as every token parser in Amana needs them.

The rules are ours, because every decoder we know is lenient in ways that matter for
signatures: ``urlsafe_b64decode`` accepts padding, foreign characters and non-canonical
trailing bits (so two different strings decode to the same signature, and a one-character
change can go unnoticed), and ``json.loads`` keeps the last of duplicate member names
and accepts ``NaN``. RFC 7515 section 2 forbids padding; RFC 8725 section 3.x and
RFC 9901 ask verifiers to refuse ambiguous input. Here:

- base64url: alphabet ``A-Z a-z 0-9 - _`` only, no padding, canonical trailing bits;
- JSON: UTF-8 only, duplicate member names refused, no ``NaN``/``Infinity``, no number too large
  for a double (``1e400`` is not read as infinity).

The byte-crunching is left to two well-kept C libraries, because verification is a hot
path (``bench/sdjwt.py``) and the standard library's decoders cost several times more:
pybase64 (SIMD base64) for long inputs, and orjson for a proven-safe fast
path in front of the standard library's strict JSON parser (see ``json_loads_strict``).
"""

from __future__ import annotations

import binascii
import hmac
import json
import json.encoder
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

import orjson
import pybase64

from core.errors import DuplicateJSONKey, MalformedToken

_B64URL_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_INDEX = {c: i for i, c in enumerate(_B64URL_CHARS)}
# One pass maps base64url onto the standard alphabet and, at the same time, turns the
# standard alphabet's own "+", "/" and "=" into "*", which both decoders below refuse.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/***")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")  # by length mod 4
# Below this many characters the standard library's decoder is quicker (a cheaper call);
# above it pybase64's SIMD decoder is (a JWT payload: 3 us against 0.5 us).
_SIMD_FROM = 128


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    if len(data) < _SIMD_FROM:
        return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")
    return pybase64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes, what: str = "value") -> bytes:
    """Decode canonical, unpadded base64url; anything else is a MalformedToken."""
    try:
        raw = text.encode("ascii") if isinstance(text, str) else text
    except UnicodeEncodeError as exc:
        raise MalformedToken(f"{what} is not base64url") from exc
    rem = len(raw) & 3
    if rem == 1:
        raise MalformedToken(f"{what} is not base64url")
    standard = raw.translate(_TO_STANDARD) + _PADDING[rem]
    try:
        if len(standard) < _SIMD_FROM:
            data = binascii.a2b_base64(standard, strict_mode=True)
        else:
            data = pybase64.b64decode(standard, validate=True)
    except binascii.Error as exc:
        raise MalformedToken(f"{what} is not base64url") from exc
    # Unused low bits of the last character must be zero, or the encoding is not the
    # canonical one and two strings would decode to the same bytes.
    if rem and _B64URL_INDEX[raw[-1]] & (0x0F if rem == 2 else 0x03):
        raise MalformedToken(f"{what} is not canonical base64url")
    return data


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateJSONKey(f"JSON object repeats the member name {name!r}")
            seen.add(name)
    return obj


def _no_constants(name: str) -> Any:
    raise MalformedToken(f"JSON constant {name} is not allowed")


def _finite(text: str) -> float:
    """A JSON number as a float, refused when no double holds it: ``1e400`` would read as infinity,
    which JSON cannot say (orjson refuses it too; this is the fallback parser's rule)."""
    value = float(text)
    if not math.isfinite(value):
        raise MalformedToken("a JSON number is out of range")
    return value


def numeric_date(value: object) -> TypeGuard[int | float]:
    """A NumericDate as a JWT carries it (RFC 7519 section 2: a JSON number, fractions allowed);
    a bool, which isinstance takes for an int, is none."""
    return type(value) is int or type(value) is float


_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_no_constants,
                                   parse_float=_finite)
# The decoder's C scanner (set in JSONDecoder.__init__, absent from typeshed's stub).
_scan_once: Callable[[str, int], tuple[Any, int]] = _STRICT_DECODER.scan_once  # type: ignore[attr-defined]
_JSON_WHITESPACE = " \t\n\r"


def json_loads_strict(data: bytes | str, what: str = "JSON") -> Any:
    """Parse UTF-8 JSON, refusing duplicate member names and non-finite numbers.

    Fast path: orjson parses, and if re-encoding what it parsed reproduces the input byte
    for byte, the input is exactly the compact encoding of that value. So it held no
    duplicate member name (a dropped duplicate cannot reappear in the re-encoding), no
    ``NaN`` (orjson refuses it) and nothing the two parsers could read differently.
    Compact JSON is what JWTs and Disclosures carry. Anything else (spaces, escapes
    written differently, errors) goes to the standard library's strict parser, which has
    the last word.
    """
    if type(data) is bytes:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            if orjson.dumps(value) == data:
                return value
    return _json_loads_slow(data, what)


def _json_loads_slow(data: bytes | str, what: str) -> Any:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        try:
            # Without leading whitespace, the C scanner directly: JSONDecoder.decode
            # would first run two regex matches.
            value, end = _scan_once(text, 0)
        except StopIteration:
            value = _STRICT_DECODER.decode(text)  # leading whitespace, or an error to report
        else:
            if end != len(text) and text[end:].strip(_JSON_WHITESPACE):
                raise ValueError("extra data")
    except (DuplicateJSONKey, MalformedToken):
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedToken(f"{what} is not valid JSON") from exc
    # "\ud800" is JSON the standard library reads as a lone surrogate, a text no UTF-8 can carry:
    # it failed later, wherever the text was encoded, hashed or stored (a 500: helper-78). Refused
    # here, as I-JSON does (RFC 7493 section 2.1; RFC 8259 section 8.2 leaves it unpredictable).
    # orjson, the fast path, refuses it itself; a str handed in may hold one unescaped.
    suspect = _SURROGATE_ESCAPE.search(text) is not None or (type(data) is str and not text.isascii())
    if suspect and holds_lone_surrogate(value):
        raise MalformedToken(f"{what} holds a lone surrogate, which is not text")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def holds_lone_surrogate(value: Any) -> bool:
    """A string (a member name or a value, at any depth) that UTF-8 cannot encode: the decoder joins
    each escaped pair into one character, so what is left is a lone surrogate. Also for JSON that
    another parser read (a request body: ``core.web.JsonObject``)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item)
            stack.extend(item.values())
    return False


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# The standard library's C encoder for exactly those settings, made once. ``json.dumps`` with
# any argument builds a JSONEncoder and then this C object again on every call, which cost
# 4.5 us of the 5 us a Disclosure's encoding took (an issuance encodes one per claim). The
# arguments are the ones ``JSONEncoder.iterencode`` passes for a one-shot encode, so the text
# is the same C code's, byte for byte. One difference: no ``markers`` dict (a fresh one each
# call is what json.dumps has; a shared one would keep stale entries after an error), so a
# value that contains itself ends in RecursionError rather than ValueError. Nothing we encode
# is built that way: it is parsed JSON or literals.
_c_encode: Callable[[Any, int], Sequence[str]] | None = (
    json.encoder.c_make_encoder(None, _COMPACT.default, json.encoder.encode_basestring, None,  # type: ignore[attr-defined]
                                _COMPACT.key_separator, _COMPACT.item_separator, False, False, False)
    if json.encoder.c_make_encoder is not None else None  # type: ignore[attr-defined]
)


def json_dumps_compact(value: Any) -> str:
    """Compact JSON for things we sign; non-ASCII kept as UTF-8 (smaller tokens)."""
    if _c_encode is None:  # an interpreter without the C accelerator
        return _COMPACT.encode(value)
    return "".join(_c_encode(value, 0))


_PLAIN_LEAVES = frozenset({str, int, bool, type(None)})
_PLAIN_KEYS = frozenset({str})
# A value that contains itself would otherwise be walked for ever; and a body beyond it, which
# falls back, wastes at most a couple of milliseconds on the walk (helper-73). The bodies this
# writes (protocol answers, JWT parts) hold a few hundred members.
_PLAIN_MAX_MEMBERS = 20_000


def _plain(value: Any) -> bool:
    """Whether ``value`` is dicts with ``str`` keys, lists, tuples, ``str``, ``int``, ``bool`` and
    None only: those exact types (no subclass, no float), at most ``_PLAIN_MAX_MEMBERS`` members."""
    stack, members = [value], 0
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            members += len(item)
            if members > _PLAIN_MAX_MEMBERS or not _PLAIN_KEYS.issuperset(map(type, item)):
                return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            members += len(item)
            if members > _PLAIN_MAX_MEMBERS:
                return False
            stack.extend(item)
        elif kind not in _PLAIN_LEAVES:
            return False
    return True


def json_bytes_compact(value: Any) -> bytes:
    """``json_dumps_compact(value)`` as UTF-8, byte for byte; by orjson when ``value`` is plain JSON.

    For those types orjson writes what the standard library's C encoder writes with these
    settings (every code point but the surrogates escaped alike, checked one by one; tuples as
    arrays; dict order kept), in a single pass where the standard library's takes two per string,
    about 30 instructions a character: a check's QR code (6 KB of SVG) cost 0.2 million, a
    hundredth of the whole check (issue 15). What orjson writes otherwise is not always the same
    text (floats: ``1e16``, not ``1e+16``; NaN as ``null``; enums, UUIDs, dataclasses), so anything
    else, and what orjson refuses (a lone surrogate, an int past 64 bits, nesting past 255), goes
    to ``json_dumps_compact``, which has the last word, refusals included."""
    if _plain(value):
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            pass
    return json_dumps_compact(value).encode("utf-8")


def b64url_json(value: Any) -> str:
    return b64url_encode(json_bytes_compact(value))


def json_object_or_none(body: bytes) -> dict[str, Any] | None:
    """The JSON object ``body`` is (read strictly), or None: for a stranger's HTTP answer, which may
    be anything (an array, HTML, a lone surrogate) where a JSON object was due."""
    try:
        value = json_loads_strict(body, "answer")
    except (MalformedToken, DuplicateJSONKey):
        return None
    return value if isinstance(value, dict) else None


def decode_b64url_json_object(part: str, what: str) -> dict[str, Any]:
    """A base64url-encoded JSON object, as a JOSE header or JWT payload is."""
    value = json_loads_strict(b64url_decode(part, what), what)
    if not isinstance(value, dict):
        raise MalformedToken(f"{what} is not a JSON object")
    return value


def same_text(a: str, b: str) -> bool:
    """Two texts compared in constant time. ``hmac.compare_digest`` takes ASCII text only and raises
    ``TypeError`` for any other, which was a 500 wherever a caller's text met it (a CSRF field, a
    DPoP proof's ``ath``, a Key Binding JWT's ``sd_hash`` or ``nonce``, an export file's check:
    helper-69); and JSON may carry a lone surrogate, which UTF-8 encodes only with ``surrogatepass``."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))
