"""``amana consent purge`` and ``amana consent report``: the records' side of the ledger's CLI
(the log's ``audit`` is in consent/cli.py). Both print one JSON object."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import typer

from consent.cli import consent_app
from consent.context import ConsentContext
from consent.records import SpecialCategories
from consent.report import art30
from consent.store import records as store
from core import db
from core._cli_common import fails_as_problem
from core.settings import get_settings


async def _with_context(work: Any) -> Any:
    ctx = ConsentContext.create(get_settings())
    try:
        await db.upgrade(ctx.engine)
        return await work(ctx)
    finally:
        await ctx.engine.dispose()


@consent_app.command("purge")
@fails_as_problem
def purge() -> None:
    """Erase (crypto-shred) every record past its retention period; run it on a schedule (the
    server also does, hourly)."""

    async def run(ctx: ConsentContext) -> int:
        return await ctx.ledger.purge(int(time.time()))

    typer.echo(json.dumps({"purged": asyncio.run(_with_context(run))}))


@consent_app.command("report")
@fails_as_problem
def report() -> None:
    """GDPR Art. 30 records of processing activities, from the configuration and the trust list."""
    settings = get_settings()

    async def run(ctx: ConsentContext) -> dict[str, Any]:
        async with db.sessions(ctx.engine).begin() as session:
            counts = dict(await store.controllers(session))
        return art30(ctx.trust_list().model_copy(), settings.verifier_id, settings.verifier_name,
                     SpecialCategories.load(settings.specs_dir), counts, int(time.time()))

    typer.echo(json.dumps(asyncio.run(_with_context(run)), ensure_ascii=False, indent=2))
