"""The ledger's own clockwork, run by the app in the background (and callable alone, ``tick``):
send due withdrawal notices, record silence past deadlines, purge records past retention.

Each step reads its work from the database, so a restart resumes where it stopped."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from consent import notify
from consent.context import ConsentContext
from core.errors import AmanaError
from core.fetch import AddressPolicy, guarded_client

log = logging.getLogger(__name__)
TICK_S = 30
PURGE_EVERY_S = 3600


async def tick(ctx: ConsentContext, post: notify.Post | None = None, purge: bool = True) -> dict[str, int]:
    """One round; ``post`` defaults to the node's guarded HTTP client (core.fetch)."""
    now = ctx.now()
    if post is None:
        async with guarded_client(AddressPolicy.for_node(ctx.settings), timeout_s=ctx.settings.fetch_deadline_s) \
                as http:

            async def send(url: str, body: dict[str, Any]) -> int:
                try:
                    return (await http.post(url, json=body)).status_code
                except httpx.HTTPError:
                    return 0

            delivered = await notify.deliver_due(ctx.ledger, send, now)
    else:
        delivered = await notify.deliver_due(ctx.ledger, post, now)
    silent = await notify.silence(ctx.ledger, now)
    purged = await ctx.ledger.purge(now) if purge else 0
    return {"delivered": delivered, "silent": silent, "purged": purged}


async def run(ctx: ConsentContext) -> None:
    rounds = 0
    while True:
        try:
            await tick(ctx, purge=rounds % (PURGE_EVERY_S // TICK_S) == 0)
        except (AmanaError, OSError) as exc:  # logged by type only, tried again next round
            log.warning("the consent ledger's round failed: %s", type(exc).__name__)
        rounds += 1
        await asyncio.sleep(TICK_S)
