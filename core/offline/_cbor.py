"""Deterministic CBOR (RFC 8949 section 4.2.1), strictly: what the offline format accepts.

Encoding is cbor2's canonical mode. Decoding accepts an item only if it is exactly the
deterministic encoding of what it decodes to (re-encoded and compared byte for byte):
so no indefinite lengths, no over-long integers or lengths, no unsorted or repeated map
keys, nothing after the item. On top, only the data model the format uses: unsigned and
negative integers, byte and text strings, arrays, maps with integer keys, ``true``,
``false``, ``null``; no tags, no floats, no other simple values. Every map key in the
format encodes to one byte, where the RFC 8949 order and the older length-first order
(cbor2's) agree, so any conforming encoder produces the same bytes.
"""

from __future__ import annotations

from typing import Any

import cbor2

from core.errors import LimitExceeded, MalformedOfflineQR

MAX_DEPTH = 8


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def loads(data: bytes, what: str, *, max_bytes: int) -> Any:
    """One deterministic CBOR item, at most ``max_bytes`` long; anything else is refused."""
    if len(data) > max_bytes:
        raise LimitExceeded(f"{what} is longer than {max_bytes} bytes")
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, RecursionError, OverflowError) as exc:
        raise MalformedOfflineQR(f"{what} is not CBOR") from exc
    _check(value, what, 0, [len(data)])
    if dumps(value) != data:
        raise MalformedOfflineQR(f"{what} is not deterministically encoded CBOR")
    return value


def _check(value: Any, what: str, depth: int, budget: list[int]) -> None:
    """The data model, item by item, within ``budget`` items (the input's length: every item of a
    tree takes one byte or more). cbor2 reads shared values (tags 28 and 29) as one object named
    many times, so 640 bytes decoded fast to a tree of 20^8 items, and walking or re-encoding it
    froze the desk's node for minutes (helper-62); the budget stops that walk at once."""
    budget[0] -= 1
    if budget[0] < 0:
        raise MalformedOfflineQR(f"{what} holds more items than its bytes can (a shared value)")
    if depth > MAX_DEPTH:
        raise MalformedOfflineQR(f"{what} nests too deeply")
    if value is None or type(value) in (bool, int, bytes, str):
        return
    if type(value) is list:
        for item in value:
            _check(item, what, depth + 1, budget)
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not int:
                raise MalformedOfflineQR(f"{what} has a map key that is not an integer")
            _check(item, what, depth + 1, budget)
        return
    raise MalformedOfflineQR(f"{what} holds a CBOR item the format does not use")
