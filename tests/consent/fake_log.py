"""A stand-in for consent/log.py's seam, for tests only, until consent-log's commit is merged:
an in-memory RFC 9162 Merkle tree (leaf = SHA-256(0x00 || input), node = SHA-256(0x01 || l || r)).
Not a log: no persistence, no signature; its checkpoint is (size, root, note)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import VerificationFailed


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_of(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return _node(root_of(leaves[:k]), root_of(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), root_of(leaves[k:])]
    return [*path(m - k, leaves[k:]), root_of(leaves[:k])]


class InclusionFailed(VerificationFailed):
    code = "inclusion_failed"  # typed, as the real seam's verify_inclusion raises


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root: bytes
    note: str


class FakeLog:
    def __init__(self) -> None:
        self.leaves: list[bytes] = []

    async def append(self, db: Any, commitments: Sequence[bytes], now: int) -> list[int]:
        start = len(self.leaves)
        self.leaves.extend(_leaf(c) for c in commitments)
        return list(range(start, len(self.leaves)))

    async def checkpoint(self, db: Any, now: int) -> Checkpoint:
        root = root_of(self.leaves)
        return Checkpoint(len(self.leaves), root, f"test/consent\n{len(self.leaves)}\n{root.hex()}\n")

    async def inclusion(self, db: Any, index: int, size: int) -> list[bytes]:
        return path(index, self.leaves[:size])

    async def consistency(self, db: Any, old: int, new: int) -> list[bytes]:
        return []

    async def vkey(self, db: Any, now: int) -> None:
        return None  # its notes are not signed

    def verify_inclusion(self, leaf: bytes, index: int, size: int, proof: Any, root: bytes) -> None:
        # RFC 9162 §2.1.3.2
        if index >= size:
            raise InclusionFailed()
        fn, sn, r = index, size - 1, _leaf(leaf)
        for p in proof:
            if sn == 0:
                raise InclusionFailed()
            if fn % 2 == 1 or fn == sn:
                r = _node(p, r)
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
            else:
                r = _node(r, p)
            fn, sn = fn >> 1, sn >> 1
        if sn != 0 or r != root:
            raise InclusionFailed()


# Module-level functions: the seam's shape, for ``consent.context.LOG_MODULE = "tests.consent.fake_log"``.
LOG = FakeLog()
append, checkpoint, inclusion, consistency, vkey = LOG.append, LOG.checkpoint, LOG.inclusion, LOG.consistency, LOG.vkey
verify_inclusion = LOG.verify_inclusion
