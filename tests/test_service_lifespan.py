"""core.service: what a node does around its services' start and stop.

What startup made is frozen out of the garbage collector's reach while the node serves (issue 15:
a full collection walked about 200,000 startup objects, a pause of about 230 ms for every request
in flight), and handed back when it stops, so a process that starts many nodes (this test suite)
frees each one.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from bench import world


def test_what_startup_made_is_frozen_while_the_node_serves_and_freed_when_it_stops(tmp_path: Path) -> None:
    gc.unfreeze()
    app = world.build_app(world.settings(tmp_path / "node", 8000, None))
    seen: dict[str, object] = {}

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            verifier = app.state.verifier  # made by the verifier's start
            seen["frozen"] = gc.get_freeze_count()
            # gc.get_objects() lists what the collector scans; the permanent generation is not in it.
            seen["scanned"] = any(o is verifier for o in gc.get_objects())
            made_while_serving = {"a": []}
            seen["new_scanned"] = any(o is made_while_serving for o in gc.get_objects())
        seen["after"] = gc.get_freeze_count()

    asyncio.run(start_and_stop())
    assert seen["frozen"] > 10_000  # the modules, routes and contexts startup made
    assert seen["scanned"] is False
    assert seen["new_scanned"] is True  # what requests make is collected as ever
    assert seen["after"] == 0


def test_a_stopping_verifier_cancels_the_consent_records_still_being_written(tmp_path: Path) -> None:
    """The consent records of checks finishing in the background are written by the ledger's own
    task (core.group_commit): stopping the verifier cancels that write too (its transaction rolls
    back), and a ledger never made is not made by stopping."""
    from verifier.context import VerifierContext

    settings = world.settings(tmp_path / "node", 8000, None)
    untouched = VerifierContext.create(settings)
    asyncio.run(untouched.stop_background())
    assert untouched._ledger is None

    ctx = VerifierContext.create(settings)
    book = ctx.ledger()
    assert book is not None
    finished: list[object] = []

    async def never_done(items: object) -> list[object]:  # a write still open when the node stops
        await asyncio.Event().wait()
        finished.append(items)
        return []

    book._recorder._write = never_done

    async def run() -> object:
        record = asyncio.ensure_future(book._recorder.submit(object()))
        ctx.finish_later(record)  # as a check's conclusion is
        await asyncio.sleep(0.01)
        await asyncio.wait_for(ctx.stop_background(), 5)
        assert book._recorder._writer is not None and book._recorder._writer.cancelled()
        return await asyncio.gather(record, return_exceptions=True)

    [outcome] = asyncio.run(run())  # type: ignore[misc]
    assert isinstance(outcome, asyncio.CancelledError) and finished == []


def test_a_service_that_fails_to_start_stops_the_ones_before_it(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The wallet's idle-lock sweep and every engine stop again when a later service cannot start
    (helper-64 found the sweep's task left pending, and the engines open)."""
    import dataclasses

    import consent.app
    from core.settings import Settings
    from server.app import build_app

    async def broken(_app: object, _settings: object) -> None:
        raise RuntimeError("the consent ledger could not start")

    monkeypatch.setattr(consent.app, "SERVICE", dataclasses.replace(consent.app.SERVICE, start=broken))
    app = build_app(Settings(data_dir=tmp_path, public_base_url="http://127.0.0.1:1"))

    async def start() -> list[str]:
        with pytest.raises(RuntimeError, match="could not start"):
            async with app.router.lifespan_context(app):
                pass  # pragma: no cover - never reached
        return [t.get_coro().__qualname__ for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(start()) == []
    assert app.state.wallet_idle_lock.cancelled()


def test_a_service_that_fails_halfway_through_its_own_start_is_stopped_too(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Its context made, its migration failing: its engine is disposed with the others' (helper-65
    found the consent ledger's pool left open, and its aiosqlite thread alive)."""
    from types import SimpleNamespace

    import consent.app
    from core import db
    from core.settings import Settings
    from server.app import build_app

    async def failing_migration(engine: Any) -> None:
        await db.upgrade(engine)  # its pool holds a connection now
        raise RuntimeError("the migration failed")

    monkeypatch.setattr(consent.app, "db", SimpleNamespace(upgrade=failing_migration))
    app = build_app(Settings(data_dir=tmp_path, public_base_url="http://127.0.0.1:1"))
    disposed: list[str] = []

    async def start() -> None:
        with pytest.raises(RuntimeError, match="migration failed"):
            async with app.router.lifespan_context(app):
                pass  # pragma: no cover - never reached
        for name in ("issuer", "verifier", "wallet", "consent"):
            if getattr(app.state, name).engine.pool.checkedin() == 0:
                disposed.append(name)

    asyncio.run(start())
    assert disposed == ["issuer", "verifier", "wallet", "consent"]
