"""``amana consent``: the consent ledger from a shell, on the same store as the server.

``audit`` needs no secret: it reads the log's rows, recomputes the tree and checks every
checkpoint (consent/audit.py). It prints one JSON summary and exits 0 when everything holds,
1 when anything does not (each failure named in ``failures``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer

from consent.audit import AuditReport, audit
from consent.checkpoint import Verifier
from core import db
from core._cli_common import fails_as_problem
from core.settings import get_settings

consent_app = typer.Typer(no_args_is_help=True, help="Consent ledger: the tamper-evident log.")


@consent_app.command("audit")
@fails_as_problem
def audit_command(
    vkey: Annotated[str | None, typer.Option(help="check checkpoints against this C2SP verifier key "
                                                  "(name+id+key) instead of the keys the store holds")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress lines on stderr")] = False,
) -> None:
    """Recompute every leaf into the tree; verify every checkpoint's signature and its consistency
    with the next; print a summary. Exit 1 on any failure."""
    verifier = Verifier.from_vkey(vkey) if vkey else None

    def progress(done: int) -> None:
        if not quiet and done % (64 * 4096) == 0:
            sys.stderr.write(f"{done} leaves\n")

    async def run() -> AuditReport:
        engine = db.make_engine(db.database_url(get_settings()))
        try:
            await db.upgrade(engine)
            async with db.sessions(engine).begin() as session:
                return await audit(session, verifier, progress)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    typer.echo(json.dumps(report.summary()))
    if not report.ok:
        raise typer.Exit(1)
