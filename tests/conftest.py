"""Shared fixtures. Test vectors live in tests/vectors (see its README for where each came from):
a fresh clone tests on its own, with nothing beside it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from core import keys
from core.credtypes import TypeRegistry, load_registry
from core.settings import Settings, get_settings
from issuer.app import build_app
from tests import pool_nesting
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE

VECTORS = Path(__file__).resolve().parent / "vectors"
# Every test client shares one address (loopback, or "testclient"): the per-address limit on
# public protocol writes (core.ratelimit) would throttle whole test modules. tests/test_ratelimit.py
# sets its own limit and proves it; the nodes of all other tests run unthrottled.
os.environ.setdefault("AMANA_RATE_LIMIT_PER_S", "1000000")
os.environ.setdefault("AMANA_WALLET_DOOR_PER_MIN", "1000000")  # tests make wallets by the dozen from one address
NOW = 1_800_000_000  # a fixed "now"; no test reads the clock
# Property tests judge answers, never speed: Hypothesis' default 200 ms deadline per example and its
# "too slow" health check read the wall clock, so a loaded CI box (or a first example that loads the
# ESCO index) failed them with DeadlineExceeded or Flaky. Loaded here, before any test module makes
# its own @settings, which inherit it; a test that sets a deadline of its own still has one.
settings.register_profile("amana", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("amana")
pool_nesting.watch()


@pytest.fixture(autouse=True)
def no_nested_pool_checkout() -> Iterator[None]:
    """A task never holds two connections of one PostgreSQL pool (tests/pool_nesting: a stall
    under load, as the pool opens nothing past its size)."""
    pool_nesting.nested.clear()
    yield
    assert not pool_nesting.nested, pool_nesting.nested[:3]


@pytest.fixture(scope="session")
def types() -> TypeRegistry:
    return load_registry(get_settings().specs_dir)


@pytest.fixture(scope="session")
def issuer_key() -> keys.PrivateKey:
    return keys.generate("ES256")


@pytest.fixture(scope="session")
def holder_key() -> keys.PrivateKey:
    return keys.generate("ES256")


@pytest.fixture()
def tmp(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="module")
def app_and_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    yield from console_app(tmp_path_factory.mktemp("console"))


def console_app(data_dir: Path) -> Iterator[tuple[TestClient, str]]:
    """The issuer app in process (TestClient) on its own data directory, and the staff API key
    of its one organisation."""
    app = build_app(Settings(data_dir=data_dir, public_base_url=BASE))
    with TestClient(app, base_url=BASE) as client:
        yield client, org_on(client, names={"en": "Open Doors"}, staff_name="Amal")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``make test-postgres`` runs the suite again with every node on PostgreSQL
    (tests/on_postgres). The browser tests stay on the first run: what they add over the
    HTTP tests is the page, and the page does not depend on the store. So do tests marked
    ``sqlite_only`` and the SQLite case of tests run over both stores: they read the SQLite
    file itself (their PostgreSQL twins read the rows)."""
    if not os.environ.get("ON_POSTGRES_ADMIN_URL"):
        return

    def stays(item: pytest.Item) -> bool:
        in_browser = any("chromium" in str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skipif"))
        # A test run over both stores already ran its PostgreSQL case; its SQLite case reads files.
        sqlite_case = "sqlite" in getattr(getattr(item, "callspec", None), "params", {}).values()
        return not in_browser and not sqlite_case and item.get_closest_marker("sqlite_only") is None

    kept = [item for item in items if stays(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
