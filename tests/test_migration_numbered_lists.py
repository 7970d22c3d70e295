"""Migration 0013 numbers the status lists that exist already: per organisation, in the order
they were first used (their first credential), a list with no credential last, so each list's
numbered URI (``/issuers/<slug>/status/<n>``) is fixed from the first start-up after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table, create_engine, inspect, text

from core.db import MIGRATIONS


def _row(connection: Any, table: str, **given: object) -> None:
    """A row with ``given`` and a placeholder for every other NOT NULL column without a default."""
    values = dict(given)
    for column in inspect(connection).get_columns(table):
        if column["name"] in values or column["nullable"] or column.get("default") is not None:
            continue
        kind = str(column["type"]).upper()
        values[column["name"]] = (0 if "INT" in kind else b"" if "BLOB" in kind or "BINARY" in kind
                                  else "{}" if "JSON" in kind else "x")
    connection.execute(Table(table, MetaData(), autoload_with=connection).insert().values(**values))


def test_existing_lists_are_numbered_per_organisation_in_order_of_first_use(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'lists.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012")
        for org in ("org-a", "org-b"):
            _row(connection, "issuer_organisations", id=org, slug=org)
        # org-a: list "a1" first used at 200, "a2" at 100, "a3" never; org-b: "b1".
        for list_id, org in (("a1", "org-a"), ("a2", "org-a"), ("a3", "org-a"), ("b1", "org-b")):
            _row(connection, "issuer_status_lists", id=list_id, org_id=org)
        for cred, list_id, at in (("c1", "a1", 200), ("c2", "a2", 100), ("c3", "a1", 50_000), ("c4", "b1", 300)):
            _row(connection, "issuer_credentials", id=cred, org_id="org-a" if list_id[0] == "a" else "org-b",
                 status_list_id=list_id, status_idx=len(cred) + int(cred[1]), issued_at=at)
        command.upgrade(config, "head")
        numbers = dict(connection.execute(text("SELECT id, number FROM issuer_status_lists")).all())
    assert numbers == {"a2": 1, "a1": 2, "a3": 3, "b1": 1}
