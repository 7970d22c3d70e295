"""``python -m bench.db_layers`` measures one read transaction at each layer of the store (issue 15).
A tiny run: this checks the bench works and what it prints, never how fast anything is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import db_layers


def test_every_layer_reads_the_row_and_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(db_layers, "ROUNDS", 5)
    monkeypatch.setattr(db_layers, "WARM_UP", 1)
    rows = asyncio.run(db_layers._measure(tmp_path / "layers.db"))
    assert [label.split(",")[0].split(" (")[0] for label, _ in rows] == [
        "ORM session", "SQLAlchemy Core", "SQLAlchemy Core", "sync Core", "driver of a held connection",
        "sqlite3 alone"]
    assert all(us > 0 for _, us in rows)
    db_layers.main()
    printed = capsys.readouterr().out
    assert "the bound" in printed and printed.count(" us ") == 6
