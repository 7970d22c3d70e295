"""A fixture: a copy of core/locales that the catalogue tools and the loader use instead (tests add
languages or keys to it freely)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import i18n, i18n_tools


@pytest.fixture(name="locales")
def locales_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "locales"
    shutil.copytree(i18n_tools.LOCALES, copy, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    monkeypatch.setattr(i18n_tools, "LOCALES", copy)
    monkeypatch.setattr(i18n, "LOCALES_DIR", copy)
    i18n._loaded.cache_clear()
    yield copy
    i18n._loaded.cache_clear()


def add_language(locales: Path, lang: str, like: str) -> None:
    """A catalogue for ``lang`` with ``like``'s texts (a stand-in until its translators deliver)."""
    target = locales / lang / "LC_MESSAGES"
    target.mkdir(parents=True)
    text = (locales / like / "LC_MESSAGES" / "amana.po").read_text(encoding="utf-8")
    (target / "amana.po").write_text(text.replace(f"Language: {like}\\n", f"Language: {lang}\\n"), encoding="utf-8")
    i18n._loaded.cache_clear()
