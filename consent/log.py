"""The consent log: an append-only RFC 9162 Merkle tree of salted commitments, with C2SP checkpoints.

The seam the consent records build on (the session is the caller's; nothing here commits):

    append(db, commitments, now) -> indices        leaves and the new tree state, in db's transaction
    ConsentLog(node, origin).checkpoint(db, now)   the signed checkpoint covering every leaf
    inclusion(db, index, size) / consistency(db, old, new)   RFC 9162 §2.1.3 / §2.1.4 proofs
    verify_inclusion(leaf, index, size, proof, root)          pure; ``leaf`` is the 32-byte commitment

``ConsentLog`` bundles the five as methods (what consent.ledger's ``LogSeam`` expects): only
``checkpoint`` needs the node key (to open the sealed log key) and the origin.

Why the log never signs two inconsistent checkpoints, even across a crash: the tree state
(size and frontier) is stored on the last leaf of each append, by the statement that writes
that leaf, so the stored state always describes exactly the stored leaves; an append goes in
only after the leaf before it with the frontier it extends (consent/store/log.py). A
checkpoint is signed from that stored state under the log's lock, after checking it is
consistent with the newest stored checkpoint, and is stored in that transaction (one per size:
the primary key). Ed25519 is deterministic, so the same state always gives the same note. A
checkpoint signed over leaves whose transaction then fails is lost with them and was never
handed out: callers publish a checkpoint only after their transaction commits
(consent.ledger returns it after the commit).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy.ext.asyncio import AsyncSession

from consent import merkle
from consent.checkpoint import Checkpoint, SignedCheckpoint, Signer, Verifier, parse_checkpoint, sign_checkpoint
from consent.merkle import InvalidProof
from consent.store import log as store
from core.db import Db, dialect_name, engine_of
from core.errors import AmanaError, InvalidInput, NotFound
from core.sealing import NodeKey
from core.settings import Settings

COMMITMENT_SIZE = 32
MAX_BATCH = 10_000


class LogInconsistent(AmanaError):
    """The stored tree no longer matches what the log signed: refuse to sign anything more."""

    code = "log_inconsistent"
    title = "The consent log is inconsistent with its checkpoints"
    status = 500


class NoSuchProof(AmanaError):
    """A proof asked of the log that no tree has: a leaf at or past the tree's size, or a tree
    "consistent" with a larger one. The request is wrong, not a proof (``InvalidProof`` is a proof
    that fails its check), so it says so (helper-85: it was titled "does not verify")."""

    code = "no_such_proof"
    title = "There is no such proof: the leaf is not in that tree, or the old tree is the larger"
    status = 400


def origin(settings: Settings) -> str:
    """``<public base host>/consent``: the checkpoint origin and the log key's name."""
    parts = urlsplit(settings.public_base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/consent"


# The tree each engine last extended, so a one-leaf append is one statement. Only a hint:
# ``store.try_append`` inserts only if the last stored leaf still holds that frontier, so a
# stale entry (another process appended, or the transaction that wrote it rolled back)
# inserts nothing and the append reads the stored head and retries.
#
# On PostgreSQL an append takes the log's lock first, held to its commit, so appenders queue
# and each finds the head it extends: without it, every writer waiting on the same next index
# (a unique index makes the losers wait for the winner's commit) retried at once after each
# commit, and only one of them won again. Under 50 wallets a presentation's answer waited
# 289 ms at the median and 2.4 s at p99 (issue 15, bench.load). The lock comes before any
# leaf, and a checkpoint in the same transaction takes it again (its own, so no wait): no two
# appenders can each hold what the other waits for. SQLite has one writer at a time anyway.
_last: weakref.WeakKeyDictionary[object, tuple[int, list[bytes]]] = weakref.WeakKeyDictionary()
RETRIES = 100


async def _head(db: Db) -> tuple[int, list[bytes]]:
    found = await store.head(db)
    if found is None:
        raise LogInconsistent("the last leaf holds no tree state")
    return found


async def append(db: Db, commitments: Sequence[bytes], now: int) -> list[int]:
    """Append 32-byte commitments; their indices. Durable when ``db``'s transaction commits."""
    if not 0 < len(commitments) <= MAX_BATCH:
        raise InvalidInput(f"append between 1 and {MAX_BATCH} commitments")
    if any(not isinstance(c, bytes) or len(c) != COMMITMENT_SIZE for c in commitments):
        raise InvalidInput("a commitment is 32 bytes")
    hashes = [merkle.leaf_hash(c) for c in commitments]
    if dialect_name(db) != "sqlite":
        await store.lock(db)
    engine = engine_of(db)
    old = _last.get(engine)
    for _ in range(RETRIES):
        if old is None:
            old = await _head(db)
        new_frontier, made = merkle.extend(old[1], old[0], hashes, store.TILE)
        kept = [(level, i, h) for (level, i), h in made]
        if await store.try_append(db, old, new_frontier, commitments, kept, now):
            _last[engine] = (old[0] + len(hashes), new_frontier)
            return list(range(old[0], old[0] + len(hashes)))
        old = None
    raise LogInconsistent("the log's head kept moving: no append after many tries")


async def _nodes(db: AsyncSession, wanted: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    """Perfect subtree hashes from the store: stored at levels 0 (as commitments) and 8k; any
    other level is folded from the 2**r hashes of the stored level below it (one query per
    stored level for the whole proof)."""
    spans: dict[int, list[tuple[merkle.Node, int, int]]] = {}
    for level, index in wanted:
        r = level % store.TILE
        spans.setdefault(level - r, []).append(((level, index), index << r, (index + 1) << r))
    out: dict[merkle.Node, bytes] = {}
    for base, nodes in spans.items():
        stored = await store.hashes_in(db, base, [(lo, hi) for _, lo, hi in nodes])
        for node, lo, hi in nodes:
            try:
                hashes = [stored[i] for i in range(lo, hi)]
            except KeyError as exc:
                raise LogInconsistent("a subtree of the log is missing") from exc
            out[node] = merkle.root([merkle.leaf_hash(h) for h in hashes] if base == 0 else hashes)
    return out


async def _tree_size(db: AsyncSession) -> int:
    size, _ = await _head(db)
    return size


async def _range_proof(db: AsyncSession, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    wanted = [node for start, end in ranges for node in merkle.range_nodes(start, end)]
    nodes = await _nodes(db, wanted)
    return [merkle.range_hash(start, end, nodes) for start, end in ranges]


async def inclusion(db: AsyncSession, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3 audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if size > await _tree_size(db):
        raise NotFound("the log is not that large yet")
    if not 0 <= index < size:
        raise NoSuchProof(f"leaf {index} is not in a tree of {size}")
    return await _range_proof(db, merkle.inclusion_ranges(index, size))


async def consistency(db: AsyncSession, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4 consistency proof from the tree of ``old`` leaves to that of ``new``."""
    if new > await _tree_size(db):
        raise NotFound("the log is not that large yet")
    if not 0 < old <= new:
        raise NoSuchProof(f"a tree of {old} is not a prefix of one of {new}")
    return await _range_proof(db, merkle.consistency_ranges(old, new))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Pure: raises InvalidProof unless commitment ``leaf`` is leaf ``index`` under ``root``."""
    if not isinstance(leaf, bytes) or len(leaf) != COMMITMENT_SIZE:
        raise InvalidProof("a commitment is 32 bytes")
    merkle.verify_inclusion(merkle.leaf_hash(leaf), index, size, list(proof), root)


def verify_consistency(old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    merkle.verify_consistency(old, new, list(proof), old_root, new_root)


def _seal_context(name: str) -> str:
    return f"consent-log-key:{name}"


async def signer(db: Db, node: NodeKey, name: str, now: int) -> Signer:
    """The log's signing key for ``name``, made (and sealed under the node key) at first use.
    Call it with the state locked (``checkpoint`` does): two first uses then never race."""
    row = await store.key(db, name)
    if row is None:
        private = ed25519.Ed25519PrivateKey.generate()
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        await store.add_key(db, name, public, node.seal(raw, _seal_context(name)), now)
        return Signer(name, private)
    private = ed25519.Ed25519PrivateKey.from_private_bytes(node.open(row.sealed_key, _seal_context(name)))
    made = Signer(name, private)
    if made.verifier().public != bytes(row.public_key):
        raise LogInconsistent("the log key does not match its public half")
    return made


_vkeys: dict[str, str] = {}


async def vkey(db: Db, node: NodeKey, name: str, now: int) -> str:
    """The C2SP verifier key of the log ``name`` (made at first use, under the log's lock, so two
    first uses never race); receipts carry it, so wallets check checkpoints against it.

    Kept for the process only once read from a stored row: a key made here is not stored until
    this transaction commits, and if it rolls back, a kept copy would name a key no checkpoint
    is ever signed with in every later receipt."""
    if name not in _vkeys:
        row = await store.key(db, name)
        if row is None:
            await store.lock(db)
            return (await signer(db, node, name, now)).verifier().vkey()
        _vkeys[name] = Verifier(name, bytes(row.public_key)).vkey()
    return _vkeys[name]


async def verifiers(db: AsyncSession) -> dict[str, Verifier]:
    """Every log key's verifier (C2SP vkey via ``.vkey()``), by key name."""
    return {row.name: Verifier(row.name, bytes(row.public_key)) for row in await store.keys(db)}


async def checkpoint(db: AsyncSession, now: int, node: NodeKey, name: str) -> SignedCheckpoint:
    """The newest checkpoint if it covers every leaf; else a new one, signed from the stored state."""
    await store.lock(db)
    size, frontier = await _head(db)
    latest = await store.latest_checkpoint(db)
    if latest is not None and latest.size > size:
        raise LogInconsistent("a checkpoint is larger than the tree")
    stored = None if latest is None else SignedCheckpoint(parse_checkpoint(latest.note.split("\n\n")[0] + "\n"),
                                                          latest.note)
    if stored is not None and stored.size == size and stored.origin == name:
        return stored
    root = merkle.frontier_root(frontier)
    if latest is not None and latest.size > 0:
        try:
            verify_consistency(latest.size, size, await consistency(db, latest.size, size), bytes(latest.root), root)
        except InvalidProof as exc:
            raise LogInconsistent("the tree is not consistent with the last checkpoint") from exc
    signed = sign_checkpoint(Checkpoint(name, size, root), await signer(db, node, name, now))
    if latest is None or latest.size < size:
        await store.add_checkpoint(db, size, root, signed.note, now)
    return signed


@dataclass(frozen=True, slots=True)
class ConsentLog:
    """The seam as one object: what consent.ledger holds and calls."""

    node: NodeKey
    name: str

    async def append(self, db: Db, commitments: Sequence[bytes], now: int) -> list[int]:
        return await append(db, commitments, now)

    async def checkpoint(self, db: AsyncSession, now: int) -> SignedCheckpoint:
        return await checkpoint(db, now, self.node, self.name)

    async def inclusion(self, db: AsyncSession, index: int, size: int) -> list[bytes]:
        return await inclusion(db, index, size)

    async def consistency(self, db: AsyncSession, old: int, new: int) -> list[bytes]:
        return await consistency(db, old, new)

    def verify_inclusion(self, leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
        verify_inclusion(leaf, index, size, proof, root)

    async def vkey(self, db: Db, now: int) -> str:
        return await vkey(db, self.node, self.name, now)
