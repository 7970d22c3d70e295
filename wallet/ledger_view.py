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

from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from consent import merkle
from core.encoding import b64url_decode, json_object_or_none
from core.errors import AmanaError

Head = tuple[int, bytes]  # a tree size and its root
INCONSISTENT = "ledger_inconsistent"  # the pointer member that marks a record whose ledger forked


def head_of(items: Sequence[dict[str, Any]]) -> Head | None:
    """The largest tree a receipt bundle's proofs are against; None when it has none readable."""
    heads = []
    for item in items:
        try:
            proof = item["proof"]
            size, root = int(proof["tree_size"]), b64url_decode(proof["root"])
        except (KeyError, TypeError, ValueError, AmanaError):
            continue
        if size >= 1 and len(root) == merkle.HASH_SIZE:
            heads.append((size, root))
    return max(heads, default=None)


def newest_held(pointers: Iterable[dict[str, Any] | None], ledger: str) -> Head | None:
    """The largest tree of ``ledger`` any kept receipts were proven against."""
    heads = [head_of(p.get("receipts") or []) for p in pointers if p and p.get("ledger") == ledger]
    return max((h for h in heads if h is not None), default=None)


async def extends(http: httpx.AsyncClient, ledger: str, held: Head, new: Head) -> bool:
    """Whether the tree ``new`` extends ``held`` (RFC 9162 §2.1.4.2, the proof asked of ``ledger``).
    A network failure raises (httpx's or FetchFailed): not knowing is not a verdict."""
    (old_size, old_root), (new_size, new_root) = held, new
    if new_size < old_size:
        return False  # the tree shrank: leaves the holder saw proven are gone
    if new_size == old_size:
        return new_root == old_root
    response = await http.get(f"{ledger}/proofs/consistency", params={"old": old_size, "new": new_size})
    body = json_object_or_none(response.content) if response.status_code == 200 else None
    if body is None:
        raise httpx.HTTPError(f"the ledger gave no consistency proof ({response.status_code})")
    try:
        proof = [b64url_decode(h) for h in body["consistency"]]
        merkle.verify_consistency(old_size, new_size, proof, old_root, new_root)
    except (KeyError, TypeError, ValueError, AmanaError):
        return False
    return True
