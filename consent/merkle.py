"""RFC 9162 §2.1 Merkle trees: hashing, proofs and their verification, pure and storage-agnostic.

Written here rather than taken from PyPI: no maintained Python package does RFC 9162 proofs
over a tree it does not own (the ones listed are young single-author packages, most bound to
their own storage or to a different hashing); the Go reference (transparency-dev/merkle) is
what the probes in tests/vectors/merkle come from, and this module passes all of them.

Hashes: leaf = SHA-256(0x00 || input), node = SHA-256(0x01 || left || right), the empty tree
is SHA-256(""). A tree's hash over a range is the MTH of §2.1.1, whose split point is the
largest power of two smaller than the range's length.

Proof *generation* is separated from the hash source: a proof is a list of range hashes
(``inclusion_ranges`` / ``consistency_ranges``); each range is a fold of perfect subtrees
(``range_nodes``), named ``(level, index)`` = the 2**level leaves from index * 2**level. A
caller fetches those nodes from wherever it keeps them (memory, the database) and
``range_hash`` folds them. Verification follows §2.1.3.2 and §2.1.4.2 step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from core.errors import VerificationFailed

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
Node = tuple[int, int]  # (level, index): the perfect subtree over [index << level, (index + 1) << level)


class InvalidProof(VerificationFailed):
    """A Merkle proof, root, index or size that does not check out."""

    code = "invalid_proof"
    title = "The Merkle proof does not verify"
    status = 400


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (iterative: each level pairs left to right, an odd last
    node moves up unchanged, which is exactly the §2.1.1 recursion)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def mth(entries: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of leaf inputs (§2.1.1)."""
    return root([leaf_hash(e) for e in entries])


# --- which ranges a proof is made of (§2.1.3.1 PATH, §2.1.4.1 SUBPROOF) ---

def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges [start, end) whose MTHs are PATH(index, D[0:size]), in proof order."""
    if not 0 <= index < size:
        raise InvalidProof("the index is not in the tree")
    out: list[tuple[int, int]] = []
    start, end = 0, size
    stack: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            stack.append((start + k, end))
            end = start + k
        else:
            stack.append((start, start + k))
            start = start + k
    out.extend(reversed(stack))
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs are PROOF(old, D[0:new]) (§2.1.4.1), in proof order."""
    if not 0 < old <= new:
        raise InvalidProof("no consistency proof between these sizes")
    if old == new:
        return []
    stack: list[tuple[int, int]] = []
    start, end, m, whole = 0, new, old, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                stack.append((start, end))
            break
        k = _split(n)
        if m <= k:
            stack.append((start + k, end))
            end = start + k
        else:
            stack.append((start, start + k))
            start, m, whole = start + k, m - k, False
    return list(reversed(stack))


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose fold is MTH(D[start:end]), left to right."""
    out: list[Node] = []
    _collect(start, end, out)
    return out


def _collect(start: int, end: int, out: list[Node]) -> None:
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        out.append((n.bit_length() - 1, start // n))
        return
    k = _split(n)
    _collect(start, start + k, out)
    _collect(start + k, end, out)


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes] | Callable[[Node], bytes]) -> bytes:
    """MTH(D[start:end]) from the perfect subtrees ``range_nodes`` names."""
    get = nodes.__getitem__ if isinstance(nodes, Mapping) else nodes
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        return get((n.bit_length() - 1, start // n))
    k = _split(n)
    return node_hash(range_hash(start, start + k, get), range_hash(start + k, end, get))


def inclusion_proof(index: int, size: int, nodes: Mapping[Node, bytes] | Callable[[Node], bytes]) -> list[bytes]:
    return [range_hash(s, e, nodes) for s, e in inclusion_ranges(index, size)]


def consistency_proof(old: int, new: int, nodes: Mapping[Node, bytes] | Callable[[Node], bytes]) -> list[bytes]:
    return [range_hash(s, e, nodes) for s, e in consistency_ranges(old, new)]


def perfect_from(leaf_hashes: Sequence[bytes]) -> Callable[[Node], bytes]:
    """A node source over leaves held in memory (tests, the benchmark's big tree uses ``Levels``)."""
    def get(node: Node) -> bytes:
        level, index = node
        return root(leaf_hashes[index << level:(index + 1) << level])
    return get


class Levels:
    """Every level of a tree built once in memory: O(1) perfect-subtree lookups (a 1M-leaf tree
    for the benchmark: 2M hashes, built in seconds)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def __call__(self, node: Node) -> bytes:
        return self.levels[node[0]][node[1]]


# --- verification, exactly as §2.1.3.2 and §2.1.4.2 spell it ---

def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} is not a {HASH_SIZE}-byte hash")
    return value


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> None:
    """§2.1.3.2: ``leaf`` is the leaf *hash*; raises InvalidProof unless it is at ``index`` of the
    tree of ``size`` leaves whose root is ``root_hash``."""
    _check_hash(leaf, "the leaf hash")
    _check_hash(root_hash, "the root")
    if not 0 <= index < size:  # 1. leaf_index >= tree_size: fail
        raise InvalidProof("the index is not in the tree")
    fn, sn = index, size - 1  # 2.
    r = leaf  # 3.
    for p in proof:  # 4.
        _check_hash(p, "a proof element")
        if sn == 0:  # 4a.
            raise InvalidProof("the proof is too long")
        if fn & 1 or fn == sn:  # 4b.
            r = node_hash(p, r)
            if not fn & 1:  # 4b.ii
                while True:
                    fn, sn = fn >> 1, sn >> 1
                    if fn & 1 or fn == 0:
                        break
        else:  # 4c.
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4d.
    if sn != 0 or r != root_hash:  # 5.
        raise InvalidProof("the proof does not lead to the root")


def verify_consistency(old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    """§2.1.4.2, with the degenerate cases the RFC leaves to the caller made explicit: an empty
    old tree proves nothing and fails (as in the reference, even from 0 to 0); equal
    sizes need an empty proof and equal roots (compared as bytes, as the reference does: the
    probes hold such a case)."""
    if not 0 <= old <= new:
        raise InvalidProof("the old size is larger than the new one")
    if old == 0:
        raise InvalidProof("a consistency proof from the empty tree proves nothing")
    if old == new:
        if proof or old_root != new_root:
            raise InvalidProof("equal sizes need an empty proof and equal roots")
        return
    _check_hash(old_root, "the old root")
    _check_hash(new_root, "the new root")
    path = [_check_hash(p, "a proof element") for p in proof]
    if not path:  # 1. (the proof is empty)
        raise InvalidProof("the proof is empty")
    if old & (old - 1) == 0:  # 2. first is an exact power of 2: prepend first_hash
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1  # 3.
    if fn & 1:  # 4.
        while fn & 1:
            fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:  # 6a.
            raise InvalidProof("the proof is too long")
        if fn & 1 or fn == sn:  # 6b.
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn, sn = fn >> 1, sn >> 1
                    if fn & 1 or fn == 0:
                        break
        else:  # 6c.
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6d.
    if fr != old_root or sr != new_root or sn != 0:  # 7.
        raise InvalidProof("the proof does not connect the two roots")


# --- the right edge of a growing tree (what the log persists with every append) ---

def extend(frontier: Sequence[bytes], size: int, leaf_hashes: Sequence[bytes],
           every: int = 1) -> tuple[list[bytes], list[tuple[Node, bytes]]]:
    """Append leaves to a tree known only by its frontier (the roots of its perfect subtrees,
    largest first, one per set bit of ``size``). Returns the new frontier and the perfect
    subtrees completed on the way at levels >= 1 that are multiples of ``every`` (a store
    keeps only some levels; naming only those keeps an append near a bare insert)."""
    if len(frontier) != size.bit_count():
        raise InvalidProof("the frontier does not match the size")
    stack = list(frontier)
    made: list[tuple[Node, bytes]] = []
    sha = hashlib.sha256
    for h in leaf_hashes:
        level, n = 0, size
        while n & 1:
            h = sha(b"\x01" + stack.pop() + h).digest()
            level, n = level + 1, n >> 1
            if level % every == 0:
                made.append(((level, size >> level), h))
        stack.append(h)
        size += 1
    return stack, made


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    r = frontier[-1]
    for h in reversed(frontier[:-1]):
        r = node_hash(h, r)
    return r
