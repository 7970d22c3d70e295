"""``python -m bench.issuer``: the wallet's whole OpenID4VCI flow, per step, beside its bounds.

What a holder waits for (issue 15): fetch the offer, redeem the code with the PIN, fetch a
nonce, send the key proofs and get the credentials — at batch 1 and at batch 10, against the
whole node (``bench.world``) on SQLite (or ``--pg URL``):

- **in process**: httpx's ASGI transport, one flow after another (no sockets), this process
  pinned to one core;
- **HTTP**: one uvicorn worker in its own process pinned to core 1, the wallets here on core 0,
  one flow after another, then ``--wallets`` flows at once;
- beside them a FastAPI request that does nothing (``/bench/noop``, measured the same ways),
  and the flow's raw cryptography: per credential one ES256 signature (the credential) and one
  ES256 verification with a key just imported (the holder's key proof), with ``issue_vc``
  (building one credential, no HTTP, no database) as the cost of the credential's own work.

Making the offer (the staff API) is setup and untimed; so is the wallet's own computing (its
keys, its proofs). Targets (issue 15): >= 300 flows/s at batch 1 over HTTP; >= 1,000
credentials/s at batch 10; each step <= the no-op + its cryptography + 0.3 ms.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bench import endtoend, world
from bench.endtoend import Phase
from bench.sdjwt import per_op_us, raw_es256
from bench.world import ISSUE_STEPS, Times, Wallets
from core import keys
from core.credtypes import load_registry
from core.settings import Settings
from core.statuslist import reference

TARGET_FLOWS, TARGET_CREDS = 300, 1000


def _issuance(batch: int) -> tuple[endtoend.Prepare, endtoend.Flow]:
    async def prepare(wallets: Wallets, n: int) -> list[Any]:
        return [await wallets.offer(batch) for _ in range(n)]

    async def flow(wallets: Wallets, times: Times, offer: Any) -> None:
        await wallets.issue(times, offer, batch)

    return prepare, flow


async def _in_process(args: Any, node: tuple[Any, int, tuple[str, str]]) -> list[Phase]:
    data_dir, port, secrets = node
    phases = []
    async with endtoend.in_process(data_dir, port, args.pg, secrets) as wallets:
        for batch in (1, 10):
            n = args.flows if batch == 1 else max(1, args.flows // 10)
            phases.append(await endtoend.one_at_a_time(f"in process b{batch}", wallets, n, *_issuance(batch)))
    return phases


async def _over_http(args: Any, port: int, secrets: tuple[str, str], cpu: Any) -> list[Phase]:
    phases = []
    async with endtoend.over_http(port, secrets) as wallets:
        for batch in (1, 10):
            n = args.flows if batch == 1 else max(1, args.flows // 10)
            phases.append(await endtoend.one_at_a_time(f"HTTP b{batch}", wallets, n, *_issuance(batch), cpu=cpu))
            phases.append(await endtoend.at_once(f"HTTP b{batch} x{args.wallets}", wallets, n, args.wallets,
                                                 *_issuance(batch), cpu=cpu))
    return phases


def raw_crypto_us() -> tuple[float, float, float]:
    """One ES256 sign, one ES256 verify with a key imported from its point, and ``issue_vc``."""
    from core.sdjwt.vc import issue_vc

    sign, _, import_and_verify = raw_es256(b"x" * 700)
    sign_us, verify_us = per_op_us(sign, 0.2), per_op_us(import_and_verify, 0.2)
    ctype = load_registry(Settings().specs_dir).by_name("SkillCertificate")
    issuer_key, holder = keys.generate(), keys.generate().public_key()
    status = reference("https://bench.amana.test/status/x", 12345)
    build_us = per_op_us(lambda: issue_vc(ctype, dict(world.SKILL), issuer="https://bench.amana.test",
                                          issuer_key=issuer_key, holder_key=holder, now=1_800_000_000,
                                          valid_for_s=86400, status=status), 0.2)
    return sign_us, verify_us, build_us


def main() -> None:
    args = endtoend.arguments("python -m bench.issuer", __doc__ or "")
    store = "PostgreSQL" if args.pg else "SQLite"
    print(f"bench.issuer: the wallet's whole issuance flow on {store}, {args.flows} flows at batch 1, "
          f"{max(1, args.flows // 10)} at batch 10; {endtoend.load_line()}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # in process: one core, the worker's
    with endtoend.node_dir(args.pg) as node:
        data_dir, port, secrets = node
        inside = asyncio.run(_in_process(args, node))
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0) | {0})})  # the client, off the worker's core
        with world.served(data_dir, port, args.pg, data_dir.parent / "node.log") as (pinned, pid):
            http = asyncio.run(_over_http(args, port, secrets, lambda: world.cpu_seconds(pid)))
    sign_us, verify_us, build_us = raw_crypto_us()
    per_credential_ms = (sign_us + verify_us) / 1000
    print(f"HTTP worker {pinned}; raw ES256 sign {sign_us:.0f} us, import a key + verify {verify_us:.0f} us; "
          f"issue_vc (one credential built, schema check included) {build_us:.0f} us")
    by_batch = {1: [inside[0], *http[0:2]], 10: [inside[1], *http[2:4]]}
    for batch, phases in by_batch.items():
        endtoend.print_steps(f"batch {batch}", ISSUE_STEPS, phases, {"credential": batch * per_credential_ms})
    endtoend.print_rates("flows per second (higher is better)", [*by_batch[1], *by_batch[10]], "flows")
    raw_flows = 1000 / per_credential_ms
    print(f"  raw bound, batch 1 (1 sign + 1 import-and-verify per flow){raw_flows:>10.0f} flows/s")
    b1 = max(p.flows_per_s() for p in by_batch[1][1:])
    b10 = max(p.flows_per_s() for p in by_batch[10][1:]) * 10
    print(f"\ntargets (issue 15, {store}): batch 1 over HTTP >= {TARGET_FLOWS} flows/s -> "
          f"{'met' if b1 >= TARGET_FLOWS else 'NOT met'} ({b1:.0f}); batch 10 >= {TARGET_CREDS} credentials/s -> "
          f"{'met' if b10 >= TARGET_CREDS else 'NOT met'} ({b10:.0f})")


if __name__ == "__main__":
    main()
