"""The wallet holds a ledger to its past (wallet.ledger_view): new receipts are kept only when
their tree extends the newest one the wallet holds of that ledger (RFC 9162 §2.1.4).

Against the real ledger on loopback: a second disclosure's receipts extend the first's tree and
are kept; a tree the wallet remembers differently (as if the ledger had shown it another one
before) is a fork: the receipts kept stay, marked, and no longer verify. The forking ledger
itself is played by an httpx transport in the unit tests: there is none on this machine to run."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consent import merkle
from core.encoding import b64url_encode
from tests.node import RunningNode
from tests.test_verifier_flow import World
from tests.test_wallet_copies import Holder
from wallet import flows, ledger, ledger_view

LEDGER = "https://verifier.example/consent"
ENTRIES = [bytes([i]) * 32 for i in range(9)]


def _tree(entries: list[bytes]) -> tuple[int, bytes, Any]:
    hashes = [merkle.leaf_hash(e) for e in entries]
    return len(entries), merkle.mth(entries), merkle.perfect_from(hashes)


def _ledger_serving(entries: list[bytes], asked: list[str]) -> httpx.AsyncClient:
    """A ledger whose tree holds ``entries``: it answers consistency proofs from it."""
    _size, _root, nodes = _tree(entries)

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        old, new = int(request.url.params["old"]), int(request.url.params["new"])
        proof = merkle.consistency_proof(old, new, nodes)
        return httpx.Response(200, json={"old": old, "new": new, "consistency": [b64url_encode(h) for h in proof]})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


def _extends(held_entries: list[bytes], served: list[bytes]) -> tuple[bool, list[str]]:
    asked: list[str] = []
    size, root, _ = _tree(held_entries)
    new_size, new_root, _ = _tree(served)

    async def run() -> bool:
        async with _ledger_serving(served, asked) as http:
            return await ledger_view.extends(http, LEDGER, (size, root), (new_size, new_root))

    return asyncio.run(run()), asked


def test_a_tree_that_grew_from_the_held_one_extends_it() -> None:
    ok, asked = _extends(ENTRIES[:5], ENTRIES)
    assert ok and asked == [f"{LEDGER}/proofs/consistency?old=5&new=9"]


def test_a_tree_with_a_leaf_changed_does_not_and_neither_does_a_smaller_one() -> None:
    forked = [ENTRIES[0], b"\xff" * 32, *ENTRIES[2:]]  # leaf 1 taken out and another put in its place
    assert _extends(ENTRIES[:5], forked) == (False, [f"{LEDGER}/proofs/consistency?old=5&new=9"])
    assert _extends(ENTRIES[:5], ENTRIES[:4]) == (False, [])  # it shrank: no proof could help
    assert _extends(ENTRIES[:5], [*ENTRIES[:4], b"\xff" * 32]) == (False, [])  # same size, another root


@pytest.mark.parametrize(("status", "media"), [(503, "application/problem+json"), (429, "application/problem+json"),
                                               (403, "text/html"), (408, "text/plain"), (404, "text/html")])
def test_a_ledger_that_cannot_answer_now_is_not_known_to_have_forked(status: int, media: str) -> None:
    """Busy, or a proxy's page on the way (helper-87: any 4xx marked an honest ledger for good)."""
    async def run() -> None:
        transport = httpx.MockTransport(lambda _request: httpx.Response(status, headers={"content-type": media}))
        async with httpx.AsyncClient(transport=transport) as http:
            held, new = _tree(ENTRIES[:5])[:2], _tree(ENTRIES)[:2]
            await ledger_view.extends(http, LEDGER, held, new)

    with pytest.raises(httpx.HTTPError):
        asyncio.run(run())


@pytest.mark.parametrize("status", [400, 404])
def test_a_ledger_that_refuses_to_prove_two_trees_it_signed_has_forked(status: int) -> None:
    """Both sizes come from checkpoints it signed: a well-formed question it will not answer is
    an answer (helper-85: a ledger could hide a fork by refusing the proof)."""
    async def run() -> bool:
        transport = httpx.MockTransport(
            lambda _request: httpx.Response(status, headers={"content-type": "application/problem+json"}))
        async with httpx.AsyncClient(transport=transport) as http:
            return await ledger_view.extends(http, LEDGER, _tree(ENTRIES[:5])[:2], _tree(ENTRIES)[:2])

    assert asyncio.run(run()) is False


def _consistent(held: tuple[int, bytes] | None, new: list[tuple[int, bytes]], served: list[bytes]) -> bool:
    async def run() -> bool:
        async with _ledger_serving(served, []) as http:
            return await ledger_view.consistent(http, LEDGER, held, new)

    return asyncio.run(run())


def test_every_tree_of_a_bundle_is_held_to_the_chain_not_only_its_largest() -> None:
    """helper-85: a bundle whose "given" item is under a forked tree and whose later item is under
    the true one passed when only the largest tree was checked."""
    forked7 = _tree([ENTRIES[0], b"\xff" * 32, *ENTRIES[2:7]])[:2]
    true5, true7, true9 = (_tree(ENTRIES[:n])[:2] for n in (5, 7, 9))
    assert _consistent(true5, [true7, true9], ENTRIES)
    assert not _consistent(true5, [forked7, true9], ENTRIES)  # the true 9 extends 5, but not the forked 7
    assert not _consistent(None, [true7, (7, bytes(32))], ENTRIES)  # two roots for one size: a fork by itself
    assert not _consistent(true7, [true5], ENTRIES)  # a ledger proves against its newest tree: this one went back


def test_the_newest_head_held_is_taken_from_every_record_of_that_ledger_kept_checked() -> None:
    def pointer(ledger_url: str, size: int, checked: bool = True) -> dict[str, Any]:
        return {"ledger": ledger_url, ledger_view.CHECKED: checked,
                "receipts": [{"proof": {"tree_size": size, "root": b64url_encode(bytes(32))}}]}

    held = [pointer(LEDGER, 3), None, pointer("https://other.example/consent", 40), pointer(LEDGER, 7), {},
            pointer(LEDGER, 90, checked=False)]  # receipts that did not verify say nothing of the ledger
    assert ledger_view.newest_held(held, LEDGER) == (7, bytes(32))
    assert ledger_view.newest_held(held, "https://none.example/consent") is None
    assert ledger_view.heads_of([{"proof": {"tree_size": "x"}}, {"proof": {"tree_size": 0, "root": ""}}]) == []


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("ledger-view")
    with RunningNode(data_dir) as node:
        yield World(node, data_dir)


def test_the_real_ledger_is_held_to_the_tree_the_wallet_saw(world: World, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(world.data_dir / "trust", tmp_path / "holder" / "trust")
    trust = world.verifier_ctx().trust_list()

    async def story() -> None:
        async with Holder(world, tmp_path / "holder") as h:
            await h.receive(4)

            async def disclosed() -> str:
                result, _ = await h.present()
                assert result["accepted"] is True, result
                record_id = str(h.opened.contents.history[-1].receipt["record_id"])  # type: ignore[index]
                h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, record_id)
                return record_id

            def receipt_of(record_id: str) -> dict[str, Any]:
                found = next(r.receipt for r in h.opened.contents.history
                             if r.receipt and r.receipt.get("record_id") == record_id)
                assert found is not None
                return found

            first = await disclosed()
            second = await disclosed()  # kept: its tree extends the first's (a real consistency proof)
            pointer = receipt_of(second)
            assert ledger.check(pointer, trust) and ledger_view.INCONSISTENT not in pointer
            assert pointer[ledger_view.CHECKED] is True

            # Receipts the wallet cannot check now (no trust list at hand, say) never replace checked
            # ones: a ledger could otherwise wipe the head held before forking (helper-87).
            kept = json.dumps(pointer["receipts"])
            with monkeypatch.context() as patched:
                patched.setattr(flows, "trust_list", lambda _ctx: None)
                await disclosed()  # the tree grows, so the second record's proofs would change
                h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, second)
            assert json.dumps(receipt_of(second)["receipts"]) == kept

            # The wallet remembers the first record's tree otherwise: as if the ledger had shown it
            # another tree of that size before. Asked again, the second's receipts do not extend it.
            remembered = receipt_of(first)
            remembered["receipts"][0]["proof"]["root"] = b64url_encode(bytes(32))
            remembered["receipts"][0]["proof"]["tree_size"] = pointer["receipts"][0]["proof"]["tree_size"] + 1
            h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, second)
            pointer = receipt_of(second)
            assert pointer[ledger_view.INCONSISTENT] is True
            assert json.dumps(pointer["receipts"]) == kept  # the evidence stays as it was
            assert not ledger.check(pointer, trust)
            await disclosed()  # the log grows: asked again, the ledger would serve other proofs
            h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, second)
            again = receipt_of(second)
            assert json.dumps(again["receipts"]) == kept and again[ledger_view.INCONSISTENT] is True
            assert again[ledger_view.AFTER_FORK]  # what came after is kept beside the evidence, for its state

    asyncio.run(story())
