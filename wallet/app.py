"""The wallet service: ``uvicorn wallet.app:app`` alone, or inside ``amana serve`` at ``/wallet``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from core import front_door, service, web_pages
from core.settings import Settings, get_settings
from wallet import (
    holder,
    page_kit,
    pages,
    pages_history,
    pages_move,
    pages_offline,
    pages_present,
    pages_receive,
    unlocked,
)


async def start(app: FastAPI, settings: Settings) -> holder.WalletContext:
    ctx = await holder.WalletContext.open(settings)
    app.state.wallet = ctx
    app.state.wallet_idle_lock = asyncio.create_task(unlocked.lock_idle_forever(ctx))
    return ctx


async def stop(app: FastAPI) -> None:
    sweeping: asyncio.Task[None] | None = getattr(app.state, "wallet_idle_lock", None)
    if sweeping is not None:
        sweeping.cancel()
        await asyncio.gather(sweeping, return_exceptions=True)
    ctx: holder.WalletContext | None = getattr(app.state, "wallet", None)
    if ctx is not None:
        await ctx.engine.dispose()


STATIC = Path(__file__).parent / "static"


def attach(app: FastAPI) -> None:
    for module in (pages, pages_history, pages_receive, pages_present, pages_move, pages_offline):
        app.include_router(module.router)
    app.add_exception_handler(page_kit.FormExpired, page_kit.form_expired)
    app.mount("/static/wallet", StaticFiles(directory=STATIC), name="wallet-static")
    web_pages.mount_shared_static(app)


SERVICE = service.Service(start, stop, attach, front_door.Door("/wallet", "wallet", "front.wallet", 0))


def build_app(settings: Settings | None = None) -> FastAPI:
    return service.build_app("Amana wallet", settings or get_settings(), [SERVICE])


app = build_app()
