"""``bench.issuer.STEP_CRYPTO`` says what cryptography each step of an issuance does besides its
signatures, and the bench prices it into each step's bound (issue 15). Here the real flow, in process
on the embedded store, is watched: every call of the node key's digests, seals and opens, every salt
and digest of the SD-JWT and every key thumbprint computed, counted per step. If the issuer comes to
do more (or less) than the table says, this fails, and the table (and the bounds) must follow."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from bench import endtoend, issuer
from bench.world import Times
from core import keys, sealing
from core.sdjwt import _disclosures


def _counted(monkeypatch: pytest.MonkeyPatch) -> defaultdict[str, Counter[str]]:
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    step: list[str | None] = [None]

    def watch(owner: Any, name: str, kind: str) -> None:
        real: Callable[..., Any] = getattr(owner, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            if step[0] is not None:
                counts[step[0]][kind] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(owner, name, counting)

    for name, kind in (("digest", "digests"), ("open", "opens"), ("seal", "seals"), ("seal_for", "seals"),
                       ("open_for", "opens"), ("_secret_key", "secret_keys")):
        watch(sealing.NodeKey, name, kind)
    for name, kind in (("new_salt", "salts"), ("digest", "sd_digests"), ("decoy_digest", "sd_digests")):
        watch(_disclosures, name, kind)
    thumbprint = keys.PublicKey.thumbprint

    def counted_thumbprint(key: keys.PublicKey) -> str:
        if step[0] is not None and key._thumbprint is None:  # computed, not the one kept on the key
            counts[step[0]]["thumbprints"] += 1
        return thumbprint(key)
    monkeypatch.setattr(keys.PublicKey, "thumbprint", counted_thumbprint)
    timed = Times.timed

    async def timed_step(self: Times, name: str, call: Any) -> Any:
        step[0] = name
        try:
            return await timed(self, name, call)
        finally:
            step[0] = None
    monkeypatch.setattr(Times, "timed", timed_step)
    return counts


def test_each_step_does_the_cryptography_the_bench_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = _counted(monkeypatch)
    flows = 2

    async def run(node: Any) -> dict[int, dict[str, Counter[str]]]:
        data_dir, port, secrets = node
        seen: dict[int, dict[str, Counter[str]]] = {}
        async with endtoend.in_process(data_dir, port, None, secrets) as wallets:
            for batch in (1, 3):
                await wallets.issue(Times(), await wallets.offer(batch), batch)  # first uses (keys opened once)
                counts.clear()
                for _ in range(flows):
                    await wallets.issue(Times(), await wallets.offer(batch), batch)
                seen[batch] = {step: Counter(counts[step]) for step in list(counts)}
        return seen

    with endtoend.node_dir(None) as node:
        seen = asyncio.run(run(node))
    for batch, by_step in seen.items():
        assert set(by_step) <= set(issuer.STEP_CRYPTO), by_step
        for step, expected in issuer.STEP_CRYPTO.items():
            per_flow = {kind: n / flows for kind, n in by_step.get(step, Counter()).items()}
            want = {"digests": expected.digests, "opens": expected.opens, "seals": expected.seals,
                    "secret_keys": expected.secret_keys, "salts": batch * expected.salts_per_credential,
                    "sd_digests": batch * expected.sd_digests_per_credential,
                    "thumbprints": batch * expected.thumbprints_per_credential}
            assert per_flow == {kind: n for kind, n in want.items() if n}, (batch, step, per_flow)
