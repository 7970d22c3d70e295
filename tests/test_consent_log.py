"""The consent log behind its seam, on SQLite and PostgreSQL: appends, proofs from the store
(the same as from a tree in memory), checkpoints (idempotent, monotonic, consistent, refused
over a rewritten tree), concurrent appends serialised, and the log key sealed at rest."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from consent import log, merkle
from consent.checkpoint import verify_checkpoint
from consent.merkle import InvalidProof
from consent.store import log as store
from core import db
from core.errors import InvalidInput, NotFound
from core.sealing import NodeKey, SealBroken
from tests import pool_nesting
from tests.consent_log_world import BACKENDS, migrated, store_url
from tests.pg_locks import scalar_alone, until_waiting

NODE = NodeKey(b"\x07" * 32)
ORIGIN = "node.example/consent"
LOG = log.ConsentLog(NODE, ORIGIN)


def commitment(i: int) -> bytes:
    return hashlib.sha256(b"event %d" % i).digest()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(request.param, tmp_path)


def run(url: str, body: object) -> None:
    async def main() -> None:
        engine = await migrated(url)
        try:
            await body(engine)  # type: ignore[operator]
        finally:
            await engine.dispose()
    asyncio.run(main())


def test_appends_proofs_and_checkpoints_match_a_tree_in_memory(url: str) -> None:
    sizes = [1, 2, 5, 248, 1, 300, 100, 1]  # crosses 256 and 512: stored level-8 nodes are used

    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        done, signed = 0, []
        for n in sizes:
            async with sessions.begin() as s:
                assert await LOG.append(s, [commitment(done + i) for i in range(n)], 1000 + done) == \
                    list(range(done, done + n))
            done += n
            async with sessions.begin() as s:
                signed.append(await LOG.checkpoint(s, 2000 + done))
        hashes = [merkle.leaf_hash(commitment(i)) for i in range(done)]
        memory = merkle.Levels(hashes)
        verifier = (await _verifiers(engine))[ORIGIN]
        async with sessions.begin() as s:
            for cp in signed:
                assert verify_checkpoint(cp.note, verifier, ORIGIN) == cp.checkpoint
                assert cp.root == merkle.root(hashes[:cp.size])
            last = signed[-1]
            for index in [*range(0, 20), 255, 256, 257, 511, 512, *range(done - 20, done)]:
                proof = await LOG.inclusion(s, index, last.size)
                assert proof == merkle.inclusion_proof(index, last.size, memory)
                LOG.verify_inclusion(commitment(index), index, last.size, proof, last.root)
                with pytest.raises(InvalidProof):
                    LOG.verify_inclusion(commitment(index + 1), index, last.size, proof, last.root)
            for old, new in itertools.pairwise(signed):
                proof = await LOG.consistency(s, old.size, new.size)
                assert proof == merkle.consistency_proof(old.size, new.size, memory)
                log.verify_consistency(old.size, new.size, proof, old.root, new.root)
            with pytest.raises(NotFound):
                await LOG.inclusion(s, 0, done + 1)
            with pytest.raises(NotFound):
                await LOG.consistency(s, 1, done + 1)
    run(url, body)


async def _verifiers(engine: AsyncEngine) -> dict[str, object]:
    async with db.sessions(engine).begin() as s:
        return dict(await log.verifiers(s))


def test_a_checkpoint_is_reused_until_the_tree_grows_and_sizes_only_grow(url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        async with sessions.begin() as s:
            empty = await LOG.checkpoint(s, 1)
        assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(0), commitment(1)], 2)
            first = await LOG.checkpoint(s, 3)
        async with sessions.begin() as s:
            again = await LOG.checkpoint(s, 4)
        assert again == first and first.size == 2
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(2)], 5)
            assert (await LOG.checkpoint(s, 6)).size == 3
            assert [c.size for c in await store.checkpoints(s)] == [0, 2, 3]
    run(url, body)


def test_a_rolled_back_append_leaves_no_trace(url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(0)], 1)
        with pytest.raises(RuntimeError):
            async with sessions.begin() as s:
                await LOG.append(s, [commitment(1), commitment(2)], 2)
                await LOG.checkpoint(s, 2)
                raise RuntimeError("the caller's transaction fails")
        async with sessions.begin() as s:
            assert (await store.head(s)) == (1, [merkle.leaf_hash(commitment(0))])
            assert await store.checkpoints(s) == []
            assert await LOG.append(s, [commitment(9)], 3) == [1]
            assert (await LOG.checkpoint(s, 4)).root == merkle.mth([commitment(0), commitment(9)])
    run(url, body)


def test_concurrent_appends_and_checkpoints_are_serialised(url: str) -> None:
    writers, each = 8, 6

    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)

        async def writer(w: int) -> list[int]:
            got = []
            for i in range(each):
                async with sessions.begin() as s:
                    got += await LOG.append(s, [commitment(1000 * w + i)], i)
                    if i % 2:
                        await LOG.checkpoint(s, i)
            return got

        results = await asyncio.gather(*(writer(w) for w in range(writers)))
        indices = sorted(i for got in results for i in got)
        assert indices == list(range(writers * each))
        async with sessions.begin() as s:
            size, frontier = await log._head(s)
            leaves = await store.commitments(s, 0, size)
            assert merkle.frontier_root(frontier) == merkle.mth(leaves)
            cps = await store.checkpoints(s)
            for old, new in itertools.pairwise(cps):
                log.verify_consistency(old.size, new.size, await LOG.consistency(s, old.size, new.size),
                                       bytes(old.root), bytes(new.root))
        by_index = {i: w for w, got in enumerate(results) for i in got}
        assert {commitment(1000 * by_index[i] + results[by_index[i]].index(i)) for i in indices} == set(leaves)
    run(url, body)


def test_a_rewritten_leaf_stops_the_log_signing(url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(i) for i in range(5)], 1)
            await LOG.checkpoint(s, 1)
        async with sessions.begin() as s:
            await s.execute(update(store.LogLeaf).where(store.LogLeaf.idx == 2).values(commitment=commitment(99)))
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(5)], 2)
        with pytest.raises(log.LogInconsistent):
            async with sessions.begin() as s:
                await LOG.checkpoint(s, 3)
    run(url, body)


def test_the_log_key_is_sealed_at_rest(url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        async with sessions.begin() as s:
            cp = await LOG.checkpoint(s, 1)
        async with sessions.begin() as s:
            row = (await s.execute(select(store.LogKey))).scalar_one()
            signer = await log.signer(s, NODE, ORIGIN, 2)
        raw = signer.private.private_bytes_raw()
        assert raw not in bytes(row.sealed_key)
        assert bytes(row.public_key) == signer.verifier().public
        assert verify_checkpoint(cp.note, signer.verifier(), ORIGIN).size == 0
        with pytest.raises(SealBroken):
            async with sessions.begin() as s:
                await log.signer(s, NodeKey(b"\x08" * 32), ORIGIN, 3)
    run(url, body)


def test_malformed_appends_are_refused(url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        async with db.sessions(engine).begin() as s:
            for bad in ([], [b"short"], [commitment(0) + b"x"], [commitment(0)] * (log.MAX_BATCH + 1)):
                with pytest.raises(InvalidInput):
                    await LOG.append(s, bad, 1)
    run(url, body)


def test_origin_is_the_public_host_and_path() -> None:
    from core.settings import Settings
    assert log.origin(Settings(public_base_url="https://ids.example.org/node/")) == "ids.example.org/node/consent"
    assert log.origin(Settings(public_base_url="http://127.0.0.1:8000")) == "127.0.0.1:8000/consent"


def test_two_engines_appending_in_turn_never_trust_a_stale_state(url: str, tmp_path: Path) -> None:
    """Each engine remembers the state it last wrote (one UPDATE per append); when the other
    engine (another process) appended in between, that memory is stale and must not be used."""
    async def body(engine: AsyncEngine) -> None:
        other = db.make_engine(engine.url.render_as_string(hide_password=False))
        try:
            expected = []
            for i in range(12):
                chosen = engine if i % 3 else other
                async with db.sessions(chosen).begin() as s:
                    assert await LOG.append(s, [commitment(i), commitment(100 + i)], i) == [2 * i, 2 * i + 1]
                expected += [commitment(i), commitment(100 + i)]
            async with db.sessions(engine).begin() as s:
                size, frontier = await log._head(s)
                assert await store.commitments(s, 0, size) == expected
                assert merkle.frontier_root(frontier) == merkle.mth(expected)
        finally:
            await other.dispose()
    run(url, body)


def test_a_wrong_memory_of_the_head_never_leaves_a_gap_or_a_fork(url: str) -> None:
    """Whatever an engine believes the head is, a leaf goes in only right after the stored one
    holding the frontier it extends: a belief ahead of the store, behind it, or with another
    frontier at the right size inserts nothing, and the append goes on from the real head."""
    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(i) for i in range(4)], 1)
        real = log._last[engine.sync_engine]
        beliefs = [(9, [real[1][0], b"\4" * 32]), (2, [merkle.leaf_hash(commitment(0))]), (real[0], [b"\3" * 32]),
                   (0, [])]
        expected = [commitment(i) for i in range(4)]
        for n, belief in enumerate(beliefs):
            log._last[engine.sync_engine] = belief
            async with sessions.begin() as s:
                got = await LOG.append(s, [commitment(10 + n), commitment(20 + n)], 2)
            assert got == [len(expected), len(expected) + 1]
            expected += [commitment(10 + n), commitment(20 + n)]
        async with sessions.begin() as s:
            size, frontier = await log._head(s)
            assert await store.commitments(s, 0, size) == expected
            assert merkle.frontier_root(frontier) == merkle.mth(expected)
    run(url, body)


def test_a_rival_seen_late_on_postgresql_never_leaves_part_of_an_append(url: str) -> None:
    """Two writers that saw the same committed head: the second waits on the first's index entry,
    and ON CONFLICT DO NOTHING would then let the rest of a longer append in after the first's
    leaf. The log takes that part back and appends again after the real head: no gap, no fork."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite's write lock makes the second writer start after the first commits")

    async def body(engine: AsyncEngine) -> None:
        sessions = db.sessions(engine)
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(0)], 1)
        seen = log._last[engine.sync_engine]
        async with sessions.begin() as first:
            await LOG.append(first, [commitment(1)], 2)

            async def rival() -> list[int]:
                log._last[engine.sync_engine] = seen  # the head as it was before the first writer
                async with sessions.begin() as s:
                    return await LOG.append(s, [commitment(2), commitment(3), commitment(4)], 3)

            waiting = asyncio.create_task(rival())
            with pool_nesting.on_purpose():
                async with engine.connect() as watch:  # until the rival waits on the first's index entry
                    await until_waiting(scalar_alone(watch), 1)
        assert await asyncio.wait_for(waiting, 30) == [2, 3, 4]
        async with sessions.begin() as s:
            size, frontier = await log._head(s)
            expected = [commitment(i) for i in range(5)]
            assert size == 5 and await store.commitments(s, 0, size) == expected
            assert merkle.frontier_root(frontier) == merkle.mth(expected)
    run(url, body)
