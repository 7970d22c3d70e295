"""consent/merkle.py against the transparency-dev probes, a naive RFC 9162 implementation
(every size up to 64), single-bit mutations of every proof, and hypothesis properties."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent import merkle
from consent.merkle import InvalidProof

VECTORS = Path(__file__).parent / "vectors" / "merkle"


def _probes(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_the_probe_set_has_its_shape() -> None:
    assert len(_probes("inclusion")) + len(_probes("consistency")) == 196
    assert (VECTORS / "roots.json").is_file()


@pytest.mark.parametrize("path", _probes("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_probe(path: Path) -> None:
    probe: dict[str, Any] = json.loads(path.read_text())
    proof = [_b64(p) for p in probe["proof"] or []]
    args = (_b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], proof, _b64(probe["root"]))
    if probe["wantErr"]:
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", _probes("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_probe(path: Path) -> None:
    probe: dict[str, Any] = json.loads(path.read_text())
    proof = [_b64(p) for p in probe["proof"] or []]
    args = (probe["size1"], probe["size2"], proof, _b64(probe["root1"]), _b64(probe["root2"]))
    if probe["wantErr"]:
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_roots_json_is_reproduced() -> None:
    doc = json.loads((VECTORS / "roots.json").read_text())
    entries = [bytes.fromhex(h) for h in doc["leaf_inputs_hex"]]
    assert merkle.EMPTY_ROOT.hex() == doc["empty_root_hex"]
    for size, want in enumerate(doc["root_hashes_hex_by_size"]):
        assert merkle.mth(entries[:size]).hex() == want
        frontier, _ = merkle.extend([], 0, [merkle.leaf_hash(e) for e in entries[:size]])
        assert merkle.frontier_root(frontier).hex() == want


# --- a naive implementation, straight from the RFC's recursive definitions ---

def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def naive_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


ENTRIES = [bytes([i]) * (i % 5) for i in range(64)]


def test_every_size_up_to_64_matches_the_naive_implementation() -> None:
    for size in range(1, 65):
        d = ENTRIES[:size]
        hashes = [merkle.leaf_hash(e) for e in d]
        source = merkle.Levels(hashes)
        want_root = naive_mth(d)
        assert merkle.mth(d) == want_root
        frontier, _ = merkle.extend([], 0, hashes)
        assert merkle.frontier_root(frontier) == want_root
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, source)
            assert proof == naive_path(index, d)
            merkle.verify_inclusion(hashes[index], index, size, proof, want_root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, size, source)
            assert proof == naive_subproof(old, d, True)
            merkle.verify_consistency(old, size, proof, naive_mth(d[:old]), want_root)


def _flips(value: bytes) -> list[bytes]:
    return [value[:i // 8] + bytes([value[i // 8] ^ (1 << (i % 8))]) + value[i // 8 + 1:]
            for i in range(len(value) * 8)]


def test_every_one_bit_change_fails_inclusion() -> None:
    for size in (1, 2, 3, 5, 8, 13, 21):
        hashes = [merkle.leaf_hash(e) for e in ENTRIES[:size]]
        source, r = merkle.Levels(hashes), merkle.root(hashes)
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, source)
            for i, element in enumerate(proof):
                for bad in _flips(element):
                    with pytest.raises(InvalidProof):
                        merkle.verify_inclusion(hashes[index], index, size, [*proof[:i], bad, *proof[i + 1:]], r)
            for bad in _flips(r):
                with pytest.raises(InvalidProof):
                    merkle.verify_inclusion(hashes[index], index, size, proof, bad)
            for bad in _flips(hashes[index]):
                with pytest.raises(InvalidProof):
                    merkle.verify_inclusion(bad, index, size, proof, r)
            for bit in range(8):
                with pytest.raises(InvalidProof):
                    merkle.verify_inclusion(hashes[index], index ^ (1 << bit), size, proof, r)
                _other_size_fails_unless_same_shape(hashes[index], index, size, size ^ (1 << bit), proof, r)


def _directions(index: int, size: int) -> list[bool]:
    return [end <= index for _start, end in merkle.inclusion_ranges(index, size)]


def _other_size_fails_unless_same_shape(leaf: bytes, index: int, size: int, other: int, proof: list[bytes],
                                        r: bytes) -> None:
    """An RFC 9162 audit path does not commit to the tree size (the signed checkpoint does): for
    index 0..3, sizes 5 and 7 have the same path, sibling for sibling. So a changed size must
    fail exactly when its path differs in length or in the side of any sibling."""
    same_shape = 0 <= index < other and _directions(index, other) == _directions(index, size)
    if same_shape:
        merkle.verify_inclusion(leaf, index, other, proof, r)
    else:
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(leaf, index, other, proof, r)


def test_every_one_bit_change_fails_consistency() -> None:
    for size in (2, 3, 5, 8, 13, 21):
        hashes = [merkle.leaf_hash(e) for e in ENTRIES[:size]]
        source, new_root = merkle.Levels(hashes), merkle.root(hashes)
        for old in range(1, size):
            old_root = merkle.root(hashes[:old])
            proof = merkle.consistency_proof(old, size, source)
            for i, element in enumerate(proof):
                for bad in _flips(element):
                    with pytest.raises(InvalidProof):
                        merkle.verify_consistency(old, size, [*proof[:i], bad, *proof[i + 1:]], old_root, new_root)
            for bad in _flips(old_root):
                with pytest.raises(InvalidProof):
                    merkle.verify_consistency(old, size, proof, bad, new_root)
            for bad in _flips(new_root):
                with pytest.raises(InvalidProof):
                    merkle.verify_consistency(old, size, proof, old_root, bad)
            for bit in range(8):
                for o, n in ((old ^ (1 << bit), size), (old, size ^ (1 << bit))):
                    # As for inclusion, the sizes are bound by the checkpoints, not the proof: a
                    # changed pair fails exactly when its proof's shape differs.
                    if _consistency_shape(o, n) == _consistency_shape(old, size):
                        merkle.verify_consistency(o, n, proof, old_root, new_root)
                    else:
                        with pytest.raises(InvalidProof):
                            merkle.verify_consistency(o, n, proof, old_root, new_root)


def _consistency_shape(old: int, new: int) -> tuple[bool, list[bool]] | None:
    if not 0 < old <= new:
        return None
    return old & (old - 1) == 0, [end <= old for _start, end in merkle.consistency_ranges(old, new)]


def test_a_truncated_or_extended_proof_fails() -> None:
    hashes = [merkle.leaf_hash(e) for e in ENTRIES[:11]]
    source, r = merkle.Levels(hashes), merkle.root(hashes)
    proof = merkle.inclusion_proof(4, 11, source)
    for bad in (proof[:-1], [*proof, proof[0]], [proof[0], *proof], []):
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(hashes[4], 4, 11, bad, r)
    with pytest.raises(InvalidProof):
        merkle.inclusion_ranges(11, 11)
    with pytest.raises(InvalidProof):
        merkle.consistency_ranges(0, 3)


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_proofs_from_stored_nodes_verify(data: st.DataObject) -> None:
    size = data.draw(sizes)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    source = merkle.Levels(hashes)
    r = merkle.root(hashes)
    # the frontier grown in arbitrary chunks gives the same root, and names the same nodes
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=5)))
    frontier: list[bytes] = []
    done = 0
    made: dict[merkle.Node, bytes] = {}
    for cut in [*cuts, size]:
        frontier, nodes = merkle.extend(frontier, done, hashes[done:cut] if cut > done else [])
        made.update(nodes)
        done = max(done, cut)
    assert merkle.frontier_root(frontier) == r
    assert all(source(node) == h for node, h in made.items())
    every = data.draw(st.sampled_from([2, 3, 8]))
    _, some = merkle.extend([], 0, hashes, every)
    assert dict(some) == {node: h for node, h in made.items() if node[0] % every == 0}
    merkle.verify_inclusion(hashes[index], index, size, merkle.inclusion_proof(index, size, source), r)
    merkle.verify_consistency(old, size, merkle.consistency_proof(old, size, source), merkle.root(hashes[:old]), r)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40), max_size=6), st.integers(-3, 70), st.integers(-3, 70))
def test_garbage_never_crashes_the_verifiers(proof: list[bytes], a: int, b: int) -> None:
    with contextlib.suppress(InvalidProof):
        merkle.verify_inclusion(b"\0" * 32, a, b, proof, b"\1" * 32)
    with contextlib.suppress(InvalidProof):
        merkle.verify_consistency(a, b, proof, b"\0" * 32, b"\1" * 32)
