"""``amana consent audit``: a sound log passes; a rewritten, removed or added leaf, a rewritten
checkpoint and a checkpoint by another key are each found, by the function and by the command."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from consent import log
from consent.audit import AuditReport, audit
from consent.checkpoint import Verifier
from consent.store import log as store
from core import db
from core.sealing import NodeKey
from core.settings import REPO_ROOT
from tests.consent_log_world import BACKENDS, migrated, store_url
from tests.test_consent_log import commitment

NODE = NodeKey(b"\x05" * 32)
ORIGIN = "audit.example/consent"
LOG = log.ConsentLog(NODE, ORIGIN)


async def _grow(engine: AsyncEngine, sizes: list[int]) -> None:
    sessions, done = db.sessions(engine), 0
    for n in sizes:
        async with sessions.begin() as s:
            await LOG.append(s, [commitment(done + i) for i in range(n)], done)
            await LOG.checkpoint(s, done)
        done += n


async def _audit(engine: AsyncEngine, vkey: Verifier | None = None) -> AuditReport:
    async with db.sessions(engine).begin() as s:
        return await audit(s, vkey)


TAMPERS: dict[str, Any] = {
    "rewritten leaf": update(store.LogLeaf).where(store.LogLeaf.idx == 300).values(commitment=commitment(9999)),
    "removed leaf": delete(store.LogLeaf).where(store.LogLeaf.idx == 7),
    "extra leaf": insert(store.LogLeaf).values(idx=10_000, commitment=commitment(1), appended_at=0),
    "rewritten checkpoint root": update(store.LogCheckpoint).where(store.LogCheckpoint.size == 3)
    .values(root=b"\0" * 32),
    "rewritten checkpoint note": update(store.LogCheckpoint).where(store.LogCheckpoint.size == 3)
    .values(note="x\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 x AAAAAAA=\n"),
    "rewritten subtree": update(store.LogNode).where(store.LogNode.level == 8, store.LogNode.idx == 0)
    .values(hash=b"\1" * 32),
    "rewritten state": update(store.LogLeaf).where(store.LogLeaf.idx == 593).values(frontier=b"\2" * 64),
    "rewritten earlier state": update(store.LogLeaf).where(store.LogLeaf.idx == 2).values(frontier=b"\2" * 64),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sound_log_passes_and_each_tampering_is_found(backend: str, tmp_path: Path) -> None:
    url = store_url(backend, tmp_path)

    async def main() -> None:
        engine = await migrated(url)
        try:
            await _grow(engine, [3, 250, 300, 1, 40])
            clean = await _audit(engine)
            assert clean.ok, clean.failures
            assert (clean.size, clean.checkpoints, clean.nodes) == (594, 5, 2)
            for name, statement in TAMPERS.items():
                async with db.sessions(engine).begin() as s:
                    await s.execute(statement)
                    report = await audit(s)
                    assert not report.ok, name
                    await s.rollback()
            assert (await _audit(engine)).ok
        finally:
            await engine.dispose()

    asyncio.run(main())


@pytest.mark.sqlite_only  # its own SQLite file, tampered by hand; the audit itself runs on both stores above
def test_the_command_passes_then_finds_a_tampered_row(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'amana.db'}"
    env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path)}
    env.pop("AMANA_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)

    def cli(*args: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run([sys.executable, "-m", "server.cli", "consent", "audit", "--quiet", *args],
                              capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False)
        assert "Traceback" not in done.stderr
        return done.returncode, json.loads(done.stdout)

    async def setup() -> str:
        engine = await migrated(url)
        await _grow(engine, [5, 300])
        async with db.sessions(engine).begin() as s:
            vkey = (await log.verifiers(s))[ORIGIN].vkey()
        await engine.dispose()
        return vkey

    vkey = asyncio.run(setup())
    code, summary = cli()
    assert code == 0 and summary["ok"] and summary["leaves"] == 305 and summary["checkpoints"] == 2
    assert cli("--vkey", vkey)[0] == 0
    other = Verifier(ORIGIN, b"\x11" * 32).vkey()  # same name, another key: its checkpoints are not this key's
    code, summary = cli("--vkey", other)
    assert code == 1 and summary["failure_count"] == 2

    async def tamper() -> None:
        engine = db.make_engine(url)
        async with db.sessions(engine).begin() as s:
            await s.execute(update(store.LogLeaf).where(store.LogLeaf.idx == 2).values(commitment=commitment(77)))
        await engine.dispose()

    asyncio.run(tamper())
    code, summary = cli()
    assert code == 1 and not summary["ok"]
    assert any("checkpoint 5" in f for f in summary["failures"])
