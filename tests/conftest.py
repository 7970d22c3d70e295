"""Shared fixtures. Test vectors live in tests/vectors (see its README for where each came from):
a fresh clone tests on its own, with nothing beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core import keys
from core.credtypes import TypeRegistry, load_registry
from core.settings import get_settings

VECTORS = Path(__file__).resolve().parent / "vectors"
# Every test client shares one address (loopback, or "testclient"): the per-address limit on
# public protocol writes (core.ratelimit) would throttle whole test modules. tests/test_ratelimit.py
# sets its own limit and proves it; the nodes of all other tests run unthrottled.
os.environ.setdefault("AMANA_RATE_LIMIT_PER_S", "1000000")
NOW = 1_800_000_000  # a fixed "now"; no test reads the clock


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
