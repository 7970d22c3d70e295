"""The holder's view of a ledger's log: every newer checkpoint must extend the newest one held.

Each receipt's inclusion proof is checked against the checkpoint it came with (wallet.ledger,
consent.receipts). That alone does not stop a ledger from showing a holder one tree today and
another tomorrow, a withdrawal's leaf added to a tree from which the disclosure's was taken out:
each view verifies by itself. RFC 9162 §2.1.4 is the answer a log's clients give (a client
"should" check the consistency of the tree heads it sees): before new receipts replace the
ones kept, the wallet takes the newest checkpoint it holds of that ledger (from any record's
receipts) and asks the ledger to prove the new one extends it. A smaller tree, or a proof that
fails, keeps the old receipts as evidence and marks the record, and the history page says the
receipt is not right. helper-84 found no holder compared two checkpoints.

What it cannot see: two holders shown two different trees (a split view) until someone holds
both heads. Witnesses cosigning checkpoints (C2SP tlog-cosignature) would; none runs yet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from consent import merkle
from core.encoding import b64url_decode, json_object_or_none
from core.errors import AmanaError

Head = tuple[int, bytes]  # a tree size and its root
INCONSISTENT = "ledger_inconsistent"  # the pointer member that marks a record whose ledger forked
CHECKED = "heads_checked"  # set on receipts kept after their signatures and this check held
AFTER_FORK = "receipts_after_fork"  # a marked record's later receipts, kept beside the evidence (never verified)


def heads_of(items: Sequence[dict[str, Any]]) -> list[Head]:
    """Every distinct tree a receipt bundle's proofs are against, smallest first."""
    heads = set()
    for item in items:
        try:
            proof = item["proof"]
            size, root = int(proof["tree_size"]), b64url_decode(proof["root"])
        except (KeyError, TypeError, ValueError, AmanaError):
            continue
        if size >= 1 and len(root) == merkle.HASH_SIZE:
            heads.add((size, root))
    return sorted(heads)


def newest_held(pointers: Iterable[dict[str, Any] | None], ledger: str) -> Head | None:
    """The largest tree of ``ledger`` under receipts kept checked (signed checkpoints, and this
    check passed): receipts that did not verify say nothing of what the ledger signed."""
    heads = [h for p in pointers if p and p.get("ledger") == ledger and p.get(CHECKED)
             for h in heads_of(p.get("receipts") or [])]
    return max(heads, default=None)


async def consistent(http: httpx.AsyncClient, ledger: str, held: Head | None, new: Sequence[Head]) -> bool:
    """Whether the trees ``new`` (one bundle's) and ``held`` are one log's: no two roots for one size,
    none of ``new`` smaller than ``held`` (a ledger proves against its newest tree), and each tree
    extended by the next (helper-85: a bundle may carry two trees, a forked one beside a true one)."""
    chain = sorted({*new, *([held] if held else [])})
    if len({size for size, _ in chain}) != len(chain):
        return False
    if held is not None and any(size < held[0] for size, _ in new):
        return False
    for older, newer in itertools.pairwise(chain):
        if not await extends(http, ledger, older, newer):
            return False
    return True


async def extends(http: httpx.AsyncClient, ledger: str, held: Head, new: Head) -> bool:
    """Whether the tree ``new`` extends ``held`` (RFC 9162 §2.1.4.2, the proof asked of ``ledger``).
    The ledger's own refusal is a verdict: it signed both sizes, so it can prove them (a 400 or 404
    problem); anything else that is not a proof (a network failure, a 5xx, a 429, a proxy's page)
    raises (httpx's or FetchFailed): not knowing is not a verdict."""
    (old_size, old_root), (new_size, new_root) = held, new
    if new_size < old_size:
        return False  # the tree shrank: leaves the holder saw proven are gone
    if new_size == old_size:
        return new_root == old_root
    response = await http.get(f"{ledger}/proofs/consistency", params={"old": old_size, "new": new_size})
    if response.status_code in (400, 404) and response.headers.get("content-type", "").startswith(
            "application/problem+json"):
        return False  # the ledger's own refusal (not a proxy's 403 or a 408 on the way)
    body = json_object_or_none(response.content) if response.status_code == 200 else None
    if body is None:
        raise httpx.HTTPError(f"the ledger gave no consistency proof ({response.status_code})")
    try:
        proof = [b64url_decode(h) for h in body["consistency"]]
        merkle.verify_consistency(old_size, new_size, proof, old_root, new_root)
    except (KeyError, TypeError, ValueError, AmanaError):
        return False
    return True
