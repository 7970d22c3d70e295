"""The whole-log audit behind ``amana consent audit``: recompute, re-verify, report every mismatch.

What it checks, from the rows alone (it needs no secret):
1. the leaves are indices 0..size-1 with nothing missing or extra, each a 32-byte commitment;
2. folding them again gives every frontier stored on a leaf (the tree state after each
   append), and every stored level-8k subtree hash;
3. every stored checkpoint: its note's signature (by the key its origin names in
   ``consent_log_keys``, or by ``--vkey`` when the auditor brings their own), its size and
   root equal to the tree recomputed at that size, and its root column equal to the note's;
4. each checkpoint's consistency with the next, through the proof the log *serves*
   (consent.log.consistency), verified with RFC 9162 §2.1.4.2.
Any mismatch is a failure line; the audit keeps going, so one run names every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from consent import log, merkle
from consent.checkpoint import InvalidNote, Verifier, parse_checkpoint, verify_checkpoint
from consent.merkle import InvalidProof
from consent.store import log as store

BATCH = 4096


@dataclass
class AuditReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    nodes: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> dict[str, object]:
        return {"ok": self.ok, "leaves": self.size, "root": self.root.hex(), "checkpoints": self.checkpoints,
                "stored_nodes": self.nodes, "failures": self.failures[:100], "failure_count": len(self.failures)}


async def audit(db: AsyncSession, vkey: Verifier | None = None,
                progress: Callable[[int], None] | None = None) -> AuditReport:
    report = AuditReport()
    found = await store.head(db)
    if found is None:
        report.failures.append("the last leaf holds no tree state")
        return report
    size, stored_frontier = found
    keys: Mapping[str, Verifier] = {vkey.name: vkey} if vkey else await log.verifiers(db)
    cps = await store.checkpoints(db, limit=1 << 62)
    roots = await _recompute(db, size, stored_frontier, {c.size for c in cps}, report, progress)
    previous: tuple[int, bytes] | None = None
    for row in cps:
        report.checkpoints += 1
        where = f"checkpoint {row.size}"
        try:
            origin = parse_checkpoint(row.note.split("\n\n")[0] + "\n").origin
            verifier = keys.get(origin)
            if verifier is None:
                raise InvalidNote("no key for its origin")
            cp = verify_checkpoint(row.note, verifier, origin)
        except InvalidNote as exc:
            report.failures.append(f"{where}: {exc.detail}")
            continue
        if cp.size != row.size or cp.root != bytes(row.root):
            report.failures.append(f"{where}: its row does not match its note")
        if row.size > size or roots.get(row.size) != cp.root:
            report.failures.append(f"{where}: the leaves do not give its root")
        if previous is not None and previous[0] > 0:
            try:
                proof = await log.consistency(db, previous[0], cp.size)
                merkle.verify_consistency(previous[0], cp.size, proof, previous[1], cp.root)
            except (InvalidProof, log.LogInconsistent) as exc:
                report.failures.append(f"{where}: not consistent with checkpoint {previous[0]} ({exc.detail})")
        previous = (cp.size, cp.root)
    return report


async def _recompute(db: AsyncSession, size: int, stored_frontier: list[bytes], at: set[int],
                     report: AuditReport, progress: Callable[[int], None] | None) -> dict[int, bytes]:
    """Fold every leaf again; the roots at the checkpointed sizes."""
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in at else {}
    frontier: list[bytes] = []
    done = 0
    while done < size:
        rows = await store.commitments(db, done, min(size, done + BATCH))
        if len(rows) != min(size, done + BATCH) - done:
            report.failures.append(f"leaves {done}..{min(size, done + BATCH) - 1}: some are missing")
            return roots
        kept: dict[merkle.Node, bytes] = {}
        stored = await store.frontiers(db, done, done + len(rows))
        for offset, commitment in enumerate(rows):
            index = done + offset
            if len(commitment) != log.COMMITMENT_SIZE:
                report.failures.append(f"leaf {index}: not a 32-byte commitment")
            frontier, made = merkle.extend(frontier, index, [merkle.leaf_hash(commitment)], store.TILE)
            kept.update(made)
            if index in stored and stored[index] != b"".join(frontier):
                report.failures.append(f"leaf {index}: the tree state stored on it does not match the leaves")
            if index + 1 in at:
                roots[index + 1] = merkle.frontier_root(frontier)
        await _compare_nodes(db, kept, report)
        done += len(rows)
        if progress is not None:
            progress(done)
    if await store.leaves_outside(db, size):
        report.failures.append(f"leaves outside 0..{size - 1} are stored")
    if frontier != stored_frontier:
        report.failures.append("the stored tree state does not match the leaves")
    report.size, report.root = size, merkle.frontier_root(frontier)
    return roots


async def _compare_nodes(db: AsyncSession, kept: dict[merkle.Node, bytes], report: AuditReport) -> None:
    by_level: dict[int, list[int]] = {}
    for level, index in kept:
        by_level.setdefault(level, []).append(index)
    for level, indices in by_level.items():
        lo, hi = min(indices), max(indices) + 1
        stored = await store.node_hashes(db, level, lo, hi)
        report.nodes += len(stored)
        if stored != [kept[(level, i)] for i in range(lo, hi)]:
            report.failures.append(f"stored subtree hashes at level {level}, {lo}..{hi - 1}, do not match the leaves")
