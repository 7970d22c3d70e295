"""Shared fixtures. Test vectors are read from ../shared, never copied into the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import keys
from core.credtypes import TypeRegistry, load_registry
from core.settings import REPO_ROOT, get_settings

SHARED = REPO_ROOT.parent / "shared"
TESTDATA = SHARED / "testdata"
NOW = 1_800_000_000  # a fixed "now"; no test reads the clock

if not TESTDATA.is_dir():
    pytest.exit(f"test vectors not found at {TESTDATA}: ../shared must sit beside the repository", returncode=4)


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
