"""The holder's rights over what they disclosed (issue 14), for the history page and the CLI:
see each receipt and whether it verifies, withdraw in one step, export (ISO/IEC TS 27560)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from core.errors import InvalidInput
from wallet import flows, holder, ledger
from wallet.content import Contents
from wallet.history import HistoryRecord

REFRESH_AT_MOST = 5  # receipts asked again per history view: the newest waiting ones


def _pointer(opened: holder.Opened, record_id: str) -> HistoryRecord | None:
    return next((h for h in opened.contents.history if h.receipt and h.receipt.get("record_id") == record_id), None)


async def withdraw(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                   record_id: str) -> holder.Opened:
    """Withdraw one disclosure's consent (one step, as giving it was); its receipts fetched anew."""
    found = _pointer(opened, record_id)
    if found is None or not ledger.withdrawable(found.receipt) or opened.contents.ledger_key is None:
        raise InvalidInput("this disclosure cannot be withdrawn (not made with consent, or withdrawn already)")
    await flows.talk(ledger.withdraw(http, opened.contents.consent_key(), found.receipt or {}, ctx.now()))
    return await flows.keep_receipts(ctx, opened, http, record_id)


async def refresh_waiting(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient) -> holder.Opened:
    """Ask again for receipts not there yet, and for withdrawals still waiting for an answer."""
    waiting = [h.receipt["record_id"] for h in reversed(opened.contents.history)
               if h.receipt and not h.receipt.get("erased")
               and ledger.state(h.receipt) in (None, "withdrawn")][:REFRESH_AT_MOST]
    for record_id in waiting:
        opened = await flows.keep_receipts(ctx, opened, http, str(record_id))
    return opened


def export(opened: holder.Opened) -> dict[str, Any]:
    """Every disclosure's 27560 record as the ledger signed it, with its receipts (portability)."""
    return {"format": "ISO/IEC TS 27560:2023 records, with Amana consent receipts",
            "records": [{"record": h.receipt.get("record"), "receipts": h.receipt.get("receipts"),
                         "holder_signature": h.receipt.get("holder_signature")}
                        for h in opened.contents.history if h.receipt and h.receipt.get("record")]}


async def erase(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                record_id: str) -> tuple[holder.Opened, int]:
    """Erasure (GDPR Art. 17): the ledger shreds every record of this holder towards the verifier
    of ``record_id``; the wallet keeps its own copies of the receipts (they are the holder's),
    marked erased at the ledger."""
    found = _pointer(opened, record_id)
    if found is None or found.receipt is None or opened.contents.ledger_key is None:
        raise InvalidInput("no ledger record to erase")
    pointer = found.receipt
    erased = await flows.talk(ledger.erase(http, opened.contents.consent_key(), pointer, ctx.now()))

    def mark(contents: Contents) -> None:
        for i, record in enumerate(contents.history):
            if record.receipt and record.receipt.get("verifier_id") == pointer["verifier_id"] \
                    and record.receipt.get("ledger") == pointer["ledger"]:
                contents.history[i] = dataclasses.replace(record, receipt={**record.receipt, "erased": True})

    opened, _ = await holder.update(ctx, opened, mark)
    return opened, erased
